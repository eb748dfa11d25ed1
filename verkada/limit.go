package verkada

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// window is a sliding-window rate limiter: at most limit requests start in
// any span (a minute for Verkada). It keeps the start times of the last
// limit requests in a ring; a request may start once the oldest of them is
// a span old. A rolling window is stricter than Verkada's per-minute count
// (however the server aligns its minutes, no minute of it sees more than
// limit requests from this provider), and, unlike a token bucket whose
// burst adds to its rate, it never lets a minute hold more than limit.
//
// A 429 pauses the window until the server's Retry-After has passed, so
// that concurrent callers stop together instead of each discovering the
// limit.
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

func newWindow(limit int, span time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *window {
	return &window{limit: limit, span: span, now: now, sleep: sleep, starts: make([]time.Time, limit)}
}

// windowOf returns the window that paces like the token bucket l of
// WithRateLimit: l.Burst() starts in any l.Burst()/l.Limit() seconds
// (300 in any minute by default); nil when l is (no limit).
func windowOf(l *rate.Limiter, now func() time.Time, sleep func(context.Context, time.Duration) error) *window {
	if l == nil || l.Limit() <= 0 {
		return nil
	}
	span := time.Duration(math.MaxInt64)
	if f := math.Round(float64(l.Burst()) / float64(l.Limit()) * float64(time.Second)); f < math.MaxInt64 {
		span = time.Duration(f)
	}
	return newWindow(l.Burst(), span, now, sleep)
}

// wait blocks until a request may start (or ctx ends) and records its start.
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
		if deadline, ok := ctx.Deadline(); ok && until.After(deadline) {
			return &paceError{wait: until.Sub(now)}
		}
		if err := w.sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// paceError reports that the window would make a request wait past its
// context's deadline: nothing was sent.
type paceError struct{ wait time.Duration }

// Error says that nothing was sent.
func (e *paceError) Error() string {
	return "the client's rate-limit window leaves no time to send the request before its deadline; nothing was sent"
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
