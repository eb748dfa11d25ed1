package acshttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestAttemptTimeout: the timeout of the http.Client given bounds each
// attempt, the wait for the answer and the reading of its body alike; an
// idempotent attempt that timed out waiting for the answer is sent again
// (one whose body stalled is not: the body is read after the retries).
func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/api/headers": // never answers
			<-release
		case "/api/body": // answers, then stalls in the body
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("ab"))
			w.(http.Flusher).Flush()
			<-release
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv, func(cfg *Config) {
		hc := *srv.Client()
		hc.Timeout = 50 * time.Millisecond
		cfg.HTTPClient = &hc
		cfg.RetryMax = 1
	})
	for path, attempts := range map[string]int32{"/headers": 2, "/body": 1} {
		hits.Store(0)
		_, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: path, Idempotent: true})
		var te *TransportError
		if !errors.As(err, &te) || !te.Timeout() {
			t.Errorf("%s: err %v, want a timeout", path, err)
		}
		if n := hits.Load(); n != attempts {
			t.Errorf("%s: %d attempts, want %d", path, n, attempts)
		}
	}
	resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/ok"})
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("plain request: %v %v", resp, err)
	}
}
