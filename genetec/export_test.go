package genetec

import "errors"

// Timers is how Events waits: the reconnect backoff and the KeepAlive
// watchdog. Tests replace the runtime's timers with a fake.
type Timers = timers

// WithTimers makes Events wait with t instead of the runtime's timers.
func WithTimers(t Timers) Option {
	return func(o *options) {
		if t == nil {
			o.errs = append(o.errs, errors.New("WithTimers: nil timers"))
		}
		o.timers = t
	}
}
