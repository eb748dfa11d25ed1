package alta

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// routePattern is every route the adapter may call, IDs as digits.
var routePattern = regexp.MustCompile(`^(POST /auth/login|POST /auth/accessTokens/refresh|` +
	`(GET|POST) /orgs/5231/users|(GET|PATCH|DELETE) /orgs/5231/users/\d+|PUT /orgs/5231/users/\d+/(status|groupIds)|` +
	`GET /orgs/5231/users/\d+/groups|(GET|POST) /orgs/5231/users/\d+/credentials|` +
	`(PATCH|DELETE) /orgs/5231/users/\d+/credentials/\d+|GET /orgs/5231/(groups|credentialTypes|cardFormats|credentials)|` +
	`GET /orgs/5231/reports/activity/events)$`)

var qPattern = regexp.MustCompile(`^(v-[0-9a-f]{32}@visitors\.acsbridge\.invalid|\d+)$`)

// checkRequests fails on any request outside the adapter's routes, any
// q that is not a visitor e-mail or a card number, and any body that is
// not one JSON object.
func checkRequests(t *testing.T, reqs []altasim.Request) {
	t.Helper()
	for _, r := range reqs {
		if !routePattern.MatchString(r.Method + " " + r.Path) {
			t.Errorf("unexpected route %s %s", r.Method, r.Path)
		}
		if q := r.Query.Get("q"); q != "" && !qPattern.MatchString(q) {
			t.Errorf("%s %s: q=%q", r.Method, r.Path, q)
		}
		if len(r.Query["q"]) > 1 || len(r.Query["filter"]) > 1 {
			t.Errorf("%s %s: repeated query parameter %s", r.Method, r.Path, r.RawQuery)
		}
		if r.Body != "" && r.Path != loginPath {
			var m map[string]any
			if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
				t.Errorf("%s %s: body is not one JSON object: %q", r.Method, r.Path, r.Body)
			}
		}
	}
}

// Hostile names travel as JSON string values: stored exactly, nothing
// else changed.
func TestHostileNamesAreData(t *testing.T) {
	e := newEnv(t, nil)
	names := []string{
		`Robert"}, "groupIds": [9999], "x": {"`,
		`O'Brien; DROP TABLE users; --`,
		`</script><script>alert(1)</script>`,
		`a&q=*&filter=uiData.time:(0-9)`,
		`%00%2e%2e/..\u0000`,
		`名前 Ünïcødé 🙂`,
		`{{toString .Secret}}`,
	}
	for i, n := range names {
		g := testGrant(i, e.clk.Now(), e.levels()[0])
		g.Person.FirstName, g.Person.LastName = n, n
		if _, err := e.p.Provision(t.Context(), g); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		ui, ok := e.sim.User(g.Person.ExternalID)
		if !ok || ui.FirstName != strings.TrimSpace(n) || ui.LastName != strings.TrimSpace(n) || len(ui.Groups) != 1 {
			t.Errorf("%q stored as %+v", n, ui)
		}
	}
	if len(e.sim.Groups()) != 2 {
		t.Errorf("groups %v: a name created or touched a group", e.sim.Groups())
	}
	checkRequests(t, e.sim.Requests())
}

// Hostile external IDs, access level IDs, credential IDs and cursors are
// refused before any request; well-formed odd external IDs never reach a
// path or a query.
func TestHostileIDsAreRefusedOrContained(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	bad := []string{`visit-1" OR "1"="1`, "visit/../../orgs/1", "visit 1", "visit%2F1", "visit\n1", "visit,1", "visit:(1-9)", strings.Repeat("v", 65), ""}
	for _, ext := range bad {
		g := testGrant(0, e.clk.Now(), e.levels()[0])
		g.Person.ExternalID = ext
		if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("external ID %q: %v, want invalid argument", ext, err)
		}
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: g.Card}); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("revoke %q: %v", ext, err)
		}
		if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: ext}); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("remove %q: %v", ext, err)
		}
	}
	for _, id := range []string{"4822/../1", "-1", "0", "4822 ", "1e3", "0x10", "99999999999999999999"} {
		g := testGrant(0, e.clk.Now(), id)
		if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("access level %q: %v", id, err)
		}
		if err := e.p.Revoke(ctx, acs.CredentialRef{ID: id, CardholderID: "1000001"}); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("credential ID %q: %v", id, err)
		}
		if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: id}); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("cardholder ID %q: %v", id, err)
		}
	}
	for _, c := range []string{"x", "2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z/a b", "nope/x"} {
		if err := e.p.Events(ctx, c, func(acs.DoorEvent) error { return nil }); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent for refused input", n)
	}
	// Well-formed but odd external IDs: dots, case, length.
	for i, ext := range []string{".", "..", "Visit-1", "visit-1", strings.Repeat("a", 64), "a.b_c-d"} {
		g := testGrant(i, e.clk.Now(), e.levels()[0])
		g.Person.ExternalID = ext
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatalf("%q: %v", ext, err)
		}
		if ui, _ := e.sim.User(ext); ui.ExternalID != ext || p.Cardholder.ExternalID != ext {
			t.Errorf("%q stored as %q", ext, ui.ExternalID)
		}
	}
	if c := e.sim.Census(); c.Users != 6 {
		t.Errorf("census %+v: external IDs differing only in case must be distinct users", c)
	}
	checkRequests(t, e.sim.Requests())
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{BaseURL: "https://api.openpath.com", Username: "svc@example.com", Password: "pw", OrgID: 5231}
	for name, tc := range map[string]struct {
		cfg  func(*Config)
		opts []Option
	}{
		"no username":           {cfg: func(c *Config) { c.Username = " " }},
		"no password":           {cfg: func(c *Config) { c.Password = "" }},
		"control in password":   {cfg: func(c *Config) { c.Password = "a\nb" }},
		"no org":                {cfg: func(c *Config) { c.OrgID = 0 }},
		"plain http":            {cfg: func(c *Config) { c.BaseURL = "http://api.openpath.com" }},
		"credentials in URL":    {cfg: func(c *Config) { c.BaseURL = "https://u:p@api.openpath.com" }},
		"colon with Basic":      {cfg: func(c *Config) { c.Username = "a:b" }, opts: []Option{WithBasicAuth()}},
		"bad e-mail domain":     {opts: []Option{WithEmailDomain("not a domain")}},
		"client and TLS":        {opts: []Option{WithHTTPClient(&http.Client{}), WithTLS(TLSOptions{})}},
		"bad door":              {opts: []Option{WithDoorDirection("lobby", acs.DirectionIn)}},
		"negative poll":         {opts: []Option{WithEvents(EventOptions{Interval: -1})}},
		"unknown token scheme":  {opts: []Option{WithTokenScheme(7)}},
		"missing CA file":       {opts: []Option{WithTLS(TLSOptions{CAFile: "/nonexistent/ca.pem"})}},
		"zero cache TTL option": {opts: []Option{WithCacheTTL(-1)}},
	} {
		cfg := good
		if tc.cfg != nil {
			tc.cfg(&cfg)
		}
		_, err := New(cfg, tc.opts...)
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: %v, want invalid argument", name, err)
		} else if strings.Contains(err.Error(), "pw") && cfg.Password == "pw" {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
	p, err := New(Config{Username: "svc@example.com", Password: "pw", OrgID: 1})
	if err != nil || p.api.BaseURL() != DefaultBaseURL {
		t.Errorf("defaults: %v, %v", p, err)
	}
	if _, err := New(Config{BaseURL: "http://10.0.0.1:8080", Username: "u@x", Password: "pw", OrgID: 1}, WithAllowInsecureHTTP()); err != nil {
		t.Errorf("explicitly allowed plain http: %v", err)
	}
}
