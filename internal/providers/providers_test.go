package providers

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Every entry reaches its own simulator with the configuration SimConfig
// gives: ping, the seeded levels listed, a provision and its revocation
// logged by the simulator.
func TestEveryProviderAgainstItsSimulator(t *testing.T) {
	for _, p := range All() {
		t.Run(p.Name, func(t *testing.T) {
			ctx := context.Background()
			sim := p.Simulate(SimOptions{})
			srv := httptest.NewServer(sim.Handler)
			defer srv.Close()
			prov, err := p.Build(p.SimConfig(srv.URL), Options{RateLimit: &RateLimit{}, Retry: &Retry{Max: 1, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if c, ok := prov.(acs.Closer); ok {
					_ = c.Close(ctx)
				}
			}()
			if prov.Name() != p.Name {
				t.Errorf("adapter named %q, entry %q", prov.Name(), p.Name)
			}
			if err := prov.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			levels, err := prov.AccessLevels(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, l := range levels {
				ids = append(ids, l.ID)
			}
			for _, l := range sim.Levels {
				if !slices.Contains(ids, l) {
					t.Errorf("seeded level %s not listed (%v)", l, ids)
				}
			}
			sim.ResetRequests()
			now := time.Now()
			got, err := prov.Provision(ctx, acs.Grant{
				Person:       acs.Person{ExternalID: "registry-1", FirstName: "Ada", LastName: "Lovelace"},
				Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
				AccessLevels: sim.Levels[:1], ValidFrom: now.Add(-time.Minute).Truncate(time.Second), ValidUntil: now.Add(time.Hour).Truncate(time.Second),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Cardholder.ID == "" || got.Credential.ID == "" {
				t.Errorf("provision returned %+v", got)
			}
			if err := prov.Revoke(ctx, acs.CredentialRef{ID: got.Credential.ID, CardholderID: got.Cardholder.ID}); err != nil {
				t.Fatal(err)
			}
			calls := sim.Requests()
			if len(calls) < 2 || calls[0].Method == "" || calls[0].Status == 0 {
				t.Errorf("request log %v", calls)
			}
			// The log and the configuration's secrets never meet.
			for _, c := range calls {
				for _, s := range p.SimConfig(srv.URL).Secrets() {
					if strings.Contains(c.String(), s) {
						t.Errorf("the request log holds a secret: %s", c.Method+" "+c.Path)
					}
				}
			}
			sim.AddLevel("Level 00001")
			sim.SetLatency(time.Millisecond)
			sim.SetLatency(0)
			if sim.SetRateLimit != nil {
				sim.SetRateLimit(0)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	if strings.Join(names, ",") != "genetec,lenel,brivo,alta,verkada,netbox" {
		t.Errorf("names %v", names)
	}
	for _, p := range All() {
		if got, ok := Lookup(p.Name); !ok || got != p {
			t.Errorf("Lookup(%q)", p.Name)
		}
		if p.Product == "" || p.AccessLevels == "" || p.IDs == "" || p.New == nil || p.SimConfig == nil || p.Simulate == nil {
			t.Errorf("%s: incomplete entry", p.Name)
		}
		seen := map[Setting]bool{}
		for _, n := range p.Settings {
			if seen[n.Setting] || !slices.Contains(Settings(), n.Setting) || n.Help == "" {
				t.Errorf("%s: setting %q repeated, unknown or undocumented", p.Name, n.Setting)
			}
			seen[n.Setting] = true
		}
		// The simulator's configuration fills every required setting and
		// no setting the provider does not read.
		c := p.SimConfig("http://127.0.0.1:1")
		if err := p.Check(c); err != nil {
			t.Errorf("%s: simulator configuration: %v", p.Name, err)
		}
		for s := range c {
			if !p.Uses(s) {
				t.Errorf("%s: simulator configuration sets %s, which the provider does not read", p.Name, s)
			}
		}
		// Each required setting, missing, is named.
		for _, n := range p.Settings {
			if !n.Required {
				continue
			}
			bad := c.Clone()
			delete(bad, n.Setting)
			_, err := New(p.Name, bad, Options{})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Setting != n.Setting || !strings.Contains(err.Error(), "--"+string(n.Setting)) {
				t.Errorf("%s without %s: %v", p.Name, n.Setting, err)
			}
		}
	}
	// Missing names every absent required setting at once, in order.
	var got []Setting
	for _, n := range Brivo.Missing(Config{URL: "https://api.brivo.com/v1/api", ClientID: "c", Username: "u"}) {
		got = append(got, n.Setting)
	}
	if want := []Setting{ClientSecret, APIKey, Password}; !slices.Equal(got, want) {
		t.Errorf("brivo missing %v, want %v", got, want)
	}
	if m := Brivo.Missing(Brivo.SimConfig("http://127.0.0.1:1")); len(m) != 0 {
		t.Errorf("brivo's simulator configuration lacks %v", m)
	}
	if _, err := New("acme", Config{}, Options{}); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "verkada") {
		t.Errorf("unknown provider: %v", err)
	}
	c := Alta.SimConfig("http://127.0.0.1:1")
	c[OrgID] = "5231; DROP"
	var ce *ConfigError
	if _, err := Alta.Build(c, Options{}); !errors.As(err, &ce) || ce.Setting != OrgID {
		t.Errorf("malformed org ID: %v", err)
	}
	c = Netbox.SimConfig("http://127.0.0.1:1")
	c[TimeZone] = "Mars/Olympus_Mons"
	if _, err := Netbox.Build(c, Options{}); !errors.As(err, &ce) || ce.Setting != TimeZone {
		t.Errorf("unknown time zone: %v", err)
	}
	c[TimeZone] = "America/New_York"
	if p, err := Netbox.Build(c, Options{}); err != nil || p.(interface{ Location() *time.Location }).Location().String() != "America/New_York" {
		t.Errorf("time zone America/New_York: %v", err)
	}
	if OrgID.Env() != "ACS_ORG_ID" || OrgID.Key() != "org_id" || TimeZone.Env() != "ACS_TIME_ZONE" || TimeZone.Secret() || !APIKey.Secret() || Username.Secret() {
		t.Error("setting names")
	}
}

// Plain http to a remote host is refused unless allowed, and the TLS
// options reach every adapter (a CA file that does not exist is an error).
func TestOptionsReachEveryAdapter(t *testing.T) {
	for _, p := range All() {
		c := p.SimConfig("http://acs.example.com")
		if c[AuthURL] != "" {
			c[AuthURL] = "http://acs.example.com"
		}
		if _, err := p.Build(c, Options{}); err == nil {
			t.Errorf("%s: plain http to a remote host accepted", p.Name)
		}
		if _, err := p.Build(c, Options{AllowInsecureHTTP: true}); err != nil {
			t.Errorf("%s: plain http allowed: %v", p.Name, err)
		}
		c = p.SimConfig("https://acs.example.com")
		if c[AuthURL] != "" {
			c[AuthURL] = "https://acs.example.com"
		}
		if _, err := p.Build(c, Options{CAFile: "/nonexistent/ca.pem"}); err == nil {
			t.Errorf("%s: a missing CA file was accepted", p.Name)
		}
	}
}
