package verkada

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The API key and every token stay out of errors, log lines and URLs,
// through token expiry, refusals, server errors and a dead server.
func TestSecretsNeverLeak(t *testing.T) {
	const key = "vk-7Hq2-SECRET-api-key-x9"
	clk := newFakeClock()
	sim := verkadasim.New(verkadasim.WithClock(clk.Now), verkadasim.WithAPIKey(key))
	var mu sync.Mutex
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("x-verkada-auth"); tok != "" {
			mu.Lock()
			tokens = append(tokens, tok)
			mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := New(Config{BaseURL: srv.URL, APIKey: key}, testOptions(clk, WithLogger(logger))...)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	g := testGrant(1, clk.Now(), verkadasim.GroupID(1))
	pr, err := p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	sim.ExpireTokens()
	sim.AddFault(verkadasim.Fault{Path: "/access/v1/credentials/card", Kind: verkadasim.FaultStatus, Status: 500, Times: -1})
	errs = append(errs, p.Revoke(t.Context(), pr.Credential))
	sim.ClearFaults()
	sim.AddFault(verkadasim.Fault{Path: "/access/v1/access_groups", Kind: verkadasim.FaultStatus, Status: 403})
	errs = append(errs, p.Ping(t.Context()))
	bad, _ := New(Config{BaseURL: srv.URL, APIKey: key + "-wrong"}, testOptions(clk, WithLogger(logger))...)
	errs = append(errs, bad.Ping(t.Context()))
	srv.Close()
	_, err = p.Provision(t.Context(), testGrant(2, clk.Now(), verkadasim.GroupID(1)))
	errs = append(errs, err)
	for _, e := range errs {
		if e == nil || acs.CodeOf(e) == acs.Unknown {
			t.Errorf("expected a classified error, got %v", e)
		}
	}
	texts := []string{logs.String()}
	for _, e := range errs {
		if e != nil {
			texts = append(texts, e.Error())
		}
	}
	for _, r := range sim.Requests() {
		texts = append(texts, r.Path+"?"+r.RawQuery+" "+r.Body)
	}
	mu.Lock()
	secrets := append([]string{key}, tokens...)
	mu.Unlock()
	if len(secrets) < 3 {
		t.Fatalf("only %d secrets seen", len(secrets))
	}
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret leaked into %q", text)
			}
		}
	}
	if !strings.Contains(logs.String(), "acs request") {
		t.Error("no debug log was written; the test proves nothing")
	}
}
