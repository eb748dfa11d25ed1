package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Store is a durable visitor.Store (and badge.Store and
// badge.AllocationStore through Badges and Cards) on SQLite or PostgreSQL.
// It is safe for concurrent use, and several Stores (in one process or in
// several VMS replicas) may share one PostgreSQL database. Close it when
// done.
type Store struct {
	d   *dialect
	db  *sql.DB // writes; on SQLite a single connection
	rdb *sql.DB // reads; the same pool as db on PostgreSQL
}

var (
	_ visitor.Store         = (*Store)(nil)
	_ badge.Store           = badges{}
	_ badge.AllocationStore = cards{}
)

// Drivers accepted by Open.
const (
	SQLite   = "sqlite"   // modernc.org/sqlite; the DSN is a file path
	Postgres = "postgres" // github.com/jackc/pgx/v5; the DSN is a pgx connection string
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns    int
	relaxedSync bool
	busyTimeout time.Duration
}

// WithMaxConns caps the connections the Store opens: to PostgreSQL (default
// 10), or the read connections to an SQLite file (default 4; SQLite writes
// always go through one connection).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithRelaxedSync makes SQLite commits use synchronous=NORMAL instead of
// FULL: a committed transaction survives a crash of the process but may be
// lost if the machine loses power or the operating system crashes. Commits
// get faster. It has no effect on PostgreSQL.
func WithRelaxedSync() Option { return func(o *options) { o.relaxedSync = true } }

// WithBusyTimeout sets how long an SQLite connection waits for another
// process holding the database lock before failing (default 10 seconds).
// Within one process writers queue for the Store's single write connection
// and never see the lock busy. It has no effect on PostgreSQL.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

func buildOptions(opts []Option) options {
	o := options{busyTimeout: 10 * time.Second}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Open opens the store of the named driver (SQLite, or "sqlite3"; Postgres,
// or "postgresql" and "pgx") and brings its schema up to date: a file path
// for SQLite (see OpenSQLite), a connection string for PostgreSQL (see
// OpenPostgres).
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	switch driver {
	case SQLite, "sqlite3":
		return OpenSQLite(ctx, dsn, opts...)
	case Postgres, "postgresql", "pgx":
		return OpenPostgres(ctx, dsn, opts...)
	}
	return nil, fmt.Errorf("sqlstore: unknown driver %q (want %q or %q)", driver, SQLite, Postgres)
}

// OpenSQLite opens (creating it if needed) the SQLite database file at
// path and brings its schema up to date. The file is put in WAL mode with
// foreign keys on; writes go through one connection and begin with BEGIN
// IMMEDIATE, so concurrent goroutines queue instead of failing with
// SQLITE_BUSY, and another process using the same file waits up to the
// busy timeout. Reads use a small pool of read-only connections and do not
// wait for writers.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	switch {
	case path == "":
		return nil, errors.New("sqlstore: empty SQLite file path")
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("sqlstore: %q is not a plain file path; give the path of the database file (a temporary directory for tests)", path)
	}
	o := buildOptions(opts)
	if o.maxConns <= 0 {
		o.maxConns = 4
	}
	sync := "FULL"
	if o.relaxedSync {
		sync = "NORMAL"
	}
	common := url.Values{}
	common.Set("_busy_timeout", fmt.Sprint(max(o.busyTimeout.Milliseconds(), 0)))
	common.Set("_foreign_keys", "1")
	w := url.Values{}
	for k, v := range common {
		w[k] = v
	}
	w.Set("_journal_mode", "WAL")
	w.Set("_synchronous", sync)
	w.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+w.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{d: newDialect(false), db: db}
	// Create the file, switch it to WAL and migrate before any reader
	// connects.
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	r := common
	r.Set("_query_only", "1")
	rdb, err := sql.Open("sqlite", path+"?"+r.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(o.maxConns)
	rdb.SetMaxIdleConns(o.maxConns)
	s.rdb = rdb
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a pgx
// connection string: "postgres://user:password@host:5432/db?sslmode=…" or
// key=value pairs; search_path may be set there) and brings its schema up
// to date. Several replicas may open the same database at once: one
// migrates while the others wait on an advisory lock.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("sqlstore: empty PostgreSQL connection string")
	}
	o := buildOptions(opts)
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
	s := &Store{d: newDialect(true), db: db, rdb: db}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Driver returns SQLite or Postgres.
func (s *Store) Driver() string { return s.d.name }

// Close closes the database connections. Transactions in progress fail.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// reader returns the querier for reads outside a transaction.
func (s *Store) reader() querier { return pool{d: s.d, db: s.rdb} }

// Badges implements visitor.Store: the badge pools, each method in its own
// transaction.
func (s *Store) Badges() badge.Store { return badges{s: s} }

// Cards implements visitor.Store: the card-number ranges, each method in
// its own transaction.
func (s *Store) Cards() badge.AllocationStore { return cards{s: s} }
