package alta

import (
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

func provisioned(t *testing.T, e *env, n int) (acs.Grant, acs.Provisioned) {
	t.Helper()
	g := testGrant(n, e.clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return g, p
}

func TestRevokeIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	g, p := provisioned(t, e, 0)
	refs := map[string]acs.CredentialRef{
		"with IDs":             p.Credential,
		"by external ID, card": {CardholderExternalID: g.Person.ExternalID, Card: g.Card},
		"user ID and card":     {CardholderID: p.Cardholder.ID, Card: g.Card},
	}
	for i := range 3 {
		for name, ref := range refs {
			if err := e.p.Revoke(t.Context(), ref); err != nil {
				t.Fatalf("revoke %s #%d: %v", name, i+1, err)
			}
		}
	}
	if e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("still opens")
	}
	if c := e.sim.Census(); c != (altasim.Census{Users: 1}) {
		t.Errorf("census %+v", c)
	}
}

// Revoking what was deleted, or whose user was deleted, behind the
// adapter's back succeeds, and so does revoking a visit never provisioned.
func TestRevokeGoneSucceeds(t *testing.T) {
	e := newEnv(t, nil)
	g0, p0 := provisioned(t, e, 0)
	e.sim.DeleteCredential(mustID(p0.Credential.ID))
	g1, p1 := provisioned(t, e, 1)
	if err := e.sim.DeleteUser(mustID(p1.Cardholder.ID)); err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]acs.CredentialRef{
		"credential deleted":          p0.Credential,
		"credential deleted, by card": {CardholderExternalID: g0.Person.ExternalID, Card: g0.Card},
		"user deleted":                p1.Credential,
		"user deleted, by card":       {CardholderExternalID: g1.Person.ExternalID, Card: g1.Card},
		"never provisioned":           {CardholderExternalID: "visit-never", Card: g0.Card},
	} {
		if err := e.p.Revoke(t.Context(), ref); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A stale revoke of the previous visitor never takes the badge from the
// next one.
func TestStaleRevokeLeavesNextHolderAlone(t *testing.T) {
	e := newEnv(t, nil)
	a, pa := provisioned(t, e, 0)
	if err := e.p.Revoke(t.Context(), pa.Credential); err != nil {
		t.Fatal(err)
	}
	b := testGrant(1, e.clk.Now(), e.levels()[0])
	b.Card = a.Card
	pb, err := e.p.Provision(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []acs.CredentialRef{pa.Credential, {CardholderExternalID: a.Person.ExternalID, Card: a.Card},
		{ID: pb.Credential.ID, CardholderID: pa.Cardholder.ID, CardholderExternalID: a.Person.ExternalID, Card: a.Card}} {
		if err := e.p.Revoke(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
	}
	if !e.sim.Opens(pb.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("the next visitor lost the badge to a stale revoke")
	}
}

// An answer to the delete that cannot be classified is settled by asking
// whether the credential is still there.
func TestRevokeAsksWhenUnsure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault altasim.Fault
		want  acs.Code // acs.Unknown: success
		opens bool
	}{
		{"no answer, deleted", altasim.Fault{Kind: altasim.FaultDropAfterCommit}, acs.Unknown, false},
		{"no answer, not deleted", altasim.Fault{Kind: altasim.FaultDropBeforeCommit, Times: -1}, acs.Unavailable, true},
		{"404 but still there", altasim.Fault{Kind: altasim.FaultStatus, Status: 404, Times: -1}, acs.Unavailable, true},
		{"500, not deleted", altasim.Fault{Kind: altasim.FaultStatus, Status: 500, Times: -1}, acs.Unavailable, true},
		{"403", altasim.Fault{Kind: altasim.FaultStatus, Status: 403, Times: -1}, acs.PermissionDenied, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, p := provisioned(t, e, 0)
			f := tc.fault
			f.Method, f.Path = "DELETE", "/users/*/credentials/*"
			e.sim.AddFault(f)
			err := e.p.Revoke(t.Context(), p.Credential)
			if tc.want == acs.Unknown && err != nil || tc.want != acs.Unknown && acs.CodeOf(err) != tc.want {
				t.Fatalf("got %v (code %v), want code %v", err, acs.CodeOf(err), tc.want)
			}
			if got := e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()); got != tc.opens {
				t.Errorf("opens %v, want %v", got, tc.opens)
			}
			if tc.want == acs.Unknown {
				return
			}
			e.sim.ClearFaults()
			if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Error("still opens after the retry")
			}
		})
	}
}

func TestRemoveCardholderIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	g, p := provisioned(t, e, 0)
	e.sim.AddFault(altasim.Fault{Method: "DELETE", Path: "/users/*", Kind: altasim.FaultDropAfterCommit})
	for i, ref := range []acs.CardholderRef{p.Cardholder, p.Cardholder, {ExternalID: g.Person.ExternalID}, {ExternalID: "visit-never"}} {
		if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
			t.Fatalf("remove #%d: %v", i+1, err)
		}
	}
	if c := e.sim.Census(); c != (altasim.Census{}) {
		t.Errorf("census %+v", c)
	}
	// The soft-deleted user keeps nothing that could come back (§1.3).
	ui, _ := e.sim.UserByID(mustID(p.Cardholder.ID))
	if !ui.Archived || len(e.sim.Credentials(ui.ID)) != 0 {
		t.Errorf("user %+v keeps %d credentials", ui, len(e.sim.Credentials(ui.ID)))
	}
}

// Soft deletion (§1.3): creating a user whose e-mail belongs to a deleted
// one brings that user back with its stale credentials. The adapter cleans
// them and makes the user carry the new grant.
func TestArchivedUserIsCleaned(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
		sameGet bool
	}{
		{"later, another card and window", 48 * time.Hour, false},
		{"at once, the same grant", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			g, p := provisioned(t, e, 0)
			uid := mustID(p.Cardholder.ID)
			// An administrator deletes the user: soft, the card stays on it.
			if err := e.sim.DeleteUser(uid); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(tc.advance)
			g2 := g
			if !tc.sameGet {
				g2 = testGrant(0, e.clk.Now(), e.levels()[1])
				g2.Card.Number = 999
			}
			p2, err := e.p.Provision(t.Context(), g2)
			if err != nil {
				t.Fatal(err)
			}
			if p2.Cardholder.ID != p.Cardholder.ID {
				t.Errorf("user %s, want the archived user %s brought back", p2.Cardholder.ID, p.Cardholder.ID)
			}
			creds := e.sim.Credentials(uid)
			if len(creds) != 1 || creds[0].ID != mustID(p2.Credential.ID) {
				t.Fatalf("credentials %+v, want only the new one", creds)
			}
			ui, _ := e.sim.UserByID(uid)
			if ui.Archived || ui.Status != "A" || !ui.Start.Equal(g2.ValidFrom) || !ui.End.Equal(g2.ValidUntil) ||
				!slices.Equal(ui.Groups, []int64{mustID(g2.AccessLevels[0])}) {
				t.Errorf("user %+v does not carry the new grant", ui)
			}
			if !tc.sameGet && e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Error("the stale credential still opens")
			}
			if !e.sim.Opens(p2.Credential.ID, g2.AccessLevels[0], e.clk.Now()) {
				t.Error("the new credential does not open")
			}
		})
	}
}

// After RemoveCardholder the same visit can be provisioned again.
func TestProvisionAfterRemove(t *testing.T) {
	e := newEnv(t, nil)
	g, p := provisioned(t, e, 0)
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Hour)
	g.ValidFrom, g.ValidUntil = e.clk.Now(), e.clk.Now().Add(time.Hour)
	p2, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Created || !e.sim.Opens(p2.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Errorf("%+v", p2)
	}
	if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
}
