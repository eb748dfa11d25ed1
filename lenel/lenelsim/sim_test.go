package lenelsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type client struct {
	t       *testing.T
	srv     *httptest.Server
	sim     *Server
	clk     *clock
	token   string
	expires string
}

func newClient(t *testing.T, opts ...Option) *client {
	t.Helper()
	clk := &clock{t: time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)}
	sim := New(append([]Option{WithClock(clk.now)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, sim: sim, clk: clk}
}

// call sends a request and decodes the JSON answer.
func (c *client) call(method, path string, q url.Values, body string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	u := c.srv.URL + BasePath + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Application-Id", DefaultApplicationID)
	if c.token != "" {
		req.Header.Set("Session-Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s %s: answer is not JSON: %s", method, path, data)
	}
	return resp.StatusCode, out
}

func v(kv ...string) url.Values {
	q := url.Values{"version": {"1.0"}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func (c *client) login() {
	c.t.Helper()
	st, out := c.call("POST", "/authentication", v(), `{"user_name":"`+DefaultUser+`","password":"`+DefaultPassword+`"}`)
	if st != 200 {
		c.t.Fatalf("login: %d %v", st, out)
	}
	c.token = out["session_token"].(string)
	c.expires = out["token_expiration_time"].(string)
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (c *client) wantError(status int, code string, method, path string, q url.Values, body string) {
	c.t.Helper()
	st, out := c.call(method, path, q, body)
	if st != status || errCode(out) != code || out["version"] != "1.0" {
		c.t.Errorf("%s %s %v %s: %d %v, want %d %s", method, path, q, body, st, out, status, code)
	}
}

func (c *client) create(typeName, props string) map[string]any {
	c.t.Helper()
	st, out := c.call("POST", "/instances", v(), `{"type_name":"`+typeName+`","property_value_map":`+props+`}`)
	if st != 200 {
		c.t.Fatalf("create %s %s: %d %v", typeName, props, st, out)
	}
	return out["property_value_map"].(map[string]any)
}

func TestAuthentication(t *testing.T) {
	c := newClient(t, WithUser("dir", "pw", "id-1"))
	c.wantError(401, CodeAuthenticationFailed, "POST", "/authentication", v(), `{"user_name":"sim-user","password":"nope"}`)
	c.wantError(401, CodeAuthenticationFailed, "POST", "/authentication", v(), `{"user_name":"dir","password":"pw"}`)
	c.wantError(400, CodeInvalidRequestItem, "POST", "/authentication", v(), `{"user_name":"dir","password":"pw","directory_id":"id-9"}`)
	c.wantError(400, CodeInvalidRequestItem, "POST", "/authentication", v(), `{"username":"sim-user"}`)
	if st, _ := c.call("POST", "/authentication", v(), `{"user_name":"dir","password":"pw","directory_id":"id-1"}`); st != 200 {
		t.Errorf("directory login: %d", st)
	}
	c.wantError(400, CodeInvalidRequestItem, "POST", "/authentication", nil, `{"user_name":"sim-user","password":"sim-password"}`)

	// Unauthenticated requests and a missing application ID.
	c.wantError(401, CodeInvalidSession, "GET", "/keepalive", v(), "")
	req, _ := http.NewRequest("POST", c.srv.URL+BasePath+"/authentication?version=1.0", strings.NewReader(`{"user_name":"sim-user","password":"sim-password"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 401 || errCode(out) != CodeInvalidApplicationID ||
		!strings.Contains(out["error"].(map[string]any)["message"].(string), "License violation") {
		t.Errorf("login without Application-Id: %d %v", resp.StatusCode, out)
	}

	// /version needs no session.
	if st, out := c.call("GET", "/version", v(), ""); st != 200 || out["product_version"] == nil {
		t.Errorf("version: %d %v", st, out)
	}

	c.login()
	if c.expires != "2025-01-02T11:00:00+00:00" || len(c.token) != 36 {
		t.Errorf("login answer: token of %d characters, expires %s", len(c.token), c.expires)
	}
	if st, _ := c.call("GET", "/keepalive", v(), ""); st != 200 {
		t.Error("keepalive refused")
	}
	if st, out := c.call("GET", "/session", v(), ""); st != 200 || out["user_id"] != DefaultUser {
		t.Errorf("session: %d %v", st, out)
	}
	if st, _ := c.call("DELETE", "/authentication", v(), ""); st != 200 {
		t.Error("logout refused")
	}
	c.wantError(401, CodeInvalidSession, "GET", "/keepalive", v(), "")
}

func TestSessionExpiry(t *testing.T) {
	c := newClient(t, WithSessionTTL(time.Hour), WithIdleTimeout(10*time.Minute))
	c.login()
	c.clk.add(9 * time.Minute)
	if st, _ := c.call("GET", "/keepalive", v(), ""); st != 200 {
		t.Fatal("refused within the idle timeout")
	}
	c.clk.add(9 * time.Minute) // 9 minutes after the keepalive
	if st, _ := c.call("GET", "/keepalive", v(), ""); st != 200 {
		t.Fatal("keepalive did not renew the idle countdown")
	}
	c.clk.add(11 * time.Minute)
	c.wantError(401, CodeInvalidSession, "GET", "/keepalive", v(), "")

	c.login()
	for range 6 {
		c.clk.add(9 * time.Minute)
		c.call("GET", "/keepalive", v(), "")
	}
	c.clk.add(7 * time.Minute) // 61 minutes after login
	c.wantError(401, CodeInvalidSession, "GET", "/keepalive", v(), "")
	if c.sim.Sessions() != 0 {
		t.Errorf("%d live sessions", c.sim.Sessions())
	}
}

func TestStrictParameters(t *testing.T) {
	c := newClient(t)
	c.login()
	bad := []struct {
		method, path string
		q            url.Values
		body         string
	}{
		{"GET", "/instances", url.Values{"type_name": {"Lnl_AccessLevel"}}, ""},
		{"GET", "/instances", v("type_name", "Lnl_AccessLevel", "version", "2.0"), ""},
		{"GET", "/instances", v("type_name", "Lnl_AccessLevel", "queue", "true"), ""},
		{"GET", "/instances", v("type_name", "Lnl_AccessLevel", "order_by", "Name"), ""},
		{"GET", "/instances", v("type_name", "Lnl_AccessLevel", "page_size", "101"), ""},
		{"GET", "/instances", v("type_name", "Lnl_AccessLevel", "page_number", "0"), ""},
		{"GET", "/instances", v("type_name", "Lnl_Nothing"), ""},
		{"GET", "/instances", v(), ""},
		{"GET", "/count", v("type_name", "Lnl_Badge", "page_size", "5"), ""},
		{"POST", "/instances", v(), `{"type_name":"Lnl_AccessLevel","property_value_map":{"Name":"x"}}`},
		{"POST", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x","SHOESIZE":"44"}}`},
		{"POST", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x","lastname":"y"}}`},
		{"POST", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"FIRSTNAME":"x"}}`},
		{"POST", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"ID":5,"LASTNAME":"x"}}`},
		{"POST", "/instances", v("type_name", "Lnl_Badge"), `{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x"}}`},
		{"POST", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x"},"extra":1}`},
		{"POST", "/instances", v(), `not json`},
		{"PUT", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x"}}`},
		{"PUT", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"ID":99,"LASTNAME":"x"}}`},
		{"DELETE", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":99}}`},
	}
	for _, b := range bad {
		st, out := c.call(b.method, b.path, b.q, b.body)
		if st != 400 || errCode(out) != CodeInvalidRequestItem {
			t.Errorf("%s %s %v %s: %d %v, want a 400 invalidrequestitem", b.method, b.path, b.q, b.body, st, out)
		}
	}
	c.wantError(404, CodeInvalidRequest, "GET", "/cardholders", v(), "")
}

func TestInstancesWireFormat(t *testing.T) {
	c := newClient(t)
	c.login()
	// Create answers hold only the key; request names are case-insensitive
	// and numbers may be strings.
	person := c.create("Lnl_Visitor", `{"ssno":"v-1","lastname":"Lovelace","FirstName":"Ada"}`)
	if len(person) != 1 || person["ID"] != float64(1) {
		t.Errorf("visitor create answer %v", person)
	}
	badge := c.create("Lnl_Badge", `{"PERSONID":"1","TYPE":2,"ID":1001,"STATUS":1,"ACTIVATE":"2025-01-02T09:00:00+00:00","DEACTIVATE":"2025-01-02T12:00:00-00:00"}`)
	if len(badge) != 1 || badge["BADGEKEY"] != float64(1) {
		t.Errorf("badge create answer %v", badge)
	}
	as := c.create("Lnl_AccessLevelAssignment", `{"AccessLevelID":1,"BadgeKey":1}`)
	if len(as) != 2 || as["AccessLevelID"] != float64(1) || as["BadgeKey"] != float64(1) {
		t.Errorf("assignment create answer %v", as)
	}
	// A "Z" date is refused, as OpenAccess wants a numeric offset.
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(),
		`{"type_name":"Lnl_Badge","property_value_map":{"PERSONID":1,"TYPE":2,"ID":1002,"STATUS":1,"ACTIVATE":"2025-01-02T09:00:00Z"}}`)
	// Integrity: unknown person, duplicate badge ID, duplicate assignment.
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"PERSONID":9,"TYPE":2,"ID":1003,"STATUS":1}}`)
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"PERSONID":1,"TYPE":2,"ID":1001,"STATUS":1}}`)
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(), `{"type_name":"Lnl_AccessLevelAssignment","property_value_map":{"ACCESSLEVELID":1,"BADGEKEY":1}}`)
	c.wantError(400, CodeInvalidRequestItem, "POST", "/instances", v(), `{"type_name":"Lnl_AccessLevelAssignment","property_value_map":{"ACCESSLEVELID":7,"BADGEKEY":1}}`)

	// Per-type casing in answers.
	casing := map[string][]string{
		"Lnl_Visitor":               {"ID", "LASTNAME", "FIRSTNAME", "SSNO"},
		"Lnl_Badge":                 {"BADGEKEY", "PERSONID", "ACTIVATE", "DEACTIVATE"},
		"Lnl_AccessLevel":           {"ID", "Name"},
		"Lnl_BadgeType":             {"ID", "Name"},
		"Lnl_BadgeStatus":           {"ID", "Name"},
		"Lnl_AccessLevelAssignment": {"AccessLevelID", "BadgeKey"},
	}
	for typeName, keys := range casing {
		st, out := c.call("GET", "/instances", v("type_name", typeName), "")
		if st != 200 || out["type_name"] != typeName {
			t.Fatalf("%s: %d %v", typeName, st, out)
		}
		items := out["item_list"].([]any)
		first := items[0].(map[string]any)
		if first["type_name"] != typeName {
			t.Errorf("%s item type_name %v", typeName, first["type_name"])
		}
		pm := first["property_value_map"].(map[string]any)
		for _, k := range keys {
			if _, ok := pm[k]; !ok {
				t.Errorf("%s answer lacks %s: %v", typeName, k, pm)
			}
		}
	}
	_, out := c.call("GET", "/instances", v("type_name", "Lnl_Badge"), "")
	pm := out["item_list"].([]any)[0].(map[string]any)["property_value_map"].(map[string]any)
	if pm["DEACTIVATE"] != "2025-01-02T12:00:00+00:00" {
		t.Errorf("DEACTIVATE written as %v", pm["DEACTIVATE"])
	}

	// PUT by key, then DELETE rules.
	if st, out := c.call("PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1,"STATUS":3}}`); st != 200 {
		t.Errorf("modify: %d %v", st, out)
	}
	if got := c.sim.Instances("Lnl_Badge")[0]["STATUS"]; got != StatusReturned {
		t.Errorf("status after PUT %v", got)
	}
	c.wantError(400, CodeInvalidRequestItem, "DELETE", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"ID":1}}`)
	if st, _ := c.call("DELETE", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1}}`); st != 200 {
		t.Error("badge delete refused")
	}
	if cs := c.sim.Census(); cs.Badges != 0 || cs.Assignments != 0 {
		t.Errorf("badge delete left %+v", cs)
	}
	if st, _ := c.call("DELETE", "/instances", v(), `{"type_name":"Lnl_Visitor","property_value_map":{"ID":1}}`); st != 200 {
		t.Error("visitor delete refused")
	}
}

func TestPagingAndCount(t *testing.T) {
	c := newClient(t)
	c.login()
	for range 43 {
		c.sim.AddAccessLevel("L")
	}
	st, out := c.call("GET", "/instances", v("type_name", "Lnl_AccessLevel", "page_size", "20", "page_number", "3"), "")
	if st != 200 || out["total_items"] != float64(45) || out["total_pages"] != float64(3) || out["count"] != float64(5) || out["page_number"] != float64(3) {
		t.Errorf("page 3: %v", out)
	}
	first := out["item_list"].([]any)[0].(map[string]any)["property_value_map"].(map[string]any)
	if first["ID"] != float64(41) {
		t.Errorf("page 3 starts at %v", first["ID"])
	}
	_, out = c.call("GET", "/instances", v("type_name", "Lnl_AccessLevel"), "")
	if out["page_size"] != float64(20) || out["count"] != float64(20) {
		t.Errorf("default page size: %v", out["page_size"])
	}
	// Parameters may also come in the body.
	_, out = c.call("GET", "/count", v(), `{"type_name":"Lnl_AccessLevel","filter":"Name = \"l\""}`)
	if out["total_items"] != float64(43) {
		t.Errorf("count with body parameters: %v", out)
	}
}

func TestFilterSubset(t *testing.T) {
	types := newTypes()
	vis := types["lnl_visitor"]
	rows := []instance{
		{"ID": int64(1), "SSNO": "v-1", "LASTNAME": "Lake"},
		{"ID": int64(2), "SSNO": "V-1", "LASTNAME": "Other"},
		{"ID": int64(3), "SSNO": "v-2", "LASTNAME": `O`},
	}
	good := map[string][]int64{
		`SSNO = "v-1"`:                {1, 2},
		`ssno="V-1"`:                  {1, 2},
		`ID = 3`:                      {3},
		`ID = 1 OR ID = 3`:            {1, 3},
		`SSNO = "v-1" AND ID = 2`:     {2},
		`ID != 2`:                     {1, 3},
		`ID = 1 AND ID = 2 OR ID = 3`: {3},
		``:                            {1, 2, 3},
	}
	for f, want := range good {
		flt, err := parseFilter(vis, f)
		if err != nil {
			t.Errorf("%q refused: %v", f, err)
			continue
		}
		var got []int64
		for _, r := range rows {
			if flt.match(r) {
				got = append(got, r.int("ID"))
			}
		}
		if !equal(got, want) {
			t.Errorf("%q matched %v, want %v", f, got, want)
		}
	}
	for _, f := range []string{
		`LASTNAME like "La%"`,
		`(ID = 1)`,
		`SSNO = "O"Brien OR 1=1"`,
		`SSNO = "x" OR 1=1`,
		`SSNO = "unterminated`,
		`ID = "1"`,
		`SSNO = 5`,
		`LASTCHANGED = 5`,
		`NOPE = 1`,
		`ID = 1 AND`,
		`ID = 1 XOR ID = 2`,
		`ID > 1`,
		`ID = 1; DROP TABLE`,
		`ID = 99999999999999999999`,
	} {
		if _, err := parseFilter(vis, f); err == nil {
			t.Errorf("%q accepted", f)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOracle(t *testing.T) {
	c := newClient(t)
	c.login()
	c.create("Lnl_Visitor", `{"SSNO":"v-1","LASTNAME":"L"}`)
	c.create("Lnl_Badge", `{"PERSONID":1,"TYPE":2,"ID":1001,"STATUS":1,"ACTIVATE":"2025-01-02T09:00:00+00:00","DEACTIVATE":"2025-01-02T12:00:00+00:00"}`)
	c.create("Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":1,"ACTIVATE":"2025-01-02T09:30:00+00:00","DEACTIVATE":""}`)
	at := func(h, m int) time.Time { return time.Date(2025, 1, 2, h, m, 0, 0, time.UTC) }
	cases := []struct {
		badge, level string
		at           time.Time
		want         bool
	}{
		{"1", "1", at(10, 0), true},
		{"1", "2", at(10, 0), false}, // no assignment
		{"1", "1", at(9, 15), false}, // before the assignment's window
		{"1", "1", at(12, 0), false}, // the badge's window ended
		{"1", "1", at(11, 59), true}, // just inside
		{"2", "1", at(10, 0), false}, // no such badge
		{"x", "1", at(10, 0), false}, // malformed
		{"1", "1", at(8, 59), false}, // before the badge's window
	}
	for _, cs := range cases {
		if got := c.sim.Opens(cs.badge, cs.level, cs.at); got != cs.want {
			t.Errorf("Opens(%s, %s, %s) = %v", cs.badge, cs.level, cs.at.Format("15:04"), got)
		}
	}
	if k, ok := c.sim.FindBadge("Lnl_Visitor", "ssno", "v-1", 1001); !ok || k != "1" {
		t.Errorf("FindBadge = %q %v", k, ok)
	}
	if _, ok := c.sim.FindBadge("Lnl_Visitor", "SSNO", "V-1", 1001); ok {
		t.Error("FindBadge is case-insensitive")
	}
	c.call("PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1,"STATUS":3}}`)
	if c.sim.Opens("1", "1", at(10, 0)) {
		t.Error("returned badge opens")
	}
	c.call("PUT", "/instances", v(), `{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":1,"STATUS":1}}`)
	c.sim.RemoveAccessLevel(1)
	if c.sim.Opens("1", "1", at(10, 0)) {
		t.Error("removed level opens")
	}
}

func TestFaults(t *testing.T) {
	c := newClient(t)
	c.login()
	c.sim.AddFault(Fault{Path: "/keepalive", Skip: 1, Times: 2, Status: 503})
	var got []int
	for range 4 {
		st, _ := c.call("GET", "/keepalive", v(), "")
		got = append(got, st)
	}
	if !equal64(got, []int{200, 503, 503, 200}) {
		t.Errorf("statuses %v", got)
	}
	// Drop after commit: the change happens, the answer never comes.
	c.sim.AddFault(Fault{Method: "POST", TypeName: "Lnl_Visitor", DropAfterCommit: true})
	req, _ := http.NewRequest("POST", c.srv.URL+BasePath+"/instances?version=1.0", bytes.NewBufferString(`{"type_name":"Lnl_Visitor","property_value_map":{"LASTNAME":"x"}}`))
	req.Header.Set("Application-Id", DefaultApplicationID)
	req.Header.Set("Session-Token", c.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("answer arrived despite the drop")
	}
	if c.sim.Census().Visitors != 1 {
		t.Error("change not committed")
	}
	// Expire the session just before a request.
	c.sim.AddFault(Fault{Path: "/keepalive", ExpireSession: true})
	c.wantError(401, CodeInvalidSession, "GET", "/keepalive", v(), "")
	if c.sim.PendingFaults() != 0 {
		t.Errorf("%d faults left", c.sim.PendingFaults())
	}
	// The log records each request with its outcome.
	log := c.sim.Requests()
	last := log[len(log)-1]
	if last.Method != "GET" || last.Path != "/keepalive" || last.Status != 401 || last.ApplicationID != DefaultApplicationID {
		t.Errorf("last logged request %+v", last)
	}
	if log[len(log)-2].Status != 0 || log[len(log)-2].TypeName != "Lnl_Visitor" {
		t.Errorf("dropped request logged as %+v", log[len(log)-2])
	}
}

func equal64(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSettingsVisit(t *testing.T) {
	c := newClient(t)
	c.login()
	_, out := c.call("GET", "/settings/visit", v(), "")
	if out["default_visitor_badge_type_id"] != float64(BadgeTypeVisitor) || out["default_visitor_badge_type_name"] != "Visitor" {
		t.Errorf("settings %v", out)
	}
	id := c.sim.AddBadgeType("Contractor", 1)
	c.sim.SetDefaultVisitorBadgeType(id)
	_, out = c.call("GET", "/settings/visit", v(), "")
	if out["default_visitor_badge_type_name"] != "Contractor" {
		t.Errorf("settings %v", out)
	}
}
