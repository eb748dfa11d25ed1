package visitor_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
)

// employeePolicy is testPolicy with employees gated by method m for 8
// hours (the access_levels method toggles floor-3), checking in by swipe
// at door "turnstile".
func employeePolicy(m visitor.EmployeeMethod) visitor.Policy {
	p := testPolicy()
	p.Employees = visitor.EmployeePolicy{Method: m, AccessDuration: 8 * time.Hour, CheckInDoors: []string{"turnstile"}}
	if m == visitor.EmployeeToggleLevels {
		p.Employees.AccessLevels = []string{"floor-3"}
	}
	return p
}

var graceCard = acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}

// addEmployee adds Grace Hopper to the fixture's ACS.
func (f *fixture) addEmployee(enabled, readOnly bool, levels ...string) acs.CredentialRef {
	f.t.Helper()
	ref, ok := f.acs.AddEmployee(acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper", Card: graceCard,
		Enabled: enabled, ReadOnly: readOnly, AccessLevels: levels})
	if !ok {
		f.t.Fatal("AddEmployee refused")
	}
	return ref
}

func (f *fixture) checkIn(id string) visitor.Visit {
	f.t.Helper()
	v, err := f.e.CheckInEmployee(f.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: id})
	if err != nil {
		f.t.Fatalf("CheckInEmployee(%s): %v", id, err)
	}
	return v
}

func (f *fixture) sweep() {
	f.t.Helper()
	if _, err := f.e.Sweep(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.drain()
}

func TestEmployeeStatusBetweenCheckInAndDurationEnd(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the disabled employee opens the lobby before checking in")
	}
	v := f.checkIn(ref.CardholderID)
	if v.ID != visitor.EmployeeRecordID("hq", ref.CardholderID) || v.State != visitor.SignedIn || v.Employee.Status != visitor.EmployeeEnabled {
		t.Fatalf("record after check-in: %+v %+v", v, v.Employee)
	}
	if v.Visitor.Name() != "Grace Hopper" || v.Type != visitor.EmployeeType {
		t.Errorf("record names %q, type %q", v.Visitor.Name(), v.Type)
	}
	if !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the checked-in employee does not open the lobby")
	}
	f.clock.Advance(8*time.Hour - time.Minute)
	f.sweep()
	if !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("access ended before the duration")
	}
	f.clock.Advance(time.Minute)
	f.sweep()
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the employee still opens the lobby after the access duration")
	}
	v = f.visit(v.ID)
	if v.State != visitor.SignedOut || v.Employee.Status != visitor.EmployeeDisabled || !v.DueAt.IsZero() {
		t.Fatalf("record after the duration: state %s, %+v, due %v", v.State, v.Employee, v.DueAt)
	}
	f.wantActions(v.ID, "employee_check_in:queued", "acs_employee_enable:ok", "employee_access_end:queued", "acs_employee_disable:ok")

	// The next day: checked in again, on the same record.
	f.clock.Advance(16 * time.Hour)
	v = f.checkIn(ref.CardholderID)
	if !f.acs.Opens(ref, "lobby", f.now()) || v.Employee.Status != visitor.EmployeeEnabled {
		t.Fatalf("second check-in: %+v", v.Employee)
	}
}

func TestEmployeeLevelsMethodKeepsOtherLevels(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleLevels))
	ref := f.addEmployee(true, false, "lobby")
	f.checkIn(ref.CardholderID)
	if !f.acs.Opens(ref, "floor-3", f.now()) || !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("checked in: floor-3 and the lobby should open")
	}
	if _, err := f.e.CheckOutEmployee(f.ctx, desk, "hq", ref.CardholderID); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if f.acs.Opens(ref, "floor-3", f.now()) || !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("checked out: floor-3 should close and the lobby stay open")
	}
	f.wantActions(visitor.EmployeeRecordID("hq", ref.CardholderID),
		"employee_check_in:queued", "acs_employee_enable:ok", "employee_check_out:queued", "acs_employee_disable:ok")
}

// The ACS is down when the duration ends and the engine restarts: a new
// Engine over the same store retries the disable until the ACS confirms.
func TestEmployeeEndSurvivesOutageAndRestart(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	v := f.checkIn(ref.CardholderID)
	f.acs.SetDown(true)
	f.clock.Advance(8 * time.Hour)
	f.sweep()
	if got := f.visit(v.ID); got.Employee.Status != visitor.EmployeeDisabling || len(mustOutbox(t, f, v.ID)) != 1 {
		t.Fatalf("during the outage: %+v", got.Employee)
	}
	if !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the oracle shows a disable the ACS never received")
	}
	// Restart: a new engine on the same store; the ACS comes back later.
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: employeePolicy(visitor.EmployeeToggleStatus)}},
		visitor.WithClock(f.clock), visitor.WithOwner("restarted"))
	if err != nil {
		t.Fatal(err)
	}
	f.e = e2
	for range 3 {
		f.clock.Advance(10 * time.Minute)
		f.sweep()
	}
	f.acs.SetDown(false)
	f.settle()
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the employee still opens the lobby once the ACS is back")
	}
	if got := f.visit(v.ID); got.Employee.Status != visitor.EmployeeDisabled || got.Employee.Error != "" {
		t.Fatalf("after recovery: %+v", got.Employee)
	}
}

func mustOutbox(t *testing.T, f *fixture, id string) []visitor.OutboxItem {
	t.Helper()
	items, err := f.e.Outbox(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// A check-in while the ACS is down queues the enable; when the duration
// ends before the ACS comes back, the retried enable is cancelled and a
// disable queued (the enable may have landed): the badge ends disabled.
func TestEmployeeDisableWinsOverPendingEnable(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	f.acs.SetDown(true)
	v := f.checkIn(ref.CardholderID)
	if v.Employee.Status != visitor.EmployeeEnabling {
		t.Fatalf("status during the outage: %s", v.Employee.Status)
	}
	f.clock.Advance(8 * time.Hour)
	f.sweep()
	items := mustOutbox(t, f, v.ID)
	if len(items) != 1 || items[0].Op != visitor.OpEmployeeDisable {
		t.Fatalf("outbox after the end: %+v", items)
	}
	f.acs.SetDown(false)
	f.settle()
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the employee opens the lobby after the end")
	}
	if calls := f.acs.Calls()["set_employee_enabled"]; calls < 2 {
		t.Fatalf("%d status calls", calls)
	}
}

func TestEmployeeReadOnlyRefusedClearly(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, true, "lobby")
	v, err := f.e.CheckInEmployee(f.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: ref.CardholderID})
	if !errors.Is(err, acs.ErrReadOnly) || acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("check-in of a read-only employee: %v", err)
	}
	if v.State != visitor.SignedOut || v.Employee.Status != visitor.EmployeeFailed || len(mustOutbox(t, f, v.ID)) != 0 {
		t.Fatalf("record: state %s %+v", v.State, v.Employee)
	}
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("the read-only employee opens the lobby")
	}
	f.wantActions(v.ID, "employee_check_in:queued", "acs_employee_enable:failed")

	// The access_levels method works for the same employee.
	g := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleLevels))
	ref = g.addEmployee(true, true)
	g.checkIn(ref.CardholderID)
	if !g.acs.Opens(ref, "floor-3", g.now()) {
		t.Fatal("the read-only employee's level was not added")
	}
}

func TestEmployeeCheckInAgainExtends(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	f.checkIn(ref.CardholderID)
	f.clock.Advance(4 * time.Hour)
	v := f.checkIn(ref.CardholderID)
	if want := f.now().Add(8 * time.Hour); !v.Employee.Until.Equal(want) || !v.DueAt.Equal(want) {
		t.Fatalf("until %v, due %v; want %v", v.Employee.Until, v.DueAt, want)
	}
	f.clock.Advance(5 * time.Hour) // past the first check-in's end
	f.sweep()
	if !f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("access ended at the first check-in's end")
	}
	if n := f.acs.Calls()["set_employee_enabled"]; n != 1 {
		t.Fatalf("%d status calls, want 1", n)
	}
	f.clock.Advance(3 * time.Hour)
	f.sweep()
	if f.acs.Opens(ref, "lobby", f.now()) {
		t.Fatal("access outlived the extended duration")
	}
}

// A check-out while the disable of an earlier one is queued, then a new
// check-in: the operations run in order and the badge ends enabled.
func TestEmployeeCheckInAfterQueuedDisable(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	f.checkIn(ref.CardholderID)
	f.acs.SetDown(true)
	if _, err := f.e.CheckOutEmployee(f.ctx, desk, "hq", ref.CardholderID); err != nil {
		t.Fatal(err)
	}
	v := f.checkIn(ref.CardholderID)
	if ops := opsOf(mustOutbox(t, f, v.ID)); !slices.Equal(ops, []visitor.Op{visitor.OpEmployeeDisable, visitor.OpEmployeeEnable}) {
		t.Fatalf("queue %v", ops)
	}
	f.acs.SetDown(false)
	f.clock.Advance(time.Hour)
	f.drain()
	if !f.acs.Opens(ref, "lobby", f.now()) || f.visit(v.ID).Employee.Status != visitor.EmployeeEnabled {
		t.Fatal("the new check-in did not end enabled")
	}
}

func opsOf(items []visitor.OutboxItem) []visitor.Op {
	var out []visitor.Op
	for _, it := range items {
		out = append(out, it.Op)
	}
	return out
}

// Auto check-in by badge swipe: the disabled badge is refused at the
// check-in door, the event checks the employee in, the next swipe opens;
// the same event delivered again changes nothing; a swipe at another door
// checks nobody in.
func TestEmployeeAutoCheckInBySwipe(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	f.acs.AddDoor("turnstile", "Turnstile", "lobby")
	f.acs.AddDoor("side", "Side door", "lobby")
	if f.acs.Swipe(graceCard, "side", acs.DirectionIn, f.now()) || f.acs.Swipe(graceCard, "turnstile", acs.DirectionIn, f.now()) {
		t.Fatal("the disabled badge opened a door")
	}
	evs := memEvents(t, f.acs, 2)
	for _, ev := range evs {
		if _, err := f.e.RecordDoorEvent(f.ctx, "hq", ev); err != nil {
			t.Fatal(err)
		}
	}
	v := f.visit(visitor.EmployeeRecordID("hq", ref.CardholderID))
	if v.State != visitor.SignedIn || v.Employee.Status != visitor.EmployeeEnabled || v.Doors.Last.DoorID != "turnstile" {
		t.Fatalf("record after the swipe: %s %+v %+v", v.State, v.Employee, v.Doors.Last)
	}
	if !f.acs.Swipe(graceCard, "turnstile", acs.DirectionIn, f.now()) {
		t.Fatal("the next swipe is refused")
	}
	if _, err := f.e.RecordDoorEvent(f.ctx, "hq", evs[1]); err != nil {
		t.Fatal(err)
	}
	if got := f.visit(v.ID); got.Version != v.Version {
		t.Fatal("the re-delivered event changed the record")
	}
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: v.ID})
	if recs[0].Actor != visitor.ActorACS || recs[0].Door.DoorID != "turnstile" || recs[0].Card != graceCard.String() {
		t.Fatalf("check-in record %+v", recs[0])
	}
}

// memEvents reads the first n door events of a Memory.
func memEvents(t *testing.T, m *acstest.Memory, n int) []acs.DoorEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out []acs.DoorEvent
	_ = m.Events(ctx, "", func(ev acs.DoorEvent) error {
		out = append(out, ev)
		if len(out) == n {
			cancel()
		}
		return nil
	})
	if len(out) != n {
		t.Fatalf("%d events, want %d", len(out), n)
	}
	return out
}

func TestEmployeeRecordRefusesVisitOperations(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	v := f.checkIn(ref.CardholderID)
	_, err := f.e.Provision(f.ctx, desk, v.ID, visitor.ProvisionRequest{})
	wantCode(t, "Provision on an employee record", err, acs.Conflict)
	_, err = f.e.SignOut(f.ctx, desk, v.ID, visitor.ViaDesk)
	wantCode(t, "SignOut on an employee record", err, acs.Conflict)
	rep, err := f.e.Muster(f.ctx, "hq")
	if err != nil || len(rep.Entries) != 0 {
		t.Fatalf("muster lists the employee: %+v %v", rep, err)
	}
}

func TestEmployeeCheckInRefusals(t *testing.T) {
	f := newFixture(t) // no employee policy
	_, err := f.e.CheckInEmployee(f.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: "x"})
	wantCode(t, "a location without employee check-in", err, acs.Unsupported)

	g := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	_, err = g.e.CheckInEmployee(g.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", Card: acs.Card{Format: acs.H10301, Number: 9}})
	wantCode(t, "an unknown card", err, acs.NotFound)
	if rec := g.lastRefusal(); rec.Action != visitor.ActEmployeeCheckIn {
		t.Errorf("refusal audited as %+v", rec)
	}
	_, err = g.e.CheckInEmployee(g.ctx, desk, visitor.EmployeeCheckIn{Location: "hq"})
	wantCode(t, "no employee named", err, acs.InvalidArgument)

	// By ID while the ACS is unreachable: queued.
	ref := g.addEmployee(false, false, "lobby")
	g.acs.SetDown(true)
	v, err := g.e.CheckInEmployee(g.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: ref.CardholderID})
	if err != nil || v.Employee.Status != visitor.EmployeeEnabling {
		t.Fatalf("check-in during an outage: %v %+v", err, v.Employee)
	}
	// By card it cannot be.
	_, err = g.e.CheckInEmployee(g.ctx, desk, visitor.EmployeeCheckIn{Location: "hq", Card: graceCard})
	wantCode(t, "by card during an outage", err, acs.Unavailable)
}

func TestEmployeePolicyValidation(t *testing.T) {
	for name, ep := range map[string]visitor.EmployeePolicy{
		"unknown method":   {Method: "badge", AccessDuration: time.Hour},
		"no duration":      {Method: visitor.EmployeeToggleStatus},
		"levels no levels": {Method: visitor.EmployeeToggleLevels, AccessDuration: time.Hour},
		"status levels":    {Method: visitor.EmployeeToggleStatus, AccessDuration: time.Hour, AccessLevels: []string{"lobby"}},
		"no method":        {AccessDuration: time.Hour},
		"empty door":       {Method: visitor.EmployeeToggleStatus, AccessDuration: time.Hour, CheckInDoors: []string{""}},
	} {
		p := testPolicy()
		p.Employees = ep
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A provider without EmployeeAccess cannot serve a gating location.
	p := employeePolicy(visitor.EmployeeToggleStatus)
	_, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: plainProvider{acstest.NewMemory(nil)}, Policy: p}})
	if err == nil {
		t.Fatal("New accepted a gating location whose provider cannot gate")
	}
}

// plainProvider hides every optional interface of its provider.
type plainProvider struct{ acs.Provider }

// A swipe at the check-in door while checked in is a door event on the
// record and does not extend the access.
func TestEmployeeSwipeWhileCheckedInExtendsNothing(t *testing.T) {
	f := newFixturePolicy(t, employeePolicy(visitor.EmployeeToggleStatus))
	ref := f.addEmployee(false, false, "lobby")
	f.acs.AddDoor("turnstile", "Turnstile", "lobby")
	v := f.checkIn(ref.CardholderID)
	until := v.Employee.Until
	f.clock.Advance(time.Hour)
	if !f.acs.Swipe(graceCard, "turnstile", acs.DirectionIn, f.now()) {
		t.Fatal("the checked-in badge was refused")
	}
	evs := memEvents(t, f.acs, 1)
	if _, err := f.e.RecordDoorEvent(f.ctx, "hq", evs[0]); err != nil {
		t.Fatal(err)
	}
	v = f.visit(v.ID)
	if !v.Employee.Until.Equal(until) || v.Doors.Events != 1 || !v.Doors.Last.Granted {
		t.Fatalf("until %v (was %v), doors %+v", v.Employee.Until, until, v.Doors)
	}
	f.wantActions(v.ID, "employee_check_in:queued", "acs_employee_enable:ok", "door:ok")
}
