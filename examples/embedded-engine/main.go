// Command embedded-engine is the smallest visitor management system: one
// location whose access control system is LenelS2 OnGuard, the visits,
// badge pool, outbox and audit trail in a SQLite file, and the engine's
// background work running. A visitor signs in with a badge and signs out.
//
//	ACS_URL=https://onguard.example.com:8080/api/access/onguard/openaccess \
//	ACS_USERNAME=u ACS_PASSWORD=… ACS_APP_ID=… ACS_LEVEL=<access level ID> \
//	    go run ./examples/embedded-engine
//
// The README shows this file; a test runs it against the OnGuard simulator
// and checks that the README's copy is this file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, "visits.db"); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer, dbPath string) error {
	// The ACS. Lenel holds a session: a provider that implements acs.Closer
	// (lenel, netbox) must be closed when the program ends.
	acsys, err := lenel.New(lenel.Config{BaseURL: os.Getenv("ACS_URL"), Username: os.Getenv("ACS_USERNAME"),
		Password: os.Getenv("ACS_PASSWORD"), ApplicationID: os.Getenv("ACS_APP_ID")})
	if err != nil {
		return err
	}
	defer acsys.Close(context.Background())

	// The durable store: a file is all it needs.
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer store.Close()

	lobby := os.Getenv("ACS_LEVEL")
	engine, err := visitor.New(store, []visitor.Location{{ID: "hq", Provider: acsys, Policy: visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{lobby}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {lobby}},
		AutoSignOut:    12 * time.Hour,
	}}})
	if err != nil {
		return err
	}

	// Run retries what the ACS has not confirmed yet (a revocation while it
	// was down; the outbox is in the store, so also after a restart) and
	// signs expired visits out. Without it, call Sweep and RunOutboxOnce
	// from your own scheduler. Stop it before the store closes.
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = engine.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pool, err := engine.Pool("hq")
	if err != nil {
		return err
	}
	card := badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1042}
	if _, err := pool.Add(ctx, badge.Badge{ID: "1042", Name: "Visitor 1042", Card: card}); err != nil && !errors.Is(err, badge.ErrExists) {
		return err
	}

	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	visit := fmt.Sprintf("visit-%d", time.Now().UnixNano())
	v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: visit, Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"}, Provision: &visitor.ProvisionRequest{}})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, v.State, "with badge", v.Current().BadgeID, v.Current().Status)
	if v, err = engine.SignOut(ctx, desk, visit, visitor.ViaDesk); err != nil {
		return err
	}
	fmt.Fprintln(out, v.State, "- credential", v.Current().Status)
	return nil
}
