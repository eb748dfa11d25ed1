package sqlstore_test

import (
	"testing"

	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/storetest"
)

// The shared suite: visits, outbox, leases, audit, scrub, and (through
// its Badges and Cards subtests) the badge.Store and badge.AllocationStore
// contracts, each subtest on a fresh database.

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) visitor.Store { return openSQLite(t) })
}

func TestPostgresStore(t *testing.T) {
	pgSchema(t) // skip early without a server
	storetest.Run(t, func(t *testing.T) visitor.Store { return openPostgres(t) })
}

func TestSQLiteEngines(t *testing.T) {
	storetest.RunEngines(t, func(t *testing.T) visitor.Store { return openSQLite(t) })
}

func TestPostgresEngines(t *testing.T) {
	storetest.RunEngines(t, func(t *testing.T) visitor.Store { return openPostgres(t) })
}
