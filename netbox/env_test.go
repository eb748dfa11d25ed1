package netbox

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the tests name zones; keep them hermetic

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// testZone is the controller's zone in most tests: a half-hour offset, so
// that a conversion mistake shows.
const testZone = "Asia/Kolkata"

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

// testLayouts map the simulator's card formats; the kit's cards have
// facility code 42.
var testLayouts = []Layout{
	{Name: netboxsim.Format26, Format: acs.H10301, Facility: 42},
	{Name: netboxsim.Format34, Format: acs.H10306, Facility: 42},
	{Name: netboxsim.Format37, Format: acs.H10304, Facility: 42},
	{Name: netboxsim.Format37NoFC, Format: acs.H10302},
	{Name: netboxsim.FormatC1k35, Format: acs.Corp1000_35, Facility: 42},
	{Name: netboxsim.FormatC1k48, Format: acs.Corp1000_48, Facility: 42},
}

// env is a provider wired to a simulator on loopback.
type env struct {
	t     testing.TB
	clock *testClock
	loc   *time.Location
	sim   *netboxsim.Server
	srv   *httptest.Server
	p     *Provider
	cfg   Config
}

type envOpts struct {
	zone string // the controller's zone; testZone when empty
	sim  []netboxsim.Option
	opts []Option
	cfg  func(*Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.zone == "" {
		o.zone = testZone
	}
	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	sim := netboxsim.New(append([]netboxsim.Option{netboxsim.WithClock(clock.Now), netboxsim.WithTimeZone(loc)}, o.sim...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL + netboxsim.Path, Username: netboxsim.DefaultUsername, Password: netboxsim.DefaultPassword,
		TimeZone: o.zone, Layouts: testLayouts}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	opts := append([]Option{
		WithClock(clock.Now),
		WithRetry(2, time.Millisecond, 5*time.Millisecond),
		WithEvents(EventOptions{Interval: 10 * time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}),
	}, o.opts...)
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return &env{t: t, clock: clock, loc: loc, sim: sim, srv: srv, p: p, cfg: cfg}
}

// grant is a valid grant for visitor n with the given level keys (Lobby
// when none).
func (e *env) grant(n int, levels ...string) acs.Grant {
	now := e.clock.Now()
	if len(levels) == 0 {
		levels = []string{netboxsim.LevelLobby}
	}
	return acs.Grant{
		Person:       acs.Person{ExternalID: "visit-" + strconv.Itoa(n), FirstName: "Ada", LastName: "Visitor" + strconv.Itoa(n)},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(1000 + n)},
		AccessLevels: levels,
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(2 * time.Hour).Truncate(time.Second),
	}
}

// opens asks the simulator's oracle about a credential reference.
func (e *env) opens(ref acs.CredentialRef, level string, at time.Time) bool {
	id := ref.ID
	if id == "" {
		name, ok := e.p.cardFormatName(ref.Card)
		if !ok {
			return false
		}
		pid := ref.CardholderID
		if pid == "" {
			pid = e.p.cfg.PersonIDPrefix + ref.CardholderExternalID
		}
		if id, ok = e.sim.FindCredential(pid, name, strconv.FormatUint(ref.Card.Number, 10)); !ok {
			return false
		}
	}
	return e.sim.Opens(id, level, at)
}

// count counts logged requests of a command ("" counts all).
func count(reqs []netboxsim.Request, command string) int {
	n := 0
	for _, r := range reqs {
		if command == "" || r.Command == command {
			n++
		}
	}
	return n
}

// harness adapts an env to the conformance kit.
type harness struct{ e *env }

var (
	_ acstest.SwipeHarness        = harness{}
	_ acstest.UnknownLevelHarness = harness{}
)

func (h harness) Provider() acs.Provider { return h.e.p }
func (h harness) AccessLevels() []string {
	return []string{netboxsim.LevelLobby, netboxsim.LevelFloor3}
}
func (h harness) UnknownAccessLevel() string { return "999" }
func (h harness) Now() time.Time             { return h.e.clock.Now() }
func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	return h.e.opens(ref, level, at), nil
}

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.e.sim.Census()
	return acstest.Census{Cardholders: c.People, Credentials: c.Credentials}, nil
}

// Swipe presents the card at a reader serving the level; the simulator
// decides and logs with its own clock, as a panel would.
func (h harness) Swipe(_ context.Context, card acs.Card, level string) error {
	reader, ok := h.e.sim.ReaderFor(level)
	if !ok {
		return fmt.Errorf("no reader serves level %q", level)
	}
	format, ok := h.e.p.cardFormatName(card)
	if !ok {
		return fmt.Errorf("no card format for %s", card)
	}
	if _, ok := h.e.sim.Swipe(reader, format, strconv.FormatUint(card.Number, 10)); !ok {
		return fmt.Errorf("unknown reader %q", reader)
	}
	return nil
}

// personID is the PERSONID the provider writes for an external ID.
func (e *env) personID(ext string) string { return e.p.cfg.PersonIDPrefix + ext }

var _ acstest.PINHarness = harness{}

// OpensWithPIN is the keypad oracle (acstest.PINHarness): the simulator's
// PINOpens for the level.
func (h harness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.e.sim.PINOpens(pin.Reveal(), level, at), nil
}
