package netbox

import (
	"errors"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Holdings lists the people this SDK created (PERSONID with the prefix),
// over every page, as the controller holds them now: drift shows, the
// soft-deleted and the people entered by hand do not.
func TestHoldings(t *testing.T) {
	e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithPageSize(2)}})
	ctx := t.Context()
	e.employee("E-1", "", false, acs.Card{Format: acs.H10301, Facility: 42, Number: 9})
	var ps []acs.Provisioned
	for i := 1; i <= 5; i++ {
		p, err := e.p.Provision(ctx, e.grant(i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := e.p.Revoke(ctx, ps[1].Credential); err != nil {
		t.Fatal(err)
	}
	e.sim.SetPersonLevels(ps[2].Cardholder.ID, netboxsim.LevelFloor3Name, "Gone level")
	e.sim.AddPerson(netboxsim.PersonInfo{ID: e.personID("visit-9"), LastName: "Deleted", Deleted: true})
	e.sim.AddPerson(netboxsim.PersonInfo{ID: e.personID("bad id!"), LastName: "Odd"})
	seen := map[string]acs.Holding{}
	if err := e.p.Holdings(ctx, func(h acs.Holding) error { seen[h.Cardholder.ExternalID] = h; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Fatalf("%d holdings: %v", len(seen), seen)
	}
	now := e.clock.Now()
	if c := seen["visit-1"].Credentials[0]; !c.OpensAt(now) || c.Ref != ps[0].Credential || !sameSet(c.AccessLevels, []string{netboxsim.LevelLobby}) {
		t.Errorf("visit-1: %+v", c)
	}
	if c := seen["visit-2"].Credentials[0]; c.Active || c.OpensAt(now) {
		t.Errorf("the revoked credential is listed as live: %+v", c)
	}
	if c := seen["visit-3"].Credentials[0]; !sameSet(c.AccessLevels, []string{netboxsim.LevelFloor3, "name:Gone level"}) {
		t.Errorf("drifted levels listed as %q", c.AccessLevels)
	}
	if h := seen["visit-4"]; h.FirstName != "Ada" || h.LastName != "Visitor4" || h.Cardholder.ID != ps[3].Cardholder.ID {
		t.Errorf("visit-4: %+v", h)
	}
	stop := errors.New("stop")
	calls := 0
	if err := e.p.Holdings(ctx, func(acs.Holding) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("got %v after %d calls", err, calls)
	}
}
