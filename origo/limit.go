package origo

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// window is a sliding-window rate limiter: at most limit requests start in
// any span (5 minutes for Origo). It keeps the start times of the last
// limit requests in a ring; a request may start once the oldest of them is
// a span old. However HID aligns its count (rolling or fixed windows), no
// span of it sees more than limit requests from this issuer, which a token
// bucket, whose burst adds to its rate, would not guarantee.
//
// pause stops every start until a time (after a 403 that may mean "over
// the limit"), so that concurrent callers stop together instead of each
// spending a request to discover the limit. (The verkada adapter keeps
// the same kind of window for its per-minute limit.)
type window struct {
	limit int
	span  time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	starts []time.Time // ring of the last limit start times
	next   int         // the ring slot the next start overwrites
	paused time.Time   // no start before this
}

// windowOf returns the window that paces like the token bucket l of
// WithRateLimit: l.Burst() starts in any l.Burst()/l.Limit() seconds (50
// in any 5 minutes by default); nil when l is (no limit).
func windowOf(l *rate.Limiter, now func() time.Time, sleep func(context.Context, time.Duration) error) *window {
	if l == nil || l.Limit() <= 0 {
		return nil
	}
	span := time.Duration(math.MaxInt64)
	if f := math.Round(float64(l.Burst()) / float64(l.Limit()) * float64(time.Second)); f < math.MaxInt64 {
		span = time.Duration(f)
	}
	return &window{limit: l.Burst(), span: span, now: now, sleep: sleep, starts: make([]time.Time, l.Burst())}
}

// wait blocks until a request may start (or ctx ends) and records its
// start. A wait that would outlast ctx's deadline is not waited: it is a
// *paceError saying how long, and nothing is sent.
func (w *window) wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.mu.Lock()
		now := w.now()
		until := w.paused
		if oldest := w.starts[w.next]; !oldest.IsZero() && oldest.Add(w.span).After(until) {
			until = oldest.Add(w.span)
		}
		if !now.Before(until) {
			w.starts[w.next] = now
			w.next = (w.next + 1) % w.limit
			w.mu.Unlock()
			return nil
		}
		w.mu.Unlock()
		d := until.Sub(now)
		// The clock may be a test's; the deadline is real time: compare
		// durations, not instants.
		if deadline, ok := ctx.Deadline(); ok && d > time.Until(deadline) {
			return &paceError{wait: d}
		}
		if err := w.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// paceError reports that the window would make a request wait past its
// context's deadline: nothing was sent.
type paceError struct{ wait time.Duration }

// Error says that nothing was sent.
func (e *paceError) Error() string {
	return "the client's rate-limit window (Origo allows 50 requests in 5 minutes) leaves no time to send the request before its deadline; nothing was sent"
}

// pause stops every start until t.
func (w *window) pause(t time.Time) {
	w.mu.Lock()
	if t.After(w.paused) {
		w.paused = t
	}
	w.mu.Unlock()
}

// inWindow counts the starts within the last span (for tests and logs).
func (w *window) inWindow() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	now, n := w.now(), 0
	for _, t := range w.starts {
		if !t.IsZero() && now.Sub(t) < w.span {
			n++
		}
	}
	return n
}
