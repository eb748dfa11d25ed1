package chaos_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/visitor"
)

// TestTLS checks each adapter against its simulator served over https with
// httptest's self-signed certificate: verification is on by default (the
// handshake fails and no request reaches the server), the certificate's
// CA given as a file is trusted, and a trusted certificate for another
// host name is still refused. At the Origo site both the issuer and the
// door adapter are checked (their servers share the certificate); the
// phone accepts at once there, so that one call provisions.
func TestTLS(t *testing.T) {
	ctx := context.Background()
	clock := visitor.NewManualClock(t0)
	sec := chaos.DistinctSecrets()
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: sec, TLS: true,
		AcceptAfter: func(string) time.Duration { return 0 }})
	defer sims.Close()
	for _, site := range sims.Sites {
		t.Run(site.Kind, func(t *testing.T) {
			if !strings.HasPrefix(site.URL, "https://127.0.0.1:") {
				t.Fatalf("site URL %s", site.URL)
			}
			cfg := chaos.ProviderConfig{Clock: clock.Now, Secrets: sec}

			p, err := chaos.NewSiteProvider(site.Info(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ping(ctx)
			chaos.CloseProviders([]acs.Provider{p})
			if err == nil {
				t.Fatal("the self-signed certificate was accepted by default")
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("refusal does not say it is about the certificate: %v", err)
			}
			t.Logf("refused with code %s: %v", acs.CodeOf(err), err)
			if n := site.Requests(); n != 0 {
				t.Errorf("%d requests reached the server over an unverified connection", n)
			}

			cfg.CAFile = writeCA(t, site)
			p, err = chaos.NewSiteProvider(site.Info(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer chaos.CloseProviders([]acs.Provider{p})
			if err := p.Ping(ctx); err != nil {
				t.Fatalf("with the CA file: %v", err)
			}
			g := acs.Grant{Person: acs.Person{ExternalID: "tls-1", FirstName: "Tess"}, Card: acs.Card{Format: acs.H10301, Facility: 9, Number: 999},
				AccessLevels: site.Levels[:1], ValidFrom: clock.Now(), ValidUntil: clock.Now().Add(1e12)}
			pr, err := p.Provision(ctx, g)
			if err != nil {
				t.Fatalf("provision over verified TLS: %v", err)
			}
			if err := p.Revoke(ctx, pr.Credential); err != nil {
				t.Fatalf("revoke over verified TLS: %v", err)
			}

			// The certificate names 127.0.0.1 and example.com, not
			// localhost. At Origo's site the door stays reachable, so
			// that the issuer's own verification is what refuses.
			before := site.Faults.Stats().Requests
			other := site.Info()
			other.URL = strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
			p2, err := chaos.NewSiteProvider(other, cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = p2.Ping(ctx)
			chaos.CloseProviders([]acs.Provider{p2})
			var ae *acs.Error
			switch {
			case err == nil:
				t.Error("a certificate for another host name was accepted")
			case !errors.As(err, &ae) || ae.Provider != site.Kind:
				t.Errorf("refused, but not by %s: %v", site.Kind, err)
			}
			if n := site.Faults.Stats().Requests - before; n != 0 {
				t.Errorf("%d requests reached the server under a mismatched certificate", n)
			}
		})
	}
}

func writeCA(t *testing.T, site *chaos.Site) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), site.Kind+"-ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: site.Server.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newAt builds the adapter of kind through the provider registry with
// explicit URLs (Brivo's auth URL may differ from its API URL), as a VMS
// would from its configuration.
func newAt(kind, base, auth string, allowHTTP bool) (acs.Provider, error) {
	entry, ok := providers.Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind %s", kind)
	}
	c := entry.SimConfig(base)
	for k, v := range chaos.DistinctSecrets()[kind] {
		c[k] = v
	}
	c[providers.URL] = base
	if entry.Uses(providers.AuthURL) {
		c[providers.AuthURL] = auth
	}
	return entry.Build(c, providers.Options{AllowInsecureHTTP: allowHTTP})
}

// TestPlainHTTP checks each adapter's transport policy: plain http is
// refused (InvalidArgument, before any request) for a host that is not
// loopback, including names that only look like loopback, unless
// explicitly allowed; loopback hosts and https are accepted.
func TestPlainHTTP(t *testing.T) {
	refused := []string{
		"http://acs.example.com:8080/api", "http://10.1.2.3/api", "http://192.168.0.10:4590/WebSdk",
		"http://127.0.0.1.nip.io/api", "http://localhost.example.com/api", "http://[fe80::1]/api",
		"http://[::ffff:10.0.0.1]/api", "http://0x7f000001.example/api",
	}
	accepted := []string{
		"http://localhost:8080/api", "http://127.0.0.1/api", "http://127.9.8.7:1/api", "http://[::1]:4590/WebSdk",
		"https://acs.example.com/api",
	}
	for _, kind := range chaos.Kinds {
		t.Run(kind, func(t *testing.T) {
			for _, u := range refused {
				p, err := newAt(kind, u, u, false)
				if err == nil {
					chaos.CloseProviders([]acs.Provider{p})
					t.Errorf("%s accepted by default", u)
					continue
				}
				if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(strings.ToLower(err.Error()), "http") {
					t.Errorf("%s: want an InvalidArgument about plain http, got %v", u, err)
				}
				p, err = newAt(kind, u, u, true)
				if err != nil {
					t.Errorf("%s refused with insecure http allowed: %v", u, err)
					continue
				}
				chaos.CloseProviders([]acs.Provider{p})
			}
			for _, u := range accepted {
				p, err := newAt(kind, u, u, false)
				if err != nil {
					t.Errorf("%s refused: %v", u, err)
					continue
				}
				chaos.CloseProviders([]acs.Provider{p})
			}
			if e, _ := providers.Lookup(kind); e.Uses(providers.AuthURL) {
				// Both of Brivo's hosts are checked.
				if p, err := newAt(kind, "https://api.brivo.com/v1/api", "http://auth.example.com", false); err == nil {
					chaos.CloseProviders([]acs.Provider{p})
					t.Error("a plain http auth URL was accepted with an https API URL")
				}
				if p, err := newAt(kind, "http://api.example.com/v1/api", "https://auth.brivo.com", false); err == nil {
					chaos.CloseProviders([]acs.Provider{p})
					t.Error("a plain http API URL was accepted with an https auth URL")
				}
			}
		})
	}
}
