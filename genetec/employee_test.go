package genetec_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee creates a cardholder and a credential named as an operator
// would in Config Tool (acstest.EmployeeHarness).
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	ch := h.sim.AddCardholder(e.FirstName+" "+e.LastName, e.FirstName, e.LastName, e.AccessLevels...)
	if !e.Enabled && !h.sim.SetState(ch, "Inactive") {
		return acs.CredentialRef{}, errors.New("genetecsim: SetState refused")
	}
	if e.ReadOnly && !h.sim.SetReadOnly(ch, true) {
		return acs.CredentialRef{}, errors.New("genetecsim: SetReadOnly refused")
	}
	cred, ok := h.sim.AddCredential(fmt.Sprintf("Badge of %s %s", e.FirstName, e.LastName), e.Card.Format, e.Card.Facility, e.Card.Number, "Active", ch, time.Time{}, time.Time{})
	if !ok {
		return acs.CredentialRef{}, fmt.Errorf("genetecsim: credential for %s refused", e.Card)
	}
	return acs.CredentialRef{ID: cred, CardholderID: ch, Card: e.Card}, nil
}

// A visitor made by Provision is no employee, by ID or card; a group
// change of a read-only employee succeeds on the group's side.
func TestEmployeeAccessBoundaries(t *testing.T) {
	h := harness{newEnv(t, nil)}
	ctx := t.Context()
	g := grant(1)
	pv, err := h.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []acs.EmployeeQuery{{ID: pv.Cardholder.ID}, {Card: g.Card}} {
		if _, err := h.p.FindEmployee(ctx, q); acs.CodeOf(err) != acs.NotFound {
			t.Errorf("FindEmployee(%+v) of a visitor: %v, want not found", q, err)
		}
	}
	if err := h.p.SetEmployeeEnabled(ctx, pv.Cardholder.ID, false); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("disabling a visitor through EmployeeAccess: %v, want not found", err)
	}
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper",
		Card: acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}, Enabled: true, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{genetecsim.SeedLobbyGroup}, true); err != nil {
		t.Fatalf("adding a read-only employee to a group: %v", err)
	}
	if !h.sim.Opens(ref.ID, genetecsim.SeedLobbyGroup, h.clock.Now()) {
		t.Fatal("the read-only employee's group was not joined")
	}
	if _, err := h.p.FindEmployee(ctx, acs.EmployeeQuery{ID: "not-a-guid"}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("FindEmployee by a malformed ID: %v", err)
	}
}

// The requests of each EmployeeAccess method, as the package
// documentation lists them.
func TestEmployeeRequests(t *testing.T) {
	e := newEnv(t, nil)
	h := harness{e}
	ctx := t.Context()
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper",
		Card: acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}})
	if err != nil {
		t.Fatal(err)
	}
	ch, cred := hex(ref.CardholderID), hex(ref.ID)
	e.sim.ResetRequests()
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); err != nil {
		t.Fatal(err)
	}
	read := "GET entity entity=" + ch + ",Guid,EntityType,Name,FirstName,LastName,State,Groups,Credentials"
	expectRequests(t, e, read, "POST entity entity="+ch+",State=Active")
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); err != nil {
		t.Fatal(err)
	}
	expectRequests(t, e, read) // already active: nothing written
	if err := e.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group}, true); err != nil {
		t.Fatal(err)
	}
	expectRequests(t, e,
		"GET entity entity="+lobbyHex+",Guid,EntityType,entity="+floor3Hex+",Guid,EntityType",
		read,
		"POST entity entity="+lobbyHex+",AddCardholderIntoGroup("+ch+"),entity="+floor3Hex+",AddCardholderIntoGroup("+ch+")")
	if _, err := e.p.FindEmployee(ctx, acs.EmployeeQuery{Card: ref.Card}); err != nil {
		t.Fatal(err)
	}
	credRead := "GET entity entity=" + cred + ",Guid,EntityType,Name,State,CardholderGuid,Format"
	expectRequests(t, e,
		"GET report/EntityConfiguration EntityTypes@Credential,Name=H10301 7/4711,NameSearchMode=Contains",
		"GET report/EntityConfiguration EntityTypes@Credential,Page=1,PageSize=500",
		credRead, read, credRead)
}
