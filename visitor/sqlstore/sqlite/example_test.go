package sqlite_test

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
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

// A visitor engine on an SQLite file: a visitor signs in and gets a badge,
// signs out and the badge's credential is revoked, and everything is still
// there after the store is closed and opened again.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "visits.db")
	ctx := context.Background()

	store, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	provider := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	engine, err := visitor.New(store, []visitor.Location{{
		ID:       "hq",
		Provider: provider,
		Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {"lobby"}},
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
	store, err = sqlite.Open(ctx, path)
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
