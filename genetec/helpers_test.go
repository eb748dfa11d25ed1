package genetec_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/internal/testutil"
)

// t0 is the simulated "now" of every test.
var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the simulator and the adapter.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a simulator on loopback and a provider pointed at it.
type env struct {
	sim   *genetecsim.Server
	srv   *httptest.Server
	p     *genetec.Provider
	clock *clock
	logs  *testutil.Buffer
}

func testConfig(url string) genetec.Config {
	return genetec.Config{
		BaseURL:       url + genetecsim.DefaultBasePath,
		Username:      genetecsim.DefaultUser,
		Password:      genetecsim.DefaultPassword,
		ApplicationID: genetecsim.DefaultApplicationID,
	}
}

func newEnv(t testing.TB, simOpts []genetecsim.Option, opts ...genetec.Option) *env {
	t.Helper()
	c := &clock{now: t0}
	e := &env{clock: c, logs: &testutil.Buffer{}}
	e.sim = genetecsim.New(append([]genetecsim.Option{genetecsim.WithClock(c.Now)}, simOpts...)...)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []genetec.Option{
		genetec.WithClock(c.Now),
		genetec.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		genetec.WithLogger(logger),
	}
	p, err := genetec.New(testConfig(e.srv.URL), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

// grant is a valid grant for the n-th visitor, for the lobby group.
func grant(n int, levels ...string) acs.Grant {
	if len(levels) == 0 {
		levels = []string{genetecsim.SeedLobbyGroup}
	}
	return acs.Grant{
		Person: acs.Person{
			ExternalID: "visit-" + itoa(n),
			FirstName:  "Ada",
			LastName:   "Lovelace",
			Email:      "ada@example.com",
		},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(1000 + n)},
		AccessLevels: levels,
		ValidFrom:    t0.Add(-time.Minute),
		ValidUntil:   t0.Add(2 * time.Hour),
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// harness adapts env to acstest.Harness.
type harness struct{ *env }

var _ acstest.SwipeHarness = harness{}

func (h harness) Provider() acs.Provider { return h.p }
func (h harness) AccessLevels() []string {
	return []string{genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group}
}
func (h harness) Now() time.Time { return h.clock.Now() }
func (h harness) UnknownAccessLevel() string {
	return "0badc0de-0000-4000-8000-00000000f00d"
}

func (h harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	id := ref.ID
	if id == "" {
		f := ref.Card.Format
		if !f.Known() {
			return false, fmt.Errorf("card %v has no known format", ref.Card)
		}
		var ok bool
		if id, ok = h.sim.FindCredential(f, ref.Card.Facility, ref.Card.Number); !ok {
			return false, nil
		}
	}
	return h.sim.Opens(id, level, at), nil
}

// Swipe presents card at a door that level (a cardholder group) opens
// (acstest.SwipeHarness): a door granted by an access rule applying to the
// group, added on first use when no such door exists. The simulator
// decides and records the event at its own clock's time, as a reader
// would; the shared clock then moves on a second, since a reader does not
// take the same card twice within a second. The adapter tells events
// apart by decision, door, credential and second (see "Door events" in
// the package documentation), and the clock stands still in these tests:
// without the step, the swipes of one rule would be a single event.
func (h harness) Swipe(_ context.Context, card acs.Card, level string) error {
	if !card.Format.Known() {
		return fmt.Errorf("card %v has no known format", card)
	}
	group, ok := genetecsim.ParseGUID(level)
	if !ok {
		return fmt.Errorf("level %q is not a cardholder group GUID", level)
	}
	door := ""
	for _, d := range h.sim.Doors() {
		if slices.Contains(d.Groups, group) {
			door = d.GUID
			break
		}
	}
	if door == "" {
		if !slices.ContainsFunc(h.sim.Groups(), func(g genetecsim.GroupInfo) bool { return g.GUID == group }) {
			return fmt.Errorf("no cardholder group %s", group)
		}
		rule := h.sim.AddAccessRule("Doors of "+group, group)
		if door, ok = h.sim.AddDoor("Door of "+group, rule); !ok {
			return fmt.Errorf("adding a door for group %s failed", group)
		}
	}
	if _, err := h.sim.Swipe(door, card, h.sim.Now()); err != nil {
		return err
	}
	h.clock.Set(h.clock.Now().Add(time.Second))
	return nil
}

func (h harness) Census(context.Context) (acstest.Census, error) {
	c := h.sim.Census()
	return acstest.Census{Cardholders: c.Cardholders, Credentials: c.Credentials}, nil
}

// postRaw sends a write as another Web SDK client (an operator's tool)
// would.
func postRaw(base, q string) error {
	req, err := http.NewRequest(http.MethodPost, base+genetecsim.DefaultBasePath+"/entity?q="+url.PathEscape(q), nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	req.Header.Set("Accept", "text/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"Status":"Ok"`) {
		return fmt.Errorf("answer %d %s", resp.StatusCode, body)
	}
	return nil
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

var _ acstest.PINHarness = harness{}

// OpensWithPIN is the keypad oracle (acstest.PINHarness): the simulator's
// PINOpens for the cardholder group.
func (h harness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.sim.PINOpens(pin.Reveal(), level, at), nil
}
