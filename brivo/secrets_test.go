package brivo

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/internal/testutil"
)

// TestNoSecretInErrorsOrLogs runs succeeding and failing operations with
// debug logging and checks that no password, client secret, API key or
// token appears in any error, log line or URL, even when the server echoes
// them back in its error messages.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	creds := brivosim.Credentials{ClientID: "client-id-xyz", ClientSecret: "Cl1ent-SECRET-xyz",
		APIKey: "Ap1-KEY-SECRET-xyz", Username: "admin-4242", Password: "Pa55-SECRET-xyz"}
	clk := newFakeClock()
	sim := brivosim.New(brivosim.WithCredentials(creds), brivosim.WithClock(clk.Now), brivosim.WithRetryAfter(0))

	var mu sync.Mutex
	tokens := map[string]bool{}
	echo := false // when set, every API error echoes the request's headers
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer "); ok {
			tokens[tok] = true
		}
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("refresh_token") != "" {
			tokens[form.Get("refresh_token")] = true
		}
		doEcho := echo
		mu.Unlock()
		if doEcho {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == brivosim.TokenPath {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"login refused for `+string(body)+` `+r.Header.Get("Authorization")+`"}`)
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":400,"message":"refused `+r.Header.Get("Authorization")+` key `+r.Header.Get("api-key")+`"}`)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()

	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{BaseURL: srv.URL + brivosim.APIPrefix, AuthURL: srv.URL, ClientID: creds.ClientID,
		ClientSecret: creds.ClientSecret, APIKey: creds.APIKey, Username: creds.Username, Password: creds.Password}
	p, err := New(cfg, testOptions(WithLogger(logger), WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	levels := []string{"11906588"}

	// Successes, refreshes, a refused refresh and re-login.
	g := testGrant(0, clk.Now(), levels...)
	prov, err := p.Provision(ctx, g)
	record(err)
	_, err = p.IssueMobilePass(ctx, prov.Cardholder, "ada@example.com", clk.Now().Add(time.Hour))
	record(err)
	clk.Advance(290 * time.Second)
	record(p.Ping(ctx))
	sim.ExpireAccessTokens()
	record(p.Ping(ctx))
	sim.ExpireAccessTokens()
	sim.ExpireRefreshTokens()
	record(p.Ping(ctx))
	record(p.Revoke(ctx, prov.Credential))
	record(p.RemoveCardholder(ctx, prov.Cardholder))

	// Failures of every kind.
	sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultStatus, Status: 503, Times: -1})
	_, err = p.AccessLevels(ctx)
	record(err)
	sim.ClearFaults()
	sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultOverQPS, Times: -1})
	_, err = p.AccessLevels(ctx)
	record(err)
	sim.ClearFaults()
	sim.AddFault(brivosim.Fault{Path: "/credentials/formats", Kind: brivosim.FaultDropBeforeCommit, Times: -1})
	_, err = p.CredentialFormats(ctx)
	record(err)
	sim.ClearFaults()
	prov, err = p.Provision(ctx, testGrant(1, clk.Now(), levels...))
	record(err)
	sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/credentials/*", Kind: brivosim.FaultStatus, Status: 500, Times: -1})
	record(p.Revoke(ctx, prov.Credential)) // logs a warning
	sim.ClearFaults()
	for _, bad := range []func(*Config){
		func(c *Config) { c.Password = "Pa55-SECRET-xyz-wrong" },
		func(c *Config) { c.ClientSecret = "Cl1ent-SECRET-xyz-wrong" },
		func(c *Config) { c.APIKey = "Ap1-KEY-SECRET-xyz-wrong" },
		func(c *Config) { c.BaseURL = srv.URL },
	} {
		c := cfg
		bad(&c)
		bp, err := New(c, testOptions(WithLogger(logger), WithClock(clk.Now))...)
		if err != nil {
			t.Fatal(err)
		}
		record(bp.Ping(ctx))
	}
	// The server echoes headers and the login body in its errors.
	mu.Lock()
	echo = true
	mu.Unlock()
	record(p.Ping(ctx))
	fresh, _ := New(cfg, testOptions(WithLogger(logger), WithClock(clk.Now))...)
	record(fresh.Ping(ctx))
	mu.Lock()
	echo = false
	mu.Unlock()
	dead, _ := New(Config{BaseURL: "http://127.0.0.1:1/v1/api", AuthURL: "http://127.0.0.1:1", ClientID: creds.ClientID,
		ClientSecret: creds.ClientSecret, APIKey: creds.APIKey, Username: creds.Username, Password: creds.Password},
		testOptions(WithLogger(logger))...)
	record(dead.Ping(ctx))
	_, err = New(Config{BaseURL: "http://example.com/v1/api", ClientID: "x", ClientSecret: creds.ClientSecret,
		APIKey: creds.APIKey, Username: "u", Password: creds.Password})
	record(err)

	if len(errs) < 11 {
		t.Fatalf("only %d failing operations recorded; the test lost its teeth", len(errs))
	}
	secrets := []string{creds.ClientSecret, creds.APIKey, creds.Password, cfg.ClientSecret + "-wrong"}
	mu.Lock()
	for tok := range tokens {
		secrets = append(secrets, tok)
	}
	mu.Unlock()
	if len(secrets) < 6 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	logText := logs.String()
	if !strings.Contains(logText, "acs request") || !strings.Contains(logText, "credential unassigned but not deleted") {
		t.Fatalf("debug log lacks the expected lines:\n%s", logText)
	}
	for _, s := range secrets {
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains a secret: %s", strings.ReplaceAll(err.Error(), s, "<SECRET>"))
			}
		}
		if strings.Contains(logText, s) {
			t.Errorf("log contains a secret")
		}
		for _, r := range sim.Requests() {
			if strings.Contains(r.Path, s) || strings.Contains(r.RawQuery, s) {
				t.Errorf("URL %s?%s contains a secret", r.Path, r.RawQuery)
			}
		}
	}
	// The echoed values were redacted, not dropped silently.
	redacted := false
	for _, err := range errs {
		if strings.Contains(err.Error(), "[REDACTED]") {
			redacted = true
		}
	}
	if !redacted {
		t.Error("no error shows [REDACTED]: the echo cases did not exercise redaction")
	}
}
