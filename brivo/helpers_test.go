package brivo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
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

// env is a simulator on loopback and a provider pointed at it.
type env struct {
	sim *brivosim.Server
	srv *httptest.Server
	p   *Provider
	cfg Config
}

func simConfig(url string) Config {
	c := brivosim.DefaultCredentials()
	return Config{
		BaseURL: url + brivosim.APIPrefix, AuthURL: url,
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, APIKey: c.APIKey, Username: c.Username, Password: c.Password,
	}
}

// testOptions are the provider options every test uses: no client rate
// limit and millisecond retry waits.
func testOptions(extra ...Option) []Option {
	return append([]Option{WithRateLimit(0, 0), WithRetry(3, time.Millisecond, 5*time.Millisecond)}, extra...)
}

func newEnv(t testing.TB, simOpts []brivosim.Option, opts ...Option) *env {
	t.Helper()
	sim := brivosim.New(simOpts...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := simConfig(srv.URL)
	p, err := New(cfg, testOptions(opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sim: sim, srv: srv, p: p, cfg: cfg}
}

// levels returns the seeded group IDs.
func (e *env) levels() []string {
	var out []string
	for _, g := range e.sim.Groups() {
		out = append(out, strconv.FormatInt(g.ID, 10))
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

// apiCalls returns "METHOD path?query" of the API requests logged (token
// requests excluded), with the API prefix removed.
func apiCalls(reqs []brivosim.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Path == brivosim.TokenPath {
			continue
		}
		s := r.Method + " " + strings.TrimPrefix(r.Path, brivosim.APIPrefix)
		if r.RawQuery != "" {
			s += "?" + r.RawQuery
		}
		out = append(out, s)
	}
	return out
}

func tokenGrants(reqs []brivosim.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Path == brivosim.TokenPath {
			out = append(out, strings.TrimPrefix(r.Body, "grant_type="))
		}
	}
	return out
}

// harness adapts an env to the conformance kit.
type harness struct{ e *env }

var _ acstest.SwipeHarness = harness{}

func (h harness) Provider() acs.Provider     { return h.e.p }
func (h harness) AccessLevels() []string     { return h.e.levels() }
func (h harness) Now() time.Time             { return time.Now() }
func (h harness) UnknownAccessLevel() string { return "999999999" }

// Swipe presents card at a door that level (a group) opens
// (acstest.SwipeHarness), added on first use when no door opens for the
// group. The simulator decides and records the event at the time of its
// clock, which in these tests is the harness's: the wall clock.
func (h harness) Swipe(_ context.Context, card acs.Card, level string) error {
	f := card.Format
	if !f.Known() {
		return fmt.Errorf("card %v has no known format", card)
	}
	group, err := strconv.ParseInt(level, 10, 64)
	if err != nil {
		return fmt.Errorf("level %q is not a Brivo group ID", level)
	}
	var door int64
	for _, d := range h.e.sim.Doors() {
		if slices.Contains(d.Groups, group) {
			door = d.ID
			break
		}
	}
	if door == 0 {
		d, err := h.e.sim.AddDoor("Door of group "+level, group)
		if err != nil {
			return err
		}
		door = d.ID
	}
	_, err = h.e.sim.Swipe(wiegand.Card{Format: f, Facility: card.Facility, Number: card.Number}, door, h.Now())
	return err
}

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.e.sim.Census()
	return acstest.Census{Cardholders: c.Users, Credentials: c.Credentials}, nil
}

func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	id := ref.ID
	if id == "" {
		enc, err := encodeCard(ref.Card)
		if err != nil {
			return false, err
		}
		ci, ok := h.e.sim.FindCredential(ref.CardholderExternalID, enc)
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
