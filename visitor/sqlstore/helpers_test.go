package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/postgres"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

// dsnEnv names the environment variable with the PostgreSQL connection
// string the PostgreSQL tests use; without it they are skipped.
const dsnEnv = "ACSBRIDGE_POSTGRES_DSN"

// openSQLite opens a store on a new file in a temporary directory.
func openSQLite(t testing.TB, opts ...sqlite.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "acsbridge.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pgSchema creates a schema of its own for one test, dropped at cleanup,
// and returns a DSN whose search_path selects it, so that tests and test
// runs sharing a database never see each other's tables.
func pgSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skipf("%s is not set; skipping the PostgreSQL tests", dsnEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s is not a valid connection string", dsnEnv)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(dsn, schema)
}

// withSearchPath sets search_path in a URL or key=value connection string.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// openPostgres opens a store in a fresh schema, or skips the test without
// a PostgreSQL connection string.
func openPostgres(t testing.TB, opts ...postgres.Option) *sqlstore.Store {
	t.Helper()
	dsn := pgSchema(t)
	s, err := postgres.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Dialect() != sqlstore.Postgres {
		t.Fatalf("Dialect() = %q", s.Dialect())
	}
	return s
}

// backend is a way to open a fresh store.
type backend struct {
	name string
	open func(t testing.TB) *sqlstore.Store
}

var backends = []backend{
	{"SQLite", func(t testing.TB) *sqlstore.Store { return openSQLite(t) }},
	{"Postgres", func(t testing.TB) *sqlstore.Store { return openPostgres(t) }},
}
