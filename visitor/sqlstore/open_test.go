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
)

func TestOpenRefusesBadArguments(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, driver, dsn, want string
	}{
		{"unknown driver", "mysql", "x", "unknown driver"},
		{"empty path", sqlstore.SQLite, "", "empty SQLite file path"},
		{"memory", sqlstore.SQLite, ":memory:", "not a plain file path"},
		{"URI", sqlstore.SQLite, "file:x.db?mode=memory", "not a plain file path"},
		{"empty DSN", sqlstore.Postgres, "", "empty PostgreSQL connection string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlstore.Open(ctx, c.driver, c.dsn)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open(%q, %q) = %v, want an error saying %q", c.driver, c.dsn, err, c.want)
			}
		})
	}
}

// A connection string with a password that cannot be used must not show
// the password in the error.
func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://user:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://user:s3cr3t-pw@127.0.0.1:1/db?sslmode=bogus",
		"host=127.0.0.1 port=1 user=user password=s3cr3t-pw sslmode=disable connect_timeout=2",
	} {
		_, err := sqlstore.OpenPostgres(ctx, dsn)
		if err == nil {
			t.Fatalf("OpenPostgres on a closed port succeeded")
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

// Re-opening a file finds the data and applies no migration twice; a file
// whose schema is newer than this build is refused.
func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reopen.db")
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Driver() != sqlstore.SQLite {
		t.Errorf("Driver() = %q", s.Driver())
	}
	addBadges(t, s.Badges(), 3)
	if _, err := s.Create(ctx, visitor.Visit{ID: "v1", Location: hq, State: visitor.SignedIn}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for range 2 {
		s, err = sqlstore.OpenSQLite(ctx, path)
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
	_, err = sqlstore.OpenSQLite(ctx, path)
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
	a, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.OpenSQLite(ctx, path)
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
