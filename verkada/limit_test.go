package verkada

import (
	"context"
	"testing"
	"time"
)

func TestWindowNeverExceedsTheLimitInAnyMinute(t *testing.T) {
	clk := newFakeClock()
	w := newWindow(3, time.Minute, clk.Now, clk.Sleep)
	var starts []time.Time
	for i := range 10 {
		if err := w.wait(t.Context()); err != nil {
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
	w := newWindow(100, time.Minute, clk.Now, clk.Sleep)
	start := clk.Now()
	w.pause(start.Add(17 * time.Second))
	if err := w.wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(start); got != 17*time.Second {
		t.Errorf("started after %s, want 17s", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.wait(ctx); err == nil {
		t.Error("wait with a cancelled context succeeded")
	}
}
