package alta

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// sleeper advances the fake clock instead of sleeping, records the waits,
// and cancels the run after too many of them (nothing more to deliver).
type sleeper struct {
	mu     sync.Mutex
	clk    *fakeClock
	waits  []time.Duration
	limit  int
	cancel context.CancelFunc
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	over := len(s.waits) > s.limit
	s.mu.Unlock()
	if over && s.cancel != nil {
		s.cancel()
	}
	if s.clk != nil {
		s.clk.Advance(d)
	}
	return ctx.Err()
}

func eventEnv(t *testing.T, simOpts []altasim.Option, opts ...Option) (*env, *sleeper) {
	s := &sleeper{limit: 50}
	e := newEnv(t, simOpts, append([]Option{withSleep(s.sleep), withoutJitter()}, opts...)...)
	s.clk = e.clk
	return e, s
}

var errEnough = errors.New("enough")

// collectEvents runs Events from cursor until n events arrived or the
// sleeper gives up, and returns them.
func collectEvents(t *testing.T, e *env, s *sleeper, cursor string, n int) []acs.DoorEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.mu.Lock()
	s.cancel, s.waits = cancel, nil
	s.mu.Unlock()
	var got []acs.DoorEvent
	err := e.p.Events(ctx, cursor, func(ev acs.DoorEvent) error {
		got = append(got, ev)
		if len(got) == n {
			return errEnough
		}
		return nil
	})
	if n > 0 && !errors.Is(err, errEnough) {
		t.Fatalf("after %d of %d events: %v", len(got), n, err)
	}
	if n == 0 && acs.CodeOf(err) != acs.Canceled {
		t.Fatalf("got %v, want the run cancelled with nothing to deliver", err)
	}
	return got
}

func TestEventsDeliverDoorDecisions(t *testing.T) {
	e, s := eventEnv(t, nil, WithDoorDirection("42", acs.DirectionIn))
	g, p := provisioned(t, e, 0) // group 4822: the lobby only
	wf := wiegand.H10301
	swipe := func(entry int64, fc, n uint64) {
		if _, err := e.sim.Swipe(entry, wf, fc, n); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Second)
	}
	swipe(42, g.Card.Facility, g.Card.Number) // granted
	swipe(43, g.Card.Facility, g.Card.Number) // denied: not its group
	swipe(42, 99, 12345)                      // unknown card
	e.sim.AddActivity(altasim.Activity{Time: e.clk.Now(), Category: "lockdown", Result: "success"})
	e.clk.Advance(10 * time.Second)

	got := collectEvents(t, e, s, "", 3)
	want := []struct {
		door    string
		granted bool
		ext     string
		dir     acs.Direction
	}{{"42", true, g.Person.ExternalID, acs.DirectionIn}, {"43", false, g.Person.ExternalID, acs.DirectionUnknown}, {"42", false, "", acs.DirectionIn}}
	for i, w := range want {
		ev := got[i]
		if ev.DoorID != w.door || ev.Granted != w.granted || ev.Cardholder.ExternalID != w.ext || ev.Direction != w.dir || ev.Cursor == "" {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	if got[0].Cardholder.ID != p.Cardholder.ID || got[0].DoorName != "Lobby" {
		t.Errorf("event 0: %+v", got[0])
	}
	// The card comes from the user's card credential; an unknown card's
	// row names no user, so it has none.
	if got[0].Card != g.Card || got[0].Credential != p.Credential.ID || got[1].Card != g.Card || !got[2].Card.IsZero() {
		t.Errorf("cards %v %v %v, credential %q", got[0].Card, got[1].Card, got[2].Card, got[0].Credential)
	}
	if !got[0].Time.Before(got[1].Time) {
		t.Errorf("out of order: %v then %v", got[0].Time, got[1].Time)
	}

	// Resuming from the first event's cursor delivers the others only.
	rest := collectEvents(t, e, s, got[0].Cursor, 2)
	if rest[0].Cursor != got[1].Cursor || rest[1].Cursor != got[2].Cursor {
		t.Errorf("resumed with %q, want %q", []string{rest[0].Cursor, rest[1].Cursor}, []string{got[1].Cursor, got[2].Cursor})
	}
	// From the last cursor there is nothing more.
	collectEvents(t, e, s, got[2].Cursor, 0)
}

// Many events in one window are read over several pages with Alta's
// cursor and the same filter on every call (§1.7), each delivered once
// and in order; windows longer than EventOptions.Window are split.
func TestEventsPagesAndWindows(t *testing.T) {
	e, s := eventEnv(t, nil, WithEvents(EventOptions{Window: 30 * time.Minute}))
	start := e.clk.Now()
	const n = 700
	for i := range n {
		// Pairs share an instant: the order within it is stable too.
		at := start.Add(time.Duration(i/2) * 7 * time.Second)
		e.sim.AddActivity(altasim.Activity{Time: at, EntryID: 42, EntryName: "Lobby", CredentialType: "card",
			UserID: int64(1000 + i), Result: "granted"})
	}
	e.clk.Advance(time.Duration(n/2)*7*time.Second + time.Minute)
	cursor := "2026-03-02T08:59:59Z/0"
	got := collectEvents(t, e, s, cursor, n)
	seen := map[string]bool{}
	for i, ev := range got {
		if seen[ev.Cursor] {
			t.Fatalf("event %s delivered twice", ev.Cursor)
		}
		seen[ev.Cursor] = true
		if i > 0 && ev.Time.Before(got[i-1].Time) {
			t.Fatalf("event %d out of order", i)
		}
	}
	// Every page of a query carried the query's filter.
	queries := map[string]string{} // searchId without the call number → filter
	pages := 0
	for _, r := range e.sim.Requests() {
		if r.Query.Get("filter") == "" {
			continue
		}
		pages++
		if r.Query.Get("cursor") == "" {
			queries[r.Query.Get("filter")] = r.Query.Get("filter")
		} else if _, ok := queries[r.Query.Get("filter")]; !ok || r.Status != 200 {
			t.Errorf("a page with filter %q (status %d) continues no query", r.Query.Get("filter"), r.Status)
		}
	}
	if len(queries) < 2 || pages <= len(queries) {
		t.Errorf("%d queries in %d pages: windows or paging not exercised", len(queries), pages)
	}
}

func TestEventsBackOffAndRecover(t *testing.T) {
	e, s := eventEnv(t, []altasim.Option{altasim.WithRetryAfter(7)})
	_, err := e.sim.Swipe(42, wiegand.H10301, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	// A 500 is not retried within a poll (only 502–504 and 429 are), so
	// two polls fail, then a throttled one asks for 7 s.
	e.sim.AddFault(altasim.Fault{Path: "/reports/activity/events", Kind: altasim.FaultStatus, Status: 500, Times: 2})
	e.sim.AddFault(altasim.Fault{Path: "/reports/activity/events", Kind: altasim.FaultRateLimit, Times: 1})
	got := collectEvents(t, e, s, "", 1)
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	s.mu.Lock()
	waits := slices.Clone(s.waits)
	s.mu.Unlock()
	if len(waits) < 3 || waits[0] != time.Second || waits[1] != 2*time.Second || waits[2] != 7*time.Second {
		t.Errorf("waits %v, want 1 s, 2 s, then Retry-After 7 s", waits)
	}
}

func TestEventsStopOnRefusal(t *testing.T) {
	e, s := eventEnv(t, nil)
	e.sim.AddFault(altasim.Fault{Path: "/reports/activity/events", Kind: altasim.FaultStatus, Status: 403, Times: -1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.cancel = cancel
	err := e.p.Events(ctx, "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied || acs.IsRetryable(err) {
		t.Fatalf("got %v, want a permanent permission denied", err)
	}
	if err := e.p.Events(ctx, "", nil); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("nil fn: %v", err)
	}
}

func TestParseActivityTimes(t *testing.T) {
	for _, tc := range []struct {
		row  string
		want time.Time
	}{
		{`{"uiData":{"time":1772442000.25,"entryId":42}}`, time.Unix(1772442000, 250e6)},
		{`{"uiData":{"time":1772442000250,"entryId":42}}`, time.Unix(1772442000, 250e6)},
		{`{"uiData":{"timeIsoString":"2026-03-02T09:00:00.250Z","entryId":42}}`, time.Unix(1772442000, 250e6)},
	} {
		r, err := parseActivity([]byte(tc.row))
		if err != nil || !r.at.Equal(tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.row, r.at, err, tc.want)
		}
	}
	if _, err := parseActivity([]byte(`{"uiData":{"entryId":42}}`)); err == nil {
		t.Error("a row without a time was accepted")
	}
	for res, want := range map[string]bool{"granted": true, "Access Granted": true, "success": true, "denied": false, "": false, "Unknown": false} {
		var a activityJSON
		a.UIData.Result = res
		if a.granted() != want {
			t.Errorf("result %q read as granted=%v", res, !want)
		}
	}
}
