package acshttp

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Before: "test op: unavailable: no answer from the ACS: http: server gave
// HTTP response to HTTPS client", after four attempts (1.3 s of backoff
// with the defaults). After: one attempt, Misconfigured, and the message
// says the port speaks plain HTTP.
func TestHTTPSToPlainHTTPPortIsMisconfiguredAndNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	u, err := CheckBaseURL(strings.Replace(srv.URL, "http://", "https://", 1), false)
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{}
	c, err := New(Config{Provider: "test", BaseURL: u, HTTPClient: &http.Client{Transport: ct}, RetryWaitMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	var se *SchemeError
	if !errors.As(err, &se) || se.Scheme != "https" || se.NotHTTP {
		t.Fatalf("https to a plain-HTTP port: %v (%T), want a SchemeError", err, err)
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("%d attempts, want 1: the failure was retried", n)
	}
	wrapped := TransportFailure("op", "test", err)
	if acs.CodeOf(wrapped) != acs.Misconfigured || acs.IsRetryable(wrapped) {
		t.Errorf("classified %v (retryable %v), want misconfigured and not retryable", acs.CodeOf(wrapped), acs.IsRetryable(wrapped))
	}
	msg := wrapped.Error()
	t.Logf("after: %s", msg)
	for _, want := range []string{"plain HTTP", u.Host, "https"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "no answer") {
		t.Errorf("the server answered, but the message says otherwise: %s", msg)
	}
}

func TestPlainHTTPToTLSPortIsMisconfigured(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	u, err := CheckBaseURL(strings.Replace(srv.URL, "https://", "http://", 1), false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Provider: "test", BaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/x", Idempotent: true})
	var se *SchemeError
	if !errors.As(err, &se) || se.Scheme != "http" {
		t.Fatalf("http to a TLS port: %v (%T), want a SchemeError", err, err)
	}
	wrapped := TransportFailure("op", "test", err)
	if acs.CodeOf(wrapped) != acs.Misconfigured || !strings.Contains(wrapped.Error(), "use an https:// URL") {
		t.Errorf("classified %v: %v", acs.CodeOf(wrapped), wrapped)
	}
}

func TestUntrustedCertificateIsMisconfiguredNotNoAnswer(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	u, _ := CheckBaseURL(srv.URL, false)
	ct := &countingTransport{}
	c, err := New(Config{Provider: "test", BaseURL: u, HTTPClient: &http.Client{Transport: ct}, RetryWaitMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Idempotent: true})
	var ce *CertificateError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "x509") {
		t.Fatalf("self-signed certificate: %v (%T), want a CertificateError", err, err)
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("%d attempts, want 1: the refusal was retried", n)
	}
	wrapped := TransportFailure("op", "test", err)
	if acs.CodeOf(wrapped) != acs.Misconfigured || !strings.Contains(wrapped.Error(), "CA") {
		t.Errorf("classified %v: %v", acs.CodeOf(wrapped), wrapped)
	}
}

// countingTransport counts the attempts that reach the default transport.
type countingTransport struct{ n atomic.Int32 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}
