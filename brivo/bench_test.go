package brivo

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

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
// credential, against the simulator on loopback (6 + 3 requests).
func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	level := e.levels()[0]
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		p, err := e.p.Provision(ctx, benchGrant(n, now, level))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkProvisionRevokeParallel is the same with concurrent callers.
func BenchmarkProvisionRevokeParallel(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	level := e.levels()[0]
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(next.Add(1))
			p, err := e.p.Provision(ctx, benchGrant(n, now, level))
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

// TestRoundTrips counts the HTTP requests of each operation once the token
// is held and the group and format catalogues are cached.
func TestRoundTrips(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	level := e.levels()[0]
	if _, err := e.p.Provision(ctx, testGrant(0, clk.Now(), level)); err != nil { // warm up
		t.Fatal(err)
	}
	count := func(name string, want int, f func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		reqs := e.sim.Requests()
		if len(reqs) != want {
			t.Errorf("%s: %d requests %q, want %d", name, len(reqs), apiCalls(reqs), want)
		}
		t.Logf("%-32s %d requests", name, len(reqs))
	}
	var p acs.Provisioned
	g := testGrant(1, clk.Now(), level)
	count("provision (new visitor)", 6, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	count("provision (repeat)", 4, func() error { _, err := e.p.Provision(ctx, g); return err })
	count("revoke (with IDs)", 3, func() error { return e.p.Revoke(ctx, p.Credential) })
	count("revoke (already revoked)", 3, func() error { return e.p.Revoke(ctx, p.Credential) })
	next := testGrant(2, clk.Now(), level)
	next.Card = g.Card // the badge handed back goes to the next visitor
	count("provision (returned badge)", 6, func() error { _, err := e.p.Provision(ctx, next); return err })
	two := testGrant(4, clk.Now(), level, e.levels()[1])
	count("provision (two access levels)", 7, func() error { _, err := e.p.Provision(ctx, two); return err })
	g3 := testGrant(3, clk.Now(), level)
	p3, err := e.p.Provision(ctx, g3)
	if err != nil {
		t.Fatal(err)
	}
	count("revoke (external ID and card)", 4, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g3.Person.ExternalID, Card: g3.Card})
	})
	count("remove cardholder (by ID)", 7, func() error {
		_, err := e.p.Provision(ctx, g3)
		if err != nil {
			return err
		}
		e.sim.ResetRequests()
		return e.p.RemoveCardholder(ctx, p3.Cardholder)
	})
}
