package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/origo/origosim"
	"github.com/acsbridge/acsbridge/visitor"
)

// doorOf returns the door ACS behind a credential issuer (Origo), or p
// itself.
func doorOf(p acs.Provider) acs.Provider {
	if is, ok := p.(interface{ Door() acs.Provider }); ok {
		return is.Door()
	}
	return p
}

// TestCheckFindsViolations plants one violation of each kind behind the
// Engine's back and checks that chaos.Check reports it, so that a clean
// report from the chaos, outage and crash tests means something.
func TestCheckFindsViolations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envConfig{seed: 3, badges: 10})
	n := len(e.sims.Sites)
	// A walk-in at each site, then visits staying at the first three.
	for i := range n {
		if err := e.driver.Lifecycle(ctx, i, chaos.WalkIn); err != nil {
			t.Fatal(err)
		}
	}
	for i := n; i < n+3; i++ {
		if err := e.driver.Lifecycle(ctx, i, chaos.Stay); err != nil {
			t.Fatal(err)
		}
	}
	// Origo's phone may accept after the visitor left.
	if _, err := chaos.Drain(ctx, e.engine, e.clock, 1000); err != nil {
		t.Fatal(err)
	}
	if rep := e.check(t); rep.ActiveVisits != 3 || rep.ACSLive != 3 {
		t.Fatalf("clean state: %s", rep)
	}

	// A credential at each ACS for a visit that signed out (at Origo's
	// site, at its door).
	for i, p := range e.providers {
		id := e.driver.VisitID(i)
		if _, err := doorOf(p).Provision(ctx, acs.Grant{Person: acs.Person{ExternalID: id, FirstName: "Ghost"},
			Card: acs.Card{Format: acs.H10301, Facility: 99, Number: uint64(5000 + i)}, AccessLevels: e.sims.Sites[i].Levels[:1],
			ValidFrom: e.clock.Now(), ValidUntil: e.clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// A second cardholder with a visit's external ID: visit n of n sites
	// stays at the first site, Genetec.
	e.sims.Genetec.AddCardholder("Copy Cat ["+e.driver.VisitID(n)+"]", "Copy", "Cat")
	// A badge assigned to a visit that does not hold it.
	pool, _ := e.engine.Pool(e.sims.Sites[0].Location)
	if _, err := pool.Acquire(ctx, "1010", "ghost-visit"); err != nil {
		t.Fatal(err)
	}
	// A transition the visit never made.
	if err := e.store.AppendAudit(ctx, visitor.AuditRecord{Time: e.clock.Now(), VisitID: e.driver.VisitID(4), Location: e.sims.Sites[4].Location,
		Actor: "mallory", Action: visitor.ActSignIn, From: visitor.Invited, To: visitor.SignedIn, Outcome: visitor.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	// A credential the Engine holds active, revoked at the ACS.
	v, err := e.engine.Visit(ctx, e.driver.VisitID(n+2))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.providers[2].Revoke(ctx, v.Current().Ref); err != nil {
		t.Fatal(err)
	}
	// An ACS operation that cannot complete.
	e.sims.SetDown(true)
	if _, err := e.engine.SignOut(ctx, chaos.Desk, e.driver.VisitID(n+1), visitor.ViaDesk); err != nil {
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
		{"cards at Origo's door without an Origo credential", rep.CardsWithoutIssuer, 1},
	} {
		if c.got < c.want {
			t.Errorf("%s: found %d, planted %d", c.name, c.got, c.want)
		}
	}
}

// issuerCounts are the violations TestCheckFindsIssuerViolations plants.
type issuerCounts struct {
	leftovers, duplicates, withoutIssuer, activeMissing, liveNotSignedIn int
}

// TestCheckFindsIssuerViolations plants, one at a time, each violation of
// the Origo site's promises behind the Engine's back (at the Origo
// simulator, or at the door behind it) and checks that chaos.Check counts
// exactly what was planted so far and nothing else: an Origo user left
// for a visit that ended, a second Origo user of a visit, a card live at
// the door whose Origo credential an administrator revoked (so nothing
// issued stands behind it, and the visit's active credential is missing
// at Origo), a card at the door for a visit that ended and that Origo
// never issued, and an Origo user of no visit.
func TestCheckFindsIssuerViolations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envConfig{seed: 11, badges: 10})
	n := len(e.sims.Sites)
	at := n - 1 // the Origo site: lifecycle i runs at site i mod n
	if site := e.sims.Sites[at]; site.Kind != chaos.Origo {
		t.Fatalf("the last site is %s, not Origo", site.Kind)
	}
	left, stay1, stay2 := e.driver.VisitID(at), e.driver.VisitID(at+n), e.driver.VisitID(at+2*n)
	for i, plan := range map[int]chaos.Plan{at: chaos.WalkIn, at + n: chaos.Stay, at + 2*n: chaos.Stay} {
		if err := e.driver.Lifecycle(ctx, i, plan); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chaos.Drain(ctx, e.engine, e.clock, 1000); err != nil {
		t.Fatal(err)
	}
	check := func(what string, want issuerCounts) *chaos.Report {
		t.Helper()
		rep, err := chaos.Check(ctx, e.store, e.sims.Sites, e.clock.Now(), chaos.CheckOptions{Settled: true})
		if err != nil {
			t.Fatal(err)
		}
		got := issuerCounts{rep.IssuerLeftovers, rep.DuplicateCardholders, rep.CardsWithoutIssuer, rep.ActiveMissing, rep.LiveNotSignedIn}
		if got != want || rep.Violations() != want.leftovers+want.duplicates+want.withoutIssuer+want.activeMissing+want.liveNotSignedIn {
			t.Fatalf("%s: found %+v, want %+v:\n%s", what, got, want, rep)
		}
		t.Logf("%s: %+v", what, got)
		return rep
	}
	if rep := check("clean", issuerCounts{}); rep.IssuerUsers != 2 || rep.IssuerCredentials != 2 || rep.ACSLive != 2 {
		t.Fatalf("clean state: want 2 Origo users with an issued credential each and 2 cards live at the door:\n%s", rep)
	}

	e.sims.Origo.AddUser(left, "Ghost", "Guest", "")
	want := issuerCounts{leftovers: 1}
	check("an Origo user of an ended visit", want)

	e.sims.Origo.AddUser(stay1, "Twin", "Guest", "")
	want.duplicates++
	check("a second Origo user of a visit", want)

	u, ok := e.sims.Origo.User(stay2)
	if !ok || len(u.Credentials) == 0 || u.Credentials[len(u.Credentials)-1].Status != origosim.CredentialIssued {
		t.Fatalf("visit %s has no issued Origo credential: %+v", stay2, u)
	}
	e.sims.Origo.RevokeCredential(u.Credentials[len(u.Credentials)-1].ID)
	want.withoutIssuer++
	want.activeMissing++
	check("an Origo credential revoked by an administrator", want)

	door := doorOf(e.providers[at])
	if _, err := door.Provision(ctx, acs.Grant{Person: acs.Person{ExternalID: left, FirstName: "Ghost"},
		Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 60001}, AccessLevels: e.sims.Sites[at].Levels[:1],
		ValidFrom: e.clock.Now(), ValidUntil: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want.withoutIssuer++
	want.liveNotSignedIn++
	check("a card at the door Origo never issued, for an ended visit", want)

	e.sims.Origo.AddUser("stranger-1", "Stray", "User", "")
	want.leftovers++
	check("an Origo user of no visit", want)
}
