// Package postgres opens a sqlstore.Store on a PostgreSQL database, through
// the driver github.com/jackc/pgx/v5. It is the choice for several VMS
// replicas sharing the work: each opens its own Store on the same
// database, and leases make sure each outbox item and each due visit is
// worked by one replica at a time.
//
//	store, err := postgres.Open(ctx, "postgres://vms:…@db:5432/vms?sslmode=verify-full")
//
// A program that imports this package links pgx and not the SQLite driver
// (see package visitor/sqlstore/sqlite for that).
//
// The tables live in the first schema of the connection's search_path,
// which may be set in the connection string, so several stores can share
// one database. Of the options of package sqlite, only the pool size
// applies here (WithMaxConns); synchronous commits and lock waits are the
// server's settings.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns int
}

// WithMaxConns caps the connections the Store opens to the server
// (default 10).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// backend tells the Store about pgx: the PostgreSQL dialect, and what the
// SQLSTATE of a server error means.
var backend = sqlstore.Backend{Dialect: sqlstore.Postgres, Classify: classify}

func classify(err error) (sqlstore.ErrorClass, string) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return sqlstore.Unclassified, ""
	}
	switch pe.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return sqlstore.Conflict, ""
	case "23505": // unique_violation
		return sqlstore.UniqueViolation, pe.ConstraintName
	case "3F000": // invalid_schema_name
		return sqlstore.NoSchema, ""
	}
	return sqlstore.Unclassified, ""
}

// Open connects to the PostgreSQL database named by dsn (a pgx connection
// string: "postgres://user:password@host:5432/db?sslmode=…" or key=value
// pairs; search_path may be set there) and brings its schema up to date.
// Several replicas may open the same database at once: one migrates while
// the others wait on an advisory lock. Errors never quote dsn, which may
// hold a password.
func Open(ctx context.Context, dsn string, opts ...Option) (*sqlstore.Store, error) {
	if dsn == "" {
		return nil, errors.New("sqlstore: empty PostgreSQL connection string")
	}
	o := options{maxConns: 10}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.maxConns <= 0 {
		o.maxConns = 10
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		// The error may quote the connection string; do not pass it on.
		return nil, errors.New("sqlstore: invalid PostgreSQL connection string")
	}
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL: %w", err)
	}
	return sqlstore.New(ctx, backend, db, nil)
}
