package alta

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness { return newSwipeHarness(t, nil) })
}

// The same rules against a simulator that refuses a card held by another
// user and accepts only the bare token: the adapter must not depend on
// either answer.
func TestConformanceStrictSimulator(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return newSwipeHarness(t, []altasim.Option{altasim.WithUniqueCards(), altasim.WithTokenScheme(altasim.SchemeBare)})
	})
}

// swipeHarness adds acstest.SwipeHarness: cards are presented at the
// simulator's doors, and the provider's poll loop runs on the fake clock.
// Its sleep advances the clock and returns at once while a swipe is
// waiting to be delivered; once caught up it waits for the caller to stop
// (the kit cancels the run), so no timer decides what is delivered.
type swipeHarness struct {
	harness
	mu       sync.Mutex
	swipes   int
	idleSeen int
}

func newSwipeHarness(t *testing.T, simOpts []altasim.Option) *swipeHarness {
	h := &swipeHarness{}
	h.e = newEnv(t, simOpts, withSleep(h.sleep))
	return h
}

func (h *swipeHarness) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	h.e.clk.Advance(d)
	h.mu.Lock()
	fresh := h.swipes != h.idleSeen
	h.idleSeen = h.swipes
	h.mu.Unlock()
	if !fresh {
		<-ctx.Done()
	}
	return ctx.Err()
}

// Swipe presents the card at a door of the level, then lets a second pass.
func (h *swipeHarness) Swipe(_ context.Context, card acs.Card, level string) error {
	door := int64(0)
	for _, e := range altasim.DefaultEntries() {
		if slices.Contains(e.Groups, mustID(level)) {
			door = e.ID
			break
		}
	}
	if door == 0 {
		return fmt.Errorf("no door opens level %s", level)
	}
	if _, err := h.e.sim.Swipe(door, card.Format, card.Facility, card.Number); err != nil {
		return err
	}
	h.e.clk.Advance(time.Second)
	h.mu.Lock()
	h.swipes++
	h.mu.Unlock()
	return nil
}
