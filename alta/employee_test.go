package alta

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee adds a user with a card as an Alta administrator would
// (acstest.EmployeeHarness): a disabled employee is suspended (S).
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	sim := h.e.sim
	uid, err := sim.AddUser("employee-"+strconv.FormatUint(e.Card.Number, 10)+"@example.com", e.FirstName, e.LastName, "")
	if err != nil {
		return acs.CredentialRef{}, err
	}
	groups := make([]int64, len(e.AccessLevels))
	for i, l := range e.AccessLevels {
		if groups[i], err = strconv.ParseInt(l, 10, 64); err != nil {
			return acs.CredentialRef{}, err
		}
	}
	status := "A"
	if !e.Enabled {
		status = "S"
	}
	cid, err := sim.AddCard(uid, e.Card.Format, e.Card.Facility, e.Card.Number)
	if err == nil {
		err = errors.Join(sim.SetUserGroups(uid, groups...), sim.SetUserStatus(uid, status), sim.SetReadOnly(uid, e.ReadOnly))
	}
	if err != nil {
		return acs.CredentialRef{}, err
	}
	return acs.CredentialRef{ID: strconv.FormatInt(cid, 10), CardholderID: strconv.FormatInt(uid, 10), Card: e.Card}, nil
}

// An inactive user (I) is not enabled by a check-in, and a visitor user
// made by Provision is no employee.
func TestEmployeeInactiveAndVisitors(t *testing.T) {
	e := newEnv(t, nil)
	h := harness{e}
	ctx := t.Context()
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{LastName: "Gone", Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}})
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseInt(ref.CardholderID, 10, 64)
	if err := e.sim.SetUserStatus(uid, "I"); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("enabling an inactive user: %v", err)
	}
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	pv, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.FindEmployee(ctx, acs.EmployeeQuery{ID: pv.Cardholder.ID}); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("a visitor as an employee: %v", err)
	}
}
