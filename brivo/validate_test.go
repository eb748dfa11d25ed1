package brivo

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

func TestNewValidates(t *testing.T) {
	base := Config{ClientID: "id", ClientSecret: "secret", APIKey: "key", Username: "admin", Password: "pw"}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		opts   []Option
		want   string
	}{
		{"no client ID", func(c *Config) { c.ClientID = "" }, nil, "client ID is required"},
		{"no client secret", func(c *Config) { c.ClientSecret = " " }, nil, "client secret is required"},
		{"no API key", func(c *Config) { c.APIKey = "" }, nil, "API key is required"},
		{"no username", func(c *Config) { c.Username = "" }, nil, "admin username is required"},
		{"no password", func(c *Config) { c.Password = "" }, nil, "admin password is required"},
		{"control character", func(c *Config) { c.Password = "pw\n" }, nil, "admin password contains a control character"},
		{"colon in client ID", func(c *Config) { c.ClientID = "a:b" }, nil, "client ID must not contain ':'"},
		{"plain http", func(c *Config) { c.BaseURL = "http://api.brivo.com/v1/api" }, nil, "plain http"},
		{"plain http auth", func(c *Config) { c.AuthURL = "http://auth.brivo.com" }, nil, "auth URL"},
		{"URL with credentials", func(c *Config) { c.BaseURL = "https://u:p@api.brivo.com/v1/api" }, nil, "user information"},
		{"regions differ", func(c *Config) { c.BaseURL = EUBaseURL }, nil, "different regions"},
		{"TLS and client", nil, []Option{WithHTTPClient(&http.Client{}), WithTLS(TLSOptions{InsecureSkipVerify: true})}, "excludes"},
		{"timeout and client", nil, []Option{WithTimeout(time.Second), WithHTTPClient(&http.Client{})}, "excludes"},
		{"missing CA file", nil, []Option{WithTLS(TLSOptions{CAFile: "/nonexistent/ca.pem"})}, "TLS"},
		{"language", nil, []Option{WithMobilePassLanguage("it")}, "language"},
		{"nil clock", nil, []Option{WithClock(nil)}, "WithClock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			_, err := New(c, tc.opts...)
			if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want invalid argument mentioning %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "brivo new: ") {
				t.Errorf("error does not name the provider: %v", err)
			}
		})
	}
	for _, c := range []Config{
		base,
		{BaseURL: EUBaseURL, AuthURL: EUAuthURL, ClientID: "id", ClientSecret: "s", APIKey: "k", Username: "u", Password: "p"},
	} {
		p, err := New(c, WithTLS(TLSOptions{Config: &tls.Config{MinVersion: tls.VersionTLS13}}), WithTimeout(time.Second))
		if err != nil || p.Name() != "brivo" {
			t.Errorf("valid config %+v refused: %v", c.BaseURL, err)
		}
	}
	if _, err := New(Config{BaseURL: "http://10.0.0.5/v1/api", AuthURL: "http://10.0.0.5", ClientID: "i", ClientSecret: "s", APIKey: "k", Username: "u", Password: "p"}, WithAllowInsecureHTTP()); err != nil {
		t.Errorf("insecure http explicitly allowed: %v", err)
	}
}

// Bad input is refused before any request.
func TestBadInputSendsNothing(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	good := testGrant(0, clk.Now(), e.levels()[0])
	grants := map[string]func(*acs.Grant){
		"level not a number":           func(g *acs.Grant) { g.AccessLevels = []string{"Lobby"} },
		"level with a slash":           func(g *acs.Grant) { g.AccessLevels = []string{"1/2"} },
		"negative level":               func(g *acs.Grant) { g.AccessLevels = []string{"-5"} },
		"level overflowing int64":      func(g *acs.Grant) { g.AccessLevels = []string{"99999999999999999999"} },
		"dot-dot external ID":          func(g *acs.Grant) { g.Person.ExternalID = ".." },
		"dot external ID":              func(g *acs.Grant) { g.Person.ExternalID = "." },
		"external ID with a slash":     func(g *acs.Grant) { g.Person.ExternalID = "a/b" },
		"credential type not a number": func(g *acs.Grant) { g.CredentialType = "Standard 26 Bit" },
		"sub-second window": func(g *acs.Grant) {
			g.ValidFrom = clk.Now().Add(100 * time.Millisecond)
			g.ValidUntil = g.ValidFrom.Add(500 * time.Millisecond)
		},
	}
	for name, mutate := range grants {
		g := good
		g.AccessLevels = append([]string(nil), good.AccessLevels...)
		mutate(&g)
		if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: %v, want invalid argument", name, err)
		}
	}
	refs := map[string]acs.CredentialRef{
		"empty":                {},
		"ID with a slash":      {ID: "12/34"},
		"cardholder ID words":  {ID: "1", CardholderID: "me"},
		"external ID dot-dot":  {CardholderExternalID: "..", Card: good.Card},
		"card out of range":    {CardholderExternalID: "v1", Card: acs.Card{Format: acs.H10301, Number: 1 << 20}},
		"card of no format":    {CardholderExternalID: "v1", Card: acs.Card{Number: 5}},
		"query in the ID":      {ID: "1?x=y"},
		"escaped slash in ID":  {ID: "1%2F2"},
		"external ID with ';'": {CardholderExternalID: "a;b", Card: good.Card},
	}
	for name, ref := range refs {
		if err := e.p.Revoke(ctx, ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("revoke %s: %v, want invalid argument", name, err)
		}
	}
	for name, ref := range map[string]acs.CardholderRef{
		"empty": {}, "ID words": {ID: "abc"}, "external ID slash": {ExternalID: "x/../y"}, "external dot": {ExternalID: "."},
	} {
		if err := e.p.RemoveCardholder(ctx, ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("remove %s: %v, want invalid argument", name, err)
		}
		if _, err := e.p.IssueMobilePass(ctx, ref, "a@example.com", clk.Now().Add(time.Hour)); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("mobile pass %s: %v, want invalid argument", name, err)
		}
	}
	if reqs := e.sim.Requests(); len(reqs) != 0 {
		t.Errorf("bad input sent %d requests: %q", len(reqs), apiCalls(reqs))
	}
}
