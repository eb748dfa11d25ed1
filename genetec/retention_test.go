package genetec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// TestRemoveLeavesNoVisitorData: after RemoveCardholder succeeds, no
// entity at Security Center holds the visitor's name or e-mail address,
// including a second cardholder two racing provisions created for the
// same visit.
func TestRemoveLeavesNoVisitorData(t *testing.T) {
	for _, byID := range []bool{true, false} {
		name := "by external ID"
		if byID {
			name = "by ID"
		}
		t.Run(name, func(t *testing.T) {
			eachMissingMode(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				g := grant(1)
				g.Person.FirstName, g.Person.LastName, g.Person.Email = "Grace", "Hopper", "grace@example.com"
				p, err := e.p.Provision(ctx, g)
				if err != nil {
					t.Fatal(err)
				}
				// The twin another process created for the same visit.
				twin := `entity=NewEntity(Cardholder),Name=Grace Hopper [visit\-1],FirstName=Grace,LastName=Hopper,EmailAddress=grace\@example.com,Guid`
				if err := postRaw(e.srv.URL, twin); err != nil {
					t.Fatal(err)
				}
				keep := e.sim.AddCardholder("Grace Hopper", "Grace", "Hopper") // staff, not this visit
				ref := acs.CardholderRef{ExternalID: g.Person.ExternalID}
				if byID {
					ref = acs.CardholderRef{ID: p.Cardholder.ID}
				}
				if err := e.p.RemoveCardholder(ctx, ref); err != nil {
					t.Fatal(err)
				}
				for _, c := range e.sim.Cardholders() {
					if c.GUID != keep && (strings.Contains(c.Name, "Hopper") || strings.Contains(c.Email, "grace")) {
						t.Errorf("visitor data left behind: %+v", c)
					}
				}
				if _, ok := e.sim.Cardholder(keep); !ok {
					t.Fatal("a cardholder without the external ID was removed")
				}
				if c := e.sim.Census(); c != (genetecsim.Census{Cardholders: 1}) {
					t.Fatalf("census %+v, want only the staff member", c)
				}
			})
		})
	}
}
