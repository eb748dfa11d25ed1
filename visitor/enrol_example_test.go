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

// A blank card is handed over at the desk: the desk reader waits for it,
// the visitor taps it, and the refused door event carrying the card's data
// gives the card to the visit.
func ExampleEngine_StartEnrolment() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	acsys.AddDoor("desk", "Desk reader") // opens nothing
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{
		ID:       "hq",
		Provider: acsys,
		Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {"lobby"}},
		},
		Enrolment: visitor.EnrolmentReader{Reader: "desk"},
	}}, visitor.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	if _, err := engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"}}); err != nil {
		log.Fatal(err)
	}
	v, err := engine.StartEnrolment(ctx, desk, "visit-1", visitor.EnrolRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("enrolment:", v.Enrolment.Status, "until", v.Enrolment.Until.Format("15:04"))

	// The visitor taps the blank card; the door consumer (RunDoorEvents)
	// hands the refused event to RecordDoorEvent.
	card := acs.Card{Format: acs.H10301, Facility: 12, Number: 777}
	clock.Advance(20 * time.Second)
	acsys.Swipe(card, "desk", acs.DirectionUnknown, clock.Now())
	ev := acs.DoorEvent{Cursor: "1", Time: clock.Now(), DoorID: "desk", Card: card}
	res, err := engine.RecordDoorEvent(ctx, "hq", ev)
	if err != nil {
		log.Fatal(err)
	}
	c := res.Visit.Current()
	fmt.Println("linked by:", res.LinkedBy, "enrolment:", res.Visit.Enrolment.Status)
	fmt.Println("credential:", c.Source, c.Card, c.Status)
	fmt.Println("opens the lobby:", acsys.Opens(c.Ref, "lobby", clock.Now()))
	// Output:
	// enrolment: waiting until 09:02
	// linked by: enrolment enrolment: captured
	// credential: tap H10301 12/777 active
	// opens the lobby: true
}
