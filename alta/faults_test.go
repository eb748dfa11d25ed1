package alta

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

var provisionWrites = []struct{ method, path string }{
	{"POST", "/users"},
	{"PUT", "/users/*/groupIds"},
	{"POST", "/users/*/credentials"},
}

// A lost answer to any write of a provision is recovered within the call,
// and nothing is created twice.
func TestProvisionSurvivesLostAnswers(t *testing.T) {
	for _, kind := range []altasim.FaultKind{altasim.FaultDropAfterCommit, altasim.FaultDropBeforeCommit} {
		for _, w := range provisionWrites {
			name := w.method + " " + w.path + " dropped after commit"
			if kind == altasim.FaultDropBeforeCommit {
				name = w.method + " " + w.path + " dropped before commit"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, nil)
				e.sim.AddFault(altasim.Fault{Method: w.method, Path: w.path, Kind: kind})
				g := testGrant(0, e.clk.Now(), e.levels()[0])
				p, err := e.p.Provision(t.Context(), g)
				if err != nil {
					t.Fatal(err)
				}
				if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
					t.Errorf("census %+v, want one of each", c)
				}
				if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
					t.Error("does not open")
				}
				ci, _ := e.sim.Credential(mustID(p.Credential.ID))
				if ci.UserID != mustID(p.Cardholder.ID) {
					t.Errorf("credential of user %d, want %s", ci.UserID, p.Cardholder.ID)
				}
				if again, err := e.p.Provision(t.Context(), g); err != nil || again.Created || again.Credential != p.Credential {
					t.Errorf("repeat: %+v, %v", again, err)
				}
			})
		}
	}
}

// A failure the adapter cannot recover within the call leaves state that
// the next attempt completes without duplicates.
func TestProvisionRetryAfterFailureCompletes(t *testing.T) {
	for _, w := range provisionWrites {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			e := newEnv(t, nil)
			e.sim.AddFault(altasim.Fault{Method: w.method, Path: w.path, Kind: altasim.FaultStatus, Status: 503, Times: -1})
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.Unavailable {
				t.Fatalf("got %v, want unavailable", err)
			}
			e.sim.ClearFaults()
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
				t.Errorf("census %+v", c)
			}
			if !p.Created || !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Errorf("retry did not complete: %+v", p)
			}
		})
	}
}

// A refused credential creation undoes the user this call created.
func TestRefusalUndoesTheCall(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(altasim.Fault{Method: "POST", Path: "/users/*/credentials", Kind: altasim.FaultStatus, Status: 422})
	_, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("got %v, want invalid argument", err)
	}
	if c := e.sim.Census(); c != (altasim.Census{}) {
		t.Errorf("census %+v: the user created by the refused call was left behind", c)
	}
}

// hideCardSearch is a proxy that makes q find nothing on the
// organisation's credential listing: an Alta whose search does not cover
// card numbers.
func hideCardSearch(t *testing.T, sim http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("q") != "" && r.URL.Path == "/orgs/5231/credentials" {
			q.Set("q", "no-such-text")
			r.URL.RawQuery = q.Encode()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hideUserSearch is a proxy that makes q find nothing on the user list:
// an Alta whose search does not cover e-mail addresses.
func hideUserSearch(t *testing.T, sim http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("q") != "" && r.URL.Path == "/orgs/5231/users" {
			q.Set("q", "no-such-text")
			r.URL.RawQuery = q.Encode()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// When the lookup misses the visit's user, the creation is refused (the
// e-mail is taken) and every user is read: the provision completes with
// the existing user and card, creating nothing.
func TestLookupMissFallsBackToEveryUser(t *testing.T) {
	clk := newFakeClock()
	sim := altasim.New(altasim.WithClock(clk.Now))
	srv := hideUserSearch(t, sim)
	p, err := New(simConfig(srv.URL), testOptions(WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	g := testGrant(0, clk.Now(), "4822")
	first, err := p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Credential != first.Credential {
		t.Errorf("repeat %+v, first %+v", again, first)
	}
	if countStatus(sim.Requests(), http.StatusConflict) != 1 {
		t.Errorf("the repeat did not go through the refused creation: %q", routes(sim.Requests()))
	}
	if c := sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
	// A refusal after adopting a user this call did not create leaves
	// the user alone.
	g.AccessLevels = []string{"4822", "777"}
	if _, err := p.Provision(t.Context(), g); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("unknown group: %v", err)
	}
	sim.AddFault(altasim.Fault{Method: "PUT", Path: "/users/*/groupIds", Kind: altasim.FaultStatus, Status: 403})
	g.AccessLevels = []string{"5729"}
	if _, err := p.Provision(t.Context(), g); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("refused groups: %v", err)
	}
	if c := sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v: a refusal undid a user this call did not create", c)
	}
}

// When the search misses the holder and Alta refuses the duplicate card,
// the adapter reads every credential, reports the Conflict, and undoes the
// user it created.
func TestConflictFoundAfterRefusal(t *testing.T) {
	clk := newFakeClock()
	sim := altasim.New(altasim.WithClock(clk.Now), altasim.WithUniqueCards())
	srv := hideCardSearch(t, sim)
	p, err := New(simConfig(srv.URL), testOptions(WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	a := testGrant(0, clk.Now(), "4822")
	pa, err := p.Provision(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	b := testGrant(1, clk.Now(), "4822")
	b.Card = a.Card
	_, err = p.Provision(t.Context(), b)
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	if c := sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v: the second visitor's user was not undone", c)
	}
	if !sim.Opens(pa.Credential.ID, "4822", clk.Now()) {
		t.Error("the first holder lost the card")
	}
}

// A card held by a user whose window has ended, or who is suspended, is
// not active: the next visitor may have it.
func TestInactiveHolderIsNotAConflict(t *testing.T) {
	e := newEnv(t, nil)
	a := testGrant(0, e.clk.Now(), e.levels()[0])
	pa, err := e.p.Provision(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	_ = e.sim.SetUserStatus(mustID(pa.Cardholder.ID), "S")
	b := testGrant(1, e.clk.Now(), e.levels()[0])
	b.Card = a.Card
	pb, err := e.p.Provision(t.Context(), b)
	if err != nil {
		t.Fatalf("card of a suspended user: %v", err)
	}
	if !e.sim.Opens(pb.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("does not open")
	}
}

func TestRateLimitedCreateIsResentAfterRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	e := newEnv(t, []altasim.Option{altasim.WithRetryAfter(2)}, WithRetry(3, time.Millisecond, 5*time.Second), withSleep(sleep))
	e.sim.AddFault(altasim.Fault{Method: "POST", Path: "/users", Kind: altasim.FaultRateLimit})
	p, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 2*time.Second {
		t.Errorf("waits %v, want one of 2 s (Retry-After)", waits)
	}
	if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) || !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Errorf("census %+v", c)
	}
}

// A Retry-After longer than the retry bound is not waited out: the caller
// gets a RateLimited error carrying it.
func TestLongRetryAfterIsReturned(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithRetryAfter(30)})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(altasim.Fault{Method: "GET", Path: "/groups", Kind: altasim.FaultRateLimit, Times: -1})
	_, err := e.p.AccessLevels(t.Context())
	if d, ok := acs.RetryAfterOf(err); acs.CodeOf(err) != acs.RateLimited || !ok || d != 30*time.Second || !acs.IsRetryable(err) {
		t.Fatalf("got %v (retry after %v), want rate limited after 30 s", err, d)
	}
}

// A throttle with a short Retry-After on a read is retried by the HTTP
// layer.
func TestShortThrottleIsRetried(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithRetryAfter(0)})
	e.sim.AddFault(altasim.Fault{Method: "GET", Path: "/groups", Kind: altasim.FaultRateLimit, Times: 2})
	if _, err := e.p.AccessLevels(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.sim.Throttled() != 2 {
		t.Errorf("%d throttled answers, want 2", e.sim.Throttled())
	}
}

// Under the simulated rate limit (six requests a second of the fake
// clock, which does not move within a call) a provision fails with a
// retryable RateLimited error; repeated as time passes it completes
// without duplicates.
func TestServerRateLimitThenCompletes(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithRateLimit(6), altasim.WithRetryAfter(0)})
	g := testGrant(0, e.clk.Now(), e.levels()[0])
	var err error
	for range 20 {
		if _, err = e.p.Provision(t.Context(), g); err == nil {
			break
		}
		if acs.CodeOf(err) != acs.RateLimited || !acs.IsRetryable(err) {
			t.Fatalf("got %v, want rate limited", err)
		}
		e.clk.Advance(time.Second)
	}
	if err != nil {
		t.Fatalf("never completed: %v", err)
	}
	if e.sim.Throttled() == 0 {
		t.Error("the rate limit never applied")
	}
	if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
}

func TestCancelDuringSlowRequest(t *testing.T) {
	entered := make(chan struct{}, 1)
	sleep := func(ctx context.Context, d time.Duration) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
	}
	e := newEnv(t, []altasim.Option{altasim.WithSleep(sleep)})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-entered
		cancel()
	}()
	_, err := e.p.Provision(ctx, testGrant(0, e.clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.Canceled {
		t.Fatalf("got %v, want canceled", err)
	}
	e.sim.SetLatency(0)
	if c := e.sim.Census(); c != (altasim.Census{}) {
		t.Errorf("census %+v", c)
	}
}
