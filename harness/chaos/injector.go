package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Kind is a way a request fails.
type Kind int

// The fault kinds. Each is produced through the simulator's own fault
// injection where it has one, so the failure looks as the vendor's would.
const (
	None Kind = iota
	// ServerError: 500, 502 or 503 (Brivo, Genetec, Alta and Verkada
	// send Retry-After with 503; NetBox's from a proxy, the NBAPI
	// answering everything with 200).
	ServerError
	// Throttled: 429 with Retry-After (Genetec, Brivo, Alta, Verkada),
	// 429 (Lenel; NetBox, from a proxy), or Brivo's gateway 403
	// "Developer Over Qps" with Retry-After.
	Throttled
	// VendorError: a transient refusal in the vendor's shape: Genetec's
	// Fail envelope with HTTP 200, an OnGuard error body with 500, a 503
	// (Brivo, Alta, Verkada), NetBox's APIERROR 1 or a FAIL whose ERRMSG
	// says nothing the adapter can classify.
	VendorError
	// DropBefore closes the connection before the request is handled.
	DropBefore
	// DropAfter handles the request (the change is committed) and closes
	// the connection without an answer: the lost response.
	DropAfter
	// Timeout answers nothing until the client gives up; nothing is
	// handled.
	Timeout
	// TimeoutAfter handles the request (committed) and withholds the
	// answer until the client gives up.
	TimeoutAfter
	// SessionExpired ends the session or access token just before the
	// request (Genetec: the next request is a cold start; Lenel: the
	// session is deleted; Brivo: access tokens expire, and now and then
	// refresh tokens too; Alta and Verkada: every token expires; NetBox:
	// the session ends, and now and then every session, as a restart
	// would).
	SessionExpired
	// Slow delays a correct answer by a few milliseconds.
	Slow
	numKinds
)

var kindNames = [numKinds]string{"none", "server_error", "throttled", "vendor_error", "drop_before",
	"drop_after_commit", "timeout", "timeout_after_commit", "session_expired", "slow"}

// String returns the kind's name.
func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// kindWeights sets how often each kind is chosen among faults. Timeouts
// cost an attempt timeout of wall time each, so they are rarer.
var kindWeights = [numKinds]int{0, 4, 4, 2, 3, 4, 1, 1, 3, 3}

// Stats counts what an Injector did.
type Stats struct {
	Requests int
	// Faults counts injected faults by kind (index Kind).
	Faults [numKinds]int
	// Refused counts requests refused while the site was down.
	Refused int
}

// Injected returns the number of faults injected.
func (s Stats) Injected() int {
	n := 0
	for _, c := range s.Faults {
		n += c
	}
	return n
}

// String formats the fault counts, such as "server_error=12 throttled=9".
func (s Stats) String() string {
	var b strings.Builder
	for k := Kind(1); k < numKinds; k++ {
		if s.Faults[k] > 0 {
			fmt.Fprintf(&b, "%s=%d ", k, s.Faults[k])
		}
	}
	return strings.TrimSpace(b.String())
}

// Add returns the sum of s and t.
func (s Stats) Add(t Stats) Stats {
	s.Requests += t.Requests
	s.Refused += t.Refused
	for i := range s.Faults {
		s.Faults[i] += t.Faults[i]
	}
	return s
}

// Injector is an http.Handler in front of a simulator that makes a share
// of requests fail, refuses everything while the site is down, records
// request URLs, and fires a Tripwire. It is safe for concurrent use.
type Injector struct {
	site   string
	next   http.Handler
	inject func(k Kind, variant int, r *http.Request) bool

	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	down   bool
	record bool
	urls   []string
	stats  Stats
	trip   *Tripwire
}

func newInjector(site string, next http.Handler, inject func(Kind, int, *http.Request) bool, seed uint64) *Injector {
	return &Injector{site: site, next: next, inject: inject, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// SetRate sets the share of requests that fail (0 to 1).
func (in *Injector) SetRate(rate float64) {
	in.mu.Lock()
	in.rate = rate
	in.mu.Unlock()
}

// SetDown makes the site drop every connection (true) or serve again.
func (in *Injector) SetDown(down bool) {
	in.mu.Lock()
	in.down = down
	in.mu.Unlock()
}

// RecordURLs starts (or stops) recording the URL of every request.
func (in *Injector) RecordURLs(on bool) {
	in.mu.Lock()
	in.record = on
	in.mu.Unlock()
}

// URLs returns the recorded request URLs (path and query).
func (in *Injector) URLs() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.urls...)
}

// SetTripwire makes every request count towards t (nil: none).
func (in *Injector) SetTripwire(t *Tripwire) {
	in.mu.Lock()
	in.trip = t
	in.mu.Unlock()
}

// Stats returns the counts so far.
func (in *Injector) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats
}

func (in *Injector) decide(r *http.Request) (k Kind, variant int, down bool, trip *Tripwire) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stats.Requests++
	if in.record {
		in.urls = append(in.urls, r.URL.RequestURI())
	}
	if in.down {
		in.stats.Refused++
		return None, 0, true, nil
	}
	variant = in.rng.IntN(1 << 16)
	if in.rate > 0 && in.rng.Float64() < in.rate {
		total := 0
		for _, w := range kindWeights {
			total += w
		}
		n := in.rng.IntN(total)
		for i, w := range kindWeights {
			if n < w {
				k = Kind(i)
				break
			}
			n -= w
		}
		in.stats.Faults[k]++
	}
	return k, variant, false, in.trip
}

// ServeHTTP applies the decided fault and passes the request on.
func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k, variant, down, trip := in.decide(r)
	if down {
		abort()
	}
	var fireAfter func()
	if trip != nil {
		before, after, fire := trip.count()
		switch {
		case before:
			fire()
			waitGone(r)
			abort()
		case after:
			fireAfter = fire
		}
	}
	if fireAfter != nil {
		serveDetached(in.next, r)
		fireAfter()
		waitGone(r)
		abort()
	}
	switch k {
	case None:
	case Timeout:
		waitGone(r)
		abort()
	case TimeoutAfter:
		serveDetached(in.next, r)
		waitGone(r)
		abort()
	case Slow:
		sleepCtx(r.Context(), time.Duration(1+variant%15)*time.Millisecond)
	default:
		if !in.inject(k, variant, r) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	in.next.ServeHTTP(w, r)
}

// abort ends the handler; net/http closes the connection without an
// answer.
func abort() { panic(http.ErrAbortHandler) }

// waitGone blocks until the client gives up on the request. The body is
// read first: net/http notices a closed connection (and cancels the
// request's context) only once the body has been consumed.
func waitGone(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
}

// serveDetached lets the simulator handle the request to completion
// whatever the client does, and discards the answer. The simulator's
// context ends after a few seconds all the same, so that a long-lived
// answer (an event stream) ends too.
func serveDetached(h http.Handler, r *http.Request) {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			panic(v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(ctx))
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Tripwire fires once, at the n-th request counted after Arm, before the
// simulator handles it or after it did (its answer is then withheld). The
// crash test kills its child process with it.
type Tripwire struct {
	mu    sync.Mutex
	armed bool
	n, at int
	after bool
	fire  func()
}

// Arm makes the at-th request from now fire fn, before the simulator
// handles it or (after) once it has.
func (t *Tripwire) Arm(at int, after bool, fn func()) {
	t.mu.Lock()
	t.armed, t.n, t.at, t.after, t.fire = true, 0, at, after, fn
	t.mu.Unlock()
}

// Disarm stops counting.
func (t *Tripwire) Disarm() {
	t.mu.Lock()
	t.armed, t.fire = false, nil
	t.mu.Unlock()
}

func (t *Tripwire) count() (before, after bool, fire func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.armed {
		return false, false, nil
	}
	t.n++
	if t.n != t.at {
		return false, false, nil
	}
	t.armed = false
	return !t.after, t.after, t.fire
}
