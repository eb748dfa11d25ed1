package netbox

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

var errEnough = errors.New("enough events")

// collect runs Events from cursor until n events arrived, stepping the
// poll with ticks, and returns them.
func collect(t *testing.T, e *env, cursor string, n int) []acs.DoorEvent {
	t.Helper()
	var got []acs.DoorEvent
	err := e.p.Events(t.Context(), cursor, func(ev acs.DoorEvent) error {
		got = append(got, ev)
		if len(got) == n {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("Events returned %v after %d of %d events", err, len(got), n)
	}
	return got
}

// swipe presents a card at a reader and moves the clock a second on.
func (e *env) swipe(reader string, card acs.Card) {
	e.t.Helper()
	if _, ok := e.sim.Swipe(reader, netboxsim.Format26, uint10(card.Number)); !ok {
		e.t.Fatalf("no reader %s", reader)
	}
	e.clock.Advance(time.Second)
}

func TestEventsMapping(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(1)
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock.Now().Truncate(time.Second)
	e.swipe(netboxsim.ReaderLobby, g.Card)
	e.swipe(netboxsim.ReaderFloor3, g.Card)
	stranger := acs.Card{Format: acs.H10301, Facility: 42, Number: 77}
	e.swipe(netboxsim.ReaderLobby, stranger)
	got := collect(t, e, "", 3)
	want := []acs.DoorEvent{
		{Cursor: "1", Time: at, DoorID: "1", DoorName: "Lobby In", Card: g.Card, Credential: p.Credential.ID,
			Cardholder: acs.CardholderRef{ID: p.Cardholder.ID, ExternalID: g.Person.ExternalID}, Granted: true},
		{Cursor: "2", Time: at.Add(time.Second), DoorID: "2", DoorName: "Floor 3 In", Card: g.Card, Credential: p.Credential.ID,
			Cardholder: acs.CardholderRef{ID: p.Cardholder.ID, ExternalID: g.Person.ExternalID}},
		{Cursor: "3", Time: at.Add(2 * time.Second), DoorID: "1", DoorName: "Lobby In"},
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d at %s, want %s", i+1, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if got[i] != want[i] {
			t.Errorf("event %d:\n  got  %+v\n  want %+v", i+1, got[i], want[i])
		}
	}
	rest := collect(t, e, "1", 2)
	if rest[0].Cursor != "2" || rest[1].Cursor != "3" {
		t.Errorf("resuming after 1 delivered %q, %q", rest[0].Cursor, rest[1].Cursor)
	}
}

// New records are delivered on the next poll, once each, whichever way
// the controller reads AFTERLOGID. Each event's fn swipes the card again,
// so that the next poll has exactly one new record.
func TestEventsFollowTheLog(t *testing.T) {
	for _, opts := range [][]netboxsim.Option{nil, {netboxsim.WithExclusiveAfterLogID()}} {
		ticks := make(chan time.Time, 1)
		e := newEnv(t, envOpts{sim: opts, opts: []Option{withEventTicks(ticks)}})
		g := e.grant(1)
		if _, err := e.p.Provision(t.Context(), g); err != nil {
			t.Fatal(err)
		}
		e.swipe(netboxsim.ReaderLobby, g.Card)
		var cursors []string
		err := e.p.Events(t.Context(), "", func(ev acs.DoorEvent) error {
			cursors = append(cursors, ev.Cursor)
			if len(cursors) == 4 {
				return errEnough
			}
			e.swipe(netboxsim.ReaderLobby, g.Card)
			ticks <- time.Time{}
			return nil
		})
		if !errors.Is(err, errEnough) {
			t.Fatal(err)
		}
		if !slices.Equal(cursors, []string{"1", "2", "3", "4"}) {
			t.Errorf("cursors %v", cursors)
		}
	}
}

// An empty cursor starts at the look-back: records older than a day, or
// more than LookBackRecords before the newest, are skipped.
func TestEventsLookBack(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithEvents(EventOptions{Interval: time.Millisecond, LookBackRecords: 3})}})
	g := e.grant(1)
	card := g.Card
	e.swipe(netboxsim.ReaderLobby, card) // 1: older than the look-back
	e.clock.Advance(25 * time.Hour)
	for range 4 {
		e.swipe(netboxsim.ReaderLobby, card) // 2 … 5
	}
	got := collect(t, e, "", 3)
	if got[0].Cursor != "3" || got[2].Cursor != "5" {
		t.Errorf("delivered %v … %v, want 3 … 5", got[0].Cursor, got[2].Cursor)
	}
	e2 := newEnv(t, envOpts{})
	e2.swipe(netboxsim.ReaderLobby, card)
	e2.clock.Advance(25 * time.Hour)
	e2.swipe(netboxsim.ReaderLobby, card)
	if got := collect(t, e2, "", 1); got[0].Cursor != "2" {
		t.Errorf("delivered %q first, want the record of the last day (2)", got[0].Cursor)
	}
}

// An empty log (6.2.0's FAIL "NOT FOUND") is no error; a failed poll is
// retried after the back-off; a refusal ends Events.
func TestEventsFailures(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	e := newEnv(t, envOpts{opts: []Option{withEventSleep(sleep), withoutJitter()}})
	g := e.grant(1)
	e.swipe(netboxsim.ReaderLobby, g.Card)
	// The first poll fails twice (three attempts each), then succeeds.
	e.sim.AddFault(netboxsim.Fault{Command: "GetAccessHistory", Skip: 1, HTTPStatus: http.StatusServiceUnavailable, Times: 6})
	got := collect(t, e, "", 1)
	if got[0].Cursor != "1" {
		t.Errorf("delivered %+v", got[0])
	}
	if !slices.Equal(waits, []time.Duration{time.Millisecond, 2 * time.Millisecond}) {
		t.Errorf("back-off waits %v", waits)
	}
	e.sim.AddFault(netboxsim.Fault{Command: "GetAccessHistory", APIError: 2})
	err := e.p.Events(t.Context(), "1", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied {
		t.Errorf("Events after a refusal: %v", err)
	}
	if err := e.p.Events(t.Context(), "x", func(acs.DoorEvent) error { return nil }); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("Events with a bad cursor: %v", err)
	}
}

// Close ends a running Events with Unavailable.
func TestEventsEndOnClose(t *testing.T) {
	e := newEnv(t, envOpts{})
	started := make(chan struct{})
	done := make(chan error, 1)
	e.sim.AddFault(netboxsim.Fault{Command: "GetAccessHistory", Before: func() { close(started) }})
	go func() { done <- e.p.Events(context.Background(), "", func(acs.DoorEvent) error { return nil }) }()
	<-started
	if err := e.p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; acs.CodeOf(err) != acs.Unavailable {
		t.Errorf("Events after Close: %v", err)
	}
}

// A card format without a Layout: events carry the person, not a card.
func TestEventsWithoutLayouts(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Layouts, c.CardFormat = nil, netboxsim.Format26 }})
	g := e.grant(1)
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	e.swipe(netboxsim.ReaderLobby, g.Card)
	got := collect(t, e, "", 1)
	if !got[0].Card.IsZero() || got[0].Cardholder.ExternalID != g.Person.ExternalID || !got[0].Granted {
		t.Errorf("event %+v", got[0])
	}
}
