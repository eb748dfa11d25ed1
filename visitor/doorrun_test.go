package visitor_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// watchedCursors is a CursorStore that reports every save and can fail a
// save once.
type watchedCursors struct {
	visitor.CursorStore
	saves chan string

	mu     sync.Mutex
	saved  []string
	failOn string
}

func newWatchedCursors(inner visitor.CursorStore) *watchedCursors {
	return &watchedCursors{CursorStore: inner, saves: make(chan string, 1000)}
}

func (w *watchedCursors) SaveDoorCursor(ctx context.Context, location, cursor string) error {
	w.mu.Lock()
	fail := cursor == w.failOn
	if fail {
		w.failOn = ""
	}
	w.mu.Unlock()
	if fail {
		return errors.New("cursor store unavailable")
	}
	if err := w.CursorStore.SaveDoorCursor(ctx, location, cursor); err != nil {
		return err
	}
	w.mu.Lock()
	w.saved = append(w.saved, cursor)
	w.mu.Unlock()
	w.saves <- cursor
	return nil
}

func (w *watchedCursors) savedCursors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.saved)
}

// wait returns once cursor has been saved.
func (w *watchedCursors) wait(t *testing.T, cursor string) {
	t.Helper()
	deadline := time.NewTimer(time.Minute) // a hung consumer fails the test instead of hanging it
	defer deadline.Stop()
	for {
		select {
		case c := <-w.saves:
			if c == cursor {
				return
			}
		case <-deadline.C:
			t.Fatalf("cursor %s never saved; saved %q", cursor, w.savedCursors())
		}
	}
}

// waitCount returns once n cursors have been saved in all, and the last.
func (w *watchedCursors) waitCount(t *testing.T, n int) string {
	t.Helper()
	deadline := time.NewTimer(time.Minute) // a hung consumer fails the test instead of hanging it
	defer deadline.Stop()
	for {
		if s := w.savedCursors(); len(s) >= n {
			return s[len(s)-1]
		}
		select {
		case <-w.saves:
		case <-deadline.C:
			t.Fatalf("%d cursors never saved; saved %q", n, w.savedCursors())
		}
	}
}

// consumer runs RunDoorEvents in the background; stop cancels it and
// checks it returned nil.
type consumer struct {
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t *testing.T, e *visitor.Engine) *consumer {
	ctx, cancel := context.WithCancel(t.Context())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- e.RunDoorEvents(ctx) }()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *consumer) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	if err := <-c.done; err != nil {
		t.Fatalf("RunDoorEvents returned %v after cancellation", err)
	}
	c.done <- nil // for the cleanup
}

type eventLog struct {
	mu      sync.Mutex
	cursors []string
}

func (l *eventLog) handler(ctx context.Context, location string, ev acs.DoorEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cursors = append(l.cursors, ev.Cursor)
	return nil
}

func (l *eventLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.cursors)
}

func timelineCursors(t *testing.T, e *visitor.Engine, visitID string) []string {
	t.Helper()
	tl, err := e.DoorTimeline(t.Context(), visitID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range tl {
		out = append(out, s.Cursor)
	}
	return out
}

func TestDoorConsumerResumesAfterRestart(t *testing.T) {
	var unmatched eventLog
	cs := newWatchedCursors(nil)
	f := newDoorFixture(t, visitor.DoorPolicy{}, visitor.WithCursorStore(cs), visitor.WithUnmatchedDoorEvents(unmatched.handler))
	cs.CursorStore = f.store // the MemoryStore keeps the cursors with the visits
	f.employee()
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})

	f.swipe(card1001, "lobby-in", acs.DirectionIn) // 1
	f.swipe(cardEmp, "lobby-in", acs.DirectionIn)  // 2: the employee
	f.swipe(card1001, "srv", acs.DirectionIn)      // 3
	c := startConsumer(t, f.e)
	cs.wait(t, "3")
	c.stop(t)

	// Restart: a new Engine over the same store and cursors, while the
	// ACS kept recording.
	f.swipe(card1001, "lobby-out", acs.DirectionOut) // 4
	f.swipe(cardEmp, "lobby-out", acs.DirectionOut)  // 5
	f.swipe(card1001, "lobby-in", acs.DirectionIn)   // 6
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithCursorStore(cs), visitor.WithUnmatchedDoorEvents(unmatched.handler))
	if err != nil {
		t.Fatal(err)
	}
	c = startConsumer(t, e2)
	cs.wait(t, "6")
	f.swipe(card1001, "side", acs.DirectionIn) // 7, while it runs
	cs.wait(t, "7")
	c.stop(t)

	if got, want := cs.savedCursors(), []string{"1", "2", "3", "4", "5", "6", "7"}; !slices.Equal(got, want) {
		t.Fatalf("saved cursors %q, want %q", got, want)
	}
	if got, want := unmatched.got(), []string{"2", "5"}; !slices.Equal(got, want) {
		t.Fatalf("unmatched handler got %q, want %q (each once)", got, want)
	}
	if got, want := timelineCursors(t, f.e, "v1"), []string{"1", "3", "4", "6", "7"}; !slices.Equal(got, want) {
		t.Fatalf("timeline %q, want %q", got, want)
	}
	v := f.visit("v1")
	if v.Doors.Events != 5 || v.Doors.Last.Cursor != "7" || !v.Doors.Inside() {
		t.Fatalf("door activity %+v", v.Doors)
	}
	if c, _ := f.store.DoorCursor(f.ctx, "hq"); c != "7" {
		t.Fatalf("store cursor %q", c)
	}

	// A consumer that lost its cursors replays everything: the visit and
	// its audit trail do not change; only the unmatched handler sees the
	// employee's events again.
	audit := len(f.actions("v1"))
	lost := newWatchedCursors(visitor.NewMemoryCursors())
	e3, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithCursorStore(lost), visitor.WithUnmatchedDoorEvents(unmatched.handler))
	if err != nil {
		t.Fatal(err)
	}
	c = startConsumer(t, e3)
	lost.wait(t, "7")
	c.stop(t)
	if after := f.visit("v1"); after.Version != v.Version || len(f.actions("v1")) != audit {
		t.Fatalf("replay changed v1: version %d → %d, audit %d → %d", v.Version, after.Version, audit, len(f.actions("v1")))
	}
	if got := unmatched.got(); len(got) != 4 {
		t.Fatalf("unmatched handler got %q", got)
	}
}

func TestDoorConsumerRedeliversAfterFailedSave(t *testing.T) {
	cs := newWatchedCursors(visitor.NewMemoryCursors())
	f := newDoorFixture(t, visitor.DoorPolicy{}, visitor.WithCursorStore(cs))
	var mu sync.Mutex
	var sleeps []time.Duration
	visitor.SetDoorSleep(f.e, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, d)
		mu.Unlock()
		return ctx.Err()
	})
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	for range 3 {
		f.swipe(card1001, "lobby-in", acs.DirectionIn)
	}
	cs.failOn = "2" // event 2 is recorded, but its cursor is not saved
	c := startConsumer(t, f.e)
	cs.wait(t, "3")
	c.stop(t)
	if got, want := cs.savedCursors(), []string{"1", "2", "3"}; !slices.Equal(got, want) {
		t.Fatalf("saved %q, want %q", got, want)
	}
	if got, want := timelineCursors(t, f.e, "v1"), []string{"1", "2", "3"}; !slices.Equal(got, want) {
		t.Fatalf("timeline %q, want %q: the re-delivered event was recorded twice", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sleeps, []time.Duration{2 * time.Second}) {
		t.Fatalf("backoff %v, want one wait of 2s", sleeps)
	}
}

func TestDoorConsumerOutageBacksOff(t *testing.T) {
	cs := newWatchedCursors(visitor.NewMemoryCursors())
	f := newDoorFixture(t, visitor.DoorPolicy{}, visitor.WithCursorStore(cs), visitor.WithBackoff(time.Second, 5*time.Second))
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	var mu sync.Mutex
	var sleeps []time.Duration
	visitor.SetDoorSleep(f.e, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, d)
		if n := len(sleeps); n == 4 || n == 5 {
			f.acs.SetDown(false)
		}
		mu.Unlock()
		return ctx.Err()
	})
	f.swipe(card1001, "lobby-in", acs.DirectionIn)
	f.acs.SetDown(true)
	c := startConsumer(t, f.e)
	cs.wait(t, "1")
	// A second outage after progress starts the backoff over.
	f.acs.SetDown(true)
	f.acs.Swipe(card1001, "side", acs.DirectionIn, f.now())
	cs.wait(t, "2")
	c.stop(t)
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, time.Second}
	if !slices.Equal(sleeps, want) {
		t.Fatalf("waits %v, want %v", sleeps, want)
	}
	if got := timelineCursors(t, f.e, "v1"); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("timeline %q", got)
	}
}

func TestDoorConsumerBackPressure(t *testing.T) {
	cs := newWatchedCursors(visitor.NewMemoryCursors())
	entered := make(chan string)
	release := make(chan struct{})
	var mu sync.Mutex
	active, maxActive := 0, 0
	f := newDoorFixture(t, visitor.DoorPolicy{}, visitor.WithCursorStore(cs), visitor.WithUnmatchedDoorEvents(func(ctx context.Context, _ string, ev acs.DoorEvent) error {
		mu.Lock()
		active++
		maxActive = max(maxActive, active)
		mu.Unlock()
		defer func() { mu.Lock(); active--; mu.Unlock() }()
		select {
		case entered <- ev.Cursor:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	const n = 50
	for i := range n {
		f.acs.Swipe(acs.Card{Format: acs.H10301, Facility: 99, Number: uint64(i)}, "lobby-in", acs.DirectionIn, f.now())
	}
	c := startConsumer(t, f.e)
	for i := 1; i <= n; i++ {
		got := <-entered
		if want := strconv.Itoa(i); got != want {
			t.Fatalf("handler got event %s, want %s", got, want)
		}
		// While the handler holds event i, the previous cursor is saved
		// and no later event has been taken.
		cur, _ := cs.DoorCursor(f.ctx, "hq")
		if want := strconv.Itoa(i - 1); i > 1 && cur != want {
			t.Fatalf("while event %d is handled the saved cursor is %q, want %q", i, cur, want)
		}
		if i == n {
			break
		}
		release <- struct{}{}
	}
	// Cancelled while the handler blocks: the consumer returns, and the
	// event whose handling was cut short is not marked done.
	c.stop(t)
	if cur, _ := cs.DoorCursor(f.ctx, "hq"); cur != strconv.Itoa(n-1) {
		t.Fatalf("cursor after cancellation %q, want %d", cur, n-1)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxActive != 1 {
		t.Fatalf("%d events handled at once, want 1", maxActive)
	}
}

func TestRunDoorEventsRefuses(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	err := f.e.RunDoorEvents(f.ctx, "annex")
	wantCode(t, "unknown location", err, acs.InvalidArgument)
	err = f.e.RunDoorEvents(f.ctx, "hq", "hq")
	wantCode(t, "location twice", err, acs.InvalidArgument)

	type noEvents struct{ acs.Provider }
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: noEvents{f.acs}, Policy: testPolicy()}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.RunDoorEvents(f.ctx)
	wantCode(t, "no event source", err, acs.Unsupported)
	err = e.RunDoorEvents(f.ctx, "hq")
	wantCode(t, "location without event source", err, acs.Unsupported)
}

// scripted is a provider whose event stream is a fixed list: cursors are
// the 1-based positions; after the list it waits for ctx.
type scripted struct {
	acs.Provider
	events []acs.DoorEvent
}

func (s scripted) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	next := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil {
			return err
		}
		next = n
	}
	for _, ev := range s.events[next:] {
		if err := fn(ev); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestDoorConsumerSkipsMalformedEvents(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	f.signIn("v1")
	at := f.now()
	src := scripted{Provider: f.acs, events: []acs.DoorEvent{
		{Cursor: "1", Time: at, Cardholder: acs.CardholderRef{ExternalID: "v1"}}, // no door
		{Cursor: "2", Time: at, DoorID: "d", Cardholder: acs.CardholderRef{ExternalID: "v1"}, Granted: true},
	}}
	mc := visitor.NewMemoryCursors()
	cs := newWatchedCursors(mc)
	e, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: src, Policy: testPolicy()}}, visitor.WithClock(f.clock), visitor.WithCursorStore(cs))
	if err != nil {
		t.Fatal(err)
	}
	c := startConsumer(t, e)
	cs.wait(t, "2")
	c.stop(t)
	if got := timelineCursors(t, e, "v1"); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("timeline %q", got)
	}
	if got := mc.Cursors(); len(got) != 1 || got["hq"] != "2" {
		t.Fatalf("cursors %v", got)
	}
}
