package visitor_test

import (
	"cmp"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// outage serves a simulator, or answers 503 while down is set: the ACS
// (or the network to it) is out.
type outage struct {
	h    http.Handler
	down atomic.Bool
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.down.Load() {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	o.h.ServeHTTP(w, r)
}

// simACS is one adapter over its simulator on loopback, with what the
// engine tests need to set employees up and ask the simulator's oracle.
// startSim builds the common part through the provider registry; each
// ACS's constructor below adds the hooks that reach into its simulator.
type simACS struct {
	name string
	p    acs.Provider
	net  *outage
	// levels are two access level IDs: the employee's own and the one
	// the access_levels method toggles.
	levels [2]string
	// addEmployee stores an employee as an administrator would: its badge
	// carries card, holds level, and is enabled or not. It returns the
	// employee's ID at the ACS and the credential's reference for opens.
	addEmployee func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef)
	// opens is the simulator's oracle.
	opens func(ref acs.CredentialRef, level string, at time.Time) bool
	// door is a door of the first level; tap presents a card there (or
	// at the enrolment reader), records the event, and reports whether
	// the simulator granted access.
	door string
	tap  func(t *testing.T, card acs.Card, door string) bool
	// reader is a reader attached to no access level, for tap to enrol
	// (empty where the ACS's events carry no unknown card).
	reader string
	// census counts the cardholders (visitors included) and credentials
	// the simulator holds.
	census func() acstest.Census
	// logs holds the adapter's log lines, at debug level.
	logs *pinCapture
	// pinLen is a PIN length the ACS takes (at least 8, so that a search
	// for the digits means something); pinOnly reports that it takes
	// PINs without a card.
	pinLen  int
	pinOnly bool
	// keypad gives a door of levels[0] a keypad reader and returns the
	// simulator's keypad oracle for it: whether a PIN entered there opens
	// it at a time.
	keypad func(t *testing.T) func(pin acs.PIN, at time.Time) bool
}

func serve(t *testing.T, h http.Handler) (*outage, string) {
	o := &outage{h: h}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv.URL
}

func genetecACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[genetecsim.Server](t, "genetec", clock, genetec.WithEvents(genetec.EventOptions{Lookback: time.Hour}))
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		ch := sim.AddCardholder("Grace Hopper", "Grace", "Hopper", level)
		if !enabled {
			sim.SetState(ch, "Inactive")
		}
		cred, ok := sim.AddCredential("Badge 4711", card.Format, card.Facility, card.Number, "Active", ch, time.Time{}, time.Time{})
		if !ok {
			t.Fatal("genetecsim refused the credential")
		}
		return ch, acs.CredentialRef{ID: cred}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.door = genetecsim.SeedLobbyDoor
	s.tap = func(t *testing.T, card acs.Card, door string) bool {
		ev, err := sim.Swipe(door, card, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ev.Type == genetecsim.EventAccessGranted
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.Cardholders, Credentials: c.Credentials}
	}
	s.pinLen, s.pinOnly = 10, true
	s.keypad = func(t *testing.T) func(acs.PIN, time.Time) bool {
		door, ok := sim.AddDoor("Lab keypad", genetecsim.SeedLobbyRule)
		if !ok || !sim.SetKeypad(door, true) {
			t.Fatal("genetecsim: no keypad door")
		}
		return func(pin acs.PIN, at time.Time) bool { return sim.PINOpensDoor(pin.Reveal(), door, at) }
	}
	return s
}

func lenelACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[lenelsim.Server](t, "lenel", clock, lenel.WithKeepAlive(0),
		lenel.WithCardFunc(lenel.CardNumber(acs.H10301, 42)), lenel.WithEvents(lenel.EventOptions{Interval: 10 * time.Millisecond}))
	s.door = sim.AddDoor(lenelsim.DoorSpec{Name: "Lobby", TimeAttendance: lenelsim.ReaderEntrance, AccessLevels: []int64{1}}).ID
	s.reader = sim.AddDoor(lenelsim.DoorSpec{Name: "Desk reader"}).ID
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		person, err := sim.AddInstance("Lnl_Cardholder", map[string]any{"FIRSTNAME": "Grace", "LASTNAME": "Hopper"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := sim.AddInstance("Lnl_Badge", map[string]any{"PERSONID": person["ID"], "ID": int64(card.Number), "TYPE": 1, "STATUS": 1})
		if err != nil {
			t.Fatal(err)
		}
		key := strconv.FormatInt(b["BADGEKEY"], 10)
		status := "Active"
		if !enabled {
			status = lenel.DefaultRevokedStatus
		}
		if err := errors.Join(sim.SetBadgeStatus(key, status), sim.SetBadgeLevels(key, level)); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(person["ID"], 10), acs.CredentialRef{ID: key}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.tap = func(_ *testing.T, card acs.Card, door string) bool {
		return sim.Swipe(int64(card.Number), door, clock.Now())
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.Cardholders + c.Visitors, Credentials: c.Badges}
	}
	s.pinLen = 9 // a badge PIN: issued with a card only
	s.keypad = func(*testing.T) func(acs.PIN, time.Time) bool {
		door := sim.AddDoor(lenelsim.DoorSpec{Name: "Lab keypad", AccessLevels: []int64{lenelsim.LevelLobby}, Keypad: true})
		return func(pin acs.PIN, at time.Time) bool { return sim.PINOpensDoor(pin.Reveal(), door.ID, at) }
	}
	return s
}

func brivoACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[brivosim.Server](t, "brivo", clock,
		brivo.WithEvents(brivo.EventOptions{Interval: 10 * time.Millisecond, Settle: time.Millisecond}))
	groups := sim.Groups()
	d, err := sim.AddDoor("Lobby", groups[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := sim.AddDoor("Desk reader")
	if err != nil {
		t.Fatal(err)
	}
	s.door, s.reader = strconv.FormatInt(d.ID, 10), strconv.FormatInt(reader.ID, 10)
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		uid, err := sim.AddUser("Grace", "Hopper", "")
		if err != nil {
			t.Fatal(err)
		}
		gid, _ := strconv.ParseInt(level, 10, 64)
		cid, err := sim.AddCredential(100, "", card.Facility, card.Number)
		if err == nil {
			err = errors.Join(sim.AddMember(gid, uid), sim.SetSuspended(uid, !enabled),
				sim.AssignCredential(uid, cid, clock.Now().Add(-time.Hour), time.Time{}))
		}
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(uid, 10), acs.CredentialRef{ID: strconv.FormatInt(cid, 10)}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.tap = func(t *testing.T, card acs.Card, door string) bool {
		id, _ := strconv.ParseInt(door, 10, 64)
		ev, err := sim.Swipe(wiegand.Card(card), id, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ev.Granted
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.Users, Credentials: c.Credentials}
	}
	s.pinLen, s.pinOnly = 8, true
	s.keypad = func(t *testing.T) func(acs.PIN, time.Time) bool {
		door, err := sim.AddDoor("Lab keypad", groups[0].ID)
		if err != nil || sim.SetDoorKeypad(door.ID, true) != nil {
			t.Fatal("brivosim: no keypad door")
		}
		return func(pin acs.PIN, at time.Time) bool { return sim.PINOpensDoor(pin.Reveal(), door.ID, at) }
	}
	return s
}

// simACSs start every registered adapter over its simulator.
var simACSs = []func(t *testing.T, clock *visitor.ManualClock) *simACS{genetecACS, lenelACS, brivoACS, altaACS, verkadaACS, netboxACS}

// employeeEngine is an engine at "hq" over the simulator's adapter and
// store, gating employees by method m for 8 hours.
func employeeEngine(t *testing.T, s *simACS, store visitor.Store, clock *visitor.ManualClock, m visitor.EmployeeMethod, owner string) *visitor.Engine {
	t.Helper()
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{s.levels[0]}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {s.levels[0]}},
		Employees:      visitor.EmployeePolicy{Method: m, AccessDuration: 8 * time.Hour, CheckInDoors: []string{s.door}},
	}
	if m == visitor.EmployeeToggleLevels {
		pol.Employees.AccessLevels = []string{s.levels[1]}
	}
	e, err := visitor.New(store, []visitor.Location{{ID: "hq", Provider: s.p, Policy: pol}},
		visitor.WithClock(clock), visitor.WithOwner(owner), visitor.WithBackoff(time.Second, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEmployeeCheckInAtEachACS: through the engine and each adapter, an
// employee's badge opens the doors its method gates only between the
// check-in and the end of the access duration. Half-way the VMS restarts
// (a new Engine on the same store); at the end the ACS is out, so the
// disable fails, is retried by yet another Engine, and lands once the ACS
// is back. Every door check asks the simulator's oracle.
func TestEmployeeCheckInAtEachACS(t *testing.T) {
	for _, newACS := range simACSs {
		for _, m := range []visitor.EmployeeMethod{visitor.EmployeeToggleStatus, visitor.EmployeeToggleLevels} {
			clock := visitor.NewManualClock(t0)
			s := newACS(t, clock)
			t.Run(s.name+"/"+string(m), func(t *testing.T) { employeeAtACS(t, s, clock, m) })
		}
	}
}

func employeeAtACS(t *testing.T, s *simACS, clock *visitor.ManualClock, m visitor.EmployeeMethod) {
	ctx := t.Context()
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}
	// The status method gates the employee's own level; the access_levels
	// method adds the second level to an enabled employee.
	id, ref := s.addEmployee(t, card, m == visitor.EmployeeToggleLevels, s.levels[0])
	gated := s.levels[0]
	if m == visitor.EmployeeToggleLevels {
		gated = s.levels[1]
	}
	opensAt := func(what string, want bool) {
		t.Helper()
		if got := s.opens(ref, gated, clock.Now()); got != want {
			t.Fatalf("%s: the oracle says the badge opens level %s: %v, want %v", what, gated, got, want)
		}
	}
	opensAt("before check-in", false)
	store := visitor.NewMemoryStore()
	e := employeeEngine(t, s, store, clock, m, "vms-1")
	v, err := e.CheckInEmployee(ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: id})
	if err != nil || v.Employee.Status != visitor.EmployeeEnabled {
		t.Fatalf("check-in: %v %+v", err, v.Employee)
	}
	opensAt("after check-in", true)

	clock.Advance(4 * time.Hour)
	e = employeeEngine(t, s, store, clock, m, "vms-2") // restart
	sweepDrain(t, e)
	opensAt("half-way, after a restart", true)

	s.net.down.Store(true)
	clock.Advance(4 * time.Hour)
	sweepDrain(t, e)
	rec, _ := e.EmployeeRecord(ctx, "hq", id)
	if rec.State != visitor.SignedOut || rec.Employee.Status != visitor.EmployeeDisabling || rec.Employee.Error == "" {
		t.Fatalf("at the end, the ACS out: %s %+v", rec.State, rec.Employee)
	}
	e = employeeEngine(t, s, store, clock, m, "vms-3") // restart during the outage
	clock.Advance(time.Minute)
	sweepDrain(t, e)
	s.net.down.Store(false)
	clock.Advance(2 * time.Minute)
	sweepDrain(t, e)
	opensAt("once the ACS is back", false)
	rec, _ = e.EmployeeRecord(ctx, "hq", id)
	if rec.Employee.Status != visitor.EmployeeDisabled || rec.Employee.Error != "" {
		t.Fatalf("after recovery: %+v", rec.Employee)
	}
	if items, _ := e.Outbox(ctx, ""); len(items) != 0 {
		t.Fatalf("outbox not empty: %+v", items)
	}
	if !s.opens(ref, s.levels[0], clock.Now()) && m == visitor.EmployeeToggleLevels {
		t.Fatal("the employee lost the level it holds of its own")
	}
}

func sweepDrain(t *testing.T, e *visitor.Engine) {
	t.Helper()
	if _, err := e.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		n, err := e.RunOutboxOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestEmployeeAutoCheckInAtEachACS: at each ACS, the employee's disabled
// badge is refused at the check-in door; the adapter's event stream brings
// the refusal to the consumer, which checks the employee in; the next
// swipe opens.
func TestEmployeeAutoCheckInAtEachACS(t *testing.T) {
	for _, newACS := range simACSs {
		clock := visitor.NewManualClock(t0)
		s := newACS(t, clock)
		t.Run(s.name, func(t *testing.T) {
			card := acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}
			id, ref := s.addEmployee(t, card, false, s.levels[0])
			cs := newWatchedCursors(visitor.NewMemoryCursors())
			pol := visitor.Policy{
				Types:     map[string]visitor.VisitorType{"guest": {}},
				Employees: visitor.EmployeePolicy{Method: visitor.EmployeeToggleStatus, AccessDuration: 8 * time.Hour, CheckInDoors: []string{s.door}},
			}
			e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: s.p, Policy: pol}},
				visitor.WithClock(clock), visitor.WithCursorStore(cs))
			if err != nil {
				t.Fatal(err)
			}
			c := startConsumer(t, e)
			s.tap(t, card, s.door)
			clock.Advance(time.Second)
			cs.waitCount(t, 1)
			rec, err := e.EmployeeRecord(t.Context(), "hq", id)
			if err != nil || rec.Employee.Status != visitor.EmployeeEnabled || rec.Doors.Last.DoorID != s.door || rec.Doors.Last.Granted {
				t.Fatalf("after the refused swipe: %v %+v %+v", err, rec.Employee, rec.Doors.Last)
			}
			if !s.opens(ref, s.levels[0], clock.Now()) {
				t.Fatal("the oracle says the checked-in badge does not open")
			}
			c.stop(t)
		})
	}
}

// TestEnrolByTapAtEachACS: at each ACS whose events carry unknown cards
// (lenel with a card function, brivo, verkada), a visitor's blank card
// presented at the desk reader is refused by the ACS, the adapter's event
// carries the card, the consumer captures it for the waiting visit, and
// the card opens the visitor's level by the simulator's oracle. At
// genetec, alta and netbox the enrolment is refused as Unsupported, their
// events carrying no unknown card.
func TestEnrolByTapAtEachACS(t *testing.T) {
	for _, newACS := range simACSs {
		clock := visitor.NewManualClock(t0)
		s := newACS(t, clock)
		t.Run(s.name, func(t *testing.T) { enrolAtACS(t, s, clock) })
	}
}

func enrolAtACS(t *testing.T, s *simACS, clock *visitor.ManualClock) {
	ctx := t.Context()
	cs := newWatchedCursors(visitor.NewMemoryCursors())
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{s.levels[0]}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {s.levels[0]}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: s.p, Policy: pol,
		Enrolment: visitor.EnrolmentReader{Reader: cmp.Or(s.reader, "desk-reader")}}},
		visitor.WithClock(clock), visitor.WithCursorStore(cs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	_, err = e.StartEnrolment(ctx, desk, "visit-1", visitor.EnrolRequest{})
	if s.reader == "" {
		wantCode(t, "enrolment at "+s.name, err, acs.Unsupported)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	c := startConsumer(t, e)
	blankCard := acs.Card{Format: acs.H10301, Facility: 42, Number: 31337}
	clock.Advance(10 * time.Second)
	s.tap(t, blankCard, s.reader)
	clock.Advance(time.Second)
	cs.waitCount(t, 1)

	// A card the ACS holds for an employee is refused with a clear outcome.
	empCard := acs.Card{Format: acs.H10301, Facility: 42, Number: 4711}
	s.addEmployee(t, empCard, true, s.levels[0])
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-2", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartEnrolment(ctx, desk, "visit-2", visitor.EnrolRequest{}); err != nil {
		t.Fatal(err)
	}
	s.tap(t, empCard, s.reader)
	clock.Advance(time.Second)
	cs.waitCount(t, 2)
	c.stop(t)
	if v2 := e2eVisit(t, e, "visit-2"); v2.Enrolment.Status != visitor.EnrolCardHeld || !strings.Contains(v2.Enrolment.Reason, "held by another cardholder") {
		t.Fatalf("the employee's card: %+v", v2.Enrolment)
	}
	v := e2eVisit(t, e, "visit-1")
	cur := v.Current()
	if v.Enrolment.Status != visitor.EnrolCaptured || cur == nil || cur.Card != blankCard || cur.Status != visitor.CredActive {
		t.Fatalf("after the tap: %+v %+v", v.Enrolment, cur)
	}
	if !s.opens(cur.Ref, s.levels[0], clock.Now()) {
		t.Fatalf("the oracle says the captured card does not open level %s", s.levels[0])
	}
	if _, err := e.SignOut(ctx, kiosk, "visit-1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	if s.opens(cur.Ref, s.levels[0], clock.Now()) {
		t.Fatal("the captured card still opens after sign-out")
	}
}
