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
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// Origo in front of every door provider, each against its simulator: the
// mobile ID is issued (the simulated phone accepts at once), its card
// provisioned at the door and revoked again, and the Origo user deleted.
func TestIssuerInFrontOfEveryProvider(t *testing.T) {
	for _, p := range All() {
		t.Run(p.Name, func(t *testing.T) {
			ctx := context.Background()
			door := p.Simulate(SimOptions{})
			dsrv := httptest.NewServer(door.Handler)
			defer dsrv.Close()
			osim := Origo.Simulate(SimOptions{})
			osrv := httptest.NewServer(osim.Handler)
			defer osrv.Close()
			c := p.SimConfig(dsrv.URL)
			for k, v := range Origo.SimConfig(osrv.URL) {
				c[k] = v
			}
			o := Options{RateLimit: &RateLimit{}, Retry: &Retry{Max: 1, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}}
			prov, err := Wrap(p.Name, Origo.Name, c, o)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if cl, ok := prov.(acs.Closer); ok {
					_ = cl.Close(ctx)
				}
			}()
			if prov.Name() != Origo.Name {
				t.Errorf("named %q", prov.Name())
			}
			if err := prov.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			got, err := prov.Provision(ctx, acs.Grant{
				Person:       acs.Person{ExternalID: "registry-origo-1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
				Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
				AccessLevels: door.Levels[:1], ValidFrom: now.Add(-time.Minute).Truncate(time.Second), ValidUntil: now.Add(time.Hour).Truncate(time.Second),
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := (acs.Card{Format: acs.H10301, Facility: 42, Number: origosim.FirstCardNumber}); got.Credential.Card != want {
				t.Errorf("card %v, want %v", got.Credential.Card, want)
			}
			if err := prov.Revoke(ctx, got.Credential); err != nil {
				t.Fatal(err)
			}
			if n := osim.Server.(*origosim.Server).Census().Users; n != 0 {
				t.Errorf("%d Origo users after the revoke", n)
			}
			for _, call := range osim.Requests() {
				if strings.Contains(call.String(), origosim.DefaultClientSecret) {
					t.Errorf("the request log holds the secret: %s", call.Method+" "+call.Path)
				}
			}
		})
	}
}

func TestIssuerRegistry(t *testing.T) {
	if strings.Join(IssuerNames(), ",") != "origo" {
		t.Errorf("issuers %v", IssuerNames())
	}
	for _, is := range Issuers() {
		if got, ok := LookupIssuer(is.Name); !ok || got != is {
			t.Errorf("LookupIssuer(%q)", is.Name)
		}
		if is.Product == "" || is.Wrap == nil || is.SimConfig == nil || is.Simulate == nil {
			t.Errorf("%s: incomplete entry", is.Name)
		}
		for _, n := range is.Settings {
			if !slices.Contains(Settings(), n.Setting) || n.Help == "" {
				t.Errorf("%s: setting %q unknown or undocumented", is.Name, n.Setting)
			}
			for _, p := range All() {
				if p.Uses(n.Setting) {
					t.Errorf("%s and %s share setting %s", is.Name, p.Name, n.Setting)
				}
			}
		}
		c := is.SimConfig("http://127.0.0.1:1")
		if err := is.Check(c); err != nil {
			t.Errorf("%s: simulator configuration: %v", is.Name, err)
		}
		door, _ := Genetec.New(Genetec.SimConfig("http://127.0.0.1:1"), Options{})
		for _, n := range is.Settings {
			if !n.Required {
				continue
			}
			bad := c.Clone()
			delete(bad, n.Setting)
			_, err := is.Build(door, bad, Options{})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Setting != n.Setting || !strings.Contains(err.Error(), "--"+string(n.Setting)) {
				t.Errorf("%s without %s: %v", is.Name, n.Setting, err)
			}
		}
		// Plain http to a remote host is refused unless allowed.
		remote := is.SimConfig("http://origo.example.com")
		if _, err := is.Build(door, remote, Options{}); err == nil {
			t.Errorf("%s: plain http to a remote host accepted", is.Name)
		}
		if _, err := is.Build(door, remote, Options{AllowInsecureHTTP: true}); err != nil {
			t.Errorf("%s: plain http allowed: %v", is.Name, err)
		}
	}
	c := Origo.SimConfig("http://127.0.0.1:1")
	c[OrigoCardFormat] = "h99999"
	door, _ := Genetec.New(Genetec.SimConfig("http://127.0.0.1:1"), Options{})
	var ce *ConfigError
	if _, err := Origo.Build(door, c, Options{}); !errors.As(err, &ce) || ce.Setting != OrigoCardFormat {
		t.Errorf("unknown card format: %v", err)
	}
	if _, err := Wrap("genetec", "acme", Genetec.SimConfig("http://127.0.0.1:1"), Options{}); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown issuer: %v", err)
	}
	if !OrigoClientSecret.Secret() || OrigoClientSecret.Env() != "ACS_ORIGO_CLIENT_SECRET" {
		t.Error("the Origo client secret setting")
	}
}
