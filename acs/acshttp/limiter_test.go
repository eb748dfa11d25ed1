package acshttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// maxInWindow returns the most arrival times in any span of per.
func maxInWindow(arrivals []time.Time, per time.Duration) int {
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range arrivals {
		for arrivals[hi].Sub(arrivals[lo]) >= per {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// TestLimiterNeverOverWindow: whatever the delay between sending and the
// server's receipt (here up to 40 ms, uneven), no span of a second on the
// server holds more than the limit, and the client still uses nearly all
// of it.
func TestLimiterNeverOverWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 50
		l := acshttp.NewWindowLimiter(acshttp.Window{Limit: limit, Per: time.Second})
		var mu sync.Mutex
		var arrivals []time.Time
		var n atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := 0; time.Since(start) < 20*time.Second; i++ {
					done, err := l.Acquire(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					way := time.Duration((w*7+i*13)%40) * time.Millisecond // on the way there
					time.Sleep(way)
					mu.Lock()
					arrivals = append(arrivals, time.Now())
					mu.Unlock()
					time.Sleep(time.Duration((w+i)%5) * time.Millisecond) // and back
					n.Add(1)
					done(false, 0)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if got := maxInWindow(arrivals, time.Second); got > limit {
			t.Fatalf("%d requests arrived within one second, limit %d", got, limit)
		}
		if rate := float64(n.Load()) / elapsed.Seconds(); rate < 0.95*limit {
			t.Fatalf("%.1f requests a second, want at least 95 %% of %d", rate, limit)
		}
	})
}

// TestLimiterLearnsFromThrottle: a throttled answer pauses every request
// until its Retry-After and lowers the limit for a while.
func TestLimiterLearnsFromThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := acshttp.NewWindowLimiter(acshttp.Window{Limit: 10, Per: time.Second})
		done, _ := l.Acquire(context.Background())
		start := time.Now()
		done(true, 2*time.Second)
		done, _ = l.Acquire(context.Background())
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("waited %s after a throttle with Retry-After 2 s", waited)
		}
		done(false, 0)
		// Now 9 a second (a tenth less) until a second passes without a
		// throttle: with the request just answered, 8 more at once.
		begin := time.Now()
		for range 8 {
			d, _ := l.Acquire(context.Background())
			d(false, 0)
		}
		if time.Since(begin) != 0 {
			t.Fatalf("8 requests waited %s", time.Since(begin))
		}
		d, _ := l.Acquire(context.Background())
		d(false, 0)
		if time.Since(begin) < time.Second {
			t.Fatal("a 10th request in one second after a throttle")
		}
	})
}

func TestLimiterShareAndDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := acshttp.NewWindowLimiter(acshttp.Window{Limit: 30, Per: time.Second})
		l.SetShare(3)
		for range 10 {
			d, _ := l.Acquire(context.Background())
			d(false, 0)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var pe *acshttp.PaceError
		if _, err := l.Acquire(ctx); !errors.As(err, &pe) {
			t.Fatalf("11th request of a 10-a-second share: %v, want a PaceError", err)
		}
	})
}

func TestWindowsOf(t *testing.T) {
	for _, c := range []struct {
		rate  float64
		burst int
		want  []acshttp.Window
	}{
		{0, 1, nil},
		{50, 1, []acshttp.Window{{Limit: 50, Per: time.Second}}},
		{50.7, 25, []acshttp.Window{{Limit: 50, Per: time.Second}}},
		{0.5, 1, []acshttp.Window{{Limit: 1, Per: 2 * time.Second}}},
		{5, 300, []acshttp.Window{{Limit: 300, Per: time.Minute}}},
	} {
		if got := acshttp.WindowsOf(c.rate, c.burst); !slices.Equal(got, c.want) {
			t.Errorf("WindowsOf(%g, %d) = %v, want %v", c.rate, c.burst, got, c.want)
		}
	}
}

// TestThrottledPostResent: a POST refused with 429 is sent again after
// Retry-After when the client may (ResendThrottled), and not otherwise.
func TestThrottledPostResent(t *testing.T) {
	for _, resend := range []bool{false, true} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}))
		u, _ := url.Parse(srv.URL)
		c, err := acshttp.New(acshttp.Config{BaseURL: u, ResendThrottled: resend, HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(context.Background(), acshttp.Request{Method: http.MethodPost, Path: "/things", Body: []byte("{}")})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{false: http.StatusTooManyRequests, true: http.StatusCreated}[resend]
		if resp.Status != want || int(calls.Load()) != map[bool]int{false: 1, true: 2}[resend] {
			t.Fatalf("resend %v: status %d after %d requests", resend, resp.Status, calls.Load())
		}
	}
}
