package visitor_test

import (
	"context"
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

// exampleEngine returns an engine for one location, "hq", whose ACS is an
// in-memory provider with a "lobby" access level, and a pool holding badge
// 1042.
func exampleEngine(ctx context.Context, clock *visitor.ManualClock) (*visitor.Engine, *acstest.Memory) {
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{
		ID:       "hq",
		Provider: acsys,
		Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {"lobby"}},
			AutoSignOut:    12 * time.Hour,
		},
	}}, visitor.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	pool, err := engine.Pool("hq")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pool.Add(ctx, badge.Badge{ID: "1042", Name: "Visitor 42", Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1042}}); err != nil {
		log.Fatal(err)
	}
	return engine, acsys
}

// A visitor signs in, gets badge 1042 for the lobby, and signs out at the
// kiosk: the credential is revoked and the badge is back in the pool.
func Example() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	engine, acsys := exampleEngine(ctx, clock)
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}

	v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
		VisitID: "visit-1", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", v.State)

	v, err = engine.Provision(ctx, desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042"})
	if err != nil {
		log.Fatal(err)
	}
	c := v.Current()
	fmt.Println("badge:", c.BadgeID, c.Card, c.Status, c.AccessLevels, "until", c.ValidUntil.Format("15:04"))
	fmt.Println("opens the lobby:", acsys.Opens(c.Ref, "lobby", clock.Now()))

	clock.Advance(2 * time.Hour)
	v, err = engine.SignOut(ctx, visitor.Operator{ID: "kiosk-1"}, "visit-1", visitor.ViaKiosk)
	if err != nil {
		log.Fatal(err)
	}
	c = v.Current()
	fmt.Println("state:", v.State, "via", v.EndReason, "- credential", c.Status)
	fmt.Println("opens the lobby:", acsys.Opens(c.Ref, "lobby", clock.Now()))
	pool, _ := engine.Pool("hq")
	b, _ := pool.Get(ctx, "1042")
	fmt.Println("badge 1042:", b.State)

	// Output:
	// state: signed_in
	// badge: 1042 H10301 12/1042 active [lobby] until 17:00
	// opens the lobby: true
	// state: signed_out via kiosk - credential revoked
	// opens the lobby: false
	// badge 1042: available
}

// When the ACS is down at sign-out, the visitor still signs out; the
// revocation waits in the outbox and the badge stays out of the pool until
// the ACS confirms it.
func ExampleEngine_SignOut_acsDown() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	engine, acsys := exampleEngine(ctx, clock)
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	pool, _ := engine.Pool("hq")

	if _, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
		VisitID: "visit-1", Location: "hq", Visitor: visitor.Visitor{FirstName: "Ada"},
		Provision: &visitor.ProvisionRequest{},
	}); err != nil {
		log.Fatal(err)
	}

	acsys.SetDown(true)
	v, err := engine.SignOut(ctx, desk, "visit-1", visitor.ViaDesk)
	if err != nil {
		log.Fatal(err)
	}
	b, _ := pool.Get(ctx, "1042")
	fmt.Println(v.State, v.Current().Status, "pending:", v.Pending(), "- badge", b.State)

	acsys.SetDown(false)
	clock.Advance(time.Minute) // past the retry backoff
	if _, err := engine.RunOutboxOnce(ctx); err != nil {
		log.Fatal(err)
	}
	v, _ = engine.Visit(ctx, "visit-1")
	b, _ = pool.Get(ctx, "1042")
	fmt.Println(v.State, v.Current().Status, "pending:", v.Pending(), "- badge", b.State)

	// Output:
	// signed_out revoking pending: true - badge assigned
	// signed_out revoked pending: false - badge available
}

// The audit trail of a visit, exported as CSV.
func ExampleEngine_ExportAudit() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	engine, _ := exampleEngine(ctx, clock)
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	if _, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
		VisitID: "visit-1", Location: "hq", Visitor: visitor.Visitor{FirstName: "Ada"},
		Provision: &visitor.ProvisionRequest{},
	}); err != nil {
		log.Fatal(err)
	}
	if err := engine.ExportAudit(ctx, os.Stdout, visitor.AuditQuery{VisitID: "visit-1"}, visitor.CSV); err != nil {
		log.Fatal(err)
	}
	// Output:
	// seq,time,visit_id,location,actor,action,from,to,badge_id,card,access_levels,outcome,error,attempt,subject,reason,scrubbed,door_id,door_name,direction
	// 1,2026-03-10T09:00:00Z,visit-1,hq,alice,sign_in,,signed_in,,,,ok,,,Ada,,false,,,
	// 2,2026-03-10T09:00:00Z,visit-1,hq,alice,provision,signed_in,signed_in,1042,H10301 12/1042,lobby,queued,,,Ada,,false,,,
	// 3,2026-03-10T09:00:00Z,visit-1,hq,system,acs_provision,signed_in,signed_in,1042,H10301 12/1042,lobby,ok,,1,Ada,,false,,,
}

// Someone at the ACS widens a visitor's window behind the VMS's back;
// Reconcile finds it, queues the repair through the outbox, and audits it.
func ExampleEngine_Reconcile() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	engine, acsys := exampleEngine(ctx, clock)
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
		VisitID: "visit-1", Location: "hq",
		Visitor:   visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"},
		Provision: &visitor.ProvisionRequest{BadgeID: "1042"},
	})
	if err != nil {
		log.Fatal(err)
	}
	c := v.Current()
	acsys.SetWindow(c.Ref, c.ValidFrom, c.ValidUntil.Add(30*24*time.Hour))

	rep, err := engine.Reconcile(ctx, "hq")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cardholders %d, orphans %d, repairs %d\n", rep.Cardholders, rep.Orphans, rep.Repairs)
	if _, err := engine.RunOutboxOnce(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens a day after the visit:", acsys.Opens(c.Ref, "lobby", c.ValidUntil.Add(24*time.Hour)))
	recs, _ := engine.Audit(ctx, visitor.AuditQuery{VisitID: "visit-1"})
	for _, r := range recs {
		if r.Action == visitor.ActReconcile {
			fmt.Println(r.Outcome, r.Reason)
		}
	}
	// Output:
	// cardholders 1, orphans 0, repairs 1
	// opens a day after the visit: false
	// queued credential H10301 12/1042 is valid 2026-03-10T09:00:00Z – 2026-04-09T17:00:00Z at the ACS, 2026-03-10T09:00:00Z – 2026-03-10T17:00:00Z granted
}
