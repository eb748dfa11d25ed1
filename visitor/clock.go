package visitor

import (
	"sync"
	"time"
)

// Clock is the Engine's source of time. Tests inject a ManualClock so that
// expiry, backoff and auto sign-out are tested without sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTicker returns a ticker that ticks every d (d > 0), for Run.
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers ticks on a channel until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock returns the wall clock (time.Now, time.NewTicker).
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTicker(d time.Duration) Ticker { return sysTicker{time.NewTicker(d)} }

type sysTicker struct{ t *time.Ticker }

func (t sysTicker) C() <-chan time.Time { return t.t.C }
func (t sysTicker) Stop()               { t.t.Stop() }

// ManualClock is a Clock that moves only when told to. Its tickers tick
// when Advance or Set moves the time past their next tick (at most one
// pending tick each, like time.Ticker drops ticks for slow receivers). It
// is safe for concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
}

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and fires the tickers that are due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t (which may be earlier) and fires the tickers
// that are due.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.setLocked(t)
	c.mu.Unlock()
}

func (c *ManualClock) setLocked(t time.Time) {
	c.now = t
	live := c.tickers[:0]
	for _, tk := range c.tickers {
		if tk.stopped {
			continue
		}
		live = append(live, tk)
		if !t.Before(tk.next) {
			for !t.Before(tk.next) {
				tk.next = tk.next.Add(tk.d)
			}
			select {
			case tk.c <- t:
			default:
			}
		}
	}
	c.tickers = live
}

// NewTicker returns a ticker driven by Advance and Set.
func (c *ManualClock) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("visitor: non-positive interval for NewTicker")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := &manualTicker{clock: c, c: make(chan time.Time, 1), d: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, tk)
	return tk
}

type manualTicker struct {
	clock   *ManualClock
	c       chan time.Time
	d       time.Duration
	next    time.Time
	stopped bool
}

func (t *manualTicker) C() <-chan time.Time { return t.c }

func (t *manualTicker) Stop() {
	t.clock.mu.Lock()
	t.stopped = true
	t.clock.mu.Unlock()
}
