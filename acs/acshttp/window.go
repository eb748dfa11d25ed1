package acshttp

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RollingWindow is a sliding-window rate limiter for an adapter that
// paces its own attempts: at most Limit requests start in any Span. It
// keeps the start times of the last Limit requests in a ring; a request
// may start once the oldest of them is a Span old. However the server
// aligns its count (fixed minutes, rolling windows), no span of it sees
// more than Limit requests from this client, which a token bucket, whose
// burst adds to its rate, would not guarantee.
//
// Pause stops every start until a time (after an over-limit answer), so
// that concurrent callers stop together instead of each spending a
// request to discover the limit. A RollingWindow is safe for concurrent
// use.
type RollingWindow struct {
	limit int
	span  time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	starts []time.Time // ring of the last limit start times
	next   int         // the ring slot the next start overwrites
	paused time.Time   // no start before this
}

// NewRollingWindow returns a window of limit starts in any span, on the
// clock now, waiting with sleep (Sleep when nil).
func NewRollingWindow(limit int, span time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *RollingWindow {
	if sleep == nil {
		sleep = Sleep
	}
	return &RollingWindow{limit: limit, span: span, now: now, sleep: sleep, starts: make([]time.Time, limit)}
}

// RollingWindowOf returns the window that paces like the token bucket l
// of an adapter's WithRateLimit: l.Burst() starts in any
// l.Burst()/l.Limit() seconds; nil when l is nil or unlimited.
func RollingWindowOf(l *rate.Limiter, now func() time.Time, sleep func(context.Context, time.Duration) error) *RollingWindow {
	if l == nil || l.Limit() <= 0 {
		return nil
	}
	span := time.Duration(math.MaxInt64)
	if f := math.Round(float64(l.Burst()) / float64(l.Limit()) * float64(time.Second)); f < math.MaxInt64 {
		span = time.Duration(f)
	}
	return NewRollingWindow(l.Burst(), span, now, sleep)
}

// Limit is the number of starts allowed in any Span.
func (w *RollingWindow) Limit() int { return w.limit }

// Span is the window's length.
func (w *RollingWindow) Span() time.Duration { return w.span }

// Wait blocks until a request may start (or ctx ends) and records its
// start. A wait that would outlast ctx's deadline is not waited: it is a
// *PaceError saying how long, and nothing may be sent.
func (w *RollingWindow) Wait(ctx context.Context) error {
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
			return &PaceError{Wait: d}
		}
		if err := w.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Pause stops every start until t.
func (w *RollingWindow) Pause(t time.Time) {
	w.mu.Lock()
	if t.After(w.paused) {
		w.paused = t
	}
	w.mu.Unlock()
}

// InWindow counts the starts within the last Span (for tests and logs).
func (w *RollingWindow) InWindow() int {
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
