package netbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Every option given a value it cannot use makes New fail with
// InvalidArgument, naming the option; the HTTP options mean what they
// mean in the other adapters.
func TestOptionsRefused(t *testing.T) {
	cfg := Config{URL: "http://127.0.0.1:1" + netboxsim.Path, Username: "u", Password: "p"}
	for _, c := range []struct {
		opt  Option
		name string
	}{
		{WithTimeout(0), "WithTimeout"},
		{WithTimeout(-time.Second), "WithTimeout"},
		{WithRateLimit(-1, 1), "WithRateLimit"},
		{WithRateLimit(1, -1), "WithRateLimit"},
		{WithRetry(1, time.Second, time.Millisecond), "WithRetry"},
		{WithRetry(1, -time.Second, 0), "WithRetry"},
		{WithHTTPClient(nil), "WithHTTPClient"},
		{WithClock(nil), "WithClock"},
		{WithCacheTTL(0), "WithCacheTTL"},
		{WithEvents(EventOptions{Interval: -time.Second}), "WithEvents"},
		{WithEvents(EventOptions{BackoffMin: time.Minute, BackoffMax: time.Second}), "WithEvents"},
		{WithDoorDirection("", acs.DirectionIn), "WithDoorDirection"},
		{WithDoorDirection("1\x00", acs.DirectionIn), "WithDoorDirection"},
		{WithDoorDirection("1", acs.Direction(99)), "WithDoorDirection"},
	} {
		_, err := New(cfg, c.opt)
		if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// WithHTTPClient excludes WithTLS and WithTimeout.
	for _, o := range []Option{WithTLS(TLSOptions{InsecureSkipVerify: true}), WithTimeout(time.Second)} {
		if _, err := New(cfg, WithHTTPClient(http.DefaultClient), o); acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), "WithHTTPClient") {
			t.Errorf("WithHTTPClient with another transport option: %v", err)
		}
	}
	// Every refused value is reported, not only the first.
	_, err := New(cfg, WithTimeout(0), WithCacheTTL(-time.Minute))
	if err == nil || !strings.Contains(err.Error(), "WithTimeout") || !strings.Contains(err.Error(), "WithCacheTTL") {
		t.Errorf("two bad options: %v", err)
	}
	// Usable values, zero rates and retries included, are accepted.
	if _, err := New(cfg, WithTimeout(time.Second), WithRateLimit(0, 0), WithRetry(0, 0, 0), WithCacheTTL(time.Second),
		WithDoorDirection("1", acs.DirectionIn), WithDoorDirection("2", acs.DirectionOut)); err != nil {
		t.Errorf("usable options refused: %v", err)
	}
}

// WithRetry(0, …) never sends a request again; a proxy's 503 is then the
// answer.
func TestWithRetryZeroNeverRetries(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithRetry(0, 0, 0)}})
	e.sim.AddFault(netboxsim.Fault{Command: "GetAPIVersion", HTTPStatus: http.StatusServiceUnavailable})
	if _, err := e.p.APIVersion(t.Context()); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("a 503 without retries: %v", err)
	}
	if n := count(e.sim.Requests(), "GetAPIVersion"); n != 1 {
		t.Errorf("GetAPIVersion sent %d times, want once", n)
	}
}

// Door events carry the direction WithDoorDirection gives their reader.
func TestDoorDirection(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithDoorDirection(netboxsim.ReaderLobby, acs.DirectionIn)}})
	g := e.grant(1)
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	e.swipe(netboxsim.ReaderLobby, g.Card)
	e.swipe(netboxsim.ReaderFloor3, g.Card)
	got := collect(t, e, "", 2)
	if got[0].Direction != acs.DirectionIn || got[1].Direction != acs.DirectionUnknown {
		t.Errorf("directions %v and %v, want in and unknown", got[0].Direction, got[1].Direction)
	}
}
