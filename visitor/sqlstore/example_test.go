package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/wiegand"
)

// A visitor engine on an SQLite file: a visitor signs in and gets a badge,
// signs out and the badge's credential is revoked, and everything is still
// there after the store is closed and opened again.
func ExampleOpenSQLite() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "visits.db")
	ctx := context.Background()

	store, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	provider := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	engine, err := visitor.New(store, []visitor.Location{{
		ID:       "hq",
		Provider: provider,
		Policy: visitor.Policy{
			Types:       map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
			DefaultType: "guest",
			Groups:      map[string][]string{"reception": {"lobby"}},
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
	pool, err := engine.Pool("hq")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pool.Add(ctx, badge.Badge{ID: "1001", Name: "Visitor 1001",
		Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}}); err != nil {
		log.Fatal(err)
	}

	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
		VisitID: "visit-1", Location: "hq",
		Visitor:   visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"},
		Provision: &visitor.ProvisionRequest{},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.State, v.Current().BadgeID, v.Current().Status)
	if v, err = engine.SignOut(ctx, desk, "visit-1", visitor.ViaDesk); err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.State, v.Current().Status, v.Current().Released)
	store.Close()

	// A restart finds the visit and the badge back in the pool.
	store, err = sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	v, err = store.Visit(ctx, "visit-1")
	if err != nil {
		log.Fatal(err)
	}
	b, err := store.Badges().Get(ctx, "hq", "1001")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.State, "version", v.Version, "badge", b.ID, b.State)
	// Output:
	// signed_in 1001 active
	// signed_out revoked true
	// signed_out version 5 badge 1001 available
}

// Several VMS replicas share one PostgreSQL database: each opens its own
// Store (the first to start applies the schema while the others wait) and
// runs an Engine over it; leases keep them from working the same outbox
// item or due visit at once.
func ExampleOpenPostgres() {
	ctx := context.Background()
	dsn := os.Getenv("ACSBRIDGE_POSTGRES_DSN") // postgres://user:password@host:5432/db?sslmode=verify-full
	if dsn == "" {
		return
	}
	store, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithMaxConns(20))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	engine, err := visitor.New(store, []visitor.Location{{
		ID:       "hq",
		Provider: acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}}),
		Policy: visitor.Policy{
			Types:       map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}}},
			DefaultType: "guest",
		},
	}}, visitor.WithOwner("replica-1"))
	if err != nil {
		log.Fatal(err)
	}
	// Sweep and drain the outbox every few seconds until ctx ends.
	if err := engine.Run(ctx); err != nil {
		log.Print(err)
	}
}
