package acshttp

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Window is one request limit as a vendor states it: at most Limit
// requests in any span of Per (50 a second, 3,000 a minute).
type Window struct {
	Limit int
	Per   time.Duration
}

// DefaultMargin is added to every window of a Limiter: the slack for a
// server clock that runs a little faster than the client's.
const DefaultMargin = 5 * time.Millisecond

// Limiter keeps the requests of one client within a vendor's limits,
// counted as the vendor counts them: never more than Limit requests in
// any span of Per, for each of its windows, as the server sees them — not
// a token bucket, whose burst adds to its rate and which a server
// counting per wall-clock second catches out whenever a request is
// delayed on its way.
//
// A request holds one place in each window from the moment it is sent
// until Per (plus a small margin) after its answer arrived. The server
// received it somewhere between the two, whatever the delay on the way,
// the scheduling of a busy machine or the offset between the two clocks,
// so no span of Per on the server's clock holds more than Limit of this
// client's requests. The price is the time a request takes: Limit
// requests per Per plus one round trip (at 20 ms per answer, 98 % of a
// per-second limit).
//
// It learns from the server: an answer that says "too many requests"
// (429, or the vendor's own, see Config.Throttled) pauses every request
// until its Retry-After has passed (one Per when it gives none) and
// lowers the limits by a tenth, at most once per Per; each Per without
// such an answer raises them again by a twentieth, up to the configured
// limits.
//
// SetShare divides the limits among engines that share one vendor
// account: with n live engines each uses 1/n of every window.
//
// A Limiter is safe for concurrent use.
type Limiter struct {
	margin time.Duration

	mu      sync.Mutex
	windows []windowState
	share   int
	factor  float64   // 1, lowered after refusals
	paused  time.Time // no request before this
	slowed  time.Time // when factor was last lowered
	raised  time.Time // when factor was last raised
	changed chan struct{}
}

type windowState struct {
	Window
	inFlight int
	releases []time.Time // places held after their answer, until these times (sorted)
}

// NewWindowLimiter returns a Limiter for the given windows (those with a
// Limit or Per of zero or less are ignored); nil when none is left.
func NewWindowLimiter(windows ...Window) *Limiter {
	l := &Limiter{margin: DefaultMargin, share: 1, factor: 1, changed: make(chan struct{})}
	for _, w := range windows {
		if w.Limit > 0 && w.Per > 0 {
			l.windows = append(l.windows, windowState{Window: w})
		}
	}
	if len(l.windows) == 0 {
		return nil
	}
	return l
}

// WindowsOf returns the window of WithRateLimit(perSecond, burst): at
// most perSecond (rounded down) requests in any second; or, when burst is
// larger than perSecond, at most burst in any burst/perSecond seconds (a
// per-minute limit: WithRateLimit(5, 300) is 300 in any minute); below
// one a second, one in any 1/perSecond seconds. None for a rate of 0 or
// less.
func WindowsOf(perSecond float64, burst int) []Window {
	switch {
	case perSecond <= 0 || math.IsNaN(perSecond):
		return nil
	case float64(burst) > perSecond:
		return []Window{{Limit: burst, Per: time.Duration(float64(burst) / perSecond * float64(time.Second))}}
	case perSecond >= 1:
		return []Window{{Limit: int(math.Min(perSecond, 1<<30)), Per: time.Second}}
	}
	return []Window{{Limit: 1, Per: time.Duration(float64(time.Second) / perSecond)}}
}

// windowLimiter converts the token bucket of a Config into a Limiter of
// the same rate.
func windowLimiter(l *rate.Limiter) *Limiter {
	if l == nil || l.Limit() == rate.Inf {
		return nil
	}
	return NewWindowLimiter(WindowsOf(float64(l.Limit()), l.Burst())...)
}

// SetShare makes the limiter use 1/n of each window (at least one
// request per window): the share of one of n engines sending to the same
// vendor account. n < 1 means 1.
func (l *Limiter) SetShare(n int) {
	l.mu.Lock()
	l.share = max(n, 1)
	l.wake()
	l.mu.Unlock()
}

// Windows returns the configured windows.
func (l *Limiter) Windows() []Window {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Window, len(l.windows))
	for i, w := range l.windows {
		out[i] = w.Window
	}
	return out
}

// limit is the number of places window w offers now (lock held).
func (l *Limiter) limit(w *windowState) int {
	return max(1, int(float64(w.Limit)*l.factor)/l.share)
}

// wake tells the waiters that something changed (lock held).
func (l *Limiter) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Acquire waits until a request may be sent and takes its places; done
// must be called once the answer (or the failure) is in, with whether the
// answer said "too many requests" and its Retry-After (0: none given).
// When ctx ends first, or its deadline comes before the request could be
// sent, nothing is taken and the error is ctx's or a *PaceError.
func (l *Limiter) Acquire(ctx context.Context) (done func(throttled bool, retryAfter time.Duration), err error) {
	for {
		l.mu.Lock()
		now := time.Now()
		until, free := l.paused, true
		for i := range l.windows {
			w := &l.windows[i]
			n := 0
			for n < len(w.releases) && !w.releases[n].After(now) {
				n++
			}
			w.releases = w.releases[n:]
			if w.inFlight+len(w.releases) < l.limit(w) {
				continue
			}
			free = false
			if len(w.releases) > 0 && w.releases[0].After(until) {
				until = w.releases[0]
			}
		}
		if free && !now.Before(l.paused) {
			for i := range l.windows {
				l.windows[i].inFlight++
			}
			l.mu.Unlock()
			return l.release, nil
		}
		changed := l.changed
		l.mu.Unlock()
		// Wait for the earliest time a place frees or the pause ends, or
		// for an answer (which turns a place in flight into one that
		// frees at a known time).
		var timer <-chan time.Time
		if until.After(now) {
			if dl, ok := ctx.Deadline(); ok && until.After(dl) {
				return nil, &PaceError{}
			}
			t := time.NewTimer(until.Sub(now))
			timer = t.C
			defer t.Stop() // at most once per window position: the loop ends soon
		}
		select {
		case <-timer:
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release is the done of Acquire.
func (l *Limiter) release(throttled bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	per := time.Duration(0)
	for i := range l.windows {
		w := &l.windows[i]
		w.inFlight--
		at := now.Add(w.Per + l.margin)
		// Answers come nearly in order: insert from the end.
		j := len(w.releases)
		w.releases = append(w.releases, at)
		for j > 0 && w.releases[j-1].After(at) {
			w.releases[j] = w.releases[j-1]
			j--
		}
		w.releases[j] = at
		per = max(per, w.Per)
	}
	switch {
	case throttled:
		if retryAfter <= 0 {
			retryAfter = per
		}
		if p := now.Add(retryAfter); p.After(l.paused) {
			l.paused = p
		}
		if now.Sub(l.slowed) >= per {
			l.factor = max(l.factor*0.9, 0.1)
			l.slowed, l.raised = now, now
		}
	case l.factor < 1 && now.Sub(l.raised) >= per && now.Sub(l.slowed) >= per:
		l.factor = min(l.factor+0.05, 1)
		l.raised = now
	}
	l.wake()
}
