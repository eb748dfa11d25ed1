package genetec_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// fakeTimers is a manual clock for the adapter's backoff and watchdog.
// Sleep returns at once (recording the delay) unless a hook is set;
// AfterFunc timers fire only when Advance moves past them.
type fakeTimers struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
	armed  int
	sleeps []time.Duration
	hook   func(ctx context.Context, d time.Duration) error
	wake   chan struct{}
}

type fakeTimer struct {
	at   time.Duration
	f    func()
	done bool
}

func newFakeTimers() *fakeTimers { return &fakeTimers{wake: make(chan struct{}, 1)} }

func (ft *fakeTimers) poke() {
	select {
	case ft.wake <- struct{}{}:
	default:
	}
}

func (ft *fakeTimers) Sleep(ctx context.Context, d time.Duration) error {
	ft.mu.Lock()
	ft.sleeps = append(ft.sleeps, d)
	hook := ft.hook
	ft.mu.Unlock()
	ft.poke()
	if hook != nil {
		return hook(ctx, d)
	}
	return ctx.Err()
}

func (ft *fakeTimers) AfterFunc(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	t := &fakeTimer{at: ft.now + d, f: f}
	if len(ft.timers) > 64 {
		live := ft.timers[:0]
		for _, o := range ft.timers {
			if !o.done {
				live = append(live, o)
			}
		}
		ft.timers = live
	}
	ft.timers = append(ft.timers, t)
	ft.armed++
	ft.mu.Unlock()
	ft.poke()
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if t.done {
			return false
		}
		t.done = true
		return true
	}
}

// Advance moves the clock and runs the timers that are due.
func (ft *fakeTimers) Advance(d time.Duration) {
	ft.mu.Lock()
	ft.now += d
	var due []func()
	for _, t := range ft.timers {
		if !t.done && t.at <= ft.now {
			t.done = true
			due = append(due, t.f)
		}
	}
	ft.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// state returns how many timers were ever armed and how many are pending.
func (ft *fakeTimers) state() (armed, pending int) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for _, t := range ft.timers {
		if !t.done {
			pending++
		}
	}
	return ft.armed, pending
}

func (ft *fakeTimers) slept() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]time.Duration(nil), ft.sleeps...)
}

// waitUntil polls cond, woken by the simulator's and the fake timers'
// activity; it fails the test after a generous real-time limit so that a
// bug shows as a failure rather than a hang. It never asserts timing.
func waitUntil(t testing.TB, what string, cond func() bool, wake ...<-chan struct{}) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		var w <-chan struct{}
		if len(wake) > 0 {
			w = wake[0]
		}
		select {
		case <-deadline.C:
			t.Fatalf("gave up waiting for %s", what)
		case <-w:
		case <-tick.C:
		}
	}
}

// collector gathers delivered events.
type collector struct {
	mu   sync.Mutex
	evs  []acs.DoorEvent
	wake chan struct{}
}

func newCollector() *collector { return &collector{wake: make(chan struct{}, 1)} }

func (c *collector) fn(e acs.DoorEvent) error {
	c.mu.Lock()
	c.evs = append(c.evs, e)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) events() []acs.DoorEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]acs.DoorEvent(nil), c.evs...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.evs)
}

func (c *collector) waitFor(t testing.TB, n int) []acs.DoorEvent {
	t.Helper()
	waitUntil(t, itoa(n)+" events", func() bool { return c.len() >= n }, c.wake)
	return c.events()
}

// run starts Events in a goroutine; stop cancels it and returns its error.
type run struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startEvents(t testing.TB, p *genetec.Provider, cursor string, fn func(acs.DoorEvent) error) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Events(ctx, cursor, fn) }()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *run) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// eventsEnv is an env with fake timers, no automatic KeepAlive lines, and
// the given event options.
func eventsEnv(t testing.TB, o genetec.EventOptions, simOpts ...genetecsim.Option) (*env, *fakeTimers) {
	t.Helper()
	ft := newFakeTimers()
	e := newEnv(t, append([]genetecsim.Option{genetecsim.WithKeepAliveInterval(0)}, simOpts...),
		genetec.WithTimers(ft), genetec.WithEvents(o))
	return e, ft
}

// card is the badge of grant(n).
func card(n int) genetecsim.Card {
	return genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: uint64(1000 + n)}
}

func (e *env) swipe(t testing.TB, door string, c genetecsim.Card, at time.Time) genetecsim.Event {
	t.Helper()
	e.clock.Set(at)
	ev, err := e.sim.Swipe(door, c, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// count returns how many logged requests have the method and the path.
func (e *env) count(method, path string) int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// countPrefix returns how many logged requests have the method and a
// path starting with prefix.
func (e *env) countPrefix(method, prefix string) int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// subscribed reports whether the adapter's session is subscribed.
func (e *env) subscribed() bool { return len(e.sim.Subscribed(genetecsim.DefaultUser)) > 0 }
