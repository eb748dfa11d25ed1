package verkada

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// pingAll pings from n goroutines at once and fails on any error.
func pingAll(t *testing.T, p *Provider, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			errs <- p.Ping(t.Context())
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func count401(reqs []verkadasim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Status == 401 {
			n++
		}
	}
	return n
}

func TestConcurrentCallersShareOneExchange(t *testing.T) {
	e := newEnv(t, nil, WithRateLimit(0, 0))
	const n = 64
	pingAll(t, e.p, n)
	if got := exchanges(e.sim.Requests()); got != 1 {
		t.Fatalf("first burst: %d token exchanges, want 1", got)
	}

	// Tokens cannot be refreshed: at 25 minutes the key is exchanged again,
	// before the token runs out, so nothing is refused.
	e.clk.Advance(DefaultTokenMaxAge)
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	reqs := e.sim.Requests()
	if got := exchanges(reqs); got != 1 || count401(reqs) != 0 {
		t.Fatalf("after 25 min: %d exchanges and %d refusals, want 1 and 0", got, count401(reqs))
	}

	// The server ends the token early: every caller is refused once, one
	// exchange serves them all.
	e.sim.ExpireTokens()
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	if got := exchanges(e.sim.Requests()); got != 1 {
		t.Fatalf("after server-side expiry: %d exchanges, want 1", got)
	}
}

func TestTokenUsedUntilMaxAge(t *testing.T) {
	e := newEnv(t, nil, WithTokenMaxAge(20*time.Minute))
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(20*time.Minute - time.Second)
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := exchanges(e.sim.Requests()); got != 0 {
		t.Fatalf("%d exchanges before the max age", got)
	}
	e.clk.Advance(time.Second)
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := exchanges(e.sim.Requests()); got != 1 {
		t.Fatalf("%d exchanges at the max age, want 1", got)
	}
	if _, err := New(e.cfg, WithTokenMaxAge(31*time.Minute)); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("a max age beyond the 30-minute lifetime: %v", err)
	}
}

var provisionSteps = []struct{ method, path string }{
	{"GET", "/access/v1/access_users/user"},
	{"POST", "/core/v1/user"},
	{"POST", "/access/v1/credentials/card"},
	{"PUT", "/access/v1/access_users/user/start_date"},
	{"PUT", "/access/v1/access_users/user/end_date"},
	{"PUT", "/access/v1/access_groups/group/user"},
}

// The token runs out in the middle of a provision: the refused request
// is sent again after one exchange, and nothing is created twice.
func TestTokenExpiresMidProvision(t *testing.T) {
	for _, step := range provisionSteps {
		t.Run(step.method+" "+step.path, func(t *testing.T) {
			e := newEnv(t, nil)
			if err := e.p.Ping(t.Context()); err != nil { // hold a token already
				t.Fatal(err)
			}
			e.sim.AddFault(verkadasim.Fault{Method: step.method, Path: step.path, Kind: verkadasim.FaultExpireToken})
			e.sim.ResetRequests()
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.Requests()
			if exchanges(reqs) != 1 || count401(reqs) != 1 {
				t.Errorf("%d exchanges and %d refusals, want 1 and 1", exchanges(reqs), count401(reqs))
			}
			creates := 0
			for _, r := range reqs {
				if r.Method == "POST" && r.Path != verkadasim.TokenPath && r.Status/100 == 2 {
					creates++
				}
			}
			if creates != 2 {
				t.Errorf("%d successful creates, want exactly 2 (user and card)", creates)
			}
			if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
				t.Errorf("census %+v, want one user and one card", c)
			}
			if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Error("card does not open")
			}
		})
	}
}

func TestBadAPIKey(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.cfg
	cfg.APIKey = "wrong-key-9f3a"
	p, err := New(cfg, testOptions(e.clk)...)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(t.Context())
	var ae *acs.Error
	if acs.CodeOf(err) != acs.Unauthenticated || !errors.As(err, &ae) || ae.Op != "ping" || ae.Provider != Name {
		t.Fatalf("got %v, want an unauthenticated ping error", err)
	}
	if !strings.Contains(err.Error(), "API key was refused") || strings.Contains(err.Error(), cfg.APIKey) {
		t.Errorf("error text: %v", err)
	}
	var ve *APIError
	if !errors.As(err, &ve) || ve.Status != 401 {
		t.Errorf("vendor error not reachable: %v", err)
	}
	wantCalls(t, calls(e.sim.Requests()), "POST /token")
}

// A failed exchange is shared by the callers waiting for it, and a
// transient failure of the exchange is retried.
func TestExchangeRetriedAfterServerError(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(verkadasim.Fault{Path: verkadasim.TokenPath, Kind: verkadasim.FaultStatus, Status: 503})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := exchanges(e.sim.Requests()); got != 2 {
		t.Errorf("%d exchanges, want 2 (one refused with 503)", got)
	}
}

func TestExpiredTokenBodyIsRead(t *testing.T) {
	e := newEnv(t, nil, WithRetry(0, time.Millisecond, time.Millisecond))
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Every request is refused as expired: after one new exchange the
	// call gives up with the vendor's answer.
	e.sim.AddFault(verkadasim.Fault{Path: "/access/v1/access_groups", Kind: verkadasim.FaultStatus, Status: 401, Times: -1})
	err := e.p.Ping(t.Context())
	var ve *APIError
	if acs.CodeOf(err) != acs.Unauthenticated || !errors.As(err, &ve) || ve.ID != "0e2d" || ve.Message != "Token expired" {
		t.Fatalf("got %v (%+v)", err, ve)
	}
}

// A base URL where Verkada's API does not answer. Before: "verkada ping:
// not found: HTTP 404 (4e04): Not Found", read as a missing record; a
// web page answering the exchange was "unauthenticated: the token
// exchange answered without a token". After: misconfigured, naming the
// expected host.
func TestWrongBaseURLIsMisconfigured(t *testing.T) {
	e := newEnv(t, nil)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Command</body></html>"))
	}))
	t.Cleanup(page.Close)
	for _, base := range []string{e.srv.URL + "/zzz", page.URL} {
		p, err := New(Config{BaseURL: base, APIKey: verkadasim.DefaultAPIKey}, testOptions(e.clk)...)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Ping(t.Context())
		if acs.CodeOf(err) != acs.Misconfigured || acs.IsRetryable(err) {
			t.Fatalf("base URL %s: %v (code %v), want misconfigured", base, err, acs.CodeOf(err))
		}
		if msg := err.Error(); !strings.Contains(msg, "does not point at the Verkada API") || !strings.Contains(msg, USBaseURL) || strings.Contains(msg, "key was refused") {
			t.Errorf("message does not say which URL is wrong: %s", msg)
		}
		t.Logf("after: %v", err)
	}
}
