package lenelsim

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// visitorWithBadge creates visitor 1 holding badge 1001 (BADGEKEY 1) for
// the Lobby level from 09:00 to 12:00 on the test day.
func visitorWithBadge(c *client) {
	c.t.Helper()
	c.create("Lnl_Visitor", `{"SSNO":"v-1","FIRSTNAME":"Ada","LASTNAME":"Lovelace"}`)
	c.create("Lnl_Badge", `{"PERSONID":1,"TYPE":2,"ID":1001,"STATUS":1,"ACTIVATE":"2025-01-02T09:00:00+00:00","DEACTIVATE":"2025-01-02T12:00:00+00:00"}`)
	c.create("Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":1}`)
}

func TestDoorsAndSwipe(t *testing.T) {
	c := newClient(t)
	c.login()
	visitorWithBadge(c)
	lobby := c.sim.AddDoor(DoorSpec{Name: "Lobby", AccessLevels: []int64{LevelLobby}})
	floor := c.sim.AddDoor(DoorSpec{Name: "Floor 3", AccessLevels: []int64{LevelFloor3}})
	both := c.sim.AddDoor(DoorSpec{Panel: 7, Name: "Atrium", TimeAttendance: ReaderExit, AccessLevels: []int64{LevelFloor3, LevelLobby}})
	if lobby.ID != "1:1" || floor.ID != "1:2" || both.ID != "7:1" || both.PanelID != 7 || both.ReaderID != 1 {
		t.Fatalf("door IDs %q %q %+v", lobby.ID, floor.ID, both)
	}
	if ds := c.sim.Doors(); len(ds) != 3 || ds[2].Name != "Atrium" || !slices.Equal(ds[2].AccessLevels, []int64{2, 1}) {
		t.Errorf("Doors() = %+v", ds)
	}

	at := time.Date(2025, 1, 2, 10, 0, 0, 600_000_000, time.UTC)
	cases := []struct {
		badge int64
		door  string
		at    time.Time
		want  bool
	}{
		{1001, lobby.ID, at, true},
		{1001, floor.ID, at, false},                    // not one of the door's levels
		{1001, both.ID, at, true},                      // one of two levels suffices
		{1001, lobby.ID, at.Add(3 * time.Hour), false}, // the badge's window ended
		{4242, lobby.ID, at, false},                    // no such badge
		{1001, lobby.ID, time.Time{}, false},           // the simulator's clock: before the badge's window
	}
	c.clk.add(-2 * time.Hour) // 08:00
	for i, cs := range cases {
		if got := c.sim.Swipe(cs.badge, cs.door, cs.at); got != cs.want {
			t.Errorf("case %d: Swipe(%d, %s) = %v", i, cs.badge, cs.door, got)
		}
	}
	if c.sim.Swipe(1001, "9:9", at) || len(c.sim.LoggedEvents()) != len(cases) {
		t.Error("a swipe at an unknown door was logged or granted")
	}
	evs := c.sim.LoggedEvents()
	for i, e := range evs {
		if e.Serial != int64(i+1) {
			t.Errorf("event %d has serial %d", i, e.Serial)
		}
	}
	first := evs[0]
	if !first.Time.Equal(at.Truncate(time.Second)) || first.PersonID != 1 || first.FirstName != "Ada" ||
		first.AccessResult != AccessGranted || !first.Entered || first.Description != "Access Granted" {
		t.Errorf("granted event %+v", first)
	}
	if e := evs[1]; e.AccessResult != AccessDenied || e.Entered || e.PersonID != 1 || e.Description != "Access Denied" {
		t.Errorf("denied event %+v", e)
	}
	if e := evs[4]; e.AccessResult != AccessDenied || e.PersonID != 0 || e.BadgeID != 4242 || e.Description != "Invalid Badge" {
		t.Errorf("unknown badge event %+v", e)
	}
	if e := evs[5]; !e.Time.Equal(time.Date(2025, 1, 2, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("a zero time took %v, want the simulator's clock", e.Time)
	}
	// The oracle follows revocation and removed levels.
	c.call("PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1,"STATUS":3}}`)
	if c.sim.Swipe(1001, lobby.ID, at) {
		t.Error("returned badge granted")
	}
	c.call("PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1,"STATUS":1}}`)
	c.sim.RemoveAccessLevel(LevelLobby)
	if c.sim.Swipe(1001, lobby.ID, at) {
		t.Error("removed level granted")
	}
	if !c.sim.LogDoorForced(lobby.ID, at) || c.sim.LogDoorForced("0:0", at) {
		t.Error("LogDoorForced")
	}

	// Readers are Lnl_Reader instances, read-only, in their own casing.
	st, out := c.call("GET", "/instances", v("type_name", "Lnl_Reader", "filter", "PanelID = 7"), "")
	items, _ := out["item_list"].([]any)
	if st != 200 || len(items) != 1 {
		t.Fatalf("Lnl_Reader: %d %v", st, out)
	}
	pm := items[0].(map[string]any)["property_value_map"].(map[string]any)
	if pm["PanelID"] != float64(7) || pm["ReaderID"] != float64(1) || pm["Name"] != "Atrium" || pm["TimeAttendanceType"] != float64(ReaderExit) {
		t.Errorf("reader %v", pm)
	}
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(), `{"type_name":"Lnl_Reader","property_value_map":{"PanelID":1,"ReaderID":9,"Name":"x"}}`)
}

func TestLoggedEventsEndpoint(t *testing.T) {
	c := newClient(t)
	c.login()
	visitorWithBadge(c)
	lobby := c.sim.AddDoor(DoorSpec{Name: "Lobby", AccessLevels: []int64{LevelLobby}})
	base := time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)
	for i := range 25 {
		c.sim.Swipe(1001+int64(i%2), lobby.ID, base.Add(time.Duration(i/5)*time.Second))
	}
	c.sim.LogDoorForced(lobby.ID, base)

	get := func(kv ...string) map[string]any {
		t.Helper()
		st, out := c.call("GET", "/logged_events", v(kv...), "")
		if st != 200 {
			t.Fatalf("GET /logged_events %v: %d %v", kv, st, out)
		}
		return out
	}
	serials := func(out map[string]any) []int64 {
		var s []int64
		for _, it := range out["item_list"].([]any) {
			s = append(s, int64(it.(map[string]any)["serial_number"].(float64)))
		}
		return s
	}

	// A flat LoggedEvents object; absent values are null.
	out := get("filter", "serial_number = 1")
	ev := out["item_list"].([]any)[0].(map[string]any)
	want := map[string]any{
		"serial_number": float64(1), "timestamp": "2025-01-02T10:00:00+00:00", "controller_id": float64(1),
		"device_id": float64(1), "device_name": "Lobby", "controller_name": "Panel 1", "badge_id": float64(1001),
		"badge_id_str": "1001", "cardholder_key": float64(1), "cardholder_first_name": "Ada",
		"cardholder_last_name": "Lovelace", "access_result": float64(AccessGranted), "cardholder_entered": true,
	}
	for k, w := range want {
		if ev[k] != w {
			t.Errorf("%s = %v, want %v", k, ev[k], w)
		}
	}
	if _, ok := ev["property_value_map"]; ok {
		t.Error("logged events are flat objects")
	}
	out = get("filter", "serial_number = 2")
	if ev := out["item_list"].([]any)[0].(map[string]any); ev["cardholder_key"] != nil || ev["badge_id"] != float64(1002) || ev["access_result"] != float64(AccessDenied) {
		t.Errorf("unknown badge event %v", ev)
	}
	out = get("filter", "access_result = 4")
	if ev := out["item_list"].([]any)[0].(map[string]any); ev["badge_id"] != nil || ev["description"] != "Door Forced Open" {
		t.Errorf("alarm %v", ev)
	}

	// Relational filters on integers and dates, ordering and paging.
	if got := serials(get("filter", `timestamp >= "2025-01-02T10:00:03+00:00"`, "page_size", "100")); !slices.Equal(got, []int64{16, 17, 18, 19, 20, 21, 22, 23, 24, 25}) {
		t.Errorf("timestamp >= : %v", got)
	}
	if got := serials(get("filter", `timestamp > "2025-01-02T11:00:03+01:00" AND serial_number <= 23`, "page_size", "100")); !slices.Equal(got, []int64{21, 22, 23}) {
		t.Errorf("timestamp > with an offset: %v", got)
	}
	if got := serials(get("filter", "serial_number < 3 OR serial_number >= 25")); !slices.Equal(got, []int64{1, 2, 25, 26}) {
		t.Errorf("OR: %v", got)
	}
	if got := serials(get("filter", "cardholder_key != 1", "page_size", "100")); len(got) != 13 {
		t.Errorf("NULL cardholder_key != 1 matched %d events, want 13 (12 strangers, 1 alarm)", len(got))
	}
	out = get("filter", "serial_number > 0", "order_by", "timestamp DESC, serial_number", "page_size", "4", "page_number", "2")
	if got := serials(out); !slices.Equal(got, []int64{25, 16, 17, 18}) || out["total_pages"] != float64(7) || out["total_items"] != float64(26) {
		t.Errorf("DESC page 2: %v %v", got, out)
	}
	out = get("filter", "serial_number > 0", "order_by", "timestamp,serial_number", "page_size", "10", "page_number", "3")
	if got := serials(out); !slices.Equal(got, []int64{20, 21, 22, 23, 24, 25}) || out["count"] != float64(6) {
		t.Errorf("page 3: %v", got)
	}

	// Strict: a missing filter, unknown or unsupported properties, "Z",
	// bad order_by, type_name, and order_by elsewhere.
	bad := []url.Values{
		v(),
		v("filter", ""),
		v("filter", "description = 1"),
		v("filter", `timestamp >= "2025-01-02T10:00:00Z"`),
		v("filter", "timestamp >= 5"),
		v("filter", `serial_number >= "5"`),
		v("filter", "cardholder_entered = 1"),
		v("filter", "serial_number => 5"),
		v("filter", "serial_number > 0", "order_by", "description"),
		v("filter", "serial_number > 0", "order_by", "timestamp up"),
		v("filter", "serial_number > 0", "order_by", "timestamp,"),
		v("filter", "serial_number > 0", "page_size", "101"),
		v("filter", "serial_number > 0", "type_name", "Lnl_LoggedEvent"),
	}
	for _, q := range bad {
		c.wantError(400, CodeInvalidRequestItem, "GET", "/logged_events", q, "")
	}
	c.wantError(400, CodeInvalidRequestItem, "GET", "/count", v("type_name", "Lnl_Badge", "order_by", "ID"), "")
	c.wantError(404, CodeInvalidRequest, "POST", "/logged_events", v("filter", "serial_number > 0"), "")
	c.token = ""
	c.wantError(401, CodeInvalidSession, "GET", "/logged_events", v("filter", "serial_number > 0"), "")
}

func TestLoggedEventsFaults(t *testing.T) {
	c := newClient(t)
	c.login()
	c.sim.AddFault(Fault{Path: "/logged_events", Status: 503, Times: 2})
	for range 2 {
		c.wantError(503, CodeInternalError, "GET", "/logged_events", v("filter", "serial_number > 0"), "")
	}
	if st, _ := c.call("GET", "/logged_events", v("filter", "serial_number > 0"), ""); st != 200 {
		t.Errorf("after the faults: %d", st)
	}
}

func TestRelationalFilterOnlyOnLoggedEvents(t *testing.T) {
	vis := newTypes()["lnl_visitor"]
	for _, f := range []string{`ID > 1`, `ID <= 1`, `LASTCHANGED = "2025-01-02T10:00:00+00:00"`} {
		if _, err := parseFilter(vis, f); err == nil {
			t.Errorf("%q accepted on /instances", f)
		}
	}
	for _, f := range []string{`serial_number > 1`, `SERIAL_NUMBER<=1`, `timestamp < "2025-01-02"`, `badge_id != 5 AND timestamp >= "2025-01-02T10:00:00.5+02:00"`} {
		if _, err := parseFilter(loggedEventType, f); err != nil {
			t.Errorf("%q refused on /logged_events: %v", f, err)
		}
	}
}
