package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
)

// newAuthzGateEnv is an authzEnv whose hq location also has an enrolment
// reader ("desk", opening no door) and gates employees by toggling the
// lobby.
func newAuthzGateEnv(t *testing.T) *authzEnv {
	t.Helper()
	levels := []acs.AccessLevel{{ID: lobby, Name: "Lobby"}, {ID: floor3, Name: "Floor 3"}, {ID: serverRoom, Name: "Server room"}}
	hq := acstest.NewMemory(levels, acstest.WithName("hq-acs"))
	hq.AddDoor("desk", "Desk reader")
	clock := visitor.NewManualClock(t0)
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: hq,
		Policy: visitor.Policy{
			Types: map[string]visitor.VisitorType{
				"guest":      {AccessLevels: []string{lobby}, Forbidden: []string{serverRoom}},
				"contractor": {AccessLevels: []string{lobby, floor3}},
				"vip":        {AccessLevels: []string{serverRoom}},
			},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {lobby}, "facilities": {lobby, floor3, serverRoom}, "security": {}},
			SecurityGroups: []string{"security"},
			Employees:      visitor.EmployeePolicy{Method: visitor.EmployeeToggleLevels, AccessDuration: 8 * time.Hour, AccessLevels: []string{lobby}},
		},
		Enrolment: visitor.EnrolmentReader{Reader: "desk"},
	}}, visitor.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return &authzEnv{engine: e, hq: hq, clock: clock}
}

// TestAuthzStartEnrolment: an enrolment asking for more than the operator
// may grant is refused and audited, and a card tapped afterwards is
// captured for nobody.
func TestAuthzStartEnrolment(t *testing.T) {
	ctx := context.Background()
	a := newAuthzGateEnv(t)
	for i, esc := range escalations {
		if esc.range_ {
			continue
		}
		id := fmt.Sprintf("enrol-%c", 'a'+i)
		a.signIn(t, opFacilities, id, esc.typ)
		_, err := a.engine.StartEnrolment(ctx, esc.op, id, visitor.EnrolRequest{AccessLevels: esc.levels})
		card := acs.Card{Format: acs.H10301, Facility: 9, Number: uint64(100 + i)}
		a.hq.Swipe(card, "desk", acs.DirectionUnknown, a.clock.Now())
		res, rerr := a.engine.RecordDoorEvent(ctx, "hq", acs.DoorEvent{Cursor: id, Time: a.clock.Now(), DoorID: "desk", Card: card})
		if rerr != nil || res.VisitID != "" {
			t.Errorf("%s: the tap after a refused enrolment went to %q (%v)", esc.name, res.VisitID, rerr)
		}
		a.expectDenied(t, esc.name, err, esc.op, id)
	}
	// Cancelling needs an operator with an ID, like every entry point.
	_, err := a.engine.CancelEnrolment(ctx, visitor.Operator{}, "enrol-a")
	if !errors.Is(err, acs.ErrInvalidArgument) {
		t.Errorf("CancelEnrolment without an operator ID: %v", err)
	}
}

// TestAuthzEmployeeCheckIn: whoever checks an employee in, the badge gets
// the policy's levels and nothing else; the operator chooses none. An
// operator without an ID is refused.
func TestAuthzEmployeeCheckIn(t *testing.T) {
	ctx := context.Background()
	a := newAuthzGateEnv(t)
	for i, op := range []visitor.Operator{opNobody, opSpoof, opDesk, opFacilities, opGuard} {
		card := acs.Card{Format: acs.H10301, Facility: 5, Number: uint64(10 + i)}
		ref, _ := a.hq.AddEmployee(acstest.EmployeeSpec{LastName: op.ID, Card: card, Enabled: true})
		if _, err := a.engine.CheckInEmployee(ctx, op, visitor.EmployeeCheckIn{Location: "hq", Card: card}); err != nil {
			t.Fatalf("%s: %v", op.ID, err)
		}
		var opens []string
		for _, l := range []string{lobby, floor3, serverRoom} {
			if a.hq.Opens(ref, l, a.clock.Now()) {
				opens = append(opens, l)
			}
		}
		if !slices.Equal(opens, []string{lobby}) {
			t.Errorf("checked in by %s, the employee opens %v, want the policy's lobby", op.ID, opens)
		}
	}
	noID := visitor.Operator{Groups: []string{"facilities"}}
	if _, err := a.engine.CheckInEmployee(ctx, noID, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: "emp-1"}); !errors.Is(err, acs.ErrInvalidArgument) {
		t.Errorf("CheckInEmployee without an operator ID: %v", err)
	}
	if _, err := a.engine.CheckOutEmployee(ctx, noID, "hq", "emp-1"); !errors.Is(err, acs.ErrInvalidArgument) {
		t.Errorf("CheckOutEmployee without an operator ID: %v", err)
	}
}
