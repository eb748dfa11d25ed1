package lenelsim

import (
	"strconv"
	"testing"
	"time"
)

// seedBadge creates a visitor with an active badge on LevelLobby, valid
// for an hour from the client's now, and returns the BADGEKEY.
func seedBadge(c *client) string {
	c.t.Helper()
	pid := c.create("Lnl_Visitor", `{"LASTNAME":"Admin","SSNO":"visit-1"}`)["ID"].(float64)
	now := c.clk.now()
	win := `"ACTIVATE":"` + now.Format(DefaultDateLayout) + `","DEACTIVATE":"` + now.Add(time.Hour).Format(DefaultDateLayout) + `"`
	bk := c.create("Lnl_Badge", `{"ID":555,"PERSONID":`+strconv.Itoa(int(pid))+`,"TYPE":2,"STATUS":1,`+win+`}`)["BADGEKEY"].(float64)
	key := strconv.Itoa(int(bk))
	c.create("Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":`+key+`,`+win+`}`)
	return key
}

func TestAdministratorChanges(t *testing.T) {
	c := newClient(t)
	c.login()
	key := seedBadge(c)
	now := c.clk.now()
	later := now.Add(3 * time.Hour)
	if c.sim.Opens(key, "1", later) {
		t.Fatal("badge opens after its window")
	}
	if err := c.sim.SetBadgeWindow(key, now, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !c.sim.Opens(key, "1", later) {
		t.Error("widened window does not open the door later")
	}
	if err := c.sim.SetBadgeWindow(key, later, now); err == nil {
		t.Error("window ending before it starts accepted")
	}
	if err := c.sim.SetBadgeLevels(key, "2"); err != nil {
		t.Fatal(err)
	}
	if c.sim.Opens(key, "1", now) || !c.sim.Opens(key, "2", now) {
		t.Error("levels not replaced")
	}
	if err := c.sim.SetBadgeLevels(key, "1", "99"); err == nil || !c.sim.Opens(key, "2", now) {
		t.Errorf("unknown level: %v, and the levels must stay", err)
	}
	if err := c.sim.SetBadgeStatus(key, "returned"); err != nil || c.sim.Opens(key, "2", now) {
		t.Errorf("status returned: %v", err)
	}
	if err := c.sim.SetBadgeStatus(key, "Nope"); err == nil {
		t.Error("unknown status accepted")
	}
	if !c.sim.DeleteBadge(key) || c.sim.DeleteBadge(key) || c.sim.DeleteBadge("x") {
		t.Error("DeleteBadge should report true once, then false")
	}
	if got := c.sim.Census(); got.Badges != 0 || got.Assignments != 0 || got.Visitors != 1 {
		t.Errorf("census after DeleteBadge: %+v", got)
	}
	for _, err := range []error{c.sim.SetBadgeWindow(key, now, later), c.sim.SetBadgeLevels(key), c.sim.SetBadgeStatus(key, "Active")} {
		if err == nil {
			t.Error("change to a deleted badge accepted")
		}
	}
}

func TestFaultBeforeHook(t *testing.T) {
	c := newClient(t)
	c.login()
	key := seedBadge(c)
	c.sim.AddFault(Fault{Method: "PUT", TypeName: "Lnl_Badge", Before: func() { c.sim.DeleteBadge(key) }})
	c.wantError(400, CodeInvalidRequestItem, "PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":`+key+`,"STATUS":3}}`)
}
