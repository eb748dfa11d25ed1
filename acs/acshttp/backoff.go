package acshttp

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the schedule of waits of a retry loop (an event poller
// after a failed poll, a stream reconnecting, a refused login): Min after
// the first failure, doubling with each failure in a row up to Max. Each
// wait is shortened by a random part of up to a quarter (jitter), so that
// several processes that failed together do not all retry at the same
// instant; Max is therefore never exceeded, and a wait is never shorter
// than three quarters of Min.
//
// Set Min and Max before first use. A Backoff is a value of one loop and
// is not safe for concurrent use; guard it with the loop's own mutex when
// several goroutines share it.
type Backoff struct {
	// Min is the first wait; Max the longest (Max below Min means Min).
	Min, Max time.Duration
	// Rand draws the jitter, a value in [0, 1); nil means math/rand/v2.
	// A test that checks exact waits uses one that returns 0.
	Rand func() float64

	failures int
}

// Next returns the wait after one more failure in a row and counts it.
func (b *Backoff) Next() time.Duration {
	d := b.Delay(b.failures)
	b.failures++
	return d
}

// Reset starts the schedule again at Min, after a success.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures is how many failures in a row Next has counted since the last
// Reset.
func (b *Backoff) Failures() int { return b.failures }

// Delay returns the wait before retry number attempt+1 (attempt 0 is the
// first retry, waiting about Min), without counting anything: for loops
// that keep their own count, such as an HTTP client's.
func (b *Backoff) Delay(attempt int) time.Duration {
	lo, hi := max(b.Min, 0), max(b.Max, b.Min, 0)
	d := lo
	for i := 0; i < attempt && 0 < d && d < hi; i++ {
		if d > hi/2 {
			d = hi
			break
		}
		d *= 2
	}
	d = min(d, hi)
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return d - time.Duration(float64(d/4)*min(max(r(), 0), 1))
}

// Sleep waits d, or until ctx ends and then returns ctx's error. A d of
// zero or less does not wait (it still reports a context that has ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
