package verkada

import (
	"context"
	"time"
)

// withSleep makes the provider wait with sleep (for the rate-limit
// window, before resending a throttled or failed request, between event
// polls) instead of a timer, so that tests advance a fake clock instead of
// waiting. sleep must return early with ctx's error when ctx ends.
func withSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}
