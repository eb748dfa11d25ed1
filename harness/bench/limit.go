package bench

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Limit is a rate-limiting middleware for simulators whose vendor
// documents no limit (Genetec, Lenel): it counts requests per wall-clock
// second, like brivosim's gateway, and answers those beyond the limit with
// HTTP 429 Too Many Requests and Retry-After: 1 without passing them on.
// That is the generic HTTP answer the adapters read as RateLimited, not a
// vendor-documented one.
type Limit struct {
	next http.Handler
	now  func() time.Time

	mu       sync.Mutex
	rate     int
	window   int64
	inWindow int
	refused  atomic.Int64
}

// NewLimit wraps next in a limit of perSecond requests per second.
func NewLimit(next http.Handler, perSecond int) *Limit {
	return &Limit{next: next, rate: perSecond, now: time.Now}
}

// SetRate changes the limit (0: none).
func (l *Limit) SetRate(perSecond int) {
	l.mu.Lock()
	l.rate = perSecond
	l.mu.Unlock()
}

// Refused returns how many requests were answered 429.
func (l *Limit) Refused() int64 { return l.refused.Load() }

func (l *Limit) over() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return false
	}
	sec := l.now().Unix()
	if sec != l.window {
		l.window, l.inWindow = sec, 0
	}
	l.inWindow++
	return l.inWindow > l.rate
}

// ServeHTTP refuses the request when over the limit, else passes it on.
func (l *Limit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.over() {
		l.refused.Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Too Many Requests\n"))
		return
	}
	l.next.ServeHTTP(w, r)
}
