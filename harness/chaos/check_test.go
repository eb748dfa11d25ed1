package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
)

// TestCheckFindsViolations plants one violation of each kind behind the
// Engine's back and checks that chaos.Check reports it, so that a clean
// report from the chaos, outage and crash tests means something.
func TestCheckFindsViolations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envConfig{seed: 3, badges: 10})
	for i := range 6 {
		if err := e.driver.Lifecycle(ctx, i, chaos.WalkIn); err != nil {
			t.Fatal(err)
		}
	}
	for i := 6; i < 9; i++ {
		if err := e.driver.Lifecycle(ctx, i, chaos.Stay); err != nil {
			t.Fatal(err)
		}
	}
	if rep := e.check(t); rep.ActiveVisits != 3 || rep.ACSLive != 3 {
		t.Fatalf("clean state: %s", rep)
	}

	// A credential at each ACS for a visit that signed out.
	for i, p := range e.providers {
		id := e.driver.VisitID(i)
		if _, err := p.Provision(ctx, acs.Grant{Person: acs.Person{ExternalID: id, FirstName: "Ghost"},
			Card: acs.Card{Format: acs.H10301, Facility: 99, Number: uint64(5000 + i)}, AccessLevels: e.sims.Sites[i].Levels[:1],
			ValidFrom: e.clock.Now(), ValidUntil: e.clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// A second cardholder with a visit's external ID: visit n of n sites
	// walked in at the first site, Genetec.
	e.sims.Genetec.AddCardholder("Copy Cat ["+e.driver.VisitID(len(e.sims.Sites))+"]", "Copy", "Cat")
	// A badge assigned to a visit that does not hold it.
	pool, _ := e.engine.Pool(e.sims.Sites[0].Location)
	if _, err := pool.Acquire(ctx, "1010", "ghost-visit"); err != nil {
		t.Fatal(err)
	}
	// A transition the visit never made.
	if err := e.store.AppendAudit(ctx, visitor.AuditRecord{Time: e.clock.Now(), VisitID: e.driver.VisitID(4), Location: e.sims.Sites[1].Location,
		Actor: "mallory", Action: visitor.ActSignIn, From: visitor.Invited, To: visitor.SignedIn, Outcome: visitor.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	// A credential the Engine holds active, revoked at the ACS.
	v, err := e.engine.Visit(ctx, e.driver.VisitID(8))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.providers[8%len(e.providers)].Revoke(ctx, v.Current().Ref); err != nil {
		t.Fatal(err)
	}
	// An ACS operation that cannot complete.
	e.sims.SetDown(true)
	if _, err := e.engine.SignOut(ctx, chaos.Desk, e.driver.VisitID(7), visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}

	rep, err := chaos.Check(ctx, e.store, e.sims.Sites, e.clock.Now(), chaos.CheckOptions{Settled: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("planted:\n%s", rep)
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"live credentials of ended visits", rep.LiveNotSignedIn, 3},
		{"duplicate cardholders", rep.DuplicateCardholders, 1},
		{"badge violations", rep.BadgeViolations, 1},
		{"audit violations", rep.AuditViolations, 1},
		{"active credentials missing at the ACS", rep.ActiveMissing, 1},
		{"pending outbox items", rep.PendingOutbox, 1},
		{"unsettled credentials", rep.Unsettled, 1},
	} {
		if c.got < c.want {
			t.Errorf("%s: found %d, planted %d", c.name, c.got, c.want)
		}
	}
}
