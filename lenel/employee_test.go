package lenel

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee adds a cardholder and a badge as an OnGuard administrator
// would (acstest.EmployeeHarness): a disabled employee's badge is in the
// revoked status ("Returned").
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	sim := h.e.sim
	person, err := sim.AddInstance("Lnl_Cardholder", map[string]any{"FIRSTNAME": e.FirstName, "LASTNAME": e.LastName})
	if err != nil {
		return acs.CredentialRef{}, err
	}
	badgeID, err := h.e.p.badgeID(e.Card)
	if err != nil {
		return acs.CredentialRef{}, err
	}
	b, err := sim.AddInstance("Lnl_Badge", map[string]any{"PERSONID": person["ID"], "ID": badgeID, "TYPE": 1, "STATUS": 1})
	if err != nil {
		return acs.CredentialRef{}, err
	}
	key := strconv.FormatInt(b["BADGEKEY"], 10)
	status := "Active"
	if !e.Enabled {
		status = DefaultRevokedStatus
	}
	if err := errors.Join(sim.SetBadgeStatus(key, status), sim.SetBadgeLevels(key, e.AccessLevels...)); err != nil {
		return acs.CredentialRef{}, err
	}
	if e.ReadOnly {
		if err := sim.SetReadOnly(person["ID"], true); err != nil {
			return acs.CredentialRef{}, err
		}
	}
	return acs.CredentialRef{ID: key, CardholderID: strconv.FormatInt(person["ID"], 10), Card: e.Card}, nil
}

// Enabling an employee activates only badges in the revoked status: a
// lost badge stays lost; disabling touches active badges only.
func TestEmployeeLostBadgeStaysLost(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{kitCards}})
	h := harness{e}
	ctx := t.Context()
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{LastName: "Hopper", Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}, AccessLevels: []string{"1"}})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.ParseInt(ref.CardholderID, 10, 64)
	lost, err := e.sim.AddInstance("Lnl_Badge", map[string]any{"PERSONID": pid, "ID": 4712, "TYPE": 1, "STATUS": 1})
	if err != nil {
		t.Fatal(err)
	}
	lostKey := strconv.FormatInt(lost["BADGEKEY"], 10)
	if err := errors.Join(e.sim.SetBadgeStatus(lostKey, "Lost"), e.sim.SetBadgeLevels(lostKey, "1")); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if !e.sim.Opens(ref.ID, "1", now) || e.sim.Opens(lostKey, "1", now) {
		t.Fatal("enable: the returned badge should open and the lost one not")
	}
	emp, err := e.p.FindEmployee(ctx, acs.EmployeeQuery{Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 4712}})
	if err != nil || emp.Cardholder.ID != ref.CardholderID || len(emp.Cards) != 2 {
		t.Fatalf("find by the lost badge's card: %+v %v", emp, err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, false); err != nil {
		t.Fatal(err)
	}
	if e.sim.Opens(ref.ID, "1", now) {
		t.Fatal("disable: the badge still opens")
	}
	if err := e.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{"2"}, true); err != nil {
		t.Fatal(err)
	}
	e.sim.SetBadgeStatus(ref.ID, "Active")
	if !e.sim.Opens(ref.ID, "2", now) || e.sim.Opens(lostKey, "2", now) {
		t.Fatal("levels: the lost badge got the level, or the returned one did not")
	}
}
