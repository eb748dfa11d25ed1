package brivo

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

const frontDoor, floor3Door = 408023598, 408023599

var errStop = errors.New("stop")

// eventsEnv is a simulator and a provider sharing a fake clock, with a
// sleep that advances the clock instead of waiting. hook, when set, runs
// at every sleep (the test's script: swipes, faults).
type eventsEnv struct {
	*env
	clk  *fakeClock
	opts []Option

	mu     sync.Mutex
	hook   func(d time.Duration)
	sleeps []time.Duration
}

func newEventsEnv(t *testing.T, simOpts []brivosim.Option, opts ...Option) *eventsEnv {
	t.Helper()
	ee := &eventsEnv{clk: newFakeClock()}
	sleep := func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ee.mu.Lock()
		ee.sleeps = append(ee.sleeps, d)
		hook, n := ee.hook, len(ee.sleeps)
		ee.mu.Unlock()
		if n > 2000 {
			return errors.New("the poller is still waiting after 2000 sleeps")
		}
		ee.clk.Advance(d)
		if hook != nil {
			hook(d)
		}
		return ctx.Err()
	}
	ee.opts = append([]Option{WithClock(ee.clk.Now), withSleep(sleep), withoutJitter()}, opts...)
	ee.env = newEnv(t, append([]brivosim.Option{brivosim.WithClock(ee.clk.Now)}, simOpts...), ee.opts...)
	return ee
}

// restart returns a new provider with the same configuration: empty
// caches, no token, as after a VMS restart.
func (ee *eventsEnv) restart(t *testing.T) *Provider {
	t.Helper()
	p, err := New(ee.cfg, testOptions(ee.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (ee *eventsEnv) setHook(h func(time.Duration)) {
	ee.mu.Lock()
	ee.hook = h
	ee.mu.Unlock()
}

// provision grants visitor n the given levels with card 1/(200+n).
func (ee *eventsEnv) provision(t *testing.T, n int, levels ...string) acs.Provisioned {
	t.Helper()
	g := testGrant(n, ee.clk.Now(), levels...)
	g.ValidUntil = ee.clk.Now().Add(48 * time.Hour)
	p, err := ee.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (ee *eventsEnv) swipe(t testing.TB, n uint64, door int64, at time.Time) brivosim.AccessEvent {
	t.Helper()
	ev, err := ee.sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: n}, door, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// collect runs Events from cursor until fn has seen n events (or the
// call ends) and returns what it saw and the call's error.
func collect(ctx context.Context, p *Provider, cursor string, n int) ([]acs.DoorEvent, error) {
	var got []acs.DoorEvent
	err := p.Events(ctx, cursor, func(e acs.DoorEvent) error {
		got = append(got, e)
		if len(got) >= n {
			return errStop
		}
		return nil
	})
	return got, err
}

func eventID(cursor string) string {
	_, id, _ := strings.Cut(cursor, "/")
	return id
}

func TestEventsMapsDoorEvents(t *testing.T) {
	ee := newEventsEnv(t, nil, WithDoorDirection("408023598", acs.DirectionIn))
	lobby := ee.levels()[0]
	prov := ee.provision(t, 1, lobby)
	vault, err := ee.sim.AddDoor("Vault", 11906589)
	if err != nil {
		t.Fatal(err)
	}
	now := ee.clk.Now()
	granted := ee.swipe(t, 201, frontDoor, now)
	if err := ee.sim.PulseDoor(frontDoor, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	denied := ee.swipe(t, 201, vault.ID, now.Add(2*time.Second))
	unknown := ee.swipe(t, 999, floor3Door, now.Add(3*time.Second))
	ee.clk.Advance(time.Minute)

	got, err := collect(t.Context(), ee.p, "", 3)
	if !errors.Is(err, errStop) {
		t.Fatalf("Events: %v", err)
	}
	card := acs.Card{Format: acs.H10301, Facility: 1, Number: 201}
	want := []acs.DoorEvent{
		{Cursor: formatCursor(granted.Occurred, granted.UUID), Time: granted.Occurred, DoorID: "408023598", DoorName: "Front Door",
			Card: card, Credential: prov.Credential.ID, Cardholder: prov.Cardholder, Granted: true, Direction: acs.DirectionIn},
		{Cursor: formatCursor(denied.Occurred, denied.UUID), Time: denied.Occurred, DoorID: strconv.FormatInt(vault.ID, 10), DoorName: "Vault",
			Card: card, Credential: prov.Credential.ID, Cardholder: prov.Cardholder},
		{Cursor: formatCursor(unknown.Occurred, unknown.UUID), Time: unknown.Occurred, DoorID: "408023599", DoorName: "Floor 3 Door",
			Card: acs.Card{Format: acs.H10301, Facility: 1, Number: 999}},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
	// One lookup per credential and per user, whatever the number of
	// events.
	if n := ee.p.lookupRequests(); n != 2 {
		t.Errorf("%d lookups, want 2", n)
	}
}

// doorEvents returns the simulator's door events (credential decisions) in
// delivery order.
func doorEvents(sim *brivosim.Server) []brivosim.AccessEvent {
	var out []brivosim.AccessEvent
	for _, ev := range sim.AccessEvents() {
		if ev.CredentialID != 0 || ev.UnknownWiegand != "" {
			out = append(out, ev)
		}
	}
	return out
}

func pollRequests(sim *brivosim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, "/events/access") {
			n++
		}
	}
	return n
}

// checkStream checks that got is exactly want, in order, and that each
// event's cursor names its event.
func checkStream(t *testing.T, got []acs.DoorEvent, want []brivosim.AccessEvent) {
	t.Helper()
	seen := map[string]bool{}
	for i, e := range got {
		id := eventID(e.Cursor)
		if seen[id] {
			t.Fatalf("event %d (%s) delivered twice", i, id)
		}
		seen[id] = true
	}
	if len(got) != len(want) {
		t.Fatalf("%d events delivered, want %d", len(got), len(want))
	}
	for i := range want {
		if id := eventID(got[i].Cursor); id != want[i].UUID || !got[i].Time.Equal(want[i].Occurred) {
			t.Fatalf("event %d is %s at %v, want %s at %v", i, id, got[i].Time, want[i].UUID, want[i].Occurred)
		}
		if got[i].Granted != want[i].Granted {
			t.Fatalf("event %d granted %v, want %v", i, got[i].Granted, want[i].Granted)
		}
	}
}

// 200 swipes made while the poller runs, interleaved with dropped
// connections, 503s, an expired token and failing lookups; the consumer
// stops after 120 events and a new provider resumes from the last cursor.
// Every event arrives exactly once, in order, with its card and external
// ID.
func TestEventsSurviveDisconnectsAndResume(t *testing.T) {
	ee := newEventsEnv(t, nil, WithEvents(EventOptions{Batch: 7}))
	levels := ee.levels()
	for n := 1; n <= 10; n++ {
		ee.provision(t, n, levels[n%2])
	}
	faults := []brivosim.Fault{
		{Method: "GET", Path: "/events/access", Kind: brivosim.FaultDropBeforeCommit, Times: 4},
		{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 503, Times: 4},
		{Method: "GET", Path: "/credentials/*", Kind: brivosim.FaultDropBeforeCommit, Times: 4},
		{Path: "/events/access", Kind: brivosim.FaultExpireToken},
		{Method: "GET", Path: "/users/*", Kind: brivosim.FaultDropAfterCommit, Times: 4},
		{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 500, Times: 4},
	}
	swipes, chunk := 0, 0
	ee.setHook(func(time.Duration) {
		if swipes >= 200 {
			return
		}
		at := ee.clk.Now()
		for i := range 10 {
			if i >= 5 {
				at = at.Add(time.Millisecond) // the first five share one instant
			}
			number := uint64(201 + (swipes % 10))
			if swipes%13 == 0 {
				number = 999 // an unknown card
			}
			door := int64(frontDoor)
			if swipes%3 == 0 {
				door = floor3Door
			}
			ee.swipe(t, number, door, at)
			swipes++
		}
		if err := ee.sim.PulseDoor(frontDoor, at); err != nil {
			t.Fatal(err)
		}
		ee.sim.AddFault(faults[chunk%len(faults)])
		chunk++
	})

	first, err := collect(t.Context(), ee.p, "", 120)
	if !errors.Is(err, errStop) {
		t.Fatalf("first run: %v", err)
	}
	p2 := ee.restart(t)
	rest, err := collect(t.Context(), p2, first[len(first)-1].Cursor, 200-len(first))
	if !errors.Is(err, errStop) {
		t.Fatalf("second run: %v", err)
	}
	all := append(first, rest...)
	want := doorEvents(ee.sim)
	checkStream(t, all, want)
	for i, e := range all {
		if want[i].UnknownWiegand != "" {
			if e.Card.Number != 999 || e.Cardholder != (acs.CardholderRef{}) {
				t.Errorf("unknown card event %+v", e)
			}
			continue
		}
		if !strings.HasPrefix(e.Cardholder.ExternalID, "visit-") || e.Card.Number < 201 || e.Card.Number > 210 ||
			e.Cardholder.ExternalID != "visit-"+strconv.FormatUint(e.Card.Number-200, 10) {
			t.Errorf("event %d: card %v holder %+v", i, e.Card, e.Cardholder)
		}
	}
	var backoffs int
	for _, d := range ee.sleeps {
		if d != DefaultPollInterval {
			backoffs++
		}
	}
	t.Logf("200 events: %d polls, %d+%d lookups, %d backoffs, %d faults injected",
		pollRequests(ee.sim), ee.p.lookupRequests(), p2.lookupRequests(), backoffs, chunk)
	if backoffs == 0 {
		t.Error("no poll failed: the faults did not reach the poller")
	}
}

// A blocked fn stops the polling (no read-ahead), and however large the
// backlog, a poll holds at most Batch events plus one page.
func TestEventsBackPressure(t *testing.T) {
	ee := newEventsEnv(t, nil, WithEvents(EventOptions{Batch: 50}))
	ee.provision(t, 1, ee.levels()[0])
	at := ee.clk.Now()
	for i := range 500 {
		ee.swipe(t, 201, frontDoor, at.Add(time.Duration(i)*time.Second))
	}
	ee.clk.Advance(time.Hour)
	var maxHeld int
	ee.p.observeHeld = func(n int) { maxHeld = max(maxHeld, n) }

	entered, release := make(chan int), make(chan struct{})
	done := make(chan error, 1)
	var got []acs.DoorEvent
	go func() {
		done <- ee.p.Events(t.Context(), "", func(e acs.DoorEvent) error {
			got = append(got, e)
			if len(got) == 1 {
				entered <- pollRequests(ee.sim)
				<-release
			}
			if len(got) == 500 {
				return errStop
			}
			return nil
		})
	}()
	before := <-entered
	for i := range 300 {
		ee.swipe(t, 201, frontDoor, ee.clk.Now().Add(time.Duration(i)*time.Millisecond))
	}
	if after := pollRequests(ee.sim); after != before {
		t.Errorf("%d polls while fn was blocked", after-before)
	}
	close(release)
	if err := <-done; !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkStream(t, got, doorEvents(ee.sim)[:500])
	if maxHeld > 50+pageSize {
		t.Errorf("held %d events at once, bound %d", maxHeld, 50+pageSize)
	}
	t.Logf("500-event backlog, batch 50: at most %d events held, %d polls", maxHeld, pollRequests(ee.sim))
}

func TestEventsCancellation(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	ee.swipe(t, 201, frontDoor, ee.clk.Now())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	before := len(ee.sim.Requests())
	if err := ee.p.Events(ctx, "", func(acs.DoorEvent) error { return nil }); acs.CodeOf(err) != acs.Canceled {
		t.Errorf("cancelled context: %v", err)
	}
	if len(ee.sim.Requests()) != before {
		t.Error("requests made with a cancelled context")
	}

	// Cancelled while waiting for the next poll.
	ctx, cancel = context.WithCancel(t.Context())
	ee.setHook(func(time.Duration) { cancel() })
	err := ee.p.Events(ctx, "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
	ee.setHook(nil)

	// Cancelled by fn.
	ctx, cancel = context.WithCancel(t.Context())
	n := 0
	err = ee.p.Events(ctx, "", func(acs.DoorEvent) error { n++; cancel(); return nil })
	if acs.CodeOf(err) != acs.Canceled || n != 1 {
		t.Errorf("cancelled by fn: %v after %d events", err, n)
	}
}

func TestEventsRefusesBadInput(t *testing.T) {
	ee := newEventsEnv(t, nil)
	for _, c := range []string{"x", "2026-03-02T09:00:00Z/", "yesterday/abc", "2026-03-02T09:00:00Z/a b", "2026-03-02T09:00:00Z/" + strings.Repeat("a", 300)} {
		if err := ee.p.Events(t.Context(), c, func(acs.DoorEvent) error { return nil }); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
	if err := ee.p.Events(t.Context(), "", nil); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("nil fn: %v", err)
	}
	if n := len(ee.sim.Requests()); n != 0 {
		t.Errorf("%d requests for bad input", n)
	}
	if _, err := New(ee.cfg, WithEvents(EventOptions{BackoffMin: time.Minute, BackoffMax: time.Second})); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("bad polling options: %v", err)
	}
	if _, err := New(ee.cfg, WithDoorDirection("front", acs.DirectionIn)); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("bad door ID: %v", err)
	}
}

// A cursor older than Brivo's 24-hour query window is caught up one window
// at a time; an empty cursor starts History ago.
func TestEventsCrossesWindows(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	now := ee.clk.Now()
	for _, h := range []int{-40, -30, -24, -20, -2} {
		ee.swipe(t, 201, frontDoor, now.Add(time.Duration(h)*time.Hour))
	}
	want := doorEvents(ee.sim)
	got, err := collect(t.Context(), ee.p, formatCursor(now.Add(-45*time.Hour), "0"), 5)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkStream(t, got, want)
	for _, r := range ee.sim.Requests() {
		if !strings.HasSuffix(r.Path, "/events/access") {
			continue
		}
		if r.Status != 200 {
			t.Errorf("poll %s answered %d", r.RawQuery, r.Status)
		}
		f := r.Query.Get("filter")
		gt, lt, _ := strings.Cut(f, ";")
		from, err1 := time.Parse(time.RFC3339, strings.TrimPrefix(gt, "occurred__gt:"))
		to, err2 := time.Parse(time.RFC3339, strings.TrimPrefix(lt, "occurred__lt:"))
		if err1 != nil || err2 != nil || to.Sub(from) != 24*time.Hour || from.Minute() != 0 {
			t.Errorf("poll filter %q", f)
		}
	}
	got, err = collect(t.Context(), ee.p, "", 3)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkStream(t, got, want[2:]) // from exactly 24 hours ago
}

// Events of one instant split across two pages are delivered once each;
// more than a page of one instant cannot be paged past by date, and the
// poll moves on rather than loop.
func TestEventsSameInstantAcrossPages(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	now := ee.clk.Now()
	for i, n := range []int{10, 80, 60} {
		for range n {
			ee.swipe(t, 201, frontDoor, now.Add(time.Duration(i)*time.Second))
		}
	}
	ee.clk.Advance(time.Minute)
	got, err := collect(t.Context(), ee.p, "", 150)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkStream(t, got, doorEvents(ee.sim))

	// 110 events in one millisecond: the poll delivers the 100 it can list
	// and goes on.
	ee2 := newEventsEnv(t, nil)
	ee2.provision(t, 1, ee2.levels()[0])
	at := ee2.clk.Now()
	for range 110 {
		ee2.swipe(t, 201, frontDoor, at)
	}
	later := ee2.swipe(t, 201, frontDoor, at.Add(time.Second))
	ee2.clk.Advance(time.Minute)
	got, err = collect(t.Context(), ee2.p, "", 101)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if eventID(got[100].Cursor) != later.UUID {
		t.Errorf("the event after the crowded instant is not next")
	}
}

// Transient failures back off (doubling, bounded); a refusal that cannot
// pass by itself ends the call.
func TestEventsBackoffAndPermanentErrors(t *testing.T) {
	ee := newEventsEnv(t, nil, WithEvents(EventOptions{BackoffMin: time.Second, BackoffMax: 3 * time.Second}))
	ee.provision(t, 1, ee.levels()[0])
	ee.swipe(t, 201, frontDoor, ee.clk.Now())
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 503, Times: 3})
	if _, err := collect(t.Context(), ee.p, "", 1); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(ee.sleeps, want) {
		t.Errorf("sleeps %v, want %v", ee.sleeps, want)
	}
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 403, Times: -1})
	err := ee.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Errorf("API key refused: %v", err)
	}
	ee.sim.ClearFaults()
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 400, Times: -1})
	err = ee.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("400: %v", err)
	}
}

// Revoked and removed visitors: the event keeps what the event says, the
// lookups that find nothing leave the rest empty and are not repeated.
func TestEventsAfterRevocation(t *testing.T) {
	ee := newEventsEnv(t, nil)
	lobby := ee.levels()[0]
	p1 := ee.provision(t, 1, lobby)
	p2 := ee.provision(t, 2, lobby)
	now := ee.clk.Now()
	for i := range 3 {
		ee.swipe(t, 201, frontDoor, now.Add(time.Duration(i)*time.Millisecond))
		ee.swipe(t, 202, frontDoor, now.Add(time.Duration(i)*time.Millisecond))
	}
	if err := ee.p.Revoke(t.Context(), p1.Credential); err != nil {
		t.Fatal(err)
	}
	if err := ee.p.RemoveCardholder(t.Context(), p2.Cardholder); err != nil {
		t.Fatal(err)
	}
	ee.clk.Advance(time.Minute)
	got, err := collect(t.Context(), ee.p, "", 6)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	for _, e := range got {
		switch e.Credential {
		case p1.Credential.ID:
			if !e.Card.IsZero() || e.Cardholder.ExternalID != "visit-1" || !e.Granted {
				t.Errorf("revoked visitor's event %+v", e)
			}
		case p2.Credential.ID:
			if !e.Card.IsZero() || e.Cardholder.ExternalID != "" || e.Cardholder.ID != p2.Cardholder.ID {
				t.Errorf("removed visitor's event %+v", e)
			}
		default:
			t.Errorf("event %+v", e)
		}
	}
	if n := ee.p.lookupRequests(); n != 4 {
		t.Errorf("%d lookups, want 4 (two credentials, two users)", n)
	}
}

func TestDecodeUnknownWiegand(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		bits int
		want acs.Card
	}{
		{"2020190", 0, acs.Card{Format: acs.H10301, Facility: 1, Number: 200}},
		{"0x2020190", 26, acs.Card{Format: acs.H10301, Facility: 1, Number: 200}},
		{"2020190", 37, acs.Card{}},          // not a valid 37-bit frame of either format
		{"2020191", 0, acs.Card{}},           // parity fails
		{"zz", 0, acs.Card{}},                // not hex
		{"", 0, acs.Card{}},                  // nothing
		{"12345678901234567", 0, acs.Card{}}, // longer than 64 bits
	} {
		got, ok := decodeUnknown(tc.hex, tc.bits)
		if got != tc.want || ok != !tc.want.IsZero() {
			t.Errorf("decodeUnknown(%q, %d) = %v %v, want %v", tc.hex, tc.bits, got, ok, tc.want)
		}
	}
	// A 37-bit frame is valid as both H10302 and H10304: not decoded.
	fr, _ := wiegand.H10304.Encode(1, 200)
	if c, ok := decodeUnknown(fr.Hex(), 0); ok {
		t.Errorf("37-bit frame decoded as %v", c)
	}
	if c, ok := decodeUnknown(fr.Hex(), 37); ok {
		t.Errorf("37-bit frame with its length decoded as %v", c)
	}
}

// TestEventRoundTrips counts the requests of polls once the token is held.
func TestEventRoundTrips(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	start := ee.clk.Now()
	for i := range 250 {
		ee.swipe(t, 201, frontDoor, start.Add(time.Duration(i)*time.Millisecond))
	}
	ee.clk.Advance(time.Minute)
	if err := ee.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	s := &poller{p: ee.p, op: "events", pos: position{at: start.Add(-time.Second)}, fn: func(acs.DoorEvent) error { delivered++; return nil }}
	count := func(name string, want, wantEvents int) {
		t.Helper()
		ee.sim.ResetRequests()
		delivered = 0
		if more, err := s.pass(t.Context()); err != nil || more {
			t.Fatalf("%s: more %v, %v", name, more, err)
		}
		reqs := apiCalls(ee.sim.Requests())
		if len(reqs) != want || delivered != wantEvents {
			t.Errorf("%s: %d requests %q and %d events, want %d and %d", name, len(reqs), reqs, delivered, want, wantEvents)
		}
		t.Logf("%-40s %d requests, %d events", name, len(reqs), delivered)
	}
	count("poll of 250 new events (cold lookups)", 4+2, 250)
	count("idle poll", 1, 0)
	ee.swipe(t, 201, frontDoor, ee.clk.Now())
	ee.clk.Advance(time.Minute)
	count("poll of one new event (warm lookups)", 1, 1)
}

// A first (small) page holding only events of the poll's upper bound is
// read again in full, not skipped past.
func TestEventsCrowdedUpperBound(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	at := ee.clk.Now()
	for range 30 {
		ee.swipe(t, 201, frontDoor, at)
	}
	// The poll's upper bound is now − Settle, whole seconds: exactly at.
	ee.clk.Advance(DefaultEventSettle)
	got, err := collect(t.Context(), ee.p, formatCursor(at.Add(-time.Second), "0"), 30)
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkStream(t, got, doorEvents(ee.sim))
}
