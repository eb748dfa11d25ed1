package verkada

import (
	"context"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
)

// TestRequestsPerOperation prints (never asserts) the requests each
// operation makes against the simulator, next to the protocol minimum
// derived from the notes (research/more-acs.md §2):
//
//   - cold provision: the token exchange (§2.1) and the group listing
//     (§2.4, needed once to refuse an unknown access group before any
//     write) come on top of the warm cost.
//   - warm provision of a new visitor: one read to find the user by
//     external ID (idempotency needs it: Verkada documents no
//     create-if-absent), then five writes that no endpoint combines:
//     create the user (§2.2; dates are not among its fields), create the
//     card (§2.3), set start_date, set end_date (§2.2), add to the group
//     (§2.4); and one more read after the creations, so that the later of
//     two concurrent provisions sees the earlier one's user and card (no
//     refusal of either duplicate is documented). Minimum 7.
//   - repeat provision: the access-user object holds cards, groups and
//     dates (§2.2), so one read shows that nothing is to do. Minimum 1.
//   - revoke with the card and user IDs: the lookup by external ID, whose
//     cards show any duplicate of the card, and the DELETE (§2.3).
//     Minimum 2; already revoked, the lookup alone.
//   - revoke by external ID and card: read the user's cards, DELETE.
//     Minimum 2.
//   - remove cardholder: read its cards, DELETE each, DELETE the user,
//     and look the external ID up again (another user may carry it).
//     Minimum 1 + cards + 2.
//   - 25 minutes on, a token is exchanged again (it cannot be refreshed,
//     §2.1) and the 10-minute group cache is listed again: warm + 2.
func TestRequestsPerOperation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	level := e.levels()[0]
	type row struct {
		name     string
		minimum  int
		requests int
		tokens   int
	}
	var rows []row
	measure := func(name string, minimum int, f func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		reqs := e.sim.Requests()
		rows = append(rows, row{name, minimum, len(reqs), exchanges(reqs)})
	}
	g := testGrant(1, e.clk.Now(), level)
	var p acs.Provisioned
	measure("provision, cold (token + groups)", 9, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	g2 := testGrant(2, e.clk.Now(), level)
	measure("provision, warm (new visitor)", 7, func() error { _, err := e.p.Provision(ctx, g2); return err })
	measure("provision, repeat", 1, func() error { _, err := e.p.Provision(ctx, g); return err })
	two := testGrant(3, e.clk.Now(), level, e.levels()[1])
	measure("provision, warm, two groups", 8, func() error { _, err := e.p.Provision(ctx, two); return err })
	measure("revoke (card and user IDs)", 2, func() error { return e.p.Revoke(ctx, p.Credential) })
	measure("revoke (already revoked)", 1, func() error { return e.p.Revoke(ctx, p.Credential) })
	measure("revoke (external ID and card)", 2, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g2.Person.ExternalID, Card: g2.Card})
	})
	measure("remove cardholder (one card)", 4, func() error {
		return e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: two.Person.ExternalID})
	})
	e.clk.Advance(DefaultTokenMaxAge)
	g4 := testGrant(4, e.clk.Now(), level)
	measure("provision 25 min on (token, groups)", 9, func() error { _, err := e.p.Provision(ctx, g4); return err })
	t.Logf("%-38s %8s %8s %8s", "operation", "requests", "tokens", "minimum")
	for _, r := range rows {
		t.Logf("%-38s %8d %8d %8d", r.name, r.requests, r.tokens, r.minimum)
	}
}

// BenchmarkProvisionRevoke provisions a new visitor and revokes the card
// against the simulator on loopback (6 + 1 requests once warm).
func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, nil, WithRateLimit(0, 0))
	ctx := context.Background()
	level := e.levels()[0]
	if err := e.p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		g := testGrant(n%60000, e.clk.Now(), level)
		g.Person.ExternalID = "bench-" + itoa(n)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
