package alta

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/internal/testutil"
)

// TestNoSecretInErrorsOrLogs runs succeeding and failing operations with
// debug logging and checks that no password, token or Basic credential
// appears in any error, log line or URL, even when the server echoes them
// back in its error messages.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	creds := altasim.Credentials{Email: "svc@example.com", Password: `Pa55-"SECRET"-xyz`}
	clk := newFakeClock()
	sim := altasim.New(altasim.WithCredentials(creds), altasim.WithClock(clk.Now), altasim.WithRetryAfter(0))

	var mu sync.Mutex
	tokens := map[string]bool{}
	echo := false // when set, every answer is a 400 echoing the request's header and body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			tokens[strings.TrimPrefix(a, "Bearer ")] = true
		}
		doEcho := echo
		mu.Unlock()
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var tok struct{ Data struct{ Token string } }
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.Data.Token != "" {
			mu.Lock()
			tokens[tok.Data.Token] = true
			mu.Unlock()
		}
		if doEcho {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			msg, _ := json.Marshal(map[string]string{"name": "EchoError", "message": "refused " + r.Header.Get("Authorization") + " body " + string(b)})
			_, _ = w.Write(msg)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()

	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{BaseURL: srv.URL, Username: creds.Email, Password: creds.Password, OrgID: altasim.OrgID}
	mk := func(c Config, extra ...Option) *Provider {
		p, err := New(c, testOptions(append([]Option{WithLogger(logger), WithClock(clk.Now)}, extra...)...)...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := mk(cfg)
	ctx := t.Context()
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	levels := []string{"4822"}

	// Successes, a refresh, a forced re-login.
	prov, err := p.Provision(ctx, testGrant(0, clk.Now(), levels...))
	record(err)
	clk.Advance(59*time.Minute + 30*time.Second)
	record(p.Ping(ctx))
	sim.ExpireTokens()
	record(p.Ping(ctx))
	record(p.Revoke(ctx, prov.Credential))
	record(p.RemoveCardholder(ctx, prov.Cardholder))

	// Failures of every kind.
	for _, f := range []altasim.Fault{
		{Path: "/groups", Kind: altasim.FaultStatus, Status: 503, Times: -1},
		{Path: "/groups", Kind: altasim.FaultRateLimit, Times: -1},
		{Path: "/groups", Kind: altasim.FaultDropBeforeCommit, Times: -1},
		{Path: "/groups", Kind: altasim.FaultStatus, Status: 403, Times: -1},
	} {
		sim.AddFault(f)
		_, err = p.AccessLevels(ctx)
		record(err)
		sim.ClearFaults()
	}
	wrong := cfg
	wrong.Password = creds.Password + "-wrong"
	record(mk(wrong).Ping(ctx))
	record(mk(wrong, WithBasicAuth()).Ping(ctx))
	// The server echoes headers and bodies, the login's included.
	mu.Lock()
	echo = true
	mu.Unlock()
	record(p.Ping(ctx))
	_, err = p.Provision(ctx, testGrant(1, clk.Now(), levels...))
	record(err)
	record(mk(cfg).Ping(ctx))
	record(mk(cfg, WithBasicAuth()).Ping(ctx))
	mu.Lock()
	echo = false
	mu.Unlock()
	record(mk(Config{BaseURL: "http://127.0.0.1:1", Username: creds.Email, Password: creds.Password, OrgID: 1}).Ping(ctx))
	_, err = New(Config{BaseURL: "http://example.com", Username: creds.Email, Password: creds.Password, OrgID: 1})
	record(err)

	if len(errs) < 11 {
		t.Fatalf("only %d failing operations recorded; the test lost its teeth", len(errs))
	}
	basic := base64.StdEncoding.EncodeToString([]byte(creds.Email + ":" + creds.Password))
	secrets := []string{creds.Password, wrong.Password, jsonEscaped(creds.Password), basic}
	mu.Lock()
	for tok := range tokens {
		if strings.HasPrefix(tok, "eyJ") {
			secrets = append(secrets, tok, strings.Split(tok, ".")[1])
		}
	}
	mu.Unlock()
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	logText := logs.String()
	if !strings.Contains(logText, "acs request") {
		t.Fatalf("debug log lacks the request lines:\n%s", logText)
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
	redacted := false
	for _, err := range errs {
		if strings.Contains(err.Error(), "[REDACTED]") {
			redacted = true
		}
		var ae *acs.Error
		if !errorsAs(err, &ae) || ae.Provider != Name {
			t.Errorf("error without the provider: %v", err)
		}
	}
	if !redacted {
		t.Error("no error shows [REDACTED]: the echo cases did not exercise redaction")
	}
}

func errorsAs(err error, target **acs.Error) bool { return errors.As(err, target) }
