package lenelsim

import (
	"context"
	"strconv"
	"strings"
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

func TestAddInstance(t *testing.T) {
	c := newClient(t)
	now := c.clk.now()
	p, err := c.sim.AddInstance("lnl_visitor", map[string]any{"lastname": "Seed", "SSNO": "visit-9", "EMAIL": "s@example.com"})
	if err != nil || p["ID"] <= 0 {
		t.Fatalf("visitor: %v %v", p, err)
	}
	b, err := c.sim.AddInstance("Lnl_Badge", map[string]any{"ID": 77, "PERSONID": p["ID"], "TYPE": BadgeTypeVisitor, "STATUS": StatusActive,
		"ACTIVATE": now, "DEACTIVATE": now.Add(time.Hour)})
	if err != nil || b["BADGEKEY"] <= 0 {
		t.Fatalf("badge: %v %v", b, err)
	}
	a, err := c.sim.AddInstance("Lnl_AccessLevelAssignment", map[string]any{"ACCESSLEVELID": LevelLobby, "BADGEKEY": b["BADGEKEY"], "ACTIVATE": time.Time{}})
	if err != nil || a["ACCESSLEVELID"] != LevelLobby || a["BADGEKEY"] != b["BADGEKEY"] {
		t.Fatalf("assignment: %v %v", a, err)
	}
	if !c.sim.Opens(strconv.FormatInt(b["BADGEKEY"], 10), "1", now.Add(time.Minute)) {
		t.Error("seeded badge does not open")
	}
	if _, err := c.sim.AddInstance("Lnl_Badge", map[string]any{"ID": 77, "PERSONID": p["ID"], "TYPE": 2, "STATUS": 1}); err == nil {
		t.Error("duplicate badge ID accepted")
	}
	if len(c.sim.Requests()) != 0 {
		t.Error("AddInstance logged as a request")
	}
}

func TestIDListFilterMatchesLikeGeneralFilter(t *testing.T) {
	typ := newTypes()["lnl_badge"]
	var terms []string
	for i := 1; i <= 40; i += 3 {
		terms = append(terms, "PERSONID = "+strconv.Itoa(i))
	}
	f, err := parseFilter(typ, strings.Join(terms, " OR "))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.idSet(); !ok {
		t.Fatal("ID list not recognised")
	}
	m := f.matcher()
	for i := int64(0); i <= 45; i++ {
		in := instance{"PERSONID": i}
		if m(in) != f.match(in) {
			t.Errorf("PERSONID %d: set %v, general %v", i, m(in), f.match(in))
		}
	}
	if m(instance{}) || f.match(instance{}) {
		t.Error("a missing property matched")
	}
	mixed, _ := parseFilter(typ, strings.Join(terms, " OR ")+" OR ID = 5")
	if _, _, ok := mixed.idSet(); ok {
		t.Error("a filter on two properties taken for an ID list")
	}
}

func TestWithLatency(t *testing.T) {
	var slept []time.Duration
	c := newClient(t, WithLatency(20*time.Millisecond), WithSleep(func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}))
	c.sim.AddFault(Fault{Path: "/version", Latency: time.Second})
	c.call("GET", "/version", v(), "")
	c.call("GET", "/version", v(), "")
	if len(slept) != 2 || slept[0] != time.Second+20*time.Millisecond || slept[1] != 20*time.Millisecond {
		t.Errorf("slept %v", slept)
	}
}

// An ID-list filter goes through an index; it must see every change.
func TestIDListQueriesSeeChanges(t *testing.T) {
	c := newClient(t)
	c.login()
	var ids, keys []string
	for i := range 10 {
		p, err := c.sim.AddInstance("Lnl_Visitor", map[string]any{"LASTNAME": "L", "SSNO": "v" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.sim.AddInstance("Lnl_Badge", map[string]any{"ID": 100 + i, "PERSONID": p["ID"], "TYPE": 2, "STATUS": 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, "PERSONID = "+strconv.FormatInt(p["ID"], 10))
		keys = append(keys, strconv.FormatInt(b["BADGEKEY"], 10))
	}
	query := func() (n int, status1 int) {
		st, out := c.call("GET", "/instances", v("type_name", "Lnl_Badge", "filter", strings.Join(ids, " OR "), "page_size", "100"), "")
		if st != 200 {
			t.Fatalf("%d %v", st, out)
		}
		for _, it := range out["item_list"].([]any) {
			if it.(map[string]any)["property_value_map"].(map[string]any)["STATUS"] == float64(1) {
				status1++
			}
		}
		return len(out["item_list"].([]any)), status1
	}
	if n, _ := query(); n != 10 {
		t.Fatalf("%d badges", n)
	}
	c.sim.DeleteBadge(keys[0])
	if err := c.sim.SetBadgeStatus(keys[1], "Returned"); err != nil {
		t.Fatal(err)
	}
	if n, active := query(); n != 9 || active != 8 {
		t.Errorf("after changes: %d badges, %d active; want 9 and 8", n, active)
	}
}
