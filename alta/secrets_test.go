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

// echoServer fronts the simulator, collects every token it sees, and,
// when echo is set, answers every request with a 400 echoing the request's
// Authorization header and body.
type echoServer struct {
	sim    *altasim.Server
	srv    *httptest.Server
	mu     sync.Mutex
	tokens map[string]bool
	echo   bool
}

func newEchoServer(t *testing.T, sim *altasim.Server) *echoServer {
	es := &echoServer{sim: sim, tokens: map[string]bool{}}
	es.srv = httptest.NewServer(http.HandlerFunc(es.serve))
	t.Cleanup(es.srv.Close)
	return es
}

func (es *echoServer) setEcho(on bool) {
	es.mu.Lock()
	es.echo = on
	es.mu.Unlock()
}

func (es *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	es.mu.Lock()
	if a := r.Header.Get("Authorization"); a != "" {
		es.tokens[strings.TrimPrefix(a, "Bearer ")] = true
	}
	echo := es.echo
	es.mu.Unlock()
	rec := httptest.NewRecorder()
	es.sim.ServeHTTP(rec, r)
	var tok struct{ Data struct{ Token string } }
	if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.Data.Token != "" {
		es.mu.Lock()
		es.tokens[tok.Data.Token] = true
		es.mu.Unlock()
	}
	if echo {
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
}

// jwts returns the tokens seen and their payload parts.
func (es *echoServer) jwts() []string {
	es.mu.Lock()
	defer es.mu.Unlock()
	var out []string
	for tok := range es.tokens {
		if strings.HasPrefix(tok, "eyJ") {
			out = append(out, tok, strings.Split(tok, ".")[1])
		}
	}
	return out
}

// TestNoSecretInErrorsOrLogs runs succeeding and failing operations with
// debug logging and checks that no password, token or Basic credential
// appears in any error, log line or URL, even when the server echoes them
// back in its error messages.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	creds := altasim.Credentials{Email: "svc@example.com", Password: `Pa55-"SECRET"-xyz`}
	clk := newFakeClock()
	sim := altasim.New(altasim.WithCredentials(creds), altasim.WithClock(clk.Now), altasim.WithRetryAfter(0))
	es := newEchoServer(t, sim)
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{BaseURL: es.srv.URL, Username: creds.Email, Password: creds.Password, OrgID: altasim.OrgID}
	mk := func(c Config, extra ...Option) *Provider {
		p, err := New(c, testOptions(append([]Option{WithLogger(logger), WithClock(clk.Now)}, extra...)...)...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrong := cfg
	wrong.Password = creds.Password + "-wrong"
	errs := exerciseForSecrets(t, es, clk, mk(cfg), func(c Config, basic bool) *Provider {
		if basic {
			return mk(c, WithBasicAuth())
		}
		return mk(c)
	}, cfg, wrong)
	basic := base64.StdEncoding.EncodeToString([]byte(creds.Email + ":" + creds.Password))
	secrets := append([]string{creds.Password, wrong.Password, jsonEscaped(creds.Password), basic}, es.jwts()...)
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	logText := logs.String()
	if !strings.Contains(logText, "acs request") {
		t.Fatalf("debug log lacks the request lines:\n%s", logText)
	}
	for _, sec := range secrets {
		for _, err := range errs {
			if strings.Contains(err.Error(), sec) {
				t.Errorf("error contains a secret: %s", strings.ReplaceAll(err.Error(), sec, "<SECRET>"))
			}
		}
		if strings.Contains(logText, sec) {
			t.Errorf("log contains a secret")
		}
		for _, r := range sim.Requests() {
			if strings.Contains(r.Path, sec) || strings.Contains(r.RawQuery, sec) {
				t.Errorf("URL %s?%s contains a secret", r.Path, r.RawQuery)
			}
		}
	}
	redacted := false
	for _, err := range errs {
		redacted = redacted || strings.Contains(err.Error(), "[REDACTED]")
		var ae *acs.Error
		if !errors.As(err, &ae) || ae.Provider != Name {
			t.Errorf("error without the provider: %v", err)
		}
	}
	if !redacted {
		t.Error("no error shows [REDACTED]: the echo cases did not exercise redaction")
	}
}

// exerciseForSecrets runs succeeding and failing operations and returns
// the errors.
func exerciseForSecrets(t *testing.T, es *echoServer, clk *fakeClock, p *Provider, mk func(Config, bool) *Provider, cfg, wrong Config) []error {
	ctx := t.Context()
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	prov, err := p.Provision(ctx, testGrant(0, clk.Now(), "4822"))
	record(err)
	clk.Advance(59*time.Minute + 30*time.Second)
	record(p.Ping(ctx)) // a refresh
	es.sim.ExpireTokens()
	record(p.Ping(ctx)) // a new login
	record(p.Revoke(ctx, prov.Credential))
	record(p.RemoveCardholder(ctx, prov.Cardholder))
	for _, f := range []altasim.Fault{
		{Path: "/groups", Kind: altasim.FaultStatus, Status: 503, Times: -1},
		{Path: "/groups", Kind: altasim.FaultRateLimit, Times: -1},
		{Path: "/groups", Kind: altasim.FaultDropBeforeCommit, Times: -1},
		{Path: "/groups", Kind: altasim.FaultStatus, Status: 403, Times: -1},
	} {
		es.sim.AddFault(f)
		_, err = p.AccessLevels(ctx)
		record(err)
		es.sim.ClearFaults()
	}
	record(mk(wrong, false).Ping(ctx))
	record(mk(wrong, true).Ping(ctx))
	es.setEcho(true)
	record(p.Ping(ctx))
	_, err = p.Provision(ctx, testGrant(1, clk.Now(), "4822"))
	record(err)
	record(mk(cfg, false).Ping(ctx))
	record(mk(cfg, true).Ping(ctx))
	es.setEcho(false)
	record(mk(Config{BaseURL: "http://127.0.0.1:1", Username: cfg.Username, Password: cfg.Password, OrgID: 1}, false).Ping(ctx))
	_, err = New(Config{BaseURL: "http://example.com", Username: cfg.Username, Password: cfg.Password, OrgID: 1})
	record(err)
	if len(errs) < 11 {
		t.Fatalf("only %d failing operations recorded; the test lost its teeth", len(errs))
	}
	return errs
}

// jsonEscaped is how s appears inside a JSON string (a login body a
// server might echo).
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
