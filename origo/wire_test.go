package origo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// Every request carries the Application headers; Mobile Identities
// requests carry the v2.2 content type and a bearer token; the token
// request is a form with the client credentials, and the request log
// holds no secret.
func TestRequestShape(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, nil, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if _, err := e.iss.Provision(t.Context(), testGrant(1, e.clk.Now(), "lobby")); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	for k, r := range reqs {
		if r.AppID != DefaultApplicationID || r.AppVersion != DefaultApplicationVersion || r.Status == 0 || r.Status >= 300 {
			t.Errorf("request %d %s %s: application %q/%q, status %d", k, r.Method, r.Path, r.AppID, r.AppVersion, r.Status)
		}
		if k == 0 {
			if r.ContentType != "application/x-www-form-urlencoded" || r.Bearer ||
				!strings.Contains(r.Body, "grant_type=client_credentials") || !strings.Contains(r.Body, "client_id="+origosim.DefaultClientID) {
				t.Errorf("token request %+v", r)
			}
			continue
		}
		if r.ContentType != ContentType || !r.Bearer {
			t.Errorf("request %d: content type %q, bearer %v", k, r.ContentType, r.Bearer)
		}
	}
	if !strings.Contains(reqs[1].Body, `"filter":"externalId eq \"visit-1\""`) {
		t.Errorf("search body %s", reqs[1].Body)
	}
	if !strings.Contains(reqs[3].Body, `"partNumber":"`+origosim.DefaultPartNumber+`"`) || !strings.Contains(reqs[3].Body, `"sendInvitationEmail":"Y"`) {
		t.Errorf("invitation body %s", reqs[3].Body)
	}
	for _, r := range reqs {
		if strings.Contains(r.Body, origosim.DefaultClientSecret) {
			t.Error("the simulator logged the client secret")
		}
	}
	if strings.Contains(logs.String(), origosim.DefaultClientSecret) || strings.Contains(logs.String(), "Bearer") {
		t.Errorf("a secret in the debug log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "acs request") {
		t.Errorf("no debug lines: %s", logs.String())
	}
}

// The token is renewed before it ends, and once after a 401.
func TestTokenRenewal(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(TokenLifetime - tokenMargin - time.Second)
	e.sim.ResetRequests()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "GET /part-number")
	e.clk.Advance(2 * time.Second)
	e.sim.ResetRequests()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "POST token", "GET /part-number")
	e.sim.ExpireTokens()
	e.sim.ResetRequests()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "GET /part-number", "POST token", "GET /part-number")

	// Refused client credentials are Unauthenticated, and the secret is in
	// no error.
	bad := e.cfg
	bad.ClientSecret = "wrong-secret-value"
	iss, err := New(e.door, bad, testOptions(e.clk)...)
	if err != nil {
		t.Fatal(err)
	}
	err = iss.Ping(ctx)
	if acs.CodeOf(err) != acs.Unauthenticated || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("bad secret: %v", err)
	}
}

// Ping checks the door, the credentials and the part number.
func TestPing(t *testing.T) {
	e := newEnv(t, []origosim.Option{origosim.WithPartNumbers("MID-OTHER")})
	err := e.iss.Ping(t.Context())
	if acs.CodeOf(err) != acs.NotFound || !strings.Contains(err.Error(), origosim.DefaultPartNumber) {
		t.Fatalf("unknown part number: %v", err)
	}
	e.door.SetDown(true)
	if err := e.iss.Ping(t.Context()); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("door down: %v", err)
	}
}

// A 403 is taken for Origo's rate limit (retryable, every request paused)
// until 403s have lasted longer than the rate window, which the rate limit
// cannot do: then it is a refused permission.
func TestForbiddenOverLimitOrPermission(t *testing.T) {
	e := newEnv(t, nil, WithRateLimit(0, 0))
	ctx := t.Context()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.SetRateLimit(2) // counted from now on
	for range 2 {
		if err := e.iss.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	err := e.iss.Ping(ctx)
	ra, _ := acs.RetryAfterOf(err)
	if acs.CodeOf(err) != acs.RateLimited || ra != forbiddenPause {
		t.Fatalf("over the limit: %v (retry after %s)", err, ra)
	}
	e.clk.Advance(RateWindow)
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	e.sim.SetRateLimit(0)

	// A permission refusal: 403 on every request.
	e.sim.AddFault(origosim.Fault{Kind: origosim.FaultStatus, Status: http.StatusForbidden, Times: -1})
	for k := 0; ; k++ {
		err := e.iss.Ping(ctx)
		if acs.CodeOf(err) == acs.PermissionDenied {
			if e.clk.Now().Sub(time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC)) <= RateWindow {
				t.Fatalf("refused permission declared after %d tries, within the rate window", k)
			}
			break
		}
		if acs.CodeOf(err) != acs.RateLimited || k > 20 {
			t.Fatalf("try %d: %v", k, err)
		}
		e.clk.Advance(forbiddenPause)
	}
	e.sim.ClearFaults()
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatalf("after the permission was granted: %v", err)
	}
}

// The client-side window keeps requests under 50 in five minutes; a wait
// longer than the caller's deadline sends nothing and says how long.
func TestClientRateWindow(t *testing.T) {
	e := newEnv(t, []origosim.Option{origosim.WithRateLimit(origosim.DefaultRateLimit)})
	ctx := t.Context()
	for k := range 60 {
		if err := e.iss.Ping(ctx); err != nil {
			t.Fatalf("ping %d: %v", k, err)
		}
	}
	if n := e.sim.Throttled(); n != 0 {
		t.Fatalf("the simulator refused %d requests over its limit", n)
	}
	if e.iss.window.InWindow() > DefaultRateLimit {
		t.Fatalf("%d requests in the window", e.iss.window.InWindow())
	}
	// Fill the window, then call with a short deadline.
	for e.iss.window.InWindow() < DefaultRateLimit {
		if err := e.iss.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := len(e.sim.Requests())
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := e.iss.Ping(short)
	ra, _ := acs.RetryAfterOf(err)
	if acs.CodeOf(err) != acs.RateLimited || ra <= 0 || len(e.sim.Requests()) != before {
		t.Fatalf("full window, short deadline: %v (retry after %s), %d requests sent", err, ra, len(e.sim.Requests())-before)
	}
}

// New refuses what cannot work, naming the option or the setting.
func TestNewRefuses(t *testing.T) {
	door := acstest.NewMemory(doorLevels)
	good := simConfig("https://origo.example.com")
	for _, c := range []struct {
		name string
		cfg  func(*Config)
		opts []Option
		want string
	}{
		{"no door", nil, nil, "no door provider"},
		{"organization", func(c *Config) { c.OrganizationID = "12a" }, nil, "organization ID"},
		{"secret", func(c *Config) { c.ClientSecret = "" }, nil, "client secret"},
		{"part number", func(c *Config) { c.PartNumber = "MID 1" }, nil, "part number"},
		{"format", func(c *Config) { c.CardFormat = 0 }, nil, "card format"},
		{"facility", func(c *Config) { c.FacilityCode = 256 }, nil, "facility"},
		{"application ID", func(c *Config) { c.ApplicationID = "a b" }, nil, "application ID"},
		{"plain http", func(c *Config) { c.BaseURL = "http://origo.example.com" }, nil, "plain http"},
		{"timeout", nil, []Option{WithTimeout(-time.Second)}, "WithTimeout"},
		{"polling", nil, []Option{WithPolling(time.Minute, time.Second)}, "WithPolling"},
		{"callback secret", nil, []Option{WithCallbackSecret("X-Origo-Secret", "short")}, "WithCallbackSecret"},
		{"rate", nil, []Option{WithRateLimit(-1, 0)}, "WithRateLimit"},
		{"clock", nil, []Option{WithClock(nil)}, "WithClock"},
	} {
		cfg := good
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		var d acs.Provider = door
		if c.name == "no door" {
			d = nil
		}
		_, err := New(d, cfg, c.opts...)
		if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want invalid argument mentioning %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), good.ClientSecret) {
			t.Errorf("%s: the secret in %v", c.name, err)
		}
	}
	if _, err := New(door, good); err != nil {
		t.Fatal(err)
	}
}

// Bad input is refused before any request: an external ID that is not one
// never reaches the SCIM filter.
func TestValidateBeforeNetwork(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), "lobby")
	g.Person.ExternalID = `x" or externalId pr "`
	if _, err := e.iss.Provision(t.Context(), g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("got %v", err)
	}
	if err := e.iss.Revoke(t.Context(), acs.CredentialRef{CardholderExternalID: `a"b`}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := e.iss.Status(t.Context(), `a\b`); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("status: %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if got := scimString(`a"b\c` + "\n"); got != `"a\"b\\c\n"` {
		t.Fatalf("scimString: %s", got)
	}
}

// Grants that are not for a mobile ID go to the door ACS unchanged, and so
// do revocations and removals of its own references.
func TestPassThrough(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	g := testGrant(9, e.clk.Now(), "lobby")
	g.CredentialType = ""
	p, err := e.iss.Provision(ctx, g)
	if err != nil || p.Credential.Card != g.Card || strings.HasPrefix(p.Credential.ID, refPrefix) {
		t.Fatalf("physical badge: %+v %v", p, err)
	}
	if !e.door.Opens(p.Credential, "lobby", e.clk.Now()) {
		t.Fatal("the badge does not open")
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d Origo requests for a physical badge", n)
	}
	if err := e.iss.Revoke(ctx, p.Credential); err != nil || e.door.Opens(p.Credential, "lobby", e.clk.Now()) {
		t.Fatalf("revoke: %v", err)
	}
	fs, err := e.iss.CredentialFormats(ctx)
	if err != nil || fs[0].ID != CredentialType || fs[0].Format != acs.H10301 || len(fs) < 2 {
		t.Fatalf("formats %+v %v", fs, err)
	}
}

// Status shows the invitation (the code for the VMS to hand over, never in
// String) and, once accepted, the card.
func TestStatus(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if _, err := e.iss.Status(ctx, "visit-1"); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("no user: %v", err)
	}
	_, _ = e.iss.Provision(ctx, testGrant(1, e.clk.Now(), "lobby"))
	m, err := e.iss.Status(ctx, "visit-1")
	if err != nil || m.InvitationCode == "" || m.InvitationStatus != "PENDING" || !m.Card.IsZero() {
		t.Fatalf("pending: %+v %v", m, err)
	}
	if strings.Contains(m.String(), m.InvitationCode) {
		t.Fatalf("String shows the code: %s", m)
	}
	if _, err := e.sim.Accept("visit-1"); err != nil {
		t.Fatal(err)
	}
	m, err = e.iss.Status(ctx, "visit-1")
	if err != nil || m.Card.Number != origosim.FirstCardNumber || m.CredentialStatus != "ISSUED" {
		t.Fatalf("accepted: %+v %v", m, err)
	}
}

// An outage at Origo is Unavailable; idempotent reads are resent.
func TestOutage(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	e.sim.SetDown(true)
	_, err := e.iss.Provision(ctx, testGrant(1, e.clk.Now(), "lobby"))
	if acs.CodeOf(err) != acs.Unavailable || errors.Is(err, ErrNotAccepted) {
		t.Fatalf("outage: %v", err)
	}
	e.sim.SetDown(false)
	e.sim.AddFault(origosim.Fault{Kind: origosim.FaultStatus, Status: http.StatusServiceUnavailable, Times: 2})
	if err := e.iss.Ping(ctx); err != nil {
		t.Fatalf("two 503s then an answer: %v", err)
	}
}

// Servers used by several tests: a callback receiver.
func startHandler(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
