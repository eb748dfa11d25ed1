package lenel

// withoutJitter makes the event back-off waits exact, for the tests that
// check them.
func withoutJitter() Option {
	return func(s *settings) error { s.events.jitter = func() float64 { return 0 }; return nil }
}
