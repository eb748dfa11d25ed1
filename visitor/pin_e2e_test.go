package visitor_test

import (
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

// keypadACS is one ACS simulator behind its adapter, with a keypad door
// of the level the visitors get.
type keypadACS struct {
	provider acs.Provider
	level    string
	pinLen   int
	card     acs.Card // the pool badge's card
	// standalone: the ACS issues PINs without a card too.
	standalone bool
	// opensDoor is the simulator's keypad oracle for the keypad door.
	opensDoor func(pin acs.PIN, at time.Time) bool
	// setDown makes every request fail (503) or work again.
	setDown func(down bool)
}

// TestPINEndToEnd runs the engine against each simulator of the engine
// table (simACSs: Genetec, Lenel, Brivo, Alta, Verkada, NetBox), see
// pinEndToEnd.
func TestPINEndToEnd(t *testing.T) {
	for _, newACS := range simACSs {
		clock := visitor.NewManualClock(t0)
		s := newACS(t, clock)
		t.Run(s.name, func(t *testing.T) {
			pinEndToEnd(t, clock, s.logs, keypadACS{
				provider: s.p, level: s.levels[0], pinLen: s.pinLen, standalone: s.pinOnly,
				card:      acs.Card{Format: acs.H10301, Facility: 42, Number: 1042},
				opensDoor: s.keypad(t),
				setDown:   s.net.down.Store,
			})
		})
	}
}

// pinEndToEnd drives PINs through the Engine, over an SQLite store, to an
// ACS simulator and checks them with its keypad oracle: a PIN issued with
// a badge opens the keypad door within its window; where the ACS takes
// PINs without a card, a PIN-only visit's PIN opens it until sign-out. The
// ACS is down at the badge visit's sign-out and the process restarts (the
// store is closed and opened again, the Engine made anew) before it comes
// back: the PIN opens until the outbox, after the restart, revokes it.
// Then the PINs' digits are searched for in every log line (the Engine's
// and the adapter's, at debug level), error, audit record, visit, outbox
// item and row of every table: they are nowhere.
func pinEndToEnd(t *testing.T, clock *visitor.ManualClock, c *pinCapture, k keypadACS) {
	r := &pinRun{t: t, clock: clock, c: c, k: k, path: filepath.Join(t.TempDir(), "visits.db")}
	r.store = r.open()
	defer func() { r.store.Close() }()
	r.e = r.start()
	pool, _ := r.e.Pool("hq")
	if _, err := pool.Add(t.Context(), badge.Badge{ID: "1042", Name: "Visitor 42", Card: r.k.card}); err != nil {
		t.Fatal(err)
	}
	pins := []acs.PIN{r.withBadge()}
	if r.k.standalone {
		pins = append(pins, r.pinOnly())
	}
	r.outageAndRestart(pins[0])
	rows := dumpSQLite(t, r.path)
	t.Logf("searched %d bytes of logs and errors (%d \"acs request\" lines), %d bytes of rows", len(r.c.text()), strings.Count(r.c.text(), "acs request"), len(rows))
	for _, p := range pins {
		noPIN(t, r.e, p, r.c, rows)
	}
	if !strings.Contains(rows, `"source":"pin"`) {
		t.Fatal("the table dump holds no PIN credential: the search proves nothing")
	}
}

// pinRun is one run of pinEndToEnd.
type pinRun struct {
	t     *testing.T
	clock *visitor.ManualClock
	c     *pinCapture
	k     keypadACS
	path  string
	store *sqlstore.Store
	e     *visitor.Engine
}

func (r *pinRun) open() *sqlstore.Store {
	s, err := sqlite.Open(r.t.Context(), r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *pinRun) start() *visitor.Engine {
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{r.k.level}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {r.k.level}},
		PIN:            visitor.PINPolicy{Enabled: true, Length: r.k.pinLen},
	}
	e, err := visitor.New(r.store, []visitor.Location{{ID: "hq", Provider: r.k.provider, Policy: pol}},
		visitor.WithClock(r.clock), visitor.WithPINKey(pinKey), visitor.WithLogger(r.c.logger()),
		visitor.WithBackoff(time.Second, time.Minute), visitor.WithOwner("desk-1"))
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *pinRun) signIn(id string) {
	r.t.Helper()
	if _, err := r.e.SignIn(r.t.Context(), desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada}); r.c.err(err) != nil {
		r.t.Fatal(err)
	}
}

// withBadge issues a PIN with badge 1042 to visit-1 and checks it opens
// the keypad door within its window.
func (r *pinRun) withBadge() acs.PIN {
	t := r.t
	r.signIn("visit-1")
	v, pin, err := r.e.ProvisionPIN(t.Context(), desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042", PIN: visitor.PINWithCard})
	if r.c.err(err) != nil {
		t.Fatal(err)
	}
	if pc := pinAt(t, v); v.Current().Status != visitor.CredActive || pc.Status != visitor.CredActive || pin.Len() != r.k.pinLen {
		t.Fatalf("after ProvisionPIN: badge %s, PIN %s (%d digits)", v.Current().Status, pc.Status, pin.Len())
	}
	if !r.k.opensDoor(pin, r.clock.Now()) || r.k.opensDoor(pin, pinAt(t, v).ValidUntil.Add(time.Minute)) {
		t.Fatal("the PIN should open the keypad door within its window only")
	}
	return pin
}

// pinOnly issues a PIN without a card to visit-2, which opens the keypad
// door until visit-2 signs out.
func (r *pinRun) pinOnly() acs.PIN {
	t := r.t
	r.signIn("visit-2")
	v, pin, err := r.e.ProvisionPIN(t.Context(), desk, "visit-2", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if r.c.err(err) != nil || v.Current().Source != visitor.FromPIN || !r.k.opensDoor(pin, r.clock.Now()) {
		t.Fatalf("PIN-only: %v, %+v", err, v.Current())
	}
	if _, err := r.e.SignOut(t.Context(), kiosk, "visit-2", visitor.ViaKiosk); r.c.err(err) != nil {
		t.Fatal(err)
	}
	if r.k.opensDoor(pin, r.clock.Now()) {
		t.Fatal("the PIN-only visitor's PIN opens after sign-out")
	}
	return pin
}

// outageAndRestart signs visit-1 out while the ACS is down, restarts the
// process, brings the ACS back and runs the outbox: pin stops opening.
func (r *pinRun) outageAndRestart(pin acs.PIN) {
	t, ctx := r.t, r.t.Context()
	r.clock.Advance(time.Hour)
	r.k.setDown(true)
	v, err := r.e.SignOut(ctx, kiosk, "visit-1", visitor.ViaKiosk)
	if r.c.err(err) != nil {
		t.Fatal(err)
	}
	if pinAt(t, v).Status != visitor.CredRevoking || !r.k.opensDoor(pin, r.clock.Now()) {
		t.Fatalf("during the outage: PIN %s", pinAt(t, v).Status)
	}
	r.store.Close()
	r.store = r.open()
	r.e = r.start()
	r.k.setDown(false)
	for range 10 {
		r.clock.Advance(5 * time.Minute)
		if _, err := r.e.RunOutboxOnce(ctx); r.c.err(err) != nil {
			t.Fatal(err)
		}
	}
	if left, _ := r.e.Outbox(ctx, ""); len(left) != 0 {
		t.Fatalf("outbox after the outage: %+v", left)
	}
	v, err = r.e.Visit(ctx, "visit-1")
	if r.c.err(err) != nil || pinAt(t, v).Status != visitor.CredRevoked || v.Current().Status != visitor.CredRevoked {
		t.Fatalf("after the restart: %+v, %v", v.Credentials, err)
	}
	if r.k.opensDoor(pin, r.clock.Now()) {
		t.Fatal("the PIN opens after sign-out")
	}
}

// dumpSQLite returns every row of every table of the SQLite file as text.
func dumpSQLite(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table'`)
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
	var b strings.Builder
	for _, tb := range tables {
		rs, err := db.QueryContext(t.Context(), `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
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
		rs.Close()
	}
	return b.String()
}

// TestPINReconcileGenetec: Security Center lists the keypad credential
// among the visitor's credentials (with no card); Reconcile matches it to
// the visit's PIN and finds nothing to do while it is live, and nothing
// once sign-out deleted it.
func TestPINReconcileGenetec(t *testing.T) {
	clock := visitor.NewManualClock(t0)
	c := &pinCapture{}
	sim := genetecsim.New(genetecsim.WithClock(clock.Now))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p, err := genetec.New(genetec.Config{
		BaseURL: srv.URL + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock.Now), genetec.WithLogger(c.logger()))
	if err != nil {
		t.Fatal(err)
	}
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{genetecsim.SeedLobbyGroup}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {genetecsim.SeedLobbyGroup}},
		PIN:            visitor.PINPolicy{Enabled: true, Length: 10},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: p, Policy: pol}},
		visitor.WithClock(clock), visitor.WithPINKey(pinKey), visitor.WithLogger(c.logger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	_, pin, err := e.ProvisionPIN(ctx, desk, "visit-1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	rep, err := e.Reconcile(ctx, "hq")
	if err != nil || rep.Credentials != 1 || rep.Orphans+rep.Repairs+rep.Failed != 0 {
		t.Fatalf("reconcile with a live PIN: %+v, %v", rep, err)
	}
	if _, err := e.SignOut(ctx, kiosk, "visit-1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	rep, err = e.Reconcile(ctx, "hq")
	if err != nil || rep.Credentials != 0 || rep.Orphans+rep.Repairs+rep.Failed != 0 {
		t.Fatalf("reconcile after sign-out: %+v, %v", rep, err)
	}
	noPIN(t, e, pin, c)
}
