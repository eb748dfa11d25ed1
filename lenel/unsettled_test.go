package lenel

import (
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// definite reports whether err is a refusal a caller gives up on (the
// codes the visitor engine does not try again).
func definite(err error) bool {
	switch acs.CodeOf(err) {
	case acs.InvalidArgument, acs.NotFound, acs.AlreadyExists, acs.PermissionDenied, acs.Unsupported, acs.Conflict:
		return true
	}
	return false
}

// sessionLostTwiceOnNextBadgeLookup makes the next two listings of
// Lnl_Badge, from the moment the faulted request arrives, meet an expired
// session: the lookup fails even after logging in again.
func sessionLostTwiceOnNextBadgeLookup(sim *lenelsim.Server) func() {
	return func() {
		sim.AddFault(lenelsim.Fault{Method: "GET", Path: "/instances", TypeName: "Lnl_Badge", ExpireSession: true, Times: 2})
	}
}

// A returned badge handed to the next visitor: Provision deletes the old
// record; the DELETE's answer is lost after the record went, the client
// sends it again and OnGuard refuses it (the record is gone), and the
// lookup meant to tell what that refusal means fails too. Whether the
// record is gone is then unknown: the error must be one the caller tries
// again, never a definite refusal that leaves the visitor without a
// credential; the next call finds the record gone and provisions.
func TestLostDeleteAnswerWithFailedLookupKeepsTheProvisionRetryable(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		a := e.grant(1)
		pa, err := e.p.Provision(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(ctx, pa.Credential); err != nil {
			t.Fatal(err)
		}
		b := e.grant(2)
		b.Card = a.Card
		e.sim.AddFault(lenelsim.Fault{Method: "DELETE", Path: "/instances", TypeName: "Lnl_Badge", DropAfterCommit: true,
			Before: sessionLostTwiceOnNextBadgeLookup(e.sim)})
		_, err = e.p.Provision(ctx, b)
		if definite(err) {
			t.Fatalf("provision whose stale badge record may be gone: %v (code %v), want an error to try again", err, acs.CodeOf(err))
		}
		e.sim.ClearFaults()
		pb, err := e.p.Provision(ctx, b)
		if err != nil {
			t.Fatalf("provision again: %v", err)
		}
		if !e.opens(pb.Credential, "1", e.clock.Now()) {
			t.Error("the new visitor's badge does not open")
		}
		if c := e.sim.Census(); c.Badges != 1 {
			t.Errorf("census %+v, want one badge", c)
		}
	})
}

// Revoke's PUT finds the badge deleted meanwhile (by an operator, or a
// RemoveCardholder of another replica) and the lookup that would show it
// gone fails: the revocation must stay to be tried again, not end as a
// definite refusal, and the next attempt succeeds (gone is revoked).
func TestBadgeGoneDuringRevokeWithFailedLookupStaysRetryable(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, p := provisioned(t, e, 1)
		e.sim.AddFault(lenelsim.Fault{Method: "PUT", Path: "/instances", TypeName: "Lnl_Badge", Before: func() {
			e.sim.DeleteBadge(p.Credential.ID)
			sessionLostTwiceOnNextBadgeLookup(e.sim)()
		}})
		err := e.p.Revoke(ctx, p.Credential)
		if definite(err) {
			t.Fatalf("revoke of a badge that may be gone: %v (code %v), want success or an error to try again", err, acs.CodeOf(err))
		}
		e.sim.ClearFaults()
		noError(t, "revoke again", e.p.Revoke(ctx, p.Credential))
	})
}

// The visitor's badge is deleted between Provision's lookup and its
// update of the badge: the refusal is about a record that is gone, not a
// refusal of the grant, so the error is one to try again, and the next
// call creates the badge.
func TestBadgeGoneBeforeItsUpdateKeepsTheProvisionRetryable(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		g, p := provisioned(t, e, 1)
		e.clock.Advance(time.Hour) // a new window: the badge is updated
		g2 := e.grant(1, "1", "2")
		g2.Card = g.Card
		e.sim.AddFault(lenelsim.Fault{Method: "PUT", Path: "/instances", TypeName: "Lnl_Badge", Before: func() {
			e.sim.DeleteBadge(p.Credential.ID)
		}})
		_, err := e.p.Provision(ctx, g2)
		if definite(err) {
			t.Fatalf("provision whose badge went meanwhile: %v (code %v), want success or an error to try again", err, acs.CodeOf(err))
		}
		e.sim.ClearFaults()
		p2, err := e.p.Provision(ctx, g2)
		if err != nil {
			t.Fatalf("provision again: %v", err)
		}
		if !e.opens(p2.Credential, "1", e.clock.Now()) {
			t.Error("badge does not open")
		}
	})
}
