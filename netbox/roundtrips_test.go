package netbox

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// TestRoundTrips prints the NBAPI requests of each operation next to the
// protocol minimum. It asserts the outcome of each operation, never the
// counts (run with -v to see them).
//
// Minimums: a cold first provision must log in, map the level keys to
// names (GetAccessLevels), look the person up (what makes a retry find
// what a lost answer created), and send AddPerson (which carries the
// levels and window) and AddCredential: 5; the adapter also reads the card
// formats, to refuse an unknown one before creating anything: 6. Warm: 3.
// A repeat: the lookup, 1. A revoke: one ModifyCredential; the adapter
// reads the person first, since ModifyCredential's scope is undocumented:
// 2. A returned badge for the next visitor: the lookup, AddPerson, the
// removal of the stale record and AddCredential: 4; the adapter learns of
// the stale record from AddCredential's refusal, then finds its holder
// (the hot-stamp search, the holder) before removing it and adding again:
// 7. A provision whose session expired: the refused command, Login, and
// the warm provision: 5; the adapter also logs the refused session out: 6. Removing a cardholder: one ModifyPerson
// PERSONPURGE; the adapter reads, soft-deletes, purges and checks: 4.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	run := func(name string, minimum int, f func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		reqs := e.sim.Requests()
		var cmds []string
		for _, r := range reqs {
			cmds = append(cmds, r.Command)
		}
		t.Logf("%-36s %2d requests (protocol minimum %d)  %s", name, len(reqs), minimum, strings.Join(cmds, " "))
	}
	g := e.grant(1)
	var p acs.Provisioned
	run("provision (cold, with Login)", 5, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	run("provision (repeat)", 1, func() error { _, err := e.p.Provision(ctx, g); return err })
	g2 := e.grant(2)
	run("provision (warm, new visitor)", 3, func() error { _, err := e.p.Provision(ctx, g2); return err })
	two := e.grant(3, netboxsim.LevelLobby, netboxsim.LevelFloor3)
	run("provision (warm, two levels)", 3, func() error { _, err := e.p.Provision(ctx, two); return err })
	g2.AccessLevels = []string{netboxsim.LevelFloor3}
	run("re-provision (other level)", 2, func() error { _, err := e.p.Provision(ctx, g2); return err })
	run("revoke (with IDs)", 1, func() error { return e.p.Revoke(ctx, p.Credential) })
	run("revoke (already revoked)", 1, func() error { return e.p.Revoke(ctx, p.Credential) })
	run("revoke (external ID and card)", 1, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g2.Person.ExternalID, Card: g2.Card})
	})
	next := e.grant(4)
	next.Card = g.Card
	run("provision (returned badge)", 4, func() error { _, err := e.p.Provision(ctx, next); return err })
	e.sim.ExpireSessions()
	run("provision (session expired)", 5, func() error { _, err := e.p.Provision(ctx, e.grant(5)); return err })
	run("remove cardholder", 1, func() error { return e.p.RemoveCardholder(ctx, p.Cardholder) })
	run("remove cardholder (gone)", 1, func() error { return e.p.RemoveCardholder(ctx, p.Cardholder) })
	run("close", 1, func() error { return e.p.Close(ctx) })
}

func benchGrant(e *env, n int) acs.Grant {
	g := e.grant(n)
	g.Person.ExternalID = fmt.Sprintf("bench-%d", n)
	g.Card.Number = uint64(n % 65536)
	return g
}

// BenchmarkProvisionRevoke provisions a new visitor, revokes the
// credential and removes the cardholder against the simulator on
// loopback, and reports the requests each round costs (3 + 2 + 4 once
// warm).
func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, envOpts{})
	ctx := context.Background()
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := e.p.AccessLevels(ctx); err != nil {
		b.Fatal(err)
	}
	e.sim.ResetRequests()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		p, err := e.p.Provision(ctx, benchGrant(e, n))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
		if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(len(e.sim.Requests()))/float64(n), "requests/op")
}

// BenchmarkProvisionParallel provisions new visitors from concurrent
// callers sharing one session.
func BenchmarkProvisionParallel(b *testing.B) {
	e := newEnv(b, envOpts{})
	ctx := context.Background()
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(next.Add(1))
			p, err := e.p.Provision(ctx, benchGrant(e, n))
			if err != nil {
				b.Error(err)
				return
			}
			if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
