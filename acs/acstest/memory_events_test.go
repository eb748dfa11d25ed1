package acstest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func TestMemorySwipeAndEvents(t *testing.T) {
	m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "lab", Name: "Lab"}})
	m.AddDoor("d1", "Front door", "lobby")
	m.AddDoor("d2", "Lab door", "lab")
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	card := acs.Card{Format: acs.H10301, Facility: 1, Number: 200}
	p, err := m.Provision(t.Context(), acs.Grant{
		Person: acs.Person{ExternalID: "v1", FirstName: "A"}, Card: card,
		AccessLevels: []string{"lobby"}, ValidFrom: start, ValidUntil: start.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		door string
		card acs.Card
		at   time.Time
		want bool
	}{
		{"d1", card, start.Add(time.Minute), true},
		{"d2", card, start.Add(time.Minute), false},                                                   // level not held
		{"d1", card, start.Add(2 * time.Hour), false},                                                 // after the window
		{"d1", acs.Card{Format: acs.H10301, Facility: 1, Number: 999}, start.Add(time.Minute), false}, // unknown card
		{"nope", card, start.Add(time.Minute), false},                                                 // unknown door
	}
	for i, c := range cases {
		if got := m.Swipe(c.card, c.door, acs.DirectionIn, c.at); got != c.want {
			t.Errorf("swipe %d: granted %v, want %v", i, got, c.want)
		}
	}
	// Deliver the first two, stop, resume from the second's cursor.
	var got []acs.DoorEvent
	stop := errors.New("stop")
	err = m.Events(t.Context(), "", func(ev acs.DoorEvent) error {
		got = append(got, ev)
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(got) != 2 {
		t.Fatalf("err %v, %d events", err, len(got))
	}
	if !got[0].Granted || got[0].Cardholder.ExternalID != "v1" || got[0].Credential != p.Credential.ID || got[1].Granted {
		t.Errorf("events %+v", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var rest []acs.DoorEvent
	done := make(chan error)
	go func() {
		done <- m.Events(ctx, got[1].Cursor, func(ev acs.DoorEvent) error {
			rest = append(rest, ev)
			if len(rest) == 4 {
				cancel()
			}
			return nil
		})
	}()
	// The fourth event after the cursor arrives while Events waits.
	m.Swipe(card, "d1", acs.DirectionOut, start.Add(3*time.Minute))
	if err := <-done; acs.CodeOf(err) != acs.Canceled {
		t.Fatalf("Events ended with %v", err)
	}
	if len(rest) != 4 || rest[0].Cursor != "3" || rest[3].Direction != acs.DirectionOut {
		t.Errorf("resumed events %+v", rest)
	}
}
