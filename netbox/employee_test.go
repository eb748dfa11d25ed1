package netbox

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee adds a person with one credential as a NetBox administrator
// would (acstest.EmployeeHarness): a disabled employee's credential is
// DISABLED. The NBAPI has no refusal of a change to a person a directory
// keeps (Active Directory overwrites such writes on its next sync, the
// notes say), so a read-only employee is unsupported and the kit skips
// that rule.
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	if e.ReadOnly {
		return acs.CredentialRef{}, fmt.Errorf("netboxsim: no read-only people: %w", acs.ErrUnsupported)
	}
	format, ok := h.e.p.cardFormatName(e.Card)
	if !ok {
		return acs.CredentialRef{}, fmt.Errorf("no card format for %s", e.Card)
	}
	names, err := h.e.p.levelNames(context.Background(), "test", e.AccessLevels)
	if err != nil {
		return acs.CredentialRef{}, err
	}
	id := "emp-" + strconv.FormatUint(e.Card.Number, 10)
	num := strconv.FormatUint(e.Card.Number, 10)
	if !h.e.sim.AddPerson(netboxsim.PersonInfo{ID: id, FirstName: e.FirstName, LastName: e.LastName, Levels: names,
		Credentials: []netboxsim.CredentialInfo{{EncodedNum: num, HotStamp: num, Format: format, Disabled: !e.Enabled}}}) {
		return acs.CredentialRef{}, fmt.Errorf("person %q exists", id)
	}
	cid, ok := h.e.sim.FindCredential(id, format, num)
	if !ok {
		return acs.CredentialRef{}, fmt.Errorf("the simulator lost the credential of %q", id)
	}
	return acs.CredentialRef{ID: cid, CardholderID: id, Card: e.Card}, nil
}

// A lost card is not enabled by a check-in; a person past its EXPDATE is
// refused one; removing the last level leaves none; a visitor is no
// employee.
func TestEmployeeCredentialsAndWindow(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	lobby := netboxsim.LevelLobby
	// One disabled card to enable, and a lost one that stays disabled.
	if !e.sim.AddPerson(netboxsim.PersonInfo{ID: "emp-1", LastName: "Hopper", Levels: []string{netboxsim.LevelLobbyName}, Credentials: []netboxsim.CredentialInfo{
		{EncodedNum: "4711", HotStamp: "4711", Format: netboxsim.Format26, Disabled: true},
		{EncodedNum: "4712", Format: netboxsim.Format26, Disabled: true, Status: "LOST"},
	}}) {
		t.Fatal("AddPerson")
	}
	cid, _ := e.sim.FindCredential("emp-1", netboxsim.Format26, "4711")
	ref := acs.CredentialRef{ID: cid, CardholderID: "emp-1"}
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); err != nil {
		t.Fatal(err)
	}
	p, _ := e.sim.Person(ref.CardholderID)
	for _, c := range p.Credentials {
		if want := c.Status == "LOST"; c.Disabled != want {
			t.Fatalf("after the enable: credential %+v", c)
		}
	}
	if err := e.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{lobby}, false); err != nil {
		t.Fatal(err)
	}
	if p, _ = e.sim.Person(ref.CardholderID); len(p.Levels) != 0 || e.opens(ref, lobby, e.clock.Now()) {
		t.Fatalf("after removing the last level: %q", p.Levels)
	}
	e.sim.SetPersonWindow(ref.CardholderID, time.Time{}, e.clock.Now().Add(-time.Hour))
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true); acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("enabling an expired person: %v", err)
	}

	pv, err := e.p.Provision(ctx, e.grant(1))
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
