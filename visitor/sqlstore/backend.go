package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Dialect is the SQL a database speaks. The Store writes each query once
// and translates it for the dialect.
type Dialect string

// The dialects the Store speaks.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrorClass is what an error returned by a database driver means to the
// Store. A Backend's Classify sorts driver errors into these classes.
type ErrorClass int

const (
	// Unclassified is every error the classes below do not describe. The
	// Store returns it to its caller.
	Unclassified ErrorClass = iota
	// Conflict means the transaction lost a race with another one and may
	// be run again as it is: a serialization failure or a deadlock
	// (PostgreSQL SQLSTATE 40001 and 40P01). The Store rolls back and runs
	// the transaction again.
	Conflict
	// Busy means another connection held the database lock for longer than
	// the busy timeout (SQLite SQLITE_BUSY and SQLITE_LOCKED). The Store
	// rolls back and runs the transaction again.
	Busy
	// UniqueViolation means a statement would have duplicated a unique
	// constraint or index (PostgreSQL SQLSTATE 23505). The Store runs the
	// transaction again when the constraint is one where two transactions
	// racing for the same visit collide, and returns the error otherwise.
	UniqueViolation
	// NoSchema means the schema to create the tables in does not exist
	// (PostgreSQL SQLSTATE 3F000, when search_path names a schema nobody
	// created). The Store says so in the error it returns.
	NoSchema
)

var errorClassNames = [...]string{"Unclassified", "Conflict", "Busy", "UniqueViolation", "NoSchema"}

// String returns the class's name, such as "Conflict".
func (c ErrorClass) String() string {
	if c >= 0 && int(c) < len(errorClassNames) {
		return errorClassNames[c]
	}
	return fmt.Sprintf("ErrorClass(%d)", int(c))
}

// Backend is what the Store needs to know about a database/sql driver
// beyond the SQL: the dialect it speaks and what its errors mean. The
// packages visitor/sqlstore/sqlite (modernc.org/sqlite) and
// visitor/sqlstore/postgres (github.com/jackc/pgx/v5) each provide one and
// open Stores with it; write a Backend only to use another driver, and
// pass it to New.
type Backend struct {
	// Dialect is SQLite or Postgres.
	Dialect Dialect

	// Classify reports what an error returned by the driver means and,
	// for UniqueViolation, the name of the constraint or unique index
	// violated ("" if the driver does not say). The Store calls it with
	// the errors of BeginTx, of statements and of Commit, possibly
	// wrapped, so it should look with errors.As. It must return Conflict
	// or Busy only for errors that running the transaction again may
	// avoid: the Store retries those up to 50 times. It is called
	// concurrently. Required.
	Classify func(err error) (class ErrorClass, constraint string)
}

// New returns a Store on the database behind db and rdb, after bringing
// its schema up to date: it applies the migrations this build knows and
// the database lacks, and refuses a database migrated by a newer build.
// It is the seam between the Store and a driver package; programs open
// Stores with sqlite.Open or postgres.Open.
//
// db runs every transaction and rdb the reads outside transactions:
//
//   - On SQLite (b.Dialect == SQLite), db and rdb are two pools on the same
//     file. Every connection of both must have foreign keys on and a busy
//     timeout; db's connections must use WAL journal mode and start the
//     transactions of BeginTx with BEGIN IMMEDIATE, and rdb's should be
//     read-only. New limits db to a single connection that is never
//     closed for idleness, so that writers queue in the process instead
//     of failing with SQLITE_BUSY, and refuses a db whose connection has
//     foreign keys off or is not in WAL mode. No connection of rdb is
//     made before the migrations are done.
//   - On PostgreSQL (b.Dialect == Postgres), rdb must be nil: db serves
//     reads too. The tables live in the first schema of db's search_path.
//     Several Stores may call New on one database at once; one migrates
//     while the others wait on an advisory lock.
//
// New takes ownership of db and rdb: the Store's Close closes them, and
// New closes them itself when it returns an error.
func New(ctx context.Context, b Backend, db, rdb *sql.DB) (*Store, error) {
	s, err := newStore(ctx, b, db, rdb)
	if err != nil {
		closeAll(db, rdb)
		return nil, err
	}
	return s, nil
}

// newStore is New without the cleanup on failure.
func newStore(ctx context.Context, b Backend, db, rdb *sql.DB) (*Store, error) {
	switch {
	case db == nil:
		return nil, errors.New("sqlstore: New needs a database (db is nil)")
	case b.Classify == nil:
		return nil, errors.New("sqlstore: the Backend has no Classify function")
	}
	switch b.Dialect {
	case SQLite:
		if rdb == nil || rdb == db {
			return nil, errors.New("sqlstore: SQLite needs a pool for reads (rdb) separate from the write pool (db)")
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		if err := checkSQLite(ctx, db); err != nil {
			return nil, err
		}
	case Postgres:
		if rdb != nil && rdb != db {
			return nil, errors.New("sqlstore: PostgreSQL reads share the write pool; pass a nil rdb")
		}
		rdb = db
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %q (want %q or %q)", b.Dialect, SQLite, Postgres)
	}
	s := &Store{d: newDialect(b), db: db, rdb: rdb}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// checkSQLite makes sure the write connection has the settings the Store's
// guarantees rest on.
func checkSQLite(ctx context.Context, db *sql.DB) error {
	var fk int
	if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		return fmt.Errorf("sqlstore: read the SQLite settings: %w", err)
	}
	if fk != 1 {
		return errors.New("sqlstore: the SQLite connection has foreign keys off; open it with foreign keys on")
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("sqlstore: read the SQLite settings: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlstore: the SQLite database is in journal mode %q; open it in WAL mode", mode)
	}
	return nil
}

// closeAll closes the pools New was given, each once.
func closeAll(db, rdb *sql.DB) {
	if db != nil {
		db.Close()
	}
	if rdb != nil && rdb != db {
		rdb.Close()
	}
}
