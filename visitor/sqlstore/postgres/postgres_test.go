package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestOpenRefusesEmptyDSN(t *testing.T) {
	_, err := Open(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "empty PostgreSQL connection string") {
		t.Fatalf(`Open("") = %v`, err)
	}
}

// A connection string with a password that cannot be used must not show
// the password in the error.
func TestOpenErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://user:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://user:s3cr3t-pw@127.0.0.1:1/db?sslmode=bogus",
		"host=127.0.0.1 port=1 user=user password=s3cr3t-pw sslmode=disable connect_timeout=2",
	} {
		_, err := Open(ctx, dsn)
		if err == nil {
			t.Fatalf("Open on a closed port succeeded")
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err        error
		class      sqlstore.ErrorClass
		constraint string
	}{
		{&pgconn.PgError{Code: "40001"}, sqlstore.Conflict, ""},
		{&pgconn.PgError{Code: "40P01"}, sqlstore.Conflict, ""},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505", ConstraintName: "badges_visit"}), sqlstore.UniqueViolation, "badges_visit"},
		{&pgconn.PgError{Code: "3F000"}, sqlstore.NoSchema, ""},
		{&pgconn.PgError{Code: "42P01"}, sqlstore.Unclassified, ""}, // undefined_table
		{errors.New("connection reset"), sqlstore.Unclassified, ""},
	} {
		class, constraint := classify(c.err)
		if class != c.class || constraint != c.constraint {
			t.Errorf("classify(%v) = %v, %q; want %v, %q", c.err, class, constraint, c.class, c.constraint)
		}
	}
}

// With a server (ACSBRIDGE_POSTGRES_DSN), Open migrates and the store
// speaks PostgreSQL; a search_path naming a schema nobody created is
// reported as such.
func TestOpenServer(t *testing.T) {
	dsn := os.Getenv("ACSBRIDGE_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ACSBRIDGE_POSTGRES_DSN is not set; skipping the PostgreSQL tests")
	}
	ctx := context.Background()
	missing := dsn + " search_path=no_such_schema_acsbridge"
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		missing = dsn + sep + "search_path=no_such_schema_acsbridge"
	}
	_, err := Open(ctx, missing, WithMaxConns(2))
	if err == nil {
		t.Fatal("Open with a missing schema succeeded")
	}
	if strings.Contains(err.Error(), dsn) {
		t.Fatal("the error quotes the connection string")
	}
	if !strings.Contains(err.Error(), "no schema to create the tables in") {
		t.Fatalf("Open with a missing schema = %v", err)
	}
}
