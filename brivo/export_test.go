package brivo

// withoutJitter makes the event back-off waits exact, for the tests that
// check them.
func withoutJitter() Option {
	return func(o *options) { o.jitter = func() float64 { return 0 } }
}
