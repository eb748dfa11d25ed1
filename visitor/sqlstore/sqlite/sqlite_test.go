package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/visitor/sqlstore"
)

func TestOpenRefusesBadPaths(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, path, want string }{
		{"empty", "", "empty SQLite file path"},
		{"memory", ":memory:", "not a plain file path"},
		{"URI", "file:x.db?mode=memory", "not a plain file path"},
		{"query", "x.db?_journal_mode=DELETE", "not a plain file path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(ctx, c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open(%q) = %v, want an error saying %q", c.path, err, c.want)
			}
		})
	}
}

// The options reach the connections: the write connection has the
// requested synchronous level and busy timeout, the read connections are
// read-only, and the store speaks SQLite.
func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opts.db")
	s, err := Open(ctx, path, WithRelaxedSync(), WithBusyTimeout(1500*time.Millisecond), WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.SQLite {
		t.Fatalf("Dialect() = %q", s.Dialect())
	}
	if v, err := s.Version(ctx); err != nil || v != sqlstore.SchemaVersion {
		t.Fatalf("Version = %d, %v", v, err)
	}

	pragmas := func(dsn string, names ...string) map[string]string {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		got := map[string]string{}
		for _, n := range names {
			var v string
			if err := db.QueryRow(`PRAGMA ` + n).Scan(&v); err != nil {
				t.Fatalf("PRAGMA %s: %v", n, err)
			}
			got[n] = v
		}
		return got
	}
	for _, c := range []struct {
		opts        options
		write, read map[string]string
	}{
		{options{busyTimeout: 10 * time.Second},
			map[string]string{"synchronous": "2", "busy_timeout": "10000", "foreign_keys": "1", "journal_mode": "wal", "query_only": "0"},
			map[string]string{"busy_timeout": "10000", "foreign_keys": "1", "query_only": "1"}},
		{options{relaxedSync: true, busyTimeout: 1500 * time.Millisecond},
			map[string]string{"synchronous": "1", "busy_timeout": "1500"},
			map[string]string{"busy_timeout": "1500", "query_only": "1"}},
	} {
		w, r := connStrings(path, c.opts)
		for _, side := range []struct {
			dsn  string
			want map[string]string
		}{{w, c.write}, {r, c.read}} {
			names := make([]string, 0, len(side.want))
			for n := range side.want {
				names = append(names, n)
			}
			got := pragmas(side.dsn, names...)
			for n, want := range side.want {
				if got[n] != want {
					t.Errorf("%+v: %s has %s = %s, want %s", c.opts, side.dsn, n, got[n], want)
				}
			}
		}
	}
}

// A write lock held by another connection is Busy; other errors are
// Unclassified.
func TestClassify(t *testing.T) {
	if class, _ := classify(errors.New("not a driver error")); class != sqlstore.Unclassified {
		t.Errorf("classify(plain error) = %v", class)
	}
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path+"?_busy_timeout=0&_txlock=immediate&_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	holder, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	_, err = b.Begin()
	if err == nil {
		t.Fatal("a second BEGIN IMMEDIATE succeeded while the first holds the lock")
	}
	if class, _ := classify(fmt.Errorf("wrapped: %w", err)); class != sqlstore.Busy {
		t.Errorf("classify(%v) = %v, want Busy", err, class)
	}
	if _, err := a.Exec(`SELECT * FROM no_such_table`); err == nil {
		t.Fatal("querying a missing table succeeded")
	} else if class, _ := classify(err); class != sqlstore.Unclassified {
		t.Errorf("classify(%v) = %v, want Unclassified", err, class)
	}
}
