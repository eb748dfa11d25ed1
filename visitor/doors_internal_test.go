package visitor

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestClockSleep checks the door consumer's default backoff wait: it ends
// when the Engine's clock has moved d on, or when ctx ends.
func TestClockSleep(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	e := &Engine{clock: clock}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.clockSleep(ctx, time.Minute); err != context.Canceled {
		t.Fatalf("cancelled wait returned %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- e.clockSleep(t.Context(), time.Minute) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
			// The ticker may not exist yet; keep moving the clock until
			// the wait sees it.
			clock.Advance(time.Minute)
			runtime.Gosched()
		}
	}
}
