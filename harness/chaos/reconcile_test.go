package chaos_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
)

// TestReconcilePerAdapter plants, at each simulator behind the Engine's
// back, a marked cardholder with a live credential that no visit knows, a
// visit's credential deleted at the ACS, and a visit's window widened at
// the ACS; one Reconcile per location finds all three, the outbox repairs
// them through the real adapter, each finding is audited, and a second
// Reconcile finds nothing left. A site whose provider cannot list what
// the ACS holds (acs.Inventory) is skipped, saying why.
func TestReconcilePerAdapter(t *testing.T) {
	for i, kind := range chaos.SiteKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, envConfig{seed: 20261207, badges: 10})
			site := e.sims.Sites[i]
			if _, ok := e.providers[i].(acs.Inventory); !ok {
				// Origo: the Issuer does not implement it, so the Engine
				// cannot reconcile an Origo location (package origo,
				// "What is left out").
				t.Skipf("%s implements no acs.Inventory: the Engine cannot reconcile its location", kind)
			}
			var creds []visitor.Credential
			for n := range 3 {
				id := fmt.Sprintf("rc-%s-%d", kind, n)
				v, err := e.engine.SignIn(ctx, chaos.Desk, visitor.SignInRequest{VisitID: id, Location: site.Location,
					Visitor: visitor.Visitor{FirstName: "Rita", LastName: "Reconcile"}, Provision: &visitor.ProvisionRequest{}})
				if err != nil {
					t.Fatal(err)
				}
				if c := v.Current(); c == nil || c.Status != visitor.CredActive {
					t.Fatalf("%s not provisioned: %+v", id, v.Credentials)
				}
				creds = append(creds, *v.Current())
			}
			orphan := plantOrphan(t, e, i)
			deleteAtACS(t, e.sims, kind, creds[1])
			widenAtACS(t, e.sims, kind, creds[2], e.clock.Now().Add(20*24*time.Hour))

			rep, err := e.engine.Reconcile(ctx, site.Location)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", kind, rep)
			if rep.Orphans != 1 || rep.Repairs != 2 || rep.Failed != 0 {
				t.Fatalf("report %+v, want 1 orphan and 2 repairs", rep)
			}
			if _, err := chaos.Drain(ctx, e.engine, e.clock, 1000); err != nil {
				t.Fatal(err)
			}
			if got := e.check(t); got.ACSLive != 3 || got.ActiveVisits != 3 {
				t.Errorf("after the repair: %d live at the ACS, %d active visits; want 3 and 3", got.ACSLive, got.ActiveVisits)
			}
			again, err := e.engine.Reconcile(ctx, site.Location)
			if err != nil || again.Orphans+again.Repairs+again.Failed != 0 {
				t.Fatalf("second reconcile: %+v, %v", again, err)
			}
			for _, id := range []string{orphan, creds[1].Ref.CardholderExternalID, creds[2].Ref.CardholderExternalID} {
				recs, err := e.store.Audit(ctx, visitor.AuditQuery{VisitID: id})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, r := range recs {
					if r.Action == visitor.ActReconcile {
						found = true
						t.Logf("%s: %s (%s)", id, r.Reason, r.Outcome)
					}
				}
				if !found {
					t.Errorf("no reconcile audit record for %s", id)
				}
			}
		})
	}
}

// plantOrphan provisions, through a second adapter instance, a marked
// cardholder whose visit the store does not know.
func plantOrphan(t *testing.T, e *env, site int) string {
	t.Helper()
	ps, closeAll, err := e.sims.Connect(chaos.ProviderConfig{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	s := e.sims.Sites[site]
	id := "orphan-" + s.Kind
	now := e.clock.Now()
	_, err = ps[site].Provision(context.Background(), acs.Grant{
		Person:       acs.Person{ExternalID: id, FirstName: "Olga", LastName: "Orphan"},
		Card:         acs.Card{Format: acs.H10301, Facility: chaos.Facility(site), Number: 64000},
		AccessLevels: []string{s.Levels[0]}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(5 * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func deleteAtACS(t *testing.T, sims *chaos.Sims, kind string, c visitor.Credential) {
	t.Helper()
	var ok bool
	switch kind {
	case chaos.Genetec:
		ok = sims.Genetec.DeleteCredential(c.Ref.ID)
	case chaos.Lenel:
		ok = sims.Lenel.DeleteBadge(c.Ref.ID)
	case chaos.Brivo:
		ok = sims.Brivo.DeleteCredential(acsID(t, c.Ref.ID)) == nil
	case chaos.Alta:
		ok = sims.Alta.DeleteCredential(acsID(t, c.Ref.ID))
	case chaos.Verkada:
		ok = sims.Verkada.DeleteCard(c.Ref.ID) == nil
	case chaos.Netbox:
		ok = sims.Netbox.DeleteCredential(c.Ref.CardholderID, c.Ref.ID)
	}
	if !ok {
		t.Fatalf("could not delete %s credential %+v at the simulator", kind, c.Ref)
	}
}

func widenAtACS(t *testing.T, sims *chaos.Sims, kind string, c visitor.Credential, until time.Time) {
	t.Helper()
	var ok bool
	switch kind {
	case chaos.Genetec:
		ok = sims.Genetec.SetWindow(c.Ref.ID, c.ValidFrom, until) && sims.Genetec.SetWindow(c.Ref.CardholderID, c.ValidFrom, until)
	case chaos.Lenel:
		ok = sims.Lenel.SetBadgeWindow(c.Ref.ID, c.ValidFrom, until) == nil
	case chaos.Brivo:
		ok = sims.Brivo.SetCredentialWindow(acsID(t, c.Ref.ID), c.ValidFrom, until) == nil
	case chaos.Alta:
		// Alta keeps the window on the user and on the credential.
		ok = sims.Alta.SetCredentialWindow(acsID(t, c.Ref.ID), c.ValidFrom, until) == nil &&
			sims.Alta.SetUserWindow(acsID(t, c.Ref.CardholderID), c.ValidFrom, until) == nil
	case chaos.Verkada:
		// Verkada keeps the window on the user.
		ok = sims.Verkada.SetWindow(c.Ref.CardholderID, c.ValidFrom, until) == nil
	case chaos.Netbox:
		// NetBox keeps the window on the person.
		ok = sims.Netbox.SetPersonWindow(c.Ref.CardholderID, c.ValidFrom, until)
	}
	if !ok {
		t.Fatalf("could not widen %s credential %+v at the simulator", kind, c.Ref)
	}
}

func acsID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("ACS ID %q is not numeric", s)
	}
	return n
}
