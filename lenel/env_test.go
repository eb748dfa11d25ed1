package lenel

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// testClock is a settable clock shared by the provider and the simulator.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 10, 9, 0, 0, 500_000_000, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a provider wired to a simulator on loopback.
type env struct {
	t     testing.TB
	clock *testClock
	sim   *lenelsim.Server
	srv   *httptest.Server
	p     *Provider
	cfg   Config
}

type envOpts struct {
	sim  []lenelsim.Option
	opts []Option
	cfg  func(*Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	clock := newTestClock()
	sim := lenelsim.New(append([]lenelsim.Option{lenelsim.WithClock(clock.Now)}, o.sim...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	opts := append([]Option{
		WithClock(clock.Now),
		WithRetry(2, time.Millisecond, 5*time.Millisecond),
		WithKeepAlive(0),
	}, o.opts...)
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return &env{t: t, clock: clock, sim: sim, srv: srv, p: p, cfg: cfg}
}

// grant is a valid grant for visitor n with the given level IDs.
func (e *env) grant(n int, levels ...string) acs.Grant {
	now := e.clock.Now()
	if len(levels) == 0 {
		levels = []string{"1"}
	}
	return acs.Grant{
		Person: acs.Person{
			ExternalID: "visit-" + strconv.Itoa(n),
			FirstName:  "Ada",
			LastName:   "Visitor" + strconv.Itoa(n),
			Email:      "ada" + strconv.Itoa(n) + "@example.com",
		},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(1000 + n)},
		AccessLevels: levels,
		ValidFrom:    now.Add(-time.Minute),
		ValidUntil:   now.Add(2 * time.Hour),
	}
}

// opens asks the simulator's oracle about a credential reference.
func (e *env) opens(ref acs.CredentialRef, level string, at time.Time) bool {
	key := ref.ID
	if key == "" {
		var ok bool
		key, ok = e.sim.FindBadge(personType(e.cfg), "SSNO", ref.CardholderExternalID, int64(ref.Card.Number))
		if !ok {
			return false
		}
	}
	return e.sim.Opens(key, level, at)
}

// personType is the person type the provider will use.
func personType(c Config) string {
	if c.PersonType == "" {
		return Visitor
	}
	return c.PersonType
}

// requests returns the simulator's log, optionally only from index from.
func (e *env) requests() []lenelsim.Request { return e.sim.Requests() }

// count counts logged requests matching method, path and type name ("" matches all).
func count(reqs []lenelsim.Request, method, path, typeName string) int {
	n := 0
	for _, r := range reqs {
		if (method == "" || r.Method == method) && (path == "" || r.Path == path) && (typeName == "" || r.TypeName == typeName) {
			n++
		}
	}
	return n
}

// shape is a compact description of a request for request-shape tests.
func shape(r lenelsim.Request) string {
	q := url.Values{}
	for k, v := range r.Query {
		if k != "version" {
			q[k] = v
		}
	}
	s := r.Method + " " + r.Path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	if len(r.Body) > 0 && r.Path != "/authentication" {
		s += " " + string(r.Body)
	}
	return s
}

// harness adapts an env to the conformance kit.
type harness struct{ e *env }

var _ acstest.SwipeHarness = harness{}

func (h harness) Provider() acs.Provider     { return h.e.p }
func (h harness) AccessLevels() []string     { return []string{"1", "2"} }
func (h harness) UnknownAccessLevel() string { return "999" }
func (h harness) Now() time.Time             { return h.e.clock.Now() }
func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	return h.e.opens(ref, level, at), nil
}

// Swipe presents card at a reader that opens level (acstest.SwipeHarness),
// added to the simulator on first use; the simulator decides and logs the
// event with its own clock, as a panel would.
func (h harness) Swipe(_ context.Context, card acs.Card, level string) error {
	l, err := strconv.ParseInt(level, 10, 64)
	if err != nil {
		return fmt.Errorf("level %q is not an OnGuard ID", level)
	}
	badgeID, err := h.e.p.badgeID(card)
	if err != nil {
		return err
	}
	door := ""
	for _, d := range h.e.sim.Doors() {
		if slices.Contains(d.AccessLevels, l) {
			door = d.ID
			break
		}
	}
	if door == "" {
		door = h.e.sim.AddDoor(lenelsim.DoorSpec{Name: "Door of level " + level, TimeAttendance: lenelsim.ReaderEntrance, AccessLevels: []int64{l}}).ID
	}
	h.e.sim.Swipe(badgeID, door, time.Time{})
	return nil
}

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.e.sim.Census()
	return acstest.Census{Cardholders: c.Cardholders + c.Visitors, Credentials: c.Badges}, nil
}

var _ acstest.PINHarness = harness{}

// OpensWithPIN is the keypad oracle (acstest.PINHarness): the simulator's
// PINOpens for the access level.
func (h harness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.e.sim.PINOpens(pin.Reveal(), level, at), nil
}
