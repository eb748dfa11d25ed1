package lenel

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// want describes one expected request. Query excludes version, which is
// checked on every request.
type want struct {
	method string
	path   string
	query  map[string]string
	body   string // JSON; empty means no body
}

func list(typeName, filter string) want {
	q := map[string]string{"type_name": typeName, "page_number": "1", "page_size": "100"}
	if filter != "" {
		q["filter"] = filter
	}
	return want{method: "GET", path: "/instances", query: q}
}

func body(method, typeName, props string) want {
	return want{method: method, path: "/instances", body: `{"type_name":"` + typeName + `","property_value_map":` + props + `}`}
}

// checkRequests compares the simulator's log with the expected requests
// and checks the headers and version parameter of each.
func checkRequests(t *testing.T, e *env, got []lenelsim.Request, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, r := range got {
			t.Logf("got %s", shape(r))
		}
		t.Fatalf("got %d requests, want %d", len(got), len(wants))
	}
	token := ""
	for i, r := range got {
		w := wants[i]
		if r.Method != w.method || r.Path != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i+1, r.Method, r.Path, w.method, w.path)
			continue
		}
		q := url.Values{}
		for k, v := range w.query {
			q.Set(k, v)
		}
		q.Set("version", "1.0")
		if !reflect.DeepEqual(r.Query, q) {
			t.Errorf("request %d (%s %s): query %v, want %v", i+1, r.Method, r.Path, r.Query, q)
		}
		if w.body == "" {
			if len(r.Body) != 0 {
				t.Errorf("request %d (%s %s): unexpected body %s", i+1, r.Method, r.Path, r.Body)
			}
		} else {
			var g, x any
			if err := json.Unmarshal(r.Body, &g); err != nil {
				t.Errorf("request %d: body is not JSON: %v", i+1, err)
			}
			if err := json.Unmarshal([]byte(w.body), &x); err != nil {
				t.Fatalf("bad expectation %d: %v", i+1, err)
			}
			if !reflect.DeepEqual(g, x) {
				t.Errorf("request %d (%s %s):\nbody %s\nwant %s", i+1, r.Method, r.Path, r.Body, w.body)
			}
			if r.ContentType != "application/json" {
				t.Errorf("request %d: Content-Type %q", i+1, r.ContentType)
			}
		}
		if r.ApplicationID != e.cfg.ApplicationID {
			t.Errorf("request %d: Application-Id %q, want %q", i+1, r.ApplicationID, e.cfg.ApplicationID)
		}
		switch {
		case r.Method == "POST" && r.Path == "/authentication":
			if r.SessionToken != "" {
				t.Errorf("login carries a Session-Token")
			}
			token = ""
		case r.SessionToken == "":
			t.Errorf("request %d (%s %s) has no Session-Token", i+1, r.Method, r.Path)
		case token == "":
			token = r.SessionToken
		case r.SessionToken != token:
			t.Errorf("request %d uses another session token than the request before", i+1)
		}
	}
}

func ts(t time.Time) string { return `"` + t.UTC().Format("2006-01-02T15:04:05") + `+00:00"` }

func TestLoginRequestShape(t *testing.T) {
	for _, dir := range []string{"", "id-1"} {
		t.Run("directory="+dir, func(t *testing.T) {
			var simOpts []lenelsim.Option
			if dir != "" {
				simOpts = append(simOpts, lenelsim.WithUser("dir-user", "dir-pass", dir))
			}
			e := newEnv(t, envOpts{sim: simOpts, cfg: func(c *Config) {
				if dir != "" {
					c.Username, c.Password, c.DirectoryID = "dir-user", "dir-pass", dir
				}
			}})
			if err := e.p.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			reqs := e.requests()
			wantBody := `{"user_name":"` + e.cfg.Username + `","password":"` + e.cfg.Password + `"}`
			if dir != "" {
				wantBody = `{"user_name":"dir-user","password":"dir-pass","directory_id":"id-1"}`
			}
			checkRequests(t, e, reqs, []want{
				{method: "POST", path: "/authentication", body: wantBody},
				{method: "GET", path: "/keepalive"},
			})
			if reqs[1].SessionToken == "" {
				t.Fatal("no token")
			}
		})
	}
}

func TestProvisionRequestShape(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1, "1", "2")
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	from, until := ts(g.ValidFrom), ts(g.ValidUntil)
	checkRequests(t, e, e.requests(), []want{
		{method: "POST", path: "/authentication", body: `{"user_name":"sim-user","password":"sim-password"}`},
		list("Lnl_BadgeStatus", ""),
		{method: "GET", path: "/settings/visit"},
		list("Lnl_AccessLevel", "ID = 1 OR ID = 2"),
		list("Lnl_Visitor", `SSNO = "visit-1"`),
		list("Lnl_Badge", "ID = 1001"),
		body("POST", "Lnl_Visitor", `{"SSNO":"visit-1","FIRSTNAME":"Ada","LASTNAME":"Visitor1","EMAIL":"ada1@example.com"}`),
		list("Lnl_Visitor", `SSNO = "visit-1"`), // a replica may have created one too
		body("POST", "Lnl_Badge", `{"PERSONID":1,"TYPE":2,"ID":1001,"STATUS":1,"ACTIVATE":`+from+`,"DEACTIVATE":`+until+`}`),
		body("POST", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":1,"ACTIVATE":`+from+`,"DEACTIVATE":`+until+`}`),
		body("POST", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":2,"BADGEKEY":1,"ACTIVATE":`+from+`,"DEACTIVATE":`+until+`}`),
	})
	if p.Cardholder.ID != "1" || p.Credential.ID != "1" || !p.Created {
		t.Errorf("references %+v", p)
	}

	// Again: lookups only; the levels were confirmed by the first call.
	e.sim.ResetRequests()
	p2, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Created || p2.Credential != p.Credential {
		t.Errorf("second provision %+v", p2)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Visitor", `SSNO = "visit-1"`),
		list("Lnl_Badge", "ID = 1001"),
		list("Lnl_AccessLevelAssignment", "BADGEKEY = 1"),
	})

	// A changed grant: new window, level 2 dropped, new name.
	e.sim.ResetRequests()
	g.AccessLevels = []string{"1"}
	g.ValidUntil = g.ValidUntil.Add(time.Hour)
	g.Person.LastName = "Lovelace"
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	until = ts(g.ValidUntil)
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Visitor", `SSNO = "visit-1"`),
		list("Lnl_Badge", "ID = 1001"),
		body("PUT", "Lnl_Visitor", `{"ID":1,"LASTNAME":"Lovelace"}`),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":1,"STATUS":1,"ACTIVATE":`+from+`,"DEACTIVATE":`+until+`}`),
		list("Lnl_AccessLevelAssignment", "BADGEKEY = 1"),
		body("PUT", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":1,"ACTIVATE":`+from+`,"DEACTIVATE":`+until+`}`),
		body("DELETE", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":2,"BADGEKEY":1}`),
	})
	if !e.opens(p.Credential, "1", g.ValidUntil.Add(-time.Minute)) || e.opens(p.Credential, "2", e.clock.Now()) {
		t.Error("oracle disagrees with the changed grant")
	}
}

func TestProvisionConfiguredBadgeTypeAndCredentialType(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.BadgeTypeID = 1 }})
	g := e.grant(1)
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if n := count(e.requests(), "GET", "/settings/visit", ""); n != 0 {
		t.Errorf("/settings/visit asked %d times with a configured badge type", n)
	}
	if got := e.sim.Instances("Lnl_Badge")[0]["TYPE"]; got != int64(1) {
		t.Errorf("badge type %v, want 1", got)
	}
	g = e.grant(4)
	g.CredentialType = "2" // the grant's choice wins over the configuration
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Instances("Lnl_Badge")[1]["TYPE"]; got != int64(2) {
		t.Errorf("badge type %v, want the grant's 2", got)
	}

	e2 := newEnv(t, envOpts{})
	g = e2.grant(2)
	g.CredentialType = "1"
	if _, err := e2.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got := e2.sim.Instances("Lnl_Badge")[0]["TYPE"]; got != int64(1) {
		t.Errorf("badge type %v, want the grant's 1", got)
	}
	g = e2.grant(3)
	g.CredentialType = "77"
	before := e2.sim.Census()
	if _, err := e2.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("unknown credential type: %v, want not found", err)
	}
	if e2.sim.Census() != before {
		t.Error("unknown credential type changed the backend")
	}
	g.CredentialType = "x1"
	if _, err := e2.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("malformed credential type: %v, want invalid argument", err)
	}
}

func TestRevokeRequestShape(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Minute) // within the status cache's lifetime
	now := e.clock.Now()

	e.sim.ResetRequests()
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Badge", "BADGEKEY = 1"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":1,"STATUS":3,"DEACTIVATE":`+ts(now)+`}`),
	})
	if e.opens(p.Credential, "1", now) {
		t.Error("revoked badge still opens")
	}
	b := e.sim.Instances("Lnl_Badge")[0]
	if b["STATUS"] != lenelsim.StatusReturned || len(e.sim.Instances("Lnl_AccessLevelAssignment")) != 1 {
		t.Errorf("badge after revoke %v; the record and assignment should stay", b)
	}

	// Again: nothing to change.
	e.sim.ResetRequests()
	e.clock.Advance(time.Minute)
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{list("Lnl_Badge", "BADGEKEY = 1")})

	// By external ID and card.
	p2, err := e.p.Provision(ctx, e.grant(2))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	now = e.clock.Now()
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-2", Card: p2.Credential.Card}); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Visitor", `SSNO = "visit-2"`),
		list("Lnl_Badge", "ID = 1002 AND PERSONID = 2"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":2,"STATUS":3,"DEACTIVATE":`+ts(now)+`}`),
	})

	// By cardholder ID and card.
	p3, err := e.p.Provision(ctx, e.grant(3))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p3.Cardholder.ID, Card: p3.Credential.Card}); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Badge", "ID = 1003 AND PERSONID = 3"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":3,"STATUS":3,"DEACTIVATE":`+ts(now)+`}`),
	})
}

func TestRevokeDeletesAssignmentsWhenConfigured(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.DeleteAssignmentsOnRevoke = true }})
	ctx := t.Context()
	p, err := e.p.Provision(ctx, e.grant(1, "1", "2"))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	now := e.clock.Now()
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Badge", "BADGEKEY = 1"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":1,"STATUS":3,"DEACTIVATE":`+ts(now)+`}`),
		list("Lnl_AccessLevelAssignment", "BADGEKEY = 1"),
		body("DELETE", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":1,"BADGEKEY":1}`),
		body("DELETE", "Lnl_AccessLevelAssignment", `{"ACCESSLEVELID":2,"BADGEKEY":1}`),
	})
	if n := e.sim.Census().Assignments; n != 0 {
		t.Errorf("%d assignments left", n)
	}
}

func TestRevokeKeepsEarlierEndAndOtherInactiveStatus(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	// After the window ended on its own, revoke changes only the status.
	// Three hours later the session and the cached statuses are stale too.
	e.clock.Advance(3 * time.Hour)
	e.sim.ResetRequests()
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		{method: "POST", path: "/authentication", body: `{"user_name":"sim-user","password":"sim-password"}`},
		list("Lnl_BadgeStatus", ""),
		list("Lnl_Badge", "BADGEKEY = 1"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":1,"STATUS":3}`),
	})

	// A future grant revoked before it starts gets an empty window.
	g2 := e.grant(2)
	g2.ValidFrom = e.clock.Now().Add(24 * time.Hour)
	g2.ValidUntil = g2.ValidFrom.Add(time.Hour)
	p2, err := e.p.Provision(ctx, g2)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.Revoke(ctx, p2.Credential); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Badge", "BADGEKEY = 2"),
		body("PUT", "Lnl_Badge", `{"BADGEKEY":2,"STATUS":3,"DEACTIVATE":`+ts(g2.ValidFrom)+`}`),
	})
	if e.opens(p2.Credential, "1", g2.ValidFrom.Add(time.Minute)) {
		t.Error("future badge opens after revoke")
	}
}

func TestRemoveCardholderRequestShape(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	p, err := e.p.Provision(ctx, e.grant(1))
	if err != nil {
		t.Fatal(err)
	}
	g := e.grant(1)
	g.Card.Number = 2001
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: "visit-1"}); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Visitor", `SSNO = "visit-1"`),
		list("Lnl_Badge", "PERSONID = 1"),
		body("DELETE", "Lnl_Badge", `{"BADGEKEY":1}`),
		body("DELETE", "Lnl_Badge", `{"BADGEKEY":2}`),
		body("DELETE", "Lnl_Visitor", `{"ID":1}`),
		list("Lnl_Visitor", "ID = 1"),
	})
	if c := e.sim.Census(); c != (lenelsim.Census{}) {
		t.Errorf("census after removal %+v", c)
	}
	// By ID (and external ID, which may name duplicates), already gone: the
	// refused delete is checked and succeeds.
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{
		list("Lnl_Visitor", `SSNO = "visit-1"`),
		list("Lnl_Badge", "PERSONID = 1"),
		body("DELETE", "Lnl_Visitor", `{"ID":1}`),
		list("Lnl_Visitor", "ID = 1"),
	})
}

func TestListingsPageThrough(t *testing.T) {
	// One page after the other, so that the requests come in order (the
	// order of concurrent pages is TestAccessLevelsConcurrentOrder's).
	e := newEnv(t, envOpts{opts: []Option{WithConcurrency(1)}})
	for i := range 248 {
		e.sim.AddAccessLevel("Level " + strconv.Itoa(i))
	}
	levels, err := e.p.AccessLevels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 250 || levels[0] != (acs.AccessLevel{ID: "1", Name: "Lobby"}) || levels[249].Name != "Level 247" {
		t.Fatalf("got %d levels, first %+v", len(levels), levels[0])
	}
	reqs := e.requests()[1:]
	var wants []want
	for page := 1; page <= 3; page++ {
		w := list("Lnl_AccessLevel", "")
		w.query["page_number"] = strconv.Itoa(page)
		wants = append(wants, w)
	}
	checkRequests(t, e, reqs, wants)

	e.sim.ResetRequests()
	formats, err := e.p.CredentialFormats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(formats) != 2 || formats[1] != (acs.CredentialFormat{ID: "2", Name: "Visitor"}) {
		t.Errorf("formats %+v", formats)
	}
	checkRequests(t, e, e.requests(), []want{list("Lnl_BadgeType", "")})
}

func TestCloseLogsOut(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if e.sim.Sessions() != 1 {
		t.Fatalf("%d sessions", e.sim.Sessions())
	}
	e.sim.ResetRequests()
	if err := e.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checkRequests(t, e, e.requests(), []want{{method: "DELETE", path: "/authentication"}})
	if e.sim.Sessions() != 0 {
		t.Errorf("%d sessions after Close", e.sim.Sessions())
	}
	if err := e.p.Ping(ctx); acs.CodeOf(err) != acs.Unavailable {
		t.Errorf("Ping after Close: %v", err)
	}
	if n := len(e.requests()); n != 1 {
		t.Errorf("%d requests after Close", n-1)
	}
}
