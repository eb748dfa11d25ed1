package netbox

import (
	"context"
	"time"
)

// The seams below replace how the provider waits, so that tests step its
// loops instead of waiting on wall-clock time.

// withEventTicks makes Events poll on each value received from ch instead
// of on a ticker. Values are received only between polls.
func withEventTicks(ch <-chan time.Time) Option {
	return func(o *options) { o.events.ticks = ch }
}

// withEventSleep makes Events wait its back-off with sleep, which must
// return early with ctx's error when ctx ends.
func withEventSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.events.sleep = sleep }
}

// withoutJitter makes the event back-off waits exact.
func withoutJitter() Option {
	return func(o *options) { o.events.jitter = func() float64 { return 0 } }
}
