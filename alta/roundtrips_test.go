package alta

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// TestRoundTrips prints the HTTP requests of each operation next to the
// protocol minimum derived from the notes. It asserts the outcome of each
// operation, never the counts.
//
// Minimums (§1): a first provision must look the visit up (idempotency),
// check the card's holders (the notes document no refusal of a duplicate
// card, so only asking shows a Conflict), create the user, look again (a
// concurrent process may have created the visit's user too), set its
// groups (the user body has no group field), create the credential and
// look again (the same for the credential): 7, plus a login and the three
// catalogues (groups, credential types, card formats) when cold: 11. A
// repeat must look up and list the credentials: 2. A revoke must find
// every user of the visit and every credential of the card, duplicates
// included: the lookup, the listing and the DELETE, 3 (2 when already
// revoked), with IDs or without. Removing a cardholder looks the visit's
// users up, lists their credentials, deletes each and deletes the users:
// 4 for one user with one card.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	level := e.levels()[0]
	count := func(name string, minimum int, f func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%-34s %2d requests (protocol minimum %d)  %q", name, len(e.sim.Requests()), minimum, routes(e.sim.Requests()))
	}
	var p acs.Provisioned
	g := testGrant(1, e.clk.Now(), level)
	count("provision (cold, with login)", 11, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	count("provision (repeat)", 2, func() error { _, err := e.p.Provision(ctx, g); return err })
	g2 := testGrant(2, e.clk.Now(), level)
	count("provision (warm, new visitor)", 7, func() error { _, err := e.p.Provision(ctx, g2); return err })
	count("revoke (with IDs)", 3, func() error { return e.p.Revoke(ctx, p.Credential) })
	count("revoke (already revoked)", 2, func() error { return e.p.Revoke(ctx, p.Credential) })
	count("revoke (external ID and card)", 3, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g2.Person.ExternalID, Card: g2.Card})
	})
	next := testGrant(3, e.clk.Now(), level)
	next.Card = g.Card // the badge handed back goes to the next visitor
	count("provision (returned badge)", 7, func() error { _, err := e.p.Provision(ctx, next); return err })
	two := testGrant(4, e.clk.Now(), level, e.levels()[1])
	count("provision (two access levels)", 7, func() error { _, err := e.p.Provision(ctx, two); return err })
	count("remove cardholder (by ID)", 4, func() error {
		pr, err := e.p.Provision(ctx, testGrant(5, e.clk.Now(), level))
		if err != nil {
			return err
		}
		e.sim.ResetRequests()
		return e.p.RemoveCardholder(ctx, pr.Cardholder)
	})
}

func benchGrant(n int, now time.Time, level string) acs.Grant {
	return acs.Grant{
		Person:       acs.Person{ExternalID: "bench-" + strconv.Itoa(n), FirstName: "Bench", LastName: "Visitor"},
		Card:         acs.Card{Format: acs.H10301, Facility: 7, Number: uint64(n % 65536)},
		AccessLevels: []string{level},
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(8 * time.Hour).Truncate(time.Second),
	}
}

// BenchmarkProvisionRevoke provisions a new visitor and revokes the
// credential against the simulator on loopback, and reports the requests
// each pair costs (7 + 3 once warm).
func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	level := e.levels()[0]
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	e.sim.ResetRequests()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		p, err := e.p.Provision(ctx, benchGrant(n, e.clk.Now(), level))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(len(e.sim.Requests()))/float64(n), "requests/op")
}

// BenchmarkProvisionRevokeParallel is the same with concurrent callers.
func BenchmarkProvisionRevokeParallel(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	level := e.levels()[0]
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(next.Add(1))
			p, err := e.p.Provision(ctx, benchGrant(n, e.clk.Now(), level))
			if err != nil {
				b.Error(err)
				return
			}
			if err := e.p.Revoke(ctx, p.Credential); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
