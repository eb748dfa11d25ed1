package origo

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
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// fakeClock is a settable clock shared by the simulator and the issuer.
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

// env is the Origo simulator on loopback, an in-memory door ACS, and an
// issuer in front of both, sharing a fake clock.
type env struct {
	sim  *origosim.Server
	srv  *httptest.Server
	door *acstest.Memory
	iss  *Issuer
	clk  *fakeClock
	cfg  Config
}

var doorLevels = []acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}}

// simConfig is the Config that reaches the simulator at origin.
func simConfig(origin string) Config {
	return Config{AuthURL: origin, BaseURL: origin, OrganizationID: origosim.DefaultOrganizationID,
		ClientID: origosim.DefaultClientID, ClientSecret: origosim.DefaultClientSecret,
		PartNumber: origosim.DefaultPartNumber, CardFormat: acs.H10301, FacilityCode: 42}
}

// testOptions are the options every test uses: the fake clock and sleep,
// and millisecond retry waits.
func testOptions(clk *fakeClock, extra ...Option) []Option {
	return append([]Option{WithClock(clk.Now), withSleep(clk.Sleep), WithRetry(2, time.Millisecond, 10*time.Second)}, extra...)
}

func newEnv(t testing.TB, simOpts []origosim.Option, opts ...Option) *env {
	t.Helper()
	clk := newFakeClock()
	sim := origosim.New(append([]origosim.Option{origosim.WithClock(clk.Now)}, simOpts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	door := acstest.NewMemory(doorLevels, acstest.WithName("door"))
	cfg := simConfig(srv.URL)
	iss, err := New(door, cfg, testOptions(clk, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sim: sim, srv: srv, door: door, iss: iss, clk: clk, cfg: cfg}
}

func testGrant(n int, now time.Time, levels ...string) acs.Grant {
	s := strconv.Itoa(n)
	return acs.Grant{
		Person:         acs.Person{ExternalID: "visit-" + s, FirstName: "Ada", LastName: "Visitor" + s, Email: "ada" + s + "@example.com"},
		Card:           acs.Card{Format: acs.H10301, Facility: 7, Number: uint64(200 + n)},
		CredentialType: CredentialType,
		AccessLevels:   levels,
		ValidFrom:      now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:     now.Add(2 * time.Hour).Truncate(time.Second),
	}
}

// calls returns "METHOD path" of the requests logged below the API path
// (the token request as "POST token").
func (e *env) calls() []string {
	var out []string
	api := origosim.APIPath(e.cfg.OrganizationID)
	for _, r := range e.sim.Requests() {
		p := r.Path
		if p == origosim.TokenPath(e.cfg.OrganizationID) {
			p = "token"
		} else if len(p) > len(api) && p[:len(api)] == api {
			p = p[len(api):]
		}
		out = append(out, r.Method+" "+p)
	}
	return out
}

func wantCalls(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n  got  %q\n  want %q", got, want)
	}
}

// doorOpens reports whether the door ACS opens level for the mobile ID of
// ref now.
func (e *env) doorOpens(ref acs.CredentialRef, level string) bool {
	d, ok := e.iss.DoorRef(ref)
	if !ok {
		return false
	}
	return e.door.Opens(d, level, e.clk.Now())
}
