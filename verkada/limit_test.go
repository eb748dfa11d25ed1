package verkada

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

func TestWindowNeverExceedsTheLimitInAnyMinute(t *testing.T) {
	clk := newFakeClock()
	w := acshttp.NewRollingWindow(3, time.Minute, clk.Now, clk.Sleep)
	var starts []time.Time
	for i := range 10 {
		if err := w.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, clk.Now())
		clk.Advance(time.Duration(i%3) * 5 * time.Second) // uneven spacing
	}
	for i := range starts {
		n := 0
		for _, s := range starts[i:] {
			if s.Sub(starts[i]) < time.Minute {
				n++
			}
		}
		if n > 3 {
			t.Fatalf("%d starts in the minute from %s", n, starts[i])
		}
	}
	// The fourth start waits for the first to be a minute old.
	if got := starts[3].Sub(starts[0]); got != time.Minute {
		t.Errorf("fourth start %s after the first, want 1m", got)
	}
}

func TestWindowPauseStopsEveryone(t *testing.T) {
	clk := newFakeClock()
	w := acshttp.NewRollingWindow(100, time.Minute, clk.Now, clk.Sleep)
	start := clk.Now()
	w.Pause(start.Add(17 * time.Second))
	if err := w.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(start); got != 17*time.Second {
		t.Errorf("started after %s, want 17s", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.Wait(ctx); err == nil {
		t.Error("wait with a cancelled context succeeded")
	}
}

// A wait that would outlast the caller's deadline is refused at once as
// RateLimited, with the wait it needed, instead of ending as Canceled.
func TestWindowRefusesWaitPastDeadline(t *testing.T) {
	// Deadlines are on the real clock, so is the window here; nothing
	// sleeps: the two requests that fill it go at once, the third is
	// refused at once.
	e := newEnv(t, nil, WithRateLimit(2.0/60, 2), WithClock(time.Now))
	if err := e.p.Ping(t.Context()); err != nil { // the exchange and one listing
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	e.sim.ResetRequests()
	err := e.p.Ping(ctx)
	if d, ok := acs.RetryAfterOf(err); acs.CodeOf(err) != acs.RateLimited || !ok || d <= 50*time.Second || d > time.Minute {
		t.Fatalf("got %v, want rate limited with a one-minute wait", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// WithRateLimit(perSecond, burst) is a rolling window of burst starts in
// burst/perSecond seconds: Verkada's 300 in any minute by default.
func TestRateLimitOptionIsAWindow(t *testing.T) {
	for _, tc := range []struct {
		opts        []Option
		limit       int
		span        time.Duration
		unlimited   bool
		invalidWord string
	}{
		{opts: nil, limit: DefaultRateLimit, span: time.Minute},
		{opts: []Option{WithRateLimit(2.0/60, 2)}, limit: 2, span: time.Minute},
		{opts: []Option{WithRateLimit(10, 0)}, limit: 1, span: 100 * time.Millisecond},
		{opts: []Option{WithRateLimit(0, 0)}, unlimited: true},
		{opts: []Option{WithRateLimit(-1, 5)}, invalidWord: "WithRateLimit"},
		{opts: []Option{WithRateLimit(1, maxWindow+1)}, invalidWord: "WithRateLimit"},
	} {
		p, err := New(Config{APIKey: "k"}, tc.opts...)
		switch {
		case tc.invalidWord != "":
			if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), tc.invalidWord) {
				t.Errorf("%d options: got %v, want invalid argument naming %s", len(tc.opts), err, tc.invalidWord)
			}
		case err != nil:
			t.Errorf("New: %v", err)
		case tc.unlimited:
			if p.limiter != nil {
				t.Errorf("limiter %d in %s, want none", p.limiter.Limit(), p.limiter.Span())
			}
		case p.limiter == nil || p.limiter.Limit() != tc.limit || p.limiter.Span() != tc.span:
			t.Errorf("limiter %+v, want %d in %s", p.limiter, tc.limit, tc.span)
		}
	}
}
