package main

// Tests of the server over HTTP, without a browser: they run everywhere.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/visitor"
)

// client is a browser without JavaScript: a cookie jar, and the CSRF
// token of the last page it read.
type client struct {
	t    *testing.T
	http *http.Client
	base string
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (d *testDesk) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, http: &http.Client{Jar: jar}, base: d.url}
}

func (c *client) do(req *http.Request) (int, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form with the CSRF token of the last page, unless the form
// sets "csrf" itself.
func (c *client) post(path string, form url.Values, header ...string) (int, string) {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) signIn(user, password string) {
	c.t.Helper()
	c.get("/signin")
	status, body := c.post("/signin", url.Values{"user": {user}, "password": {password}})
	if status != http.StatusOK || !strings.Contains(body, `id="operator"`) {
		c.t.Fatalf("signing in as %s: %d\n%s", user, status, body)
	}
}

func TestSignInRequired(t *testing.T) {
	d := startDesk(t)
	c := d.client(t)
	status, body := c.get("/l/london-hq/guestbook")
	if status != http.StatusOK || !strings.Contains(body, `id="signin-form"`) {
		t.Fatalf("the Guestbook without signing in: %d, not the sign-in page", status)
	}
	if status, _ := c.post("/l/london-hq/visits", url.Values{"first": {"Eve"}, "last": {"Intruder"}}); status != http.StatusForbidden {
		t.Fatalf("a walk-in without signing in: %d, want 403", status)
	}
	_, body = c.post("/signin", url.Values{"user": {"alice"}, "password": {"wrong"}})
	if !strings.Contains(body, "Unknown user name or wrong password.") {
		t.Fatal("a wrong password is not reported")
	}
	if status, body := c.get("/l/london-hq/guestbook"); status != http.StatusOK || strings.Contains(body, `id="guestbook"`) {
		t.Fatal("a wrong password opened the Guestbook")
	}
	visits, err := d.Engine.Visits(context.Background(), visitor.VisitFilter{})
	if err != nil || len(visits) != 0 {
		t.Fatalf("visits %v, %v: want none", visits, err)
	}
}

// The session cookie is HttpOnly, Secure and SameSite, and changes when
// an operator signs in; every page carries the security headers.
func TestSessionCookieAndHeaders(t *testing.T) {
	d := startDesk(t)
	resp, err := http.Get(d.url + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var before *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			before = c
		}
	}
	if before == nil || !before.HttpOnly || !before.Secure || before.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", before)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self'", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, resp.Header.Get(h), want)
		}
	}
	c := d.client(t)
	c.get("/signin")
	u, _ := url.Parse(d.url)
	old := c.http.Jar.Cookies(u)
	c.signIn("alice", alicePassword)
	now := c.http.Jar.Cookies(u)
	if len(old) != 1 || len(now) != 1 || old[0].Value == now[0].Value {
		t.Fatal("the session ID did not change when the operator signed in")
	}
}

// Everything a visitor typed is escaped on every page that shows it.
func TestPagesEscape(t *testing.T) {
	d := startDesk(t)
	c := d.client(t)
	c.signIn("alice", alicePassword)
	const evil = `<script>alert("x")</script>`
	const evilAttr = `"><img src=x onerror=alert(1)>`
	c.get("/l/london-hq/guestbook")
	status, body := c.post("/l/london-hq/visits", url.Values{"first": {evil}, "last": {"O'Brien & Sons"}, "company": {evilAttr}, "host": {evil}})
	if status != http.StatusOK {
		t.Fatalf("walk-in: %d\n%s", status, body)
	}
	visits, err := d.Engine.Visits(context.Background(), visitor.VisitFilter{})
	if err != nil || len(visits) != 1 {
		t.Fatalf("visits %v, %v", visits, err)
	}
	id := visits[0].ID
	pages := []string{"/l/london-hq/guestbook", "/l/london-hq/visits/" + id + "/provision", "/l/london-hq/visits/" + id + "/audit", "/l/london-hq/muster"}
	for _, p := range pages {
		_, body := c.get(p)
		if strings.Contains(body, evil) || strings.Contains(body, evilAttr) || strings.Contains(body, "<img") {
			t.Errorf("%s shows the visitor's input unescaped", p)
		}
		if p != "/l/london-hq/visits/"+id+"/audit" && !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped name", p)
		}
	}
	// A refusal that quotes the input is escaped too.
	c.get("/l/london-hq/visits/" + id + "/provision")
	_, body = c.post("/l/london-hq/visits/"+id+"/provision", url.Values{"scan": {`12<b>34`}})
	if !strings.Contains(body, "invalid badge ID") || strings.Contains(body, "<b>") {
		t.Fatalf("the refusal of a bad scan is missing or unescaped:\n%s", body)
	}
}

// A state-changing form without the session's token, with another
// session's token, or from another origin changes nothing.
func TestCSRF(t *testing.T) {
	d := startDesk(t)
	alice := d.client(t)
	alice.signIn("alice", alicePassword)
	alice.get("/l/london-hq/guestbook")
	alice.post("/l/london-hq/visits", url.Values{"first": {"Mary"}, "last": {"Somerville"}})
	visits, _ := d.Engine.Visits(context.Background(), visitor.VisitFilter{})
	if len(visits) != 1 {
		t.Fatalf("%d visits", len(visits))
	}
	signOut := "/l/london-hq/visits/" + visits[0].ID + "/signout"
	bob := d.client(t)
	bob.signIn("bob", bobPassword)
	for name, try := range map[string]func() (int, string){
		"no token":             func() (int, string) { return bob.post(signOut, url.Values{"csrf": {""}}) },
		"another session's":    func() (int, string) { return bob.post(signOut, url.Values{"csrf": {alice.csrf}}) },
		"another origin":       func() (int, string) { return alice.post(signOut, url.Values{}, "Origin", "http://evil.example") },
		"a token and no login": func() (int, string) { return d.client(t).post(signOut, url.Values{"csrf": {alice.csrf}}) },
	} {
		if status, _ := try(); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	if v, _ := d.Engine.Visit(context.Background(), visits[0].ID); v.State != visitor.SignedIn {
		t.Fatalf("the visit is %s after forged sign-outs", v.State)
	}
	if status, _ := alice.post(signOut, url.Values{}, "Origin", d.url); status != http.StatusOK {
		t.Fatalf("the operator's own sign-out: %d", status)
	}
	if v, _ := d.Engine.Visit(context.Background(), visits[0].ID); v.State != visitor.SignedOut {
		t.Fatalf("the visit is %s after the operator signed it out", v.State)
	}
}

// No page and no log line shows a password, an API key, a client secret
// or a session or CSRF token.
func TestNoSecretShown(t *testing.T) {
	d := startDesk(t)
	bob := d.client(t)
	bob.signIn("bob", bobPassword)
	k := brivosim.DefaultCredentials()
	secrets := []string{alicePassword, bobPassword, genetecsim.DefaultPassword, genetecsim.DefaultApplicationID,
		lenelsim.DefaultPassword, lenelsim.DefaultApplicationID, k.Password, k.ClientSecret, k.APIKey}
	var pages []string
	for _, s := range d.Sites {
		base := "/l/" + s.ID
		bob.get(base + "/admin")
		bob.post(base+"/admin/test-connection", url.Values{})
		bob.get(base + "/admin")
		bob.post(base+"/admin/refresh", url.Values{})
		bob.get(base + "/guestbook")
		bob.post(base+"/visits", url.Values{"first": {"Ada"}, "last": {"Lovelace"}})
		for _, p := range []string{"/guestbook", "/admin", "/muster", "/doors", "/muster.csv"} {
			status, body := bob.get(base + p)
			if status != http.StatusOK {
				t.Errorf("%s%s: %d", base, p, status)
			}
			pages = append(pages, body)
		}
		_, body := bob.get("/kiosk/" + s.ID)
		pages = append(pages, body)
	}
	for _, sec := range secrets {
		for i, p := range pages {
			if strings.Contains(p, sec) {
				t.Errorf("page %d shows a secret", i)
			}
		}
		if strings.Contains(d.log.String(), sec) {
			t.Errorf("the log shows a secret")
		}
	}
	u, _ := url.Parse(d.url)
	for _, c := range bob.http.Jar.Cookies(u) {
		if strings.Contains(d.log.String(), c.Value) || strings.Contains(strings.Join(pages, ""), c.Value) {
			t.Error("the session ID is in a page or the log")
		}
	}
}

func TestCheckListen(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:0": true, "127.0.0.2:80": true,
		":8080": false, "0.0.0.0:8080": false, "192.0.2.10:8080": false, "example.com:80": false,
	} {
		if err := checkListen(addr, false); (err == nil) != ok {
			t.Errorf("checkListen(%q) = %v", addr, err)
		}
		if err := checkListen(addr, true); err != nil {
			t.Errorf("checkListen(%q) with TLS = %v", addr, err)
		}
	}
}

// run as main runs it: it prints the address and the operators, serves the
// sign-in page, never prints a password, and stops when its context ends.
func TestRun(t *testing.T) {
	t.Setenv("FRONTDESK_PASSWORD", "from-the-environment-7")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var logs, out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{addr: "127.0.0.1:0"}, pw, slog.New(slog.NewTextHandler(&logs, nil)))
		pw.Close()
	}()
	first := make(chan string, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if out.String() == "" {
				first <- sc.Text()
			}
			fmt.Fprintln(&out, sc.Text())
		}
	}()
	var line string
	select {
	case line = <-first:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	addr := strings.TrimPrefix(line, "front desk at ")
	resp, err := http.Get(addr + "signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %ssignin: %d", addr, resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-read
	for _, want := range []string{"london-hq", "paris-campus", "berlin-office", "operator alice", "operator bob", "FRONTDESK_PASSWORD"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String()+logs.String(), "from-the-environment-7") {
		t.Error("the password was printed")
	}
}

// Without FRONTDESK_PASSWORD each demo operator gets a random password,
// in a file only its owner may read.
func TestDemoOperatorsFile(t *testing.T) {
	ops, file, err := DemoOperators("")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v", file, st.Mode(), err)
	}
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		user, pw, _ := strings.Cut(l, "\t")
		if len(pw) < 16 || ops.Check(user, pw) == nil || ops.Check(user, pw+"x") != nil {
			t.Errorf("the password of %s does not work as written", user)
		}
	}
}

// The -config path: real ACSs (here the simulators, on loopback) with
// every secret from the environment; a secret written into the file, an
// unknown provider or a missing variable is refused.
func TestConfigFile(t *testing.T) {
	g := httptest.NewServer(genetecsim.New())
	defer g.Close()
	b := httptest.NewServer(brivosim.New())
	defer b.Close()
	k := brivosim.DefaultCredentials()
	t.Setenv("LONDON_PASSWORD", genetecsim.DefaultPassword)
	t.Setenv("LONDON_APP", genetecsim.DefaultApplicationID)
	t.Setenv("BERLIN_PASSWORD", k.Password)
	t.Setenv("BERLIN_SECRET", k.ClientSecret)
	t.Setenv("BERLIN_KEY", k.APIKey)
	t.Setenv("ALICE_PW", "config-alice-pw")
	cfg := map[string]any{
		"locations": []any{
			map[string]any{
				"id": "london-hq", "name": "London", "provider": "genetec", "url": g.URL + genetecsim.DefaultBasePath,
				"username": genetecsim.DefaultUser, "password_env": "LONDON_PASSWORD", "application_id_env": "LONDON_APP",
				"facility": 10,
				"policy": map[string]any{
					"types":        map[string]any{"guest": map[string]any{"access_levels": []string{genetecsim.SeedLobbyGroup}, "access_duration": "8h"}},
					"default_type": "guest", "operator_groups": map[string]any{"reception": []string{genetecsim.SeedLobbyGroup}},
					"auto_sign_out": "12h",
				},
				"badges": []any{map[string]any{"id": "1001", "name": "Visitor 01"}},
			},
			map[string]any{
				"id": "berlin-office", "provider": "brivo", "url": b.URL + brivosim.APIPrefix, "auth_url": b.URL,
				"username": k.Username, "client_id": k.ClientID, "password_env": "BERLIN_PASSWORD",
				"client_secret_env": "BERLIN_SECRET", "api_key_env": "BERLIN_KEY",
				"policy": map[string]any{"types": map[string]any{"guest": map[string]any{}}, "default_type": "guest"},
			},
		},
		"operators": []any{map[string]any{"id": "alice", "groups": []string{"reception"}, "admin": true, "password_env": "ALICE_PW"}},
	}
	path := writeJSON(t, cfg)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	sites, err := c.BuildSites(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := c.BuildOperators()
	if err != nil {
		closeSites(sites)
		t.Fatal(err)
	}
	var logs syncBuffer
	desk, err := Start(context.Background(), Setup{Sites: sites, Operators: ops, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	srv, err := newServer(desk)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	d := &testDesk{Desk: desk, url: hs.URL, log: &logs}
	alice := d.client(t)
	alice.signIn("alice", "config-alice-pw")
	var all string
	for _, p := range []string{"/l/london-hq/admin", "/l/berlin-office/admin", "/l/london-hq/guestbook", "/l/london-hq/doors"} {
		status, body := alice.get(p)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", p, status)
		}
		all += body
	}
	if !strings.Contains(all, "Visitors - Lobby") || !strings.Contains(all, "real access control system") {
		t.Fatal("the admin page does not list the ACS's access levels, or the door panel is offered for a real ACS")
	}
	for _, sec := range []string{genetecsim.DefaultPassword, genetecsim.DefaultApplicationID, k.Password, k.ClientSecret, k.APIKey, "config-alice-pw"} {
		if strings.Contains(all, sec) || strings.Contains(logs.String(), sec) {
			t.Error("a secret from the environment is shown")
		}
	}

	for name, edit := range map[string]func(map[string]any){
		"a password in the file": func(c map[string]any) { c["locations"].([]any)[0].(map[string]any)["password"] = "x" },
		"unknown provider":       func(c map[string]any) { c["locations"].([]any)[0].(map[string]any)["provider"] = "acme" },
		"missing variable": func(c map[string]any) {
			c["locations"].([]any)[0].(map[string]any)["password_env"] = "FRONTDESK_UNSET_VARIABLE"
		},
		"bad duration": func(c map[string]any) {
			c["locations"].([]any)[0].(map[string]any)["policy"].(map[string]any)["auto_sign_out"] = "soon"
		},
	} {
		bad := clone(t, cfg)
		edit(bad)
		c, err := LoadConfig(writeJSON(t, bad))
		if err == nil {
			var sites []*Site
			sites, err = c.BuildSites(context.Background(), slog.New(slog.DiscardHandler))
			closeSites(sites)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("config-%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func clone(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(v)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The audit trail and the muster report export as CSV.
func TestCSVExports(t *testing.T) {
	d := startDesk(t)
	c := d.client(t)
	c.signIn("alice", alicePassword)
	c.get("/l/berlin-office/guestbook")
	c.post("/l/berlin-office/visits", url.Values{"first": {"Ada"}, "last": {"Lovelace"}, "company": {"Engines, Ltd"}})
	visits, _ := d.Engine.Visits(context.Background(), visitor.VisitFilter{})
	if len(visits) != 1 {
		t.Fatalf("%d visits", len(visits))
	}
	id := visits[0].ID
	c.get("/l/berlin-office/visits/" + id + "/provision")
	if status, body := c.post("/l/berlin-office/visits/"+id+"/provision", url.Values{"scan": {"3001\r\n"}}); !strings.Contains(body, "Badge 3001 provisioned") {
		t.Fatalf("provision: %d\n%s", status, body)
	}
	for path, want := range map[string][]string{
		"/l/berlin-office/visits/" + id + "/audit.csv": {"sign_in", "provision", "acs_provision", id, "3001"},
		"/l/berlin-office/muster.csv":                  {"Ada Lovelace", `"Engines, Ltd"`, "unseen"},
	} {
		resp, err := c.http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: %s, %s", path, ct, resp.Header.Get("Content-Disposition"))
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%s", path, w, b)
			}
		}
	}
	// Another location's visit is not found under this one.
	if status, _ := c.get("/l/london-hq/visits/" + id + "/audit.csv"); status != http.StatusNotFound {
		t.Errorf("a visit under another location: %d", status)
	}
}
