package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/postgres"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

// dumpTables returns every row of every table of the database as text.
func dumpTables(t *testing.T, driver, dsn string) string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if driver == "pgx" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.QueryContext(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("only tables %q", tables)
	}
	var b strings.Builder
	for _, tb := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

// TestPINStoredOnlySealedAndHashed issues a PIN with the ACS down, so that
// its provision waits in the outbox, and stops the process (the store is
// closed and reopened, the Engine made anew) twice: with the provision
// queued, and with the revocation queued at sign-out during a second
// outage. After each restart the outbox carries on with the same PIN. At
// every step, no row of any table holds the PIN's digits: only its keyed
// hash (pin_tags, the visit) and, while queued, its sealed copy (outbox).
func TestPINStoredOnlySealedAndHashed(t *testing.T) {
	for _, b := range []struct {
		name, driver string
		dsn          func(t *testing.T) string
		open         func(ctx context.Context, dsn string) (*sqlstore.Store, error)
	}{
		{"SQLite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "pins.db") },
			func(ctx context.Context, dsn string) (*sqlstore.Store, error) { return sqlite.Open(ctx, dsn) }},
		{"Postgres", "pgx", func(t *testing.T) string { return pgSchema(t) },
			func(ctx context.Context, dsn string) (*sqlstore.Store, error) { return postgres.Open(ctx, dsn) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			pinRestarts(t, func() string { return dumpTables(t, b.driver, dsn) },
				func() *sqlstore.Store {
					s, err := b.open(t.Context(), dsn)
					if err != nil {
						t.Fatal(err)
					}
					return s
				})
		})
	}
}

func pinRestarts(t *testing.T, dump func() string, open func() *sqlstore.Store) {
	ctx := t.Context()
	clock := visitor.NewManualClock(t0)
	mem := acstest.NewMemory(levels)
	key := bytes.Repeat([]byte{0x5a}, 32)
	var logs bytes.Buffer
	pol := policy()
	pol.PIN = visitor.PINPolicy{Enabled: true, Length: 12}
	start := func(s *sqlstore.Store) *visitor.Engine {
		e, err := visitor.New(s, []visitor.Location{{ID: hq, Provider: mem, Policy: pol}},
			visitor.WithClock(clock), visitor.WithPINKey(key), visitor.WithOwner("pins"),
			visitor.WithLogger(slogTo(&logs)), visitor.WithBackoff(time.Second, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	s := open()
	addBadges(t, s.Badges(), 2)
	e := start(s)
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "v1", Location: hq, Visitor: visitor.Visitor{FirstName: "Ada"}}); err != nil {
		t.Fatal(err)
	}
	mem.SetDown(true)
	_, pin, err := e.ProvisionPIN(ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINWithCard})
	if err != nil || pin.Len() != 12 {
		t.Fatalf("ProvisionPIN: %v", err)
	}
	digits := pin.Reveal()
	check := func(when string) {
		t.Helper()
		text := dump() + logs.String()
		if strings.Contains(text, digits) {
			t.Fatalf("%s: the PIN's digits are in the database or the logs", when)
		}
	}
	check("with the provision queued")
	if rows := dump(); !strings.Contains(rows, "sealed_pin") || !strings.Contains(rows, "pin_grant") {
		t.Fatal("the outbox holds no sealed PIN")
	}
	// Crash and restart with the ACS back: the queued PIN goes out.
	s.Close()
	s = open()
	defer func() { s.Close() }()
	mem.SetDown(false)
	e = start(s)
	clock.Advance(time.Minute)
	drainAll(t, e)
	if !mem.OpensWithPIN(pin, "lobby", clock.Now()) {
		t.Fatal("the PIN does not open after the restart")
	}
	check("after the provision")
	// Sign out during an outage, crash, restart: the revocation goes out.
	mem.SetDown(true)
	if _, err := e.SignOut(ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	e = start(s)
	clock.Advance(time.Minute)
	drainAll(t, e)
	if !mem.OpensWithPIN(pin, "lobby", clock.Now()) {
		t.Fatal("the revocation went through during the outage")
	}
	mem.SetDown(false)
	clock.Advance(time.Hour)
	drainAll(t, e)
	if mem.OpensWithPIN(pin, "lobby", clock.Now()) {
		t.Fatal("the PIN still opens after sign-out")
	}
	v, err := e.Visit(ctx, "v1")
	if err != nil || v.Credentials[1].Status != visitor.CredRevoked || v.Credentials[1].Source != visitor.FromPIN {
		t.Fatalf("visit %+v, %v", v.Credentials, err)
	}
	check("after the revocation")
	if rows := dump(); strings.Contains(rows, v.Credentials[1].PIN.Tag+"\tv1") {
		t.Fatal("the revoked PIN's tag is still claimed")
	}
}

func drainAll(t *testing.T, e *visitor.Engine) {
	t.Helper()
	for range 100 {
		n, err := e.RunOutboxOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("outbox does not drain")
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
