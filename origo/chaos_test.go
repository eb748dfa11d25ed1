package origo_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/origo/origosim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// dice is a seeded random source shared by the fault injectors.
type dice struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (d *dice) below(p float64) bool { d.mu.Lock(); defer d.mu.Unlock(); return d.r.Float64() < p }
func (d *dice) intn(n int) int       { d.mu.Lock(); defer d.mu.Unlock(); return d.r.IntN(n) }

// faultyOrigo makes a share of the requests to the Origo simulator fail in
// one of the ways it can: a 5xx, a 403, a connection dropped before or
// after the change was committed, an expired token.
type faultyOrigo struct {
	sim  *origosim.Server
	d    *dice
	rate float64
}

func (f *faultyOrigo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.d.below(f.rate) {
		fl := origosim.Fault{Method: r.Method, Path: r.URL.Path, Times: 1}
		switch f.d.intn(5) {
		case 0:
			fl.Kind, fl.Status = origosim.FaultStatus, http.StatusServiceUnavailable
		case 1:
			fl.Kind, fl.Status = origosim.FaultStatus, http.StatusForbidden
		case 2:
			fl.Kind = origosim.FaultDropBeforeCommit
		case 3:
			fl.Kind = origosim.FaultDropAfterCommit
		case 4:
			fl.Kind = origosim.FaultExpireToken
		}
		f.sim.AddFault(fl)
	}
	f.sim.ServeHTTP(w, r)
}

// flakyDoor is an in-memory door ACS that fails a share of its calls
// before doing anything, or after (the answer lost).
type flakyDoor struct {
	*acstest.Memory
	d    *dice
	rate float64
}

func (f *flakyDoor) fail(op string) error {
	return acs.Errorf(op, f.Name(), acs.Unavailable, "injected outage")
}

func (f *flakyDoor) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if f.d.below(f.rate / 2) {
		return acs.Provisioned{}, f.fail("provision")
	}
	p, err := f.Memory.Provision(ctx, g)
	if err == nil && f.d.below(f.rate/2) {
		return acs.Provisioned{}, f.fail("provision")
	}
	return p, err
}

func (f *flakyDoor) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	if f.d.below(f.rate / 2) {
		return f.fail("revoke")
	}
	err := f.Memory.Revoke(ctx, ref)
	if err == nil && f.d.below(f.rate/2) {
		return f.fail("revoke")
	}
	return err
}

// Many visits through the visitor engine with a fifth of the requests to
// Origo and of the calls to the door ACS failing, phones accepting at
// random times (callbacks delivered or not), visitors signing out before
// or after: once the faults stop and the outbox drains, no card opens for
// a visit that ended, every active credential opens at the door with the
// card Origo issued, no Origo user outlives its visit, and no visit has
// two Origo users.
func TestChaosLite(t *testing.T) {
	seeds, visits, steps := []uint64{1, 2, 3, 4, 5}, 60, 600
	if testing.Short() {
		seeds, visits, steps = seeds[:1], 20, 200
	}
	for _, seed := range seeds {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) { chaosLite(t, seed, visits, steps) })
	}
}

func chaosLite(t *testing.T, seed uint64, visits, steps int) {
	d := &dice{r: rand.New(rand.NewPCG(seed, 42))}
	clock := visitor.NewManualClock(t0)
	osim := origosim.New(origosim.WithClock(clock.Now))
	fo := &faultyOrigo{sim: osim, d: d, rate: 0.2}
	osrv := httptest.NewServer(fo)
	t.Cleanup(osrv.Close)
	door := &flakyDoor{Memory: acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}}), d: d, rate: 0.2}
	iss, err := origo.New(door, origo.Config{AuthURL: osrv.URL, BaseURL: osrv.URL, OrganizationID: origosim.DefaultOrganizationID,
		ClientID: origosim.DefaultClientID, ClientSecret: origosim.DefaultClientSecret, PartNumber: origosim.DefaultPartNumber,
		CardFormat: acs.H10301, FacilityCode: 42}, origo.WithClock(clock.Now), origo.WithRateLimit(0, 0),
		origo.WithRetry(1, time.Millisecond, 2*time.Millisecond), origo.WithCallbackSecret(cbHeader, cbSecret))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := iss.Handler()
	cb := httptest.NewServer(h)
	t.Cleanup(cb.Close)
	pol := visitor.Policy{Types: map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 12 * time.Hour}},
		DefaultType: "guest", OperatorGroups: map[string][]string{"reception": {"lobby"}}}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: iss, Policy: pol, CredentialType: origo.CredentialType}},
		visitor.WithClock(clock), visitor.WithBackoff(time.Second, 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	alloc, _ := e.Allocator("hq")
	if err := alloc.SetRange(t.Context(), badge.Range{Format: wiegand.H10301, Facility: 7, Min: 100, Max: 999}); err != nil {
		t.Fatal(err)
	}
	runChaos(t, e, osim, cb.URL, clock, d, visits, steps)
	fo.rate, door.rate = 0, 0
	osim.SetCallback("", nil)
	drainAll(t, e, clock)
	checkChaos(t, e, osim, door, clock)
}

// runChaos walks the visits through random steps.
func runChaos(t *testing.T, e *visitor.Engine, osim *origosim.Server, cbURL string, clock *visitor.ManualClock, d *dice, visits, steps int) {
	ctx := t.Context()
	id := func(n int) string { return "chaos-" + string(rune('a'+n/26)) + string(rune('a'+n%26)) }
	started := 0
	for range steps {
		switch k := d.intn(10); {
		case k < 2 && started < visits:
			_, _ = e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id(started), Location: "hq", Visitor: ada,
				Provision: &visitor.ProvisionRequest{FromRange: true}})
			started++
		case k < 4 && started > 0:
			if d.below(0.5) {
				osim.SetCallback(cbURL, http.Header{cbHeader: {cbSecret}})
			} else {
				osim.SetCallback("", nil)
			}
			_, _ = osim.Accept(id(d.intn(started)))
		case k < 5 && started > 0:
			_, _ = e.SignOut(ctx, desk, id(d.intn(started)), visitor.ViaDesk)
		default:
			clock.Advance(time.Duration(1+d.intn(90)) * time.Second)
			if _, err := e.RunOutboxOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// drainAll runs the outbox until it is empty (every revocation confirmed,
// every provision either active or waiting for a phone that never
// accepted).
func drainAll(t *testing.T, e *visitor.Engine, clock *visitor.ManualClock) {
	ctx := t.Context()
	for range 500 {
		items, err := e.Outbox(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		busy := false
		for _, it := range items {
			busy = busy || it.Op != visitor.OpProvision
		}
		if !busy {
			return
		}
		clock.Advance(2 * time.Minute)
		if _, err := e.RunOutboxOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := e.Outbox(ctx, "")
	t.Fatalf("the outbox did not drain: %d items, first %+v", len(items), items[0])
}

// checkChaos compares the engine's visits with what both systems hold.
func checkChaos(t *testing.T, e *visitor.Engine, osim *origosim.Server, door *flakyDoor, clock *visitor.ManualClock) {
	vs, err := e.Visits(t.Context(), visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	users := map[string]int{}
	for _, u := range osim.Users() {
		users[u.ExternalID]++
	}
	live := map[string]bool{} // external IDs with a card open at the door
	for _, ref := range door.Active(now) {
		live[ref.CardholderExternalID] = true
	}
	counts := map[visitor.CredentialStatus]int{}
	for _, v := range vs {
		c := v.Current()
		if c == nil {
			continue
		}
		counts[c.Status]++
		switch {
		case users[v.ID] > 1:
			t.Errorf("visit %s has %d Origo users", v.ID, users[v.ID])
		case v.State.Ended() && (users[v.ID] > 0 || live[v.ID]):
			t.Errorf("visit %s is %s: Origo users %d, card open at the door %v", v.ID, v.State, users[v.ID], live[v.ID])
		case c.Status == visitor.CredActive && (!live[v.ID] || users[v.ID] != 1):
			t.Errorf("visit %s is active: card open at the door %v, Origo users %d", v.ID, live[v.ID], users[v.ID])
		case c.Status == visitor.CredPending && live[v.ID]:
			t.Errorf("visit %s is pending but its card opens", v.ID)
		}
	}
	for ext := range live {
		if v, err := e.Visit(t.Context(), ext); err != nil || v.Current() == nil || v.Current().Status != visitor.CredActive {
			t.Errorf("a card of %s opens at the door, which is not an active visit credential", ext)
		}
	}
	t.Logf("%d visits: %v; Origo census %+v", len(vs), counts, osim.Census())
}
