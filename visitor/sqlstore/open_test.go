package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

// New refuses a Backend or pools that would break the Store's guarantees,
// and closes the pools it was given when it fails.
func TestNewRefusesMisuse(t *testing.T) {
	ctx := context.Background()
	classify := func(error) (sqlstore.ErrorClass, string) { return sqlstore.Unclassified, "" }
	lite := sqlstore.Backend{Dialect: sqlstore.SQLite, Classify: classify}
	dir := t.TempDir()
	open := func(params string) *sql.DB {
		db, err := sql.Open("sqlite", filepath.Join(dir, "misuse.db")+"?"+params)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	const good = "_foreign_keys=1&_journal_mode=WAL&_txlock=immediate"
	for _, c := range []struct {
		name    string
		b       sqlstore.Backend
		db, rdb *sql.DB
		want    string
	}{
		{"no database", lite, nil, open(good), "db is nil"},
		{"no classifier", sqlstore.Backend{Dialect: sqlstore.SQLite}, open(good), open(good), "no Classify"},
		{"unknown dialect", sqlstore.Backend{Dialect: "mysql", Classify: classify}, open(good), open(good), `unknown dialect "mysql"`},
		{"SQLite without a read pool", lite, open(good), nil, "pool for reads"},
		{"PostgreSQL with a read pool", sqlstore.Backend{Dialect: sqlstore.Postgres, Classify: classify}, open(good), open(good), "pass a nil rdb"},
		{"foreign keys off", lite, open("_journal_mode=WAL"), open(good), "foreign keys off"},
		{"rollback journal", lite, open("_foreign_keys=1&_journal_mode=DELETE"), open(good), `journal mode "delete"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlstore.New(ctx, c.b, c.db, c.rdb)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error saying %q", err, c.want)
			}
			for _, db := range []*sql.DB{c.db, c.rdb} {
				if db != nil && db.Ping() == nil {
					t.Errorf("New failed and left a pool open")
				}
			}
		})
	}
	// The same pool for writes and reads on SQLite is refused too, and
	// closed once.
	db := open(good)
	if _, err := sqlstore.New(ctx, lite, db, db); err == nil || !strings.Contains(err.Error(), "separate from the write pool") {
		t.Fatalf("New with db == rdb = %v", err)
	}
}

// Re-opening a file finds the data and applies no migration twice; a file
// whose schema is newer than this build is refused.
func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reopen.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect() != sqlstore.SQLite {
		t.Errorf("Dialect() = %q", s.Dialect())
	}
	addBadges(t, s.Badges(), 3)
	if _, err := s.Create(ctx, visitor.Visit{ID: "v1", Location: hq, State: visitor.SignedIn}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for range 2 {
		s, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Version(ctx); err != nil || v != sqlstore.SchemaVersion {
			t.Fatalf("Version = %d, %v", v, err)
		}
		if bs, _ := s.Badges().List(ctx, hq, badge.Filter{}); len(bs) != 3 {
			t.Fatalf("after reopening: %d badges, want 3", len(bs))
		}
		if v, err := s.Visit(ctx, "v1"); err != nil || v.Version != 1 {
			t.Fatalf("after reopening: %+v, %v", v, err)
		}
		s.Close()
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM schema_migrations`); n != sqlstore.SchemaVersion {
		t.Fatalf("schema_migrations has %d rows", n)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// Two Stores on one file, as two processes would have, write at once: the
// busy timeout and BEGIN IMMEDIATE make them take turns, and nothing fails
// with SQLITE_BUSY.
func TestSQLiteTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	addBadges(t, a.Badges(), 10)
	const each = 40
	var wg sync.WaitGroup
	for i, s := range []*sqlstore.Store{a, b, a, b} {
		wg.Go(func() {
			for k := range each {
				visit := fmt.Sprintf("w%d-%d", i, k)
				if _, err := s.Create(ctx, visitor.Visit{ID: visit, Location: hq, State: visitor.SignedIn}, func(tx visitor.Tx, v *visitor.Visit) error {
					bd, err := tx.Badges().Acquire(ctx, hq, "", visit, t0)
					if err != nil {
						return err
					}
					_, err = tx.Badges().Release(ctx, hq, bd.ID, visit, t0)
					return err
				}); err != nil {
					t.Errorf("store %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	vs, err := b.Visits(ctx, visitor.VisitFilter{})
	if err != nil || len(vs) != 4*each {
		t.Fatalf("%d visits, %v; want %d", len(vs), err, 4*each)
	}
}

// On PostgreSQL, reading the outbox in a visit transaction locks the
// visit's items: a concurrent claim skips them instead of leasing an item
// the transaction is about to cancel.
func TestPostgresTxOutboxLocksItems(t *testing.T) {
	stores, _ := replicas(t, 2, 2)
	ctx := t.Context()
	a, b := stores[0], stores[1]
	if _, err := a.Create(ctx, visitor.Visit{ID: "v1", Location: hq, State: visitor.SignedIn}, func(tx visitor.Tx, v *visitor.Visit) error {
		return tx.Enqueue(visitor.OutboxItem{ID: "p1", VisitID: "v1", Location: hq, Op: visitor.OpProvision, CreatedAt: t0, NextAttempt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	claimed := make(chan []visitor.OutboxItem)
	go func() {
		<-read
		items, err := b.ClaimOutbox(ctx, "other", t0, time.Minute, 10)
		if err != nil {
			t.Error(err)
		}
		claimed <- items
	}()
	var during []visitor.OutboxItem
	_, err := a.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		q, err := tx.Outbox()
		if err != nil {
			return err
		}
		if len(q) != 1 || q[0].Leased(t0) {
			return fmt.Errorf("outbox in the transaction: %+v", q)
		}
		close(read)
		during = <-claimed
		return tx.Cancel("p1")
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 0 {
		t.Fatalf("a claim leased %+v while the visit transaction held it", during)
	}
	if q, _ := b.Outbox(ctx, "", 0); len(q) != 0 {
		t.Fatalf("outbox after the cancel: %+v", q)
	}
}

// A transaction cancelled by its context rolls back.
func TestContextCancelRollsBack(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			ctx := context.Background()
			addBadges(t, s.Badges(), 1)
			if _, err := s.Create(ctx, visitor.Visit{ID: "v1", Location: hq, State: visitor.SignedIn}, nil); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			_, err := s.Update(cctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
				if _, err := tx.Badges().Acquire(cctx, hq, "", "v1", t0); err != nil {
					return err
				}
				cancel()
				v.Host = "changed"
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Update with its context cancelled: %v, want context.Canceled", err)
			}
			if b, _ := s.Badges().Get(ctx, hq, "1001"); b.State != badge.Available {
				t.Fatalf("badge after a cancelled transaction: %s", b.State)
			}
			if v, _ := s.Visit(ctx, "v1"); v.Host != "" || v.Version != 1 {
				t.Fatalf("visit after a cancelled transaction: %+v", v)
			}
		})
	}
}

func TestDoorCursors(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			ctx := context.Background()
			var cs visitor.CursorStore = s
			if c, err := cs.DoorCursor(ctx, hq); err != nil || c != "" {
				t.Fatalf("DoorCursor before any save = %q, %v", c, err)
			}
			for _, c := range []string{"evt-1", "evt-2"} {
				if err := cs.SaveDoorCursor(ctx, hq, c); err != nil {
					t.Fatal(err)
				}
				if got, err := cs.DoorCursor(ctx, hq); err != nil || got != c {
					t.Fatalf("DoorCursor after saving %q = %q, %v", c, got, err)
				}
			}
			if got, _ := cs.DoorCursor(ctx, "annex"); got != "" {
				t.Fatalf("another location's cursor = %q", got)
			}
		})
	}
}
