package lenel

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

func TestNewValidation(t *testing.T) {
	good := Config{BaseURL: "https://onguard.example.com:8080/api/access/onguard/openaccess", Username: "u", Password: "p", ApplicationID: "APP"}
	if _, err := New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := []struct {
		name string
		cfg  func(*Config)
		opts []Option
	}{
		{"no base URL", func(c *Config) { c.BaseURL = "" }, nil},
		{"plain http to a remote host", func(c *Config) { c.BaseURL = "http://onguard.example.com:8080/api" }, nil},
		{"credentials in the URL", func(c *Config) { c.BaseURL = "https://u:p@onguard.example.com/api" }, nil},
		{"no username", func(c *Config) { c.Username = "" }, nil},
		{"no password", func(c *Config) { c.Password = "" }, nil},
		{"no application ID", func(c *Config) { c.ApplicationID = "" }, nil},
		{"header injection in application ID", func(c *Config) { c.ApplicationID = "APP\r\nX-Evil: 1" }, nil},
		{"space in application ID", func(c *Config) { c.ApplicationID = "A B" }, nil},
		{"control character in directory", func(c *Config) { c.DirectoryID = "id\n1" }, nil},
		{"unknown person type", func(c *Config) { c.PersonType = "Lnl_Person" }, nil},
		{"filter in external ID property", func(c *Config) { c.ExternalIDProperty = `SSNO = "x" OR ID` }, nil},
		{"negative badge type", func(c *Config) { c.BadgeTypeID = -1 }, nil},
		{"same statuses", func(c *Config) { c.ActiveStatus, c.RevokedStatus = "Active", "active" }, nil},
		{"nil HTTP client", nil, []Option{WithHTTPClient(nil)}},
		{"HTTP client and TLS", nil, []Option{WithHTTPClient(&http.Client{}), WithTLS(TLSOptions{Config: &tls.Config{}})}},
		{"HTTP client and timeout", nil, []Option{WithHTTPClient(&http.Client{}), WithTimeout(time.Second)}},
		{"bad event back-off", nil, []Option{WithEvents(EventOptions{BackoffMin: time.Minute, BackoffMax: time.Second})}},
		{"missing CA file", nil, []Option{WithTLS(TLSOptions{CAFile: "/nonexistent/ca.pem"})}},
		{"bad rate", nil, []Option{WithRateLimit(-1, 1)}},
		{"bad retry", nil, []Option{WithRetry(1, time.Second, time.Millisecond)}},
		{"nil clock", nil, []Option{WithClock(nil)}},
		{"negative keepalive", nil, []Option{WithKeepAlive(-time.Second)}},
		{"zero timeout", nil, []Option{WithTimeout(0)}},
		{"nil badge ID function", nil, []Option{WithBadgeID(nil)}},
	}
	for _, c := range cases {
		cfg := good
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		_, err := New(cfg, c.opts...)
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: %v, want invalid argument", c.name, err)
		}
	}
	if _, err := New(good, WithRateLimit(0, 0)); err != nil {
		t.Errorf("a rate of 0 (no limiter): %v", err)
	}
	if _, err := New(Config{BaseURL: "http://onguard.lan/api", Username: "u", Password: "p", ApplicationID: "A"}, WithAllowInsecureHTTP()); err != nil {
		t.Errorf("explicitly allowed plain http: %v", err)
	}
}

func TestParseTimeForms(t *testing.T) {
	want := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"2024-05-01T09:00:00+00:00",
		"2024-05-01T09:00:00-00:00",
		"2024-05-01T09:00:00Z",
		"2024-05-01T09:00:00.000Z",
		"2024-05-01T11:00:00+02:00",
		"2024-05-01T01:00:00-08:00",
		"2024-05-01T09:00:00",
		"2024-05-01T09:00:00.0000000",
		"2024-05-01 09:00:00",
	} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := parseTime("2024-05-01"); err != nil || !got.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only: %v %v", got, err)
	}
	if got, err := parseTime(""); err != nil || !got.IsZero() {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("nonsense parsed")
	}
	if s := formatTime(time.Date(2024, 5, 1, 11, 0, 0, 0, time.FixedZone("CEST", 7200))); s != "2024-05-01T09:00:00+00:00" {
		t.Errorf("formatTime = %s", s)
	}
}

func TestPropsCaseInsensitiveAndLenient(t *testing.T) {
	var it itemOf[rawMap]
	if err := json.Unmarshal([]byte(`{"Type_Name":"Lnl_Badge","Property_Value_Map":{"badgeKey":"13239","PersonId":7.0,"Activate":"2024-05-01T09:00:00","deactivate":null,"Name":"x"}}`), &it); err != nil {
		t.Fatal(err)
	}
	p := upperProps(it.Props)
	if k, ok := p.int("BADGEKEY"); !ok || k != 13239 {
		t.Errorf("BADGEKEY %d %v", k, ok)
	}
	if k, ok := p.int("PERSONID"); !ok || k != 7 {
		t.Errorf("PERSONID %d %v", k, ok)
	}
	if a, err := p.time("ACTIVATE"); err != nil || a.Hour() != 9 {
		t.Errorf("ACTIVATE %v %v", a, err)
	}
	if d, err := p.time("DEACTIVATE"); err != nil || !d.IsZero() {
		t.Errorf("DEACTIVATE %v %v", d, err)
	}
	if p.str("NAME") != "x" {
		t.Error("NAME")
	}
}

func TestConformanceOtherDateForms(t *testing.T) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04:05.0000000-07:00"} {
		t.Run(layout, func(t *testing.T) {
			acstest.Run(t, func(t *testing.T) acstest.Harness {
				return harness{newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithDateLayout(layout)}, opts: []Option{kitCards}})}
			})
		})
	}
}

func TestBadgeIDConcatenated(t *testing.T) {
	f := BadgeIDConcatenated(5)
	if n, err := f(acs.Card{Format: acs.H10301, Facility: 42, Number: 1001}); err != nil || n != 4201001 {
		t.Errorf("got %d, %v", n, err)
	}
	if _, err := f(acs.Card{Format: acs.H10302, Number: 1234567}); err == nil {
		t.Error("card wider than the padding accepted")
	}
	if _, err := f(acs.Card{Format: acs.H10301}); err == nil {
		t.Error("badge ID 0 accepted")
	}
	e := newEnv(t, envOpts{opts: []Option{WithBadgeID(f)}})
	g := e.grant(1)
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if id := e.sim.Instances("Lnl_Badge")[0]["ID"]; id != int64(4201001) {
		t.Errorf("badge ID %v", id)
	}
	if err := e.p.Revoke(t.Context(), acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if e.sim.Opens(p.Credential.ID, "1", e.clock.Now()) {
		t.Error("still opens after revoke by card")
	}
}

// TestRoundTrips pins the number of HTTP requests per operation once the
// session and lookups are warm.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if _, err := e.p.Provision(ctx, e.grant(0)); err != nil { // warm: login, statuses, visit settings
		t.Fatal(err)
	}
	if got := len(e.requests()); got != 10 {
		t.Errorf("cold provision: %d requests, want 10", got)
	}
	measure := func(name string, want int, f func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(e.requests()); got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
		t.Logf("%s: %d round trips", name, len(e.requests()))
	}
	var p acs.Provisioned
	// A new visitor is looked up again right after it is created, in case
	// a replica created one too. Level 1 was confirmed by the first
	// provision (cacheTTL); level 2 is checked once.
	measure("provision, new visitor, 1 level", 6, func() (err error) { p, err = e.p.Provision(ctx, e.grant(1)); return })
	measure("provision, new visitor, 2 levels", 8, func() error { _, err := e.p.Provision(ctx, e.grant(2, "1", "2")); return err })
	measure("provision, repeated", 3, func() error { _, err := e.p.Provision(ctx, e.grant(1)); return err })
	measure("revoke by ID", 2, func() error { return e.p.Revoke(ctx, p.Credential) })
	measure("revoke again", 1, func() error { return e.p.Revoke(ctx, p.Credential) })
	measure("revoke by external ID", 3, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-2", Card: e.grant(2).Card})
	})
	// Looking up every record with the external ID too (duplicates from
	// replicas), deleting, then checking the person record is gone (no
	// personal data left behind).
	measure("remove cardholder by ID and external ID", 5, func() error { return e.p.RemoveCardholder(ctx, p.Cardholder) })
}

func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, envOpts{})
	ctx := context.Background()
	g := e.grant(1)
	if _, err := e.p.Provision(ctx, g); err != nil { // warm the session and lookups
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g := e.grant(1 + i%50000)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
	}
}
