package brivo

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

func asAcs(err error, target **acs.Error) bool { return errors.As(err, target) }

func TestGatewayOverQPSIsWaitedOutAndRetried(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithRetryAfter(0))
	ctx := t.Context()
	// Idempotent (acshttp) and non-idempotent (adapter) requests alike.
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups", Kind: brivosim.FaultOverQPS, Times: 2})
	e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/credentials", Kind: brivosim.FaultOverQPS, Times: 2})
	e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/users", Kind: brivosim.FaultOverQPS, Times: 1})
	p, err := e.p.Provision(ctx, testGrant(0, clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Throttled(); got != 5 {
		t.Errorf("%d throttled answers, want 5", got)
	}
	if c := e.sim.Census(); c != (brivosim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
	if !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("does not open")
	}
}

func TestGatewayOverQPSLongRetryAfterIsReturned(t *testing.T) {
	e, _ := clockEnv(t, brivosim.WithRetryAfter(30))
	e.sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultOverQPS, Times: -1})
	_, err := e.p.AccessLevels(t.Context())
	if acs.CodeOf(err) != acs.RateLimited {
		t.Fatalf("got %v, want rate limited", err)
	}
	if d, ok := acs.RetryAfterOf(err); !ok || d != 30*time.Second {
		t.Errorf("RetryAfter %v %v, want 30s", d, ok)
	}
	var ve *APIError
	if !errors.As(err, &ve) || ve.Status != 403 || ve.Gateway != "ERR_403_DEVELOPER_OVER_QPS" || ve.Message != "Developer Over Qps" {
		t.Errorf("vendor error %+v", ve)
	}
	if !acs.IsRetryable(err) {
		t.Error("not retryable")
	}
	if e.sim.Throttled() != 1 {
		t.Errorf("%d throttled answers: a 30 s Retry-After was not returned at once", e.sim.Throttled())
	}
}

func TestSimulatedRateLimit(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithRateLimit(3), brivosim.WithRetryAfter(0))
	ctx := t.Context()
	for range 3 {
		if err := e.p.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The clock stands still, so the window never reopens.
	if err := e.p.Ping(ctx); acs.CodeOf(err) != acs.RateLimited {
		t.Fatalf("fourth ping in one second: %v, want rate limited", err)
	}
	clk.Advance(time.Second)
	if err := e.p.Ping(ctx); err != nil {
		t.Fatalf("next second: %v", err)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   acs.Code
		text   string
	}{
		{403, acs.Unauthenticated, "API key"}, // Developer Inactive
		{596, acs.Unsupported, "service not found"},
		{503, acs.Unavailable, "Service Unavailable"},
		{500, acs.Unavailable, "Internal Server Error"},
		{404, acs.NotFound, "Not Found"},
		{400, acs.InvalidArgument, "Bad Request"},
		{409, acs.Conflict, "Conflict"},
		{412, acs.Conflict, "Precondition Failed"},
		{415, acs.InvalidArgument, "Unsupported Media Type"},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			e, _ := clockEnv(t)
			e.sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultStatus, Status: tc.status, Times: -1})
			_, err := e.p.AccessLevels(t.Context())
			if acs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("HTTP %d: %v (code %v), want %v mentioning %q", tc.status, err, acs.CodeOf(err), tc.code, tc.text)
			}
			var ve *APIError
			if !errors.As(err, &ve) || ve.Status != tc.status {
				t.Errorf("no APIError with status %d: %v", tc.status, err)
			}
		})
	}
}

func TestTransientFailuresRetriedWhenIdempotent(t *testing.T) {
	e, _ := clockEnv(t, brivosim.WithRetryAfter(0))
	e.sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultStatus, Status: 503, Times: 2})
	e.sim.AddFault(brivosim.Fault{Path: "/credentials/formats", Kind: brivosim.FaultDropBeforeCommit, Times: 2})
	if _, err := e.p.AccessLevels(t.Context()); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if _, err := e.p.CredentialFormats(t.Context()); err != nil {
		t.Fatalf("after two dropped connections: %v", err)
	}
	e.sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultStatus, Status: 503, Times: -1})
	if _, err := e.p.AccessLevels(t.Context()); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("persistent 503: %v", err)
	}
}

// A base URL without /v1/api: the gateway answers 596. Before:
// "unsupported: service not found: check the base URL, the region and the
// /v1/api path"; now misconfigured, which it is.
func TestWrongPathIsMisconfigured(t *testing.T) {
	e, _ := clockEnv(t)
	cfg := e.cfg
	cfg.BaseURL = e.srv.URL // missing /v1/api
	p, err := New(cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); acs.CodeOf(err) != acs.Misconfigured || !strings.Contains(err.Error(), "/v1/api") ||
		!strings.Contains(err.Error(), "the base URL "+e.srv.URL+" does not point at the Brivo API") {
		t.Fatalf("got %v, want misconfigured pointing at the base URL", err)
	}
}

func TestTooManyRequestsRetried(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithRetryAfter(0))
	e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/credentials", Kind: brivosim.FaultStatus, Status: 429, Times: 2})
	e.sim.AddFault(brivosim.Fault{Method: "PUT", Path: "/groups/*/users/*", Kind: brivosim.FaultStatus, Status: 429, Times: 2})
	if _, err := e.p.Provision(t.Context(), testGrant(0, clk.Now(), e.levels()[0])); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Census(); c != (brivosim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
}

func TestUnauthorizedRetriedOnceWithFreshToken(t *testing.T) {
	e, _ := clockEnv(t)
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups", Kind: brivosim.FaultStatus, Status: 401, Times: 1})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatalf("one 401: %v", err)
	}
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups", Kind: brivosim.FaultStatus, Status: 401, Times: -1})
	e.sim.ResetRequests()
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated || !strings.Contains(err.Error(), "invalid_token") {
		t.Fatalf("persistent 401: %v", err)
	}
	if calls := apiCalls(e.sim.Requests()); len(calls) != 2 {
		t.Errorf("persistent 401 sent %d requests, want 2 (one retry)", len(calls))
	}
}
