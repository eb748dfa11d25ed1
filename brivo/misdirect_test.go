package brivo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
)

// The API URL and the auth URL given each other's value. Before: "brivo
// ping: unauthenticated: the client credentials are missing: HTTP 401:
// unauthorized: Full authentication is required to access this resource".
// After: misconfigured, naming the auth URL as the one that is wrong and
// saying the two look swapped.
func TestSwappedURLsAreMisconfigured(t *testing.T) {
	e, _ := clockEnv(t)
	cfg := simConfig(e.srv.URL)
	cfg.BaseURL, cfg.AuthURL = cfg.AuthURL, cfg.BaseURL
	p, err := New(cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Misconfigured || acs.IsRetryable(err) {
		t.Fatalf("swapped URLs: %v (code %v), want misconfigured", err, acs.CodeOf(err))
	}
	msg := err.Error()
	t.Logf("after: %s", msg)
	for _, want := range []string{"the auth URL " + cfg.AuthURL + " does not point at Brivo's OAuth server", "look swapped", DefaultAuthURL} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "missing") || strings.Contains(msg, "refused") {
		t.Errorf("a wrong URL described as a credentials problem: %s", msg)
	}
}

// The auth URL leading to a server that is not OAuth's: a 404 page, a
// 200 page, the API's own {"code":…} error.
func TestAuthURLNotOAuthIsMisconfigured(t *testing.T) {
	e, _ := clockEnv(t)
	answers := map[string]http.HandlerFunc{
		"404 page": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"200 page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
		},
		"API shape": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":400,"message":"Invalid request"}`))
		},
	}
	for name, h := range answers {
		t.Run(name, func(t *testing.T) {
			other := httptest.NewServer(h)
			t.Cleanup(other.Close)
			cfg := simConfig(e.srv.URL)
			cfg.AuthURL = other.URL
			p, err := New(cfg, testOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ping(t.Context())
			if acs.CodeOf(err) != acs.Misconfigured || !strings.Contains(err.Error(), "the auth URL "+other.URL+" does not point at Brivo's OAuth server") {
				t.Fatalf("got %v (code %v), want misconfigured naming the auth URL", err, acs.CodeOf(err))
			}
		})
	}
}

// An outage page from the auth server stays an outage.
func TestAuthServerOutagePageIsUnavailable(t *testing.T) {
	e, _ := clockEnv(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body>Maintenance</body></html>"))
	}))
	t.Cleanup(other.Close)
	cfg := simConfig(e.srv.URL)
	cfg.AuthURL = other.URL
	p, err := New(cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("got %v (code %v), want unavailable", err, acs.CodeOf(err))
	}
}

// The API URL leading to the auth server: the token comes, the group
// listing is not there.
func TestBaseURLNotTheAPIIsMisconfigured(t *testing.T) {
	e, _ := clockEnv(t)
	cfg := simConfig(e.srv.URL)
	cfg.BaseURL = cfg.AuthURL
	p, err := New(cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Misconfigured || !strings.Contains(err.Error(), "the base URL "+cfg.BaseURL+" does not point at the Brivo API") {
		t.Fatalf("got %v (code %v), want misconfigured naming the base URL", err, acs.CodeOf(err))
	}
}

// Brivo's own hosts swapped are refused before any request.
func TestBrivoHostsSwappedRefusedByNew(t *testing.T) {
	cfg := simConfig("https://unused.example.com")
	cfg.BaseURL, cfg.AuthURL = DefaultAuthURL, DefaultBaseURL
	_, err := New(cfg)
	if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), "swapped") {
		t.Fatalf("got %v, want invalid argument saying the URLs are swapped", err)
	}
	cfg.BaseURL, cfg.AuthURL = EUBaseURL, EUAuthURL
	if _, err := New(cfg); err != nil {
		t.Fatalf("EU hosts: %v", err)
	}
}
