package alta

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// fakeClock is a settable clock shared by the simulator and the provider.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a simulator on loopback and a provider pointed at it.
type env struct {
	sim *altasim.Server
	srv *httptest.Server
	p   *Provider
	cfg Config
	clk *fakeClock
}

func simConfig(url string) Config {
	c := altasim.DefaultCredentials()
	return Config{BaseURL: url + altasim.BasePath, Username: c.Email, Password: c.Password, OrgID: altasim.OrgID}
}

// testOptions are the provider options every test uses: no client rate
// limit and millisecond retry waits.
func testOptions(extra ...Option) []Option {
	return append([]Option{WithRateLimit(0, 0), WithRetry(3, time.Millisecond, 5*time.Millisecond)}, extra...)
}

// newEnv starts a simulator and a provider sharing a fake clock.
func newEnv(t testing.TB, simOpts []altasim.Option, opts ...Option) *env {
	t.Helper()
	clk := newFakeClock()
	sim := altasim.New(append([]altasim.Option{altasim.WithClock(clk.Now)}, simOpts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := simConfig(srv.URL)
	p, err := New(cfg, testOptions(append([]Option{WithClock(clk.Now)}, opts...)...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sim: sim, srv: srv, p: p, cfg: cfg, clk: clk}
}

// levels returns the seeded group IDs.
func (e *env) levels() []string {
	var out []string
	for _, g := range e.sim.Groups() {
		out = append(out, g.GroupID())
	}
	return out
}

func testGrant(n int, now time.Time, levels ...string) acs.Grant {
	return acs.Grant{
		Person:       acs.Person{ExternalID: "visit-" + strconv.Itoa(n), FirstName: "Ada", LastName: "Visitor" + strconv.Itoa(n), Email: "ada" + strconv.Itoa(n) + "@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: uint64(200 + n)},
		AccessLevels: levels,
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(2 * time.Hour).Truncate(time.Second),
	}
}

// calls returns "METHOD path?query" of the logged requests with the
// organisation prefix shortened to /o.
func calls(reqs []altasim.Request) []string {
	var out []string
	prefix := "/orgs/" + strconv.Itoa(altasim.OrgID)
	for _, r := range reqs {
		s := r.Method + " " + strings.Replace(r.Path, prefix, "/o", 1)
		if r.RawQuery != "" {
			s += "?" + r.RawQuery
		}
		out = append(out, s)
	}
	return out
}

// routes returns "METHOD path" of the logged requests, IDs replaced by *,
// queries dropped.
func routes(reqs []altasim.Request) []string {
	var out []string
	for _, c := range calls(reqs) {
		c, _, _ = strings.Cut(c, "?")
		parts := strings.Split(c, "/")
		for i, p := range parts {
			if _, ok := parseAltaID(p); ok && i > 0 && parts[i-1] != "o" {
				parts[i] = "*"
			}
		}
		out = append(out, strings.Join(parts, "/"))
	}
	return out
}

func logins(reqs []altasim.Request) []string {
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/auth/") {
			out = append(out, r.Path)
		}
	}
	return out
}

func wantRoutes(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n  got  %q\n  want %q", got, want)
	}
}

func mustID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// harness adapts an env to the conformance kit; its oracle is the
// simulator's state.
type harness struct{ e *env }

func (h harness) Provider() acs.Provider     { return h.e.p }
func (h harness) AccessLevels() []string     { return h.e.levels() }
func (h harness) Now() time.Time             { return h.e.clk.Now() }
func (h harness) UnknownAccessLevel() string { return "999999999" }

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.e.sim.Census()
	return acstest.Census{Cardholders: c.Users, Credentials: c.Credentials}, nil
}

func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	id := ref.ID
	if id == "" {
		ci, ok := h.e.sim.FindCredential(ref.CardholderExternalID, ref.Card.Format, ref.Card.Facility, ref.Card.Number)
		if !ok {
			return false, nil
		}
		id = strconv.FormatInt(ci.ID, 10)
	}
	return h.e.sim.Opens(id, level, at), nil
}

var _ acstest.PINHarness = harness{}

// OpensWithPIN is the keypad oracle (acstest.PINHarness): the simulator's
// PINOpens for the group.
func (h harness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.e.sim.PINOpens(pin.Reveal(), level, at), nil
}
