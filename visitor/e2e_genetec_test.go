package visitor_test

import (
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// TestDoorEventsEndToEndGenetec drives the whole path against the Security
// Center simulator through the genetec adapter: the Engine provisions an
// invited visitor's badge, the visitor swipes at the lobby turnstile, the
// adapter's event stream delivers the event, the consumer links it to the
// visit (arrival), and the muster report shows the visitor inside with the
// last door seen. A restart of the consumer resumes without duplicates.
func TestDoorEventsEndToEndGenetec(t *testing.T) {
	ctx := t.Context()
	clock := visitor.NewManualClock(t0)
	sim := genetecsim.New(genetecsim.WithClock(clock.Now))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p, err := genetec.New(genetec.Config{
		BaseURL: srv.URL + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock.Now), genetec.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		genetec.WithEvents(genetec.EventOptions{Lookback: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{genetecsim.SeedLobbyGroup}, AccessDuration: 8 * time.Hour, AdvanceAccess: time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {genetecsim.SeedLobbyGroup}},
		Doors:          visitor.DoorPolicy{MarkArrival: true, ArrivalDoors: []string{genetecsim.SeedLobbyDoor}},
	}
	var unmatched eventLog
	cs := newWatchedCursors(visitor.NewMemoryCursors())
	store := visitor.NewMemoryStore()
	newEngine := func() *visitor.Engine {
		e, err := visitor.New(store, []visitor.Location{{ID: "hq", Provider: p, Policy: pol}},
			visitor.WithClock(clock), visitor.WithCursorStore(cs), visitor.WithUnmatchedDoorEvents(unmatched.handler))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := newEngine()
	pool, _ := e.Pool("hq")
	for _, n := range []uint64{1042, 1043} {
		if _, err := pool.Add(ctx, badge.Badge{ID: strconv.FormatUint(n, 10), Name: "Visitor", Card: badge.Card{Format: wiegand.H10301, Facility: 42, Number: n}}); err != nil {
			t.Fatal(err)
		}
	}
	simCard := func(n uint64) genetecsim.Card {
		return genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: n}
	}

	if _, err := e.Invite(ctx, desk, visitor.InviteRequest{VisitID: "visit-1", Location: "hq", Visitor: ada, ExpectedAt: clock.Now().Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	v, err := e.Provision(ctx, desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042"})
	if err != nil || v.Current().Status != visitor.CredActive {
		t.Fatalf("provision at Genetec: %v, %+v", err, v.Current())
	}
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-2", Location: "hq", Visitor: visitor.Visitor{FirstName: "Bea", LastName: "Walkin"},
		Provision: &visitor.ProvisionRequest{BadgeID: "1043"}}); err != nil {
		t.Fatal(err)
	}

	c := startConsumer(t, e)
	clock.Advance(20 * time.Minute)
	swipe := func(door string, n uint64) {
		t.Helper()
		if _, err := sim.Swipe(door, simCard(n), clock.Now()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	swipe(genetecsim.SeedLobbyDoor, 1042)  // granted: arrival
	swipe(genetecsim.SeedLobbyDoor, 7777)  // unknown card: the unmatched handler
	swipe(genetecsim.SeedFloor3Door, 1042) // denied: last seen there
	cs.waitCount(t, 3)

	got := e2eVisit(t, e, "visit-1")
	if got.State != visitor.SignedIn || got.Doors.Events != 2 || got.Doors.LastGranted.DoorID != genetecsim.SeedLobbyDoor ||
		got.Doors.Last.DoorID != genetecsim.SeedFloor3Door || got.Doors.Last.Granted {
		t.Fatalf("visit-1 after the swipes: %s, %+v", got.State, got.Doors)
	}
	rep, err := e.Muster(ctx, "hq")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, en := range rep.Entries {
		lines = append(lines, en.VisitID+" "+string(en.Status)+" "+en.LastSeen.DoorName)
	}
	if want := []string{"visit-1 inside Floor 3 east door", "visit-2 unseen "}; !slices.Equal(lines, want) {
		t.Fatalf("muster %q, want %q", lines, want)
	}
	t.Logf("muster: %q", lines)
	if u := unmatched.got(); len(u) != 1 {
		t.Fatalf("unmatched %q", u)
	}

	// Restart the consumer: it resumes after the last saved cursor.
	c.stop(t)
	swipe(genetecsim.SeedLobbyDoor, 1043) // while no consumer runs
	e = newEngine()
	c = startConsumer(t, e)
	cs.waitCount(t, 4)

	// Sign-out revokes the badge at Genetec, which deletes the credential:
	// a swipe soon after is denied as an unknown card and carries neither
	// card data nor cardholder, so it cannot be linked to visit-1 and goes
	// to the unmatched handler.
	if _, err := e.SignOut(ctx, kiosk, "visit-1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	swipe(genetecsim.SeedLobbyDoor, 1042)
	cs.waitCount(t, 5)
	c.stop(t)

	tl, err := e.DoorTimeline(ctx, "visit-1")
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []bool
	for _, s := range tl {
		outcomes = append(outcomes, s.Granted)
	}
	if !slices.Equal(outcomes, []bool{true, false}) {
		t.Fatalf("visit-1 timeline %+v", tl)
	}
	if v2 := e2eVisit(t, e, "visit-2"); v2.Doors.Events != 1 || !v2.Doors.Inside() {
		t.Fatalf("visit-2 doors %+v", v2.Doors)
	}
	saved := cs.savedCursors()
	if len(saved) != 5 || len(slices.Compact(slices.Sorted(slices.Values(saved)))) != 5 {
		t.Fatalf("saved cursors %q: want 5 distinct, each event once", saved)
	}
	if u := unmatched.got(); len(u) != 2 || u[1] != cs.savedCursors()[4] {
		t.Fatalf("unmatched after restart %q (saved %q): want the unknown card and the revoked badge, once each", u, cs.savedCursors())
	}
	rep, _ = e.Muster(ctx, "hq")
	if rep.Inside != 1 || rep.Entries[0].VisitID != "visit-2" {
		t.Fatalf("muster after sign-out: %+v", rep)
	}
}

func e2eVisit(t *testing.T, e *visitor.Engine, id string) visitor.Visit {
	t.Helper()
	v, err := e.Visit(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
