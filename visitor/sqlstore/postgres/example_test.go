package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/postgres"
)

// Several VMS replicas share one PostgreSQL database: each opens its own
// Store (the first to start applies the schema while the others wait) and
// runs an Engine over it; leases keep them from working the same outbox
// item or due visit at once.
func ExampleOpen() {
	ctx := context.Background()
	dsn := os.Getenv("ACSBRIDGE_POSTGRES_DSN") // postgres://user:password@host:5432/db?sslmode=verify-full
	if dsn == "" {
		return
	}
	store, err := postgres.Open(ctx, dsn, postgres.WithMaxConns(20))
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
