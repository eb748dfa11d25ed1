package alta

import (
	"context"
	"time"
)

// withSleep makes the provider wait with sleep (between event polls,
// after a failed poll, before resending a throttled create) instead of a
// timer, so that tests advance a fake clock instead of waiting. sleep
// must return early with ctx's error when ctx ends.
func withSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// withoutJitter makes the event back-off waits exact, for the tests that
// check them.
func withoutJitter() Option {
	return func(o *options) { o.jitter = func() float64 { return 0 } }
}
