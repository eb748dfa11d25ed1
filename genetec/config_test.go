package genetec_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

func TestNewValidates(t *testing.T) {
	good := genetec.Config{BaseURL: "https://sc.example.com:4590/WebSdk", Username: "vms", Password: "pw", ApplicationID: "app"}
	if _, err := genetec.New(good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mut  func(*genetec.Config)
		opts []genetec.Option
		want string
	}{
		{"no URL", func(c *genetec.Config) { c.BaseURL = "" }, nil, "base URL is empty"},
		{"plain http", func(c *genetec.Config) { c.BaseURL = "http://sc.example.com:4590/WebSdk" }, nil, "plain http"},
		{"ftp", func(c *genetec.Config) { c.BaseURL = "ftp://sc.example.com/WebSdk" }, nil, "scheme"},
		{"no user", func(c *genetec.Config) { c.Username = "" }, nil, "username is empty"},
		{"user with semicolon", func(c *genetec.Config) { c.Username = "a;b" }, nil, "username must not contain"},
		{"no password", func(c *genetec.Config) { c.Password = "" }, nil, "password is empty"},
		{"no application ID", func(c *genetec.Config) { c.ApplicationID = "" }, nil, "application ID is empty"},
		{"TLS and client", nil, []genetec.Option{genetec.WithHTTPClient(&http.Client{}), genetec.WithTLS(genetec.TLSOptions{InsecureSkipVerify: true})}, "exclusive"},
		{"nil client", nil, []genetec.Option{genetec.WithHTTPClient(nil)}, "nil client"},
		{"timeout and client", nil, []genetec.Option{genetec.WithTimeout(time.Second), genetec.WithHTTPClient(&http.Client{})}, "excludes"},
		{"events", nil, []genetec.Option{genetec.WithEvents(genetec.EventOptions{BackoffMin: time.Minute, BackoffMax: time.Second})}, "WithEvents"},
		{"page size", nil, []genetec.Option{genetec.WithPageSize(0)}, "WithPageSize"},
		{"timeout", nil, []genetec.Option{genetec.WithTimeout(-time.Second)}, "WithTimeout"},
		{"clock", nil, []genetec.Option{genetec.WithClock(nil)}, "nil clock"},
		{"retry", nil, []genetec.Option{genetec.WithRetry(1, time.Second, time.Millisecond)}, "WithRetry"},
		{"rate", nil, []genetec.Option{genetec.WithRateLimit(-1, 1)}, "WithRateLimit"},
		{"CA file", nil, []genetec.Option{genetec.WithTLS(genetec.TLSOptions{CAFile: "/nonexistent/ca.pem"})}, "CA file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			if c.mut != nil {
				c.mut(&cfg)
			}
			_, err := genetec.New(cfg, c.opts...)
			var ae *acs.Error
			if !errors.As(err, &ae) || ae.Code != acs.InvalidArgument || ae.Provider != genetec.Name || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want invalid argument mentioning %q", err, c.want)
			}
		})
	}
	cfg := good
	cfg.BaseURL = "http://sc.example.com:4590/WebSdk"
	if _, err := genetec.New(cfg, genetec.WithAllowInsecureHTTP()); err != nil {
		t.Fatalf("explicitly allowed http: %v", err)
	}
}

func TestTLS(t *testing.T) {
	sim := genetecsim.New()
	srv := httptest.NewTLSServer(sim)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	ctx := context.Background()

	// The server's self-signed certificate is not trusted by default.
	p, err := genetec.New(cfg, genetec.WithRetry(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); acs.CodeOf(err) != acs.Misconfigured || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}

	// Trusted through a CA file.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, block, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = genetec.New(cfg, genetec.WithTLS(genetec.TLSOptions{CAFile: ca}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}

	// Or through a tls.Config, or a client of the caller's.
	p, err = genetec.New(cfg, genetec.WithTLS(genetec.TLSOptions{Config: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("with a tls.Config: %v", err)
	}
	p, err = genetec.New(cfg, genetec.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("with the caller's client: %v", err)
	}
}

func TestWithRules(t *testing.T) {
	e := newEnv(t, nil, genetec.WithRules(acs.Rules{MaxValidity: time.Hour}))
	_, err := e.p.Provision(context.Background(), grant(1)) // a two-hour window
	if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), "longer than the maximum") {
		t.Fatalf("got %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
}
