package visitor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// An invited visitor badges in at the lobby turnstile: the door event
// signs the visit in (MarkArrival), and the muster report shows the
// visitor inside and where they were last seen. RunDoorEvents does the
// reading shown here continuously, saving each event's cursor.
func ExampleEngine_Muster() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	acsys.AddDoor("turnstile-1", "Lobby turnstile", "lobby")
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{
		ID:       "hq",
		Provider: acsys,
		Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour, AdvanceAccess: time.Hour}},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {"lobby"}},
			Doors:          visitor.DoorPolicy{MarkArrival: true},
		},
	}}, visitor.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	pool, _ := engine.Pool("hq")
	if _, err := pool.Add(ctx, badge.Badge{ID: "1042", Name: "Visitor 42", Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1042}}); err != nil {
		log.Fatal(err)
	}
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	if _, err := engine.Invite(ctx, desk, visitor.InviteRequest{
		VisitID: "visit-1", Location: "hq", ExpectedAt: clock.Now().Add(30 * time.Minute),
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"},
	}); err != nil {
		log.Fatal(err)
	}
	v, err := engine.Provision(ctx, desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("before:", v.State)

	clock.Advance(25 * time.Minute)
	acsys.Swipe(v.Current().Card, "turnstile-1", acs.DirectionIn, clock.Now())

	done := errors.New("done")
	err = acsys.Events(ctx, "", func(ev acs.DoorEvent) error {
		res, err := engine.RecordDoorEvent(ctx, "hq", ev)
		if err != nil {
			return err
		}
		fmt.Println("event", ev.Cursor, "→", res.VisitID, "by", res.LinkedBy, "arrived:", res.Arrived)
		return done
	})
	if !errors.Is(err, done) {
		log.Fatal(err)
	}

	rep, err := engine.Muster(ctx, "hq")
	if err != nil {
		log.Fatal(err)
	}
	for _, en := range rep.Entries {
		fmt.Println(en.Name, en.State, en.Status, "-", en.LastSeen)
	}
	fmt.Println("to account for:", rep.Missing())
	if err := rep.WriteCSV(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// before: expected
	// event 1 → visit-1 by external_id arrived: true
	// Ada Lovelace signed_in inside - granted in at door turnstile-1 (Lobby turnstile) 2026-03-10T09:25:00Z
	// to account for: 1
	// visit_id,location,name,company,host,type,state,signed_in_at,status,badge_id,last_seen_time,last_seen_door_id,last_seen_door_name,last_seen_granted,last_seen_direction,last_granted_time,last_granted_door_id,last_granted_door_name,last_granted_direction
	// visit-1,hq,Ada Lovelace,,,guest,signed_in,2026-03-10T09:25:00Z,inside,1042,2026-03-10T09:25:00Z,turnstile-1,Lobby turnstile,true,in,2026-03-10T09:25:00Z,turnstile-1,Lobby turnstile,in
}
