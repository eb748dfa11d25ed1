package brivo

import (
	"context"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

var provisionWrites = []struct{ method, path string }{
	{"POST", "/credentials"},
	{"POST", "/users"},
	{"PUT", "/users/*/credentials/*"},
	{"PUT", "/groups/*/users/*"},
}

// A lost answer to any write of a provision is recovered within the call,
// and nothing is created twice.
func TestProvisionSurvivesLostAnswers(t *testing.T) {
	for _, kind := range []brivosim.FaultKind{brivosim.FaultDropAfterCommit, brivosim.FaultDropBeforeCommit} {
		for _, w := range provisionWrites {
			name := w.method + " " + w.path + " dropped after commit"
			if kind == brivosim.FaultDropBeforeCommit {
				name = w.method + " " + w.path + " dropped before commit"
			}
			t.Run(name, func(t *testing.T) {
				e, clk := clockEnv(t)
				e.sim.AddFault(brivosim.Fault{Method: w.method, Path: w.path, Kind: kind})
				g := testGrant(0, clk.Now(), e.levels()[0])
				p, err := e.p.Provision(t.Context(), g)
				if err != nil {
					t.Fatal(err)
				}
				if c := e.sim.Census(); c != (brivosim.Census{Users: 1, Credentials: 1}) {
					t.Errorf("census %+v, want one of each", c)
				}
				if !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
					t.Error("does not open")
				}
				ci, _ := e.sim.Credential(mustID(p.Credential.ID))
				if ci.UserID != mustID(p.Cardholder.ID) {
					t.Errorf("credential assigned to %d, want %s", ci.UserID, p.Cardholder.ID)
				}
			})
		}
	}
}

// A failure the adapter cannot recover within the call (one that lasts
// through its looks) leaves state that the next attempt completes without
// duplicates.
func TestProvisionRetryAfterFailureCompletes(t *testing.T) {
	e, clk := clockEnv(t)
	e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/users", Kind: brivosim.FaultStatus, Status: 503, Times: maxProvisionAttempts})
	g := testGrant(0, clk.Now(), e.levels()[0])
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Census(); c != (brivosim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
	if !p.Created || !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Errorf("retry did not complete: %+v", p)
	}
}

func TestRevokeSurvivesLostAnswers(t *testing.T) {
	for _, path := range []string{"/users/*/credentials/*", "/credentials/*"} {
		t.Run(path, func(t *testing.T) {
			e, clk := clockEnv(t)
			p, err := e.p.Provision(t.Context(), testGrant(0, clk.Now(), e.levels()[0]))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: path, Kind: brivosim.FaultDropAfterCommit})
			if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
				t.Fatal(err)
			}
			if e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
				t.Error("still opens")
			}
			if c := e.sim.Census(); c.Credentials != 0 {
				t.Errorf("census %+v: credential not deleted", c)
			}
		})
	}
}

// Once unassigned the credential opens nothing: a failed delete does not
// fail the revoke, and the leftover is reused by the next provision.
func TestRevokeToleratesFailedDelete(t *testing.T) {
	e, clk := clockEnv(t)
	p, err := e.p.Provision(t.Context(), testGrant(0, clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/credentials/*", Kind: brivosim.FaultStatus, Status: 500, Times: -1})
	if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
		t.Fatal(err)
	}
	e.sim.ClearFaults()
	if e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("still opens")
	}
	g := testGrant(1, clk.Now(), e.levels()[0])
	g.Card = testGrant(0, clk.Now()).Card
	p2, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Credential.ID != p.Credential.ID {
		t.Errorf("leftover credential %s not reused (got %s)", p.Credential.ID, p2.Credential.ID)
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
	e, clk := clockEnv(t, brivosim.WithSleep(sleep))
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-entered
		cancel()
	}()
	_, err := e.p.Provision(ctx, testGrant(0, clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.Canceled {
		t.Fatalf("got %v, want canceled", err)
	}
	e.sim.SetLatency(0)
	if c := e.sim.Census(); c != (brivosim.Census{}) {
		t.Errorf("census %+v", c)
	}
}
