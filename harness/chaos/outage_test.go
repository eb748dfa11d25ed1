package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
)

// TestOutage signs visitors in with badges, takes every ACS down
// (every connection dropped), signs every visitor out, lets the outbox
// worker fail for half an hour of simulated time, brings the ACSs back and
// drains the outbox. Every sign-out succeeds during the outage; no badge
// goes back to the pool before its revocation is confirmed; after the
// recovery every pending revocation completes. The Engine runs with its
// default backoff (2 s doubling to 5 min), so the simulated time to drain
// is what a deployment would see.
func TestOutage(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 150
	}
	ctx := context.Background()
	e := newEnv(t, envConfig{seed: 99, badges: n/len(chaos.SiteKinds) + 5, minBackoff: 2 * time.Second, maxBackoff: 5 * time.Minute})
	id := func(i int) string { return fmt.Sprintf("out%05d", i) }
	loc := func(i int) string { return e.sims.Sites[i%len(e.sims.Sites)].Location }
	errs := parallel(n, 8, func(i int) error {
		_, err := e.engine.SignIn(ctx, chaos.Desk, visitor.SignInRequest{VisitID: id(i), Location: loc(i),
			Visitor: visitor.Visitor{FirstName: "Guest", LastName: fmt.Sprint(i)}, Provision: &visitor.ProvisionRequest{}})
		return err
	})
	for _, err := range errs {
		t.Fatal(err)
	}
	// A provision whose attempt timed out on a busy machine is retried.
	if _, err := chaos.Drain(ctx, e.engine, e.clock, 10000); err != nil {
		t.Fatal(err)
	}
	if rep := e.check(t); rep.ActiveVisits != n {
		t.Fatalf("%d of %d visits hold an active credential before the outage", rep.ActiveVisits, n)
	}

	e.sims.SetDown(true)
	down := e.clock.Now()
	reqs0 := e.sims.Requests()
	wall := time.Now()
	errs = parallel(n, 8, func(i int) error {
		v, err := e.engine.SignOut(ctx, chaos.Kiosk, id(i), visitor.ViaKiosk)
		if err != nil {
			return err
		}
		if v.State != visitor.SignedOut || v.Current().Status != visitor.CredRevoking {
			return fmt.Errorf("visit %s after sign-out during the outage: %s, credential %s", v.ID, v.State, v.Current().Status)
		}
		return nil
	})
	for _, err := range errs {
		t.Fatal(err)
	}
	signOutWall := time.Since(wall)
	outageWall := time.Now()
	pending, err := e.engine.Outbox(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != n {
		t.Fatalf("%d revocations pending after %d sign-outs during the outage", len(pending), n)
	}
	assigned := assignedBadges(t, e)
	if assigned != n {
		t.Fatalf("%d badges assigned during the outage, want all %d still out (none may go back before its revocation)", assigned, n)
	}

	// The outage lasts 10 minutes; a worker ticking every 30 seconds
	// keeps trying.
	during, err := chaos.RunUntil(ctx, e.engine, e.clock, down.Add(10*time.Minute), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := e.engine.Outbox(ctx, ""); len(p) != n {
		t.Fatalf("%d revocations pending at the end of the outage, want %d", len(p), n)
	}
	refused := e.sims.Requests() - reqs0

	e.sims.SetDown(false)
	recovered := e.clock.Now()
	reqs1 := e.sims.Requests()
	wall = time.Now()
	duringWall := wall.Sub(outageWall)
	st, err := chaos.Drain(ctx, e.engine, e.clock, 100000)
	if err != nil {
		t.Fatal(err)
	}
	drainWall := time.Since(wall)
	drainReqs := e.sims.Requests() - reqs1
	rep := e.check(t)
	if rep.States[visitor.SignedOut] != n || rep.ACSLive != 0 || rep.BadgesAssigned != 0 {
		t.Errorf("after the drain: %d signed out, %d credentials live, %d badges assigned; want %d, 0, 0", rep.States[visitor.SignedOut], rep.ACSLive, rep.BadgesAssigned, n)
	}
	t.Logf("%d visitors signed out during the outage in %s wall; %d requests refused while down (%d outbox rounds, %s wall, over %s simulated)",
		n, signOutWall.Round(time.Millisecond), refused, during.Rounds, duringWall.Round(time.Millisecond), during.Advance.Round(time.Second))
	t.Log(origoSummary(t, e.store, e.sims))
	t.Logf("recovery: %d revocations drained in %s wall, %d requests, %d outbox rounds; last confirmed %s (simulated) after the ACSs came back",
		st.Items, drainWall.Round(time.Millisecond), drainReqs, st.Rounds, e.clock.Now().Sub(recovered).Round(time.Second))
}

func assignedBadges(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	for _, s := range e.sims.Sites {
		pool, err := e.engine.Pool(s.Location)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := pool.List(context.Background(), badge.Filter{State: badge.Assigned})
		if err != nil {
			t.Fatal(err)
		}
		n += len(bs)
	}
	return n
}
