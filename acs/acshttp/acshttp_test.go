package acshttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/acsbridge/acsbridge/acs"
)

func TestCheckBaseURL(t *testing.T) {
	cases := []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://acs.example.com:4590/WebSdk/", false, true},
		{"http://127.0.0.1:8080/api", false, true},
		{"http://[::1]:8080/api", false, true},
		{"http://localhost:8080/api", false, true},
		{"http://acs.example.com/api", false, false},
		{"http://acs.example.com/api", true, true},
		{"ftp://acs.example.com/", false, false},
		{"https://user:pw@acs.example.com/", false, false},
		{"https://acs.example.com/?token=x", false, false},
		{"", false, false},
		{"https:///nohost", false, false},
	}
	for _, c := range cases {
		u, err := CheckBaseURL(c.url, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("CheckBaseURL(%q, %v) = %v, %v; want ok=%v", c.url, c.allow, u, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error repeats user information: %v", err)
		}
	}
	u, _ := CheckBaseURL("https://h/WebSdk/", false)
	if u.String() != "https://h/WebSdk" {
		t.Errorf("trailing slash kept: %s", u)
	}
}

func newTestClient(t *testing.T, srv *httptest.Server, mutate func(*Config)) *Client {
	t.Helper()
	u, err := CheckBaseURL(srv.URL+"/api", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Provider: "test", BaseURL: u, HTTPClient: srv.Client(), RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetriesOnlyIdempotent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c := newTestClient(t, srv, nil)

	resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" || resp.Attempts != 3 {
		t.Fatalf("idempotent GET: resp %+v err %v; want 200 ok after 3 attempts", resp, err)
	}

	hits.Store(0)
	resp, err = c.Do(t.Context(), Request{Method: http.MethodPost, Path: "/x"})
	if err != nil || resp.Status != http.StatusServiceUnavailable || hits.Load() != 1 {
		t.Fatalf("non-idempotent POST: status %v err %v hits %d; want one attempt answered 503", resp.Status, err, hits.Load())
	}
}

func TestRetryAfterTooLongIsReturned(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := newTestClient(t, srv, nil)
	resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	if err != nil || resp.Status != 429 || hits.Load() != 1 {
		t.Fatalf("got %v %v after %d hits; want the 429 back at once", resp, err, hits.Load())
	}
	e := StatusError("op", "test", resp, acs.RateLimited, "slow down")
	if d, ok := acs.RetryAfterOf(e); !ok || d != 120*time.Second {
		t.Fatalf("RetryAfterOf = %v, %v", d, ok)
	}
}

func TestThrottledHookRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<h1>Developer Over Qps</h1>"))
			return
		}
		_, _ = w.Write([]byte("fine"))
	}))
	defer srv.Close()
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Throttled = func(status int, body []byte) bool {
			return status == 403 && bytes.Contains(body, []byte("Over Qps"))
		}
	})
	resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	if err != nil || string(resp.Body) != "fine" || hits.Load() != 2 {
		t.Fatalf("got %+v %v after %d hits", resp, err, hits.Load())
	}
	// A 403 that is not throttling comes back as is, body intact.
	hits.Store(5)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<h1>Developer Inactive</h1>"))
	})
	resp, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	if err != nil || resp.Status != 403 || string(resp.Body) != "<h1>Developer Inactive</h1>" {
		t.Fatalf("got %+v %v", resp, err)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := newTestClient(t, srv, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	if !errors.Is(err, context.Canceled) || hits.Load() != 0 {
		t.Fatalf("err %v hits %d", err, hits.Load())
	}
	if got := acs.CodeOf(TransportFailure("op", "test", err)); got != acs.Canceled {
		t.Fatalf("code %v", got)
	}
}

func TestTransportErrorHasNoURLOrSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Secrets = []string{"S3cret-Token-xyz"}
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.RetryMax = -1
	})
	_, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Query: map[string][]string{"q": {"S3cret-Token-xyz"}},
		Header: http.Header{"Authorization": {"Bearer S3cret-Token-xyz"}}, Idempotent: true})
	if err == nil {
		t.Fatal("no error from a dropped connection")
	}
	wrapped := TransportFailure("op", "test", err)
	for _, s := range []string{err.Error(), wrapped.Error(), logs.String()} {
		if strings.Contains(s, "S3cret-Token-xyz") || strings.Contains(s, "q=") {
			t.Errorf("secret or query leaked: %s", s)
		}
	}
	if acs.CodeOf(wrapped) != acs.Unavailable || !acs.IsRetryable(wrapped) {
		t.Errorf("dropped connection classified %v", acs.CodeOf(wrapped))
	}
}

func TestRateLimiterPacesAttempts(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	lim := NewLimiter(1, 1) // one request a second, burst one
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Limiter = lim })
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty now: a call whose deadline is too short to wait
	// for the next token fails without reaching the server.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/x"}); err == nil {
		t.Fatal("second request inside the same second was sent")
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", hits.Load())
	}
}

func TestTLSVerificationOnByDefaultAndCustomCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("tls")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	u, _ := CheckBaseURL(srv.URL, false)

	hc, err := NewHTTPClient(TLSOptions{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := New(Config{BaseURL: u, HTTPClient: hc, RetryMax: -1})
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet, Idempotent: true}); err == nil {
		t.Fatal("self-signed certificate accepted with default options")
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := srv.Certificate()
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	hc, err = NewHTTPClient(TLSOptions{CAFile: caFile}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = New(Config{BaseURL: u, HTTPClient: hc})
	resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, Idempotent: true})
	if err != nil || string(resp.Body) != "tls" {
		t.Fatalf("custom CA: %v %v", resp, err)
	}

	hc, _ = NewHTTPClient(TLSOptions{Config: &tls.Config{}, InsecureSkipVerify: true}, 0)
	c, _ = New(Config{BaseURL: u, HTTPClient: hc})
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet}); err != nil {
		t.Fatalf("explicit insecure skip verify: %v", err)
	}
	if _, err := NewHTTPClient(TLSOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, 0); err == nil {
		t.Fatal("missing CA file accepted")
	}
}

func TestBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, MaxBody+10))
	}))
	defer srv.Close()
	c := newTestClient(t, srv, nil)
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet}); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("oversized body: %v", err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	if _, ok := RetryAfter(h, now); ok {
		t.Error("empty header parsed")
	}
	h.Set("Retry-After", "7")
	if d, ok := RetryAfter(h, now); !ok || d != 7*time.Second {
		t.Errorf("seconds: %v %v", d, ok)
	}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if d, ok := RetryAfter(h, now); !ok || d != 90*time.Second {
		t.Errorf("date: %v %v", d, ok)
	}
	h.Set("Retry-After", "soon")
	if _, ok := RetryAfter(h, now); ok {
		t.Error("garbage parsed")
	}
}

func TestCodeForStatus(t *testing.T) {
	for status, want := range map[int]acs.Code{400: acs.InvalidArgument, 401: acs.Unauthenticated, 403: acs.PermissionDenied,
		404: acs.NotFound, 409: acs.Conflict, 429: acs.RateLimited, 500: acs.Unavailable, 596: acs.Unavailable, 501: acs.Unsupported, 418: acs.Unknown} {
		if got := CodeForStatus(status); got != want {
			t.Errorf("CodeForStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestOversizeIsNotNoAnswer(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(make([]byte, MaxBody+10))
	}))
	defer srv.Close()
	c := newTestClient(t, srv, nil)
	_, err := c.Do(t.Context(), Request{Method: http.MethodGet, Idempotent: true})
	var oe *OversizeError
	if !errors.As(err, &oe) || oe.Status != http.StatusOK || hits.Load() != 1 {
		t.Fatalf("oversized answer: %v after %d requests; want an OversizeError after one", err, hits.Load())
	}
	aerr := TransportFailure("sync", "test", err)
	if acs.CodeOf(aerr) != acs.Unknown || strings.Contains(aerr.Error(), "no answer") || acs.IsRetryable(aerr) {
		t.Fatalf("classified as %v: %v", acs.CodeOf(aerr), aerr)
	}
}

func TestPaceDeadlineIsNotNoAnswer(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := newTestClient(t, srv, func(c *Config) { c.Limiter = rate.NewLimiter(rate.Every(time.Hour), 1) })
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet, Idempotent: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Idempotent: true})
	aerr := TransportFailure("sync", "test", err)
	if acs.CodeOf(aerr) != acs.RateLimited || strings.Contains(aerr.Error(), "no answer") || hits.Load() != 1 {
		t.Fatalf("a wait past the deadline: %v (code %v) after %d requests", aerr, acs.CodeOf(aerr), hits.Load())
	}
}
