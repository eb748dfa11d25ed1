// Package sqlite opens a sqlstore.Store on an SQLite database file, through
// the pure-Go driver modernc.org/sqlite (no cgo). It is the embedded
// choice: a file path is all it needs. Use it when one VMS process runs
// the visitor engine.
//
//	store, err := sqlite.Open(ctx, "/var/lib/vms/visits.db")
//
// A program that imports this package links the SQLite driver and not the
// PostgreSQL one (see package visitor/sqlstore/postgres for that).
//
// The file is put in WAL mode with foreign keys on. Writes go through one
// connection and begin with BEGIN IMMEDIATE, so goroutines queue for it
// instead of failing with SQLITE_BUSY, and another process using the same
// file waits up to the busy timeout (WithBusyTimeout). Reads use a small
// pool of read-only connections (WithMaxConns) and never wait for
// writers. Commits are synchronous (synchronous=FULL) unless
// WithRelaxedSync trades power-loss durability for speed; a killed process
// loses nothing committed.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns    int
	relaxedSync bool
	busyTimeout time.Duration
}

// WithMaxConns caps the read connections to the file (default 4). Writes
// always go through one connection.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithRelaxedSync makes commits use synchronous=NORMAL instead of FULL: a
// committed transaction survives a crash of the process but may be lost
// if the machine loses power or the operating system crashes. Commits get
// faster.
func WithRelaxedSync() Option { return func(o *options) { o.relaxedSync = true } }

// WithBusyTimeout sets how long a connection waits for another process
// holding the database lock before failing (default 10 seconds). Within
// one process writers queue for the Store's single write connection and
// never see the lock busy.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// backend tells the Store about modernc.org/sqlite: the SQLite dialect,
// and SQLITE_BUSY and SQLITE_LOCKED (primary result codes) mean Busy.
var backend = sqlstore.Backend{Dialect: sqlstore.SQLite, Classify: classify}

func classify(err error) (sqlstore.ErrorClass, string) {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return sqlstore.Busy, ""
		}
	}
	return sqlstore.Unclassified, ""
}

// Open opens (creating it if needed) the SQLite database file at path and
// brings its schema up to date. path is a plain file path: ":memory:",
// "file:" URIs and paths with a query ("?") are refused, since the Store
// sets the connection parameters itself (use a file in a temporary
// directory for tests).
func Open(ctx context.Context, path string, opts ...Option) (*sqlstore.Store, error) {
	switch {
	case path == "":
		return nil, errors.New("sqlstore: empty SQLite file path")
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("sqlstore: %q is not a plain file path; give the path of the database file (a temporary directory for tests)", path)
	}
	o := options{maxConns: 4, busyTimeout: 10 * time.Second}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.maxConns <= 0 {
		o.maxConns = 4
	}
	wdsn, rdsn := connStrings(path, o)
	db, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	// Create the file and switch it to WAL before any reader connects (the
	// read pool connects only once sqlstore.New has migrated).
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", rdsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(o.maxConns)
	rdb.SetMaxIdleConns(o.maxConns)
	return sqlstore.New(ctx, backend, db, rdb)
}

// connStrings returns the modernc.org/sqlite connection strings of the
// write and the read connections to the file at path.
func connStrings(path string, o options) (write, read string) {
	common := url.Values{}
	common.Set("_busy_timeout", fmt.Sprint(max(o.busyTimeout.Milliseconds(), 0)))
	common.Set("_foreign_keys", "1")
	w := url.Values{}
	for k, v := range common {
		w[k] = v
	}
	w.Set("_journal_mode", "WAL")
	w.Set("_synchronous", "FULL")
	if o.relaxedSync {
		w.Set("_synchronous", "NORMAL")
	}
	w.Set("_txlock", "immediate")
	r := common
	r.Set("_query_only", "1")
	return path + "?" + w.Encode(), path + "?" + r.Encode()
}
