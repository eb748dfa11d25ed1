package verkada

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

var provisionWrites = provisionSteps[1:]

// A lost answer to any write of a provision is recovered within the call,
// and nothing is created twice: dropped creates are found by asking
// Verkada before sending again; dropped PUTs are idempotent and resent.
func TestProvisionSurvivesLostAnswers(t *testing.T) {
	for _, kind := range []verkadasim.FaultKind{verkadasim.FaultDropAfterCommit, verkadasim.FaultDropBeforeCommit} {
		for _, w := range provisionWrites {
			name := w.method + " " + w.path + " dropped after commit"
			if kind == verkadasim.FaultDropBeforeCommit {
				name = w.method + " " + w.path + " dropped before commit"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, nil)
				e.sim.AddFault(verkadasim.Fault{Method: w.method, Path: w.path, Kind: kind})
				g := testGrant(0, e.clk.Now(), e.levels()[0])
				p, err := e.p.Provision(t.Context(), g)
				if err != nil {
					t.Fatal(err)
				}
				if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
					t.Errorf("census %+v, want one of each", c)
				}
				if !p.Created || !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
					t.Errorf("provision %+v does not open", p)
				}
				u, _ := e.sim.User(g.Person.ExternalID)
				if !u.Start.Equal(g.ValidFrom) || !u.End.Equal(g.ValidUntil) {
					t.Errorf("window %s – %s, want %s – %s", u.Start, u.End, g.ValidFrom, g.ValidUntil)
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
			e.sim.AddFault(verkadasim.Fault{Method: w.method, Path: w.path, Kind: verkadasim.FaultStatus, Status: 503, Times: -1})
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.Unavailable {
				t.Fatalf("got %v, want unavailable", err)
			}
			e.sim.ClearFaults()
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
				t.Errorf("census %+v", c)
			}
			if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Errorf("retry did not complete: %+v", p)
			}
		})
	}
}

// A card held by another user is a Conflict, and what the refused call
// created is deleted; an existing user keeps what it had.
func TestConflictUndoesWhatTheCallCreated(t *testing.T) {
	e := newEnv(t, nil)
	a := testGrant(1, e.clk.Now(), e.levels()[0])
	pa, err := e.p.Provision(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	b := testGrant(2, e.clk.Now(), e.levels()[0])
	b.Card = a.Card
	if _, err := e.p.Provision(t.Context(), b); acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	if _, ok := e.sim.User(b.Person.ExternalID); ok || e.sim.Census() != (verkadasim.Census{Users: 1, Cards: 1}) {
		t.Fatalf("refused provision left something: census %+v", e.sim.Census())
	}
	// An existing cardholder asking for the held card keeps its own.
	c := testGrant(3, e.clk.Now(), e.levels()[0])
	pc, err := e.p.Provision(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	c.Card = a.Card
	if _, err := e.p.Provision(t.Context(), c); acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	if !e.sim.Opens(pc.Credential.ID, e.levels()[0], e.clk.Now()) || !e.sim.Opens(pa.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("a refused provision took a card away")
	}
	if got := e.sim.Census(); got != (verkadasim.Census{Users: 2, Cards: 2}) {
		t.Errorf("census %+v", got)
	}
}

// Any refusal after a create undoes it: here the key may not manage
// group membership.
func TestRefusalAfterCreateUndoes(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(verkadasim.Fault{Method: "PUT", Path: "/access/v1/access_groups/group/user", Kind: verkadasim.FaultStatus, Status: 403})
	_, err := e.p.Provision(t.Context(), testGrant(1, e.clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("got %v, want permission denied", err)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{}) {
		t.Errorf("census %+v after a refused provision", c)
	}
}

func TestRevokeSurvivesLostAnswers(t *testing.T) {
	for _, kind := range []verkadasim.FaultKind{verkadasim.FaultDropAfterCommit, verkadasim.FaultDropBeforeCommit} {
		e := newEnv(t, nil)
		p, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0]))
		if err != nil {
			t.Fatal(err)
		}
		e.sim.AddFault(verkadasim.Fault{Method: "DELETE", Path: "/access/v1/credentials/card", Kind: kind})
		if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
			t.Fatal(err)
		}
		if c := e.sim.Census(); c.Cards != 0 {
			t.Errorf("fault %d: census %+v: card not deleted", kind, c)
		}
	}
}

// A 429 refuses a request before Verkada does anything, so even a create
// is sent again once Retry-After has passed.
func TestThrottledCreateIsResent(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithRetryAfter(7)})
	e.sim.AddFault(verkadasim.Fault{Method: "POST", Path: "/core/v1/user", Kind: verkadasim.FaultStatus, Status: 429})
	start := e.clk.Now()
	if _, err := e.p.Provision(t.Context(), testGrant(1, start, e.levels()[0])); err != nil {
		t.Fatal(err)
	}
	if waited := e.clk.Now().Sub(start); waited < 7*time.Second {
		t.Errorf("waited %s, want the 7 s of Retry-After", waited)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
		t.Errorf("census %+v", c)
	}
}

func TestLongRetryAfterIsReturned(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithRetryAfter(600)})
	e.sim.AddFault(verkadasim.Fault{Path: "/access/v1/access_groups", Kind: verkadasim.FaultStatus, Status: 429})
	err := e.p.Ping(t.Context())
	if d, ok := acs.RetryAfterOf(err); acs.CodeOf(err) != acs.RateLimited || !ok || d != 600*time.Second {
		t.Fatalf("got %v, want rate limited with Retry-After 600 s", err)
	}
}

// The client-side window keeps a burst of provisions under Verkada's 300
// requests a minute: the simulator, enforcing the same limit per minute of
// its clock, never answers 429.
func TestRateLimitWindowAvoidsThrottling(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithRateLimit(verkadasim.DefaultRateLimit)})
	start := e.clk.Now()
	for i := range 120 { // about 720 requests
		if _, err := e.p.Provision(t.Context(), testGrant(i, start, e.levels()[0])); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Throttled(); n != 0 {
		t.Errorf("%d requests throttled", n)
	}
	reqs := e.sim.Requests()
	for i := range reqs {
		j := i
		for j < len(reqs) && reqs[j].Time.Sub(reqs[i].Time) < time.Minute {
			j++
		}
		if j-i > DefaultRateLimit {
			t.Fatalf("%d requests within a minute from %s", j-i, reqs[i].Time)
		}
	}
	if n := e.p.limiter.InWindow(); n == 0 || n > DefaultRateLimit {
		t.Errorf("window holds %d starts", n)
	}
	t.Logf("%d requests took %s of the fake clock", len(reqs), e.clk.Now().Sub(start))
}

// Without the client-side window, the simulator's per-minute limit answers
// 429 with Retry-After until the minute ends; the provider waits it out,
// pausing every caller, and completes.
func TestServerRateLimitIsWaitedOut(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithRateLimit(50)}, WithRateLimit(0, 0))
	for i := range 12 {
		if _, err := e.p.Provision(t.Context(), testGrant(i, e.clk.Now(), e.levels()[0])); err != nil {
			t.Fatal(err)
		}
	}
	if e.sim.Throttled() == 0 {
		t.Error("the simulator never throttled")
	}
	if c := e.sim.Census(); c != (verkadasim.Census{Users: 12, Cards: 12}) {
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
	e := newEnv(t, []verkadasim.Option{verkadasim.WithSleep(sleep)})
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
	if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want canceled", err)
	}
	e.sim.SetLatency(0)
	if c := e.sim.Census(); c != (verkadasim.Census{}) {
		t.Errorf("census %+v", c)
	}
}

func TestPersistentServerErrorIsUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(verkadasim.Fault{Path: "/access/v1/access_users/user", Kind: verkadasim.FaultStatus, Status: 500, Times: -1})
	_, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.Unavailable || !acs.IsRetryable(err) {
		t.Fatalf("got %v, want unavailable", err)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{}) {
		t.Errorf("census %+v", c)
	}
}

// With a soft user delete (cards kept), undoing a refused provision still
// frees the card it created.
func TestUndoFreesTheCardWhenUserDeleteIsSoft(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithUserDeleteKeepsCards()})
	e.sim.AddFault(verkadasim.Fault{Method: "PUT", Path: "/access/v1/access_groups/group/user", Kind: verkadasim.FaultStatus, Status: 403})
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("got %v", err)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{}) {
		t.Errorf("census %+v after the undo", c)
	}
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatalf("the card's number stayed taken: %v", err)
	}
}
