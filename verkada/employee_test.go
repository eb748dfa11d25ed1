package verkada

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee adds a user with an active card as a Verkada administrator
// would (acstest.EmployeeHarness): a disabled employee's access starts a
// year from now. Verkada's answer to a change of a user its directory
// sync keeps is not in the notes, so a read-only employee is unsupported
// and the kit skips that rule.
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	if e.ReadOnly {
		return acs.CredentialRef{}, fmt.Errorf("verkadasim: no read-only users: %w", acs.ErrUnsupported)
	}
	sim := h.e.sim
	uid, err := sim.AddUser(e.FirstName, e.LastName, "")
	if err != nil {
		return acs.CredentialRef{}, err
	}
	cid, err := sim.AddCard(uid, verkadasim.WiegandCardType(e.Card.Format), e.Card.Facility, e.Card.Number, true)
	if err != nil {
		return acs.CredentialRef{}, err
	}
	if err := sim.SetGroups(uid, e.AccessLevels...); err != nil {
		return acs.CredentialRef{}, err
	}
	if !e.Enabled {
		if err := sim.SetWindow(uid, h.e.clk.Now().Add(365*24*time.Hour), time.Time{}); err != nil {
			return acs.CredentialRef{}, err
		}
	}
	return acs.CredentialRef{ID: cid, CardholderID: uid, Card: e.Card}, nil
}

// The status method moves the start date; a user with an end date is shut
// by the end date, is refused a check-in once it has passed or while its
// start is to come, and a visitor made by Provision is no employee.
func TestEmployeeWindow(t *testing.T) {
	e := newEnv(t, nil)
	h := harness{e}
	ctx := t.Context()
	lvl := e.levels()[0]
	now := e.clk.Now()
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{LastName: "Contractor", Enabled: true, AccessLevels: []string{lvl},
		Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}})
	if err != nil {
		t.Fatal(err)
	}
	uid := ref.CardholderID
	if err := e.sim.SetWindow(uid, now.Add(-time.Hour), now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, uid, false); err != nil {
		t.Fatal(err)
	}
	u, _ := e.sim.UserByID(uid)
	if e.sim.Opens(ref.ID, lvl, e.clk.Now()) || !u.End.Equal(now.Truncate(time.Second)) || !u.Start.Equal(now.Add(-time.Hour)) {
		t.Fatalf("disabling a user with an end date: window %v – %v", u.Start, u.End)
	}
	if err := e.p.SetEmployeeEnabled(ctx, uid, true); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("enabling a user whose access ended: %v", err)
	}
	if err := e.sim.SetWindow(uid, now.Add(time.Hour), now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, uid, true); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("enabling a user with a start to come and an end date: %v", err)
	}
	if u2, _ := e.sim.UserByID(uid); !u2.Start.Equal(now.Add(time.Hour)) {
		t.Fatalf("the refused enable moved the start date to %v", u2.Start)
	}

	pv, err := e.p.Provision(ctx, testGrant(1, now, lvl))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.FindEmployee(ctx, acs.EmployeeQuery{ID: pv.Cardholder.ID}); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("a visitor as an employee: %v", err)
	}
	if _, err := e.p.FindEmployee(ctx, acs.EmployeeQuery{Card: pv.Credential.Card}); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("a visitor's card as an employee's: %v", err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, pv.Cardholder.ID, false); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("disabling a visitor as an employee: %v", err)
	}
}
