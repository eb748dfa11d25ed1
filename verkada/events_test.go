package verkada

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

var errEnough = errors.New("enough events")

// collect runs Events from cursor until n events arrived.
func collect(t *testing.T, p *Provider, cursor string, n int) []acs.DoorEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out []acs.DoorEvent
	err := p.Events(ctx, cursor, func(de acs.DoorEvent) error {
		out = append(out, de)
		if len(out) == n {
			return errEnough
		}
		return nil
	})
	if err != errEnough {
		t.Fatalf("Events: %v after %d events", err, len(out))
	}
	return out
}

// swipes provisions a visitor for the Lobby and records, a minute apart:
// a granted swipe at the Front Door (an entry door), a refused one at the
// Floor 3 door, a door held open (no decision) and an unknown card.
func swipes(t *testing.T, e *env) (acs.Grant, time.Time) {
	t.Helper()
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	provisionOnce(t, e, g)
	at := e.clk.Now().Add(time.Minute)
	mustSwipe := func(number uint64, door string, at time.Time) {
		if _, err := e.sim.Swipe("Standard 26-bit Wiegand", 1, number, door, at); err != nil {
			t.Fatal(err)
		}
	}
	mustSwipe(g.Card.Number, verkadasim.DoorID(1), at)
	mustSwipe(g.Card.Number, verkadasim.DoorID(2), at.Add(time.Minute))
	e.sim.AddSystemEvent("door_held_open", verkadasim.DoorID(1), at.Add(90*time.Second))
	mustSwipe(999, verkadasim.DoorID(1), at.Add(2*time.Minute))
	return g, at
}

func TestEventsDeliverDoorDecisionsInOrder(t *testing.T) {
	e := newEnv(t, nil)
	g, at := swipes(t, e)
	evs := collect(t, e.p, "", 3)
	want := []struct {
		door    string
		granted bool
		ext     string
		dir     acs.Direction
		number  uint64
	}{
		{verkadasim.DoorID(1), true, g.Person.ExternalID, acs.DirectionIn, g.Card.Number},
		{verkadasim.DoorID(2), false, g.Person.ExternalID, acs.DirectionUnknown, g.Card.Number},
		{verkadasim.DoorID(1), false, "", acs.DirectionIn, 999},
	}
	for i, w := range want {
		de := evs[i]
		if de.DoorID != w.door || de.Granted != w.granted || de.Cardholder.ExternalID != w.ext || de.Direction != w.dir ||
			de.Card != (acs.Card{Format: acs.H10301, Facility: 1, Number: w.number}) || !de.Time.Equal(at.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("event %d: %+v, want %+v", i, de, w)
		}
	}
	if u, ok := any(e.p).(acs.UnknownCardEvents); !ok || !u.ReportsUnknownCards() {
		t.Error("the unknown card's data is delivered, but the provider does not say so (acs.UnknownCardEvents)")
	}
	if evs[0].DoorName != "Front Door" {
		t.Errorf("door name %q", evs[0].DoorName)
	}
	// Resuming after the second event delivers only the third.
	rest := collect(t, e.p, evs[1].Cursor, 1)
	if rest[0].Cursor != evs[2].Cursor {
		t.Errorf("resumed at %+v, want %+v", rest[0], evs[2])
	}
}

// A range holding more than Batch events is split until it fits, and the
// order holds.
func TestEventsSplitLargeRanges(t *testing.T) {
	e := newEnv(t, nil, WithEvents(EventOptions{Batch: 2, Span: time.Hour}))
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	provisionOnce(t, e, g)
	start := e.clk.Now().Add(time.Second)
	for i := range 7 {
		if _, err := e.sim.Swipe("HID", 1, g.Card.Number, verkadasim.DoorID(1), start.Add(time.Duration(i)*3*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	evs := collect(t, e.p, "", 7)
	for i := 1; i < len(evs); i++ {
		if !evs[i].Time.After(evs[i-1].Time) {
			t.Fatalf("events out of order: %v then %v", evs[i-1].Time, evs[i].Time)
		}
	}
}

func TestEventsEndOnRefusal(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(verkadasim.Fault{Path: "/events/v1/access", Kind: verkadasim.FaultStatus, Status: 503})
	e.sim.AddFault(verkadasim.Fault{Path: "/events/v1/access", Kind: verkadasim.FaultStatus, Status: 403, Times: -1})
	err := e.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("got %v, want permission denied", err)
	}
	if _, err := parseCursor("events", "not-a-cursor"); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestEventTimeFormats(t *testing.T) {
	want := time.Date(2026, 3, 2, 9, 0, 0, 250e6, time.UTC)
	for _, raw := range []string{`"2026-03-02T09:00:00.250Z"`, `1772442000.25`, `"1772442000250"`, `1772442000250`} {
		got, ok := eventTime([]byte(raw))
		if !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", raw, got, ok, want)
		}
	}
	if _, ok := eventTime([]byte(`"yesterday"`)); ok {
		t.Error("a word parsed as a time")
	}
}

// A refusal during the cardholder lookup ends Events; a transient failure
// is retried and the event still arrives with its cardholder.
func TestEventLookupFailures(t *testing.T) {
	e := newEnv(t, nil)
	g, _ := swipes(t, e)
	e.sim.AddFault(verkadasim.Fault{Method: "GET", Path: "/access/v1/access_users/user", Kind: verkadasim.FaultStatus, Status: 503, Times: 5})
	evs := collect(t, e.p, "", 1)
	if evs[0].Cardholder.ExternalID != g.Person.ExternalID {
		t.Errorf("event %+v lost its cardholder", evs[0])
	}
	other := newEnv(t, nil)
	swipes(t, other)
	other.sim.AddFault(verkadasim.Fault{Method: "GET", Path: "/access/v1/access_users/user", Kind: verkadasim.FaultStatus, Status: 403, Times: -1})
	err := other.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied {
		t.Errorf("got %v, want permission denied", err)
	}
}
