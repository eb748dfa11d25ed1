package verkada

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
	"github.com/acsbridge/acsbridge/wiegand"
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

// Sleep advances the clock instead of sleeping.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// env is a simulator on loopback and a provider pointed at it, sharing a
// fake clock.
type env struct {
	sim *verkadasim.Server
	srv *httptest.Server
	p   *Provider
	clk *fakeClock
	cfg Config
}

// testOptions are the provider options every test uses: the fake clock
// and sleep, the default rate-limit window, and millisecond retry waits.
func testOptions(clk *fakeClock, extra ...Option) []Option {
	return append([]Option{WithClock(clk.Now), withSleep(clk.Sleep), WithRetry(3, time.Millisecond, 90*time.Second)}, extra...)
}

func newEnv(t testing.TB, simOpts []verkadasim.Option, opts ...Option) *env {
	t.Helper()
	clk := newFakeClock()
	sim := verkadasim.New(append([]verkadasim.Option{verkadasim.WithClock(clk.Now)}, simOpts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + verkadasim.BasePath, APIKey: verkadasim.DefaultAPIKey}
	p, err := New(cfg, testOptions(clk, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sim: sim, srv: srv, p: p, clk: clk, cfg: cfg}
}

// levels returns the seeded group IDs.
func (e *env) levels() []string {
	var out []string
	for _, g := range e.sim.Groups() {
		out = append(out, g.ID)
	}
	return out
}

func testGrant(n int, now time.Time, levels ...string) acs.Grant {
	s := itoa(n)
	return acs.Grant{
		Person:       acs.Person{ExternalID: "visit-" + s, FirstName: "Ada", LastName: "Visitor" + s, Email: "ada" + s + "@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: uint64(200 + n)},
		AccessLevels: levels,
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(2 * time.Hour).Truncate(time.Second),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// calls returns "METHOD path?query" of the requests logged, token
// exchanges included.
func calls(reqs []verkadasim.Request) []string {
	var out []string
	for _, r := range reqs {
		s := r.Method + " " + r.Path
		if r.RawQuery != "" {
			s += "?" + r.RawQuery
		}
		out = append(out, s)
	}
	return out
}

// exchanges counts the token exchanges logged.
func exchanges(reqs []verkadasim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Path == verkadasim.TokenPath {
			n++
		}
	}
	return n
}

func wantCalls(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n  got  %q\n  want %q", got, want)
	}
}

// harness adapts an env to the conformance kit; its oracle is the
// simulator's state.
type harness struct{ e *env }

func (h harness) Provider() acs.Provider     { return h.e.p }
func (h harness) AccessLevels() []string     { return h.e.levels() }
func (h harness) Now() time.Time             { return h.e.clk.Now() }
func (h harness) UnknownAccessLevel() string { return "67727570-0000-4000-8000-0000000000ff" }

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.e.sim.Census()
	return acstest.Census{Cardholders: c.Users, Credentials: c.Cards}, nil
}

func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	id := ref.ID
	if id == "" {
		f := ref.Card.Format
		if !f.Known() {
			return false, wiegand.ErrFormat
		}
		typ := verkadasim.WiegandCardType(f)
		ci, ok := h.e.sim.FindCard(ref.CardholderExternalID, typ, ref.Card.Facility, ref.Card.Number)
		if !ok {
			return false, nil
		}
		id = ci.ID
	}
	return h.e.sim.Opens(id, level, at), nil
}

var _ acstest.PINHarness = harness{}

// OpensWithPIN is the keypad oracle (acstest.PINHarness): the simulator's
// PINOpens for the access group.
func (h harness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.e.sim.PINOpens(pin.Reveal(), level, at), nil
}
