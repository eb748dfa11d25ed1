package visitor_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
)

// An employee whose badge starts disabled checks in at the desk: the badge
// opens the lobby for the employee access duration, then the sweeper and
// the outbox disable it again.
func ExampleEngine_CheckInEmployee() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC))
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	badge, _ := acsys.AddEmployee(acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper",
		Card: acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}, AccessLevels: []string{"lobby"}})
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{
		ID:       "hq",
		Provider: acsys,
		Policy: visitor.Policy{
			Types:     map[string]visitor.VisitorType{"guest": {}},
			Employees: visitor.EmployeePolicy{Method: visitor.EmployeeToggleStatus, AccessDuration: 9 * time.Hour},
		},
	}}, visitor.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	desk := visitor.Operator{ID: "alice"}

	rec, err := engine.CheckInEmployee(ctx, desk, visitor.EmployeeCheckIn{Location: "hq", EmployeeID: badge.CardholderID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Visitor.Name(), rec.State, rec.Employee.Status, "until", rec.Employee.Until.Format("15:04"))
	fmt.Println("opens the lobby:", acsys.Opens(badge, "lobby", clock.Now()))

	clock.Advance(9 * time.Hour)
	if _, err := engine.Sweep(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := engine.RunOutboxOnce(ctx); err != nil {
		log.Fatal(err)
	}
	rec, _ = engine.EmployeeRecord(ctx, "hq", badge.CardholderID)
	fmt.Println(rec.State, rec.Employee.Status)
	fmt.Println("opens the lobby:", acsys.Opens(badge, "lobby", clock.Now()))
	// Output:
	// Grace Hopper signed_in enabled until 17:00
	// opens the lobby: true
	// signed_out disabled
	// opens the lobby: false
}
