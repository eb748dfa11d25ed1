package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/postgres"
)

// replicas opens n Stores on one fresh PostgreSQL schema, as n VMS
// replicas ("managers") would, each with a pool of conns connections.
func replicas(t *testing.T, n, conns int) ([]*sqlstore.Store, *sql.DB) {
	t.Helper()
	dsn := pgSchema(t)
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = postgres.Open(context.Background(), dsn, postgres.WithMaxConns(conns))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return stores, db
}

func queryInt(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestPostgresReplicasAcquire has 4 managers, each a Store with a pool of
// 4 connections and 8 goroutines, acquire and release badges of one pool
// of 24 until 10,000 acquisitions succeeded (4,000 under the race
// detector, 1,000 with -short), half of
// them inside visit transactions that record the badge on the visit. Each
// goroutine marks the badge it got as held in a table shared by all; a
// badge handed to a second visit before the first released it shows up
// there, in the unique index on open assignments, and in the history
// counts checked at the end.
func TestPostgresReplicasAcquire(t *testing.T) {
	const managers, workers, poolSize = 4, 8, 24
	total := 10000
	switch {
	case testing.Short():
		total = 1000
	case raceEnabled:
		total = 4000
	}
	stores, db := replicas(t, managers, 4)
	ctx := t.Context()
	addBadges(t, stores[0].Badges(), poolSize)

	var (
		next, done, busy atomic.Int64
		clock            atomic.Int64 // logical time: one tick per call
		mu               sync.Mutex
		held             = map[string]string{} // badge → visit holding it now
		doubles          atomic.Int64
	)
	now := func() time.Time { return t0.Add(time.Duration(clock.Add(1)) * time.Millisecond) }
	start := time.Now()
	var wg sync.WaitGroup
	for m := range managers {
		st := stores[m]
		bs := st.Badges()
		// Even acquisitions go through a visit transaction, which records
		// the badge on the visit it creates; odd ones call the pool
		// directly.
		acquire := func(visit string, inTx bool) (badge.Badge, error) {
			if !inTx {
				return bs.Acquire(ctx, hq, "", visit, now())
			}
			var b badge.Badge
			_, err := st.Create(ctx, visitor.Visit{ID: visit, Location: hq, State: visitor.SignedIn}, func(tx visitor.Tx, v *visitor.Visit) error {
				var err error
				if b, err = tx.Badges().Acquire(ctx, hq, "", visit, now()); err != nil {
					return err
				}
				v.Credentials = []visitor.Credential{{Source: visitor.FromPool, BadgeID: b.ID, Status: visitor.CredActive, AccessLevels: []string{"lobby"}}}
				return nil
			})
			return b, err
		}
		release := func(visit, id string, inTx bool) error {
			if !inTx {
				_, err := bs.Release(ctx, hq, id, visit, now())
				return err
			}
			_, err := st.Update(ctx, visit, func(tx visitor.Tx, v *visitor.Visit) error {
				if _, err := tx.Badges().Release(ctx, hq, id, visit, now()); err != nil {
					return err
				}
				v.State, v.Credentials[0].Status, v.Credentials[0].Released = visitor.SignedOut, visitor.CredRevoked, true
				return nil
			})
			return err
		}
		for range workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					n := next.Add(1)
					if n > int64(total) {
						return
					}
					visit, inTx := fmt.Sprintf("v%05d", n), n%2 == 0
					var b badge.Badge
					for {
						var err error
						b, err = acquire(visit, inTx)
						if err == nil {
							break
						}
						if !errors.Is(err, badge.ErrNotAvailable) {
							t.Errorf("manager %d: Acquire for %s: %v", m, visit, err)
							return
						}
						busy.Add(1) // every badge is out: try again
					}
					if b.State != badge.Assigned || b.VisitID != visit {
						t.Errorf("Acquire for %s returned %+v", visit, b)
					}
					mu.Lock()
					if prev := held[b.ID]; prev != "" {
						doubles.Add(1)
						t.Errorf("badge %s given to %s while %s holds it", b.ID, visit, prev)
					}
					held[b.ID] = visit
					mu.Unlock()
					done.Add(1)

					mu.Lock()
					delete(held, b.ID)
					mu.Unlock()
					if err := release(visit, b.ID, inTx); err != nil {
						t.Errorf("Release %s by %s: %v", b.ID, visit, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d acquisitions (and releases) by %d managers × %d goroutines over %d badges in %v (%.0f acquire+release/s); %d attempts found every badge out; %d double assignments",
		done.Load(), managers, workers, poolSize, elapsed.Round(time.Millisecond), float64(done.Load())/elapsed.Seconds(), busy.Load(), doubles.Load())
	if done.Load() != int64(total) {
		t.Fatalf("%d acquisitions succeeded, want %d", done.Load(), total)
	}

	// The tables agree: every acquisition is one closed assignment of a
	// distinct visit, nothing is still assigned, and no badge ever had two
	// open assignments (the unique index would have refused the second).
	if n := queryInt(t, db, `SELECT count(*) FROM badge_history`); n != total {
		t.Errorf("badge_history has %d rows, want %d", n, total)
	}
	if n := queryInt(t, db, `SELECT count(DISTINCT visit_id) FROM badge_history`); n != total {
		t.Errorf("badge_history has %d distinct visits, want %d", n, total)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM badge_history WHERE reason <> 'released'`); n != 0 {
		t.Errorf("%d assignments are not closed as released", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM badges WHERE state <> 'available' OR visit_id IS NOT NULL`); n != 0 {
		t.Errorf("%d badges are not back in the pool", n)
	}
	// Per badge, through the API: every assignment is closed and they add
	// up to the acquisitions.
	sum := 0
	for i := range poolSize {
		id := fmt.Sprint(1001 + i)
		h, err := stores[1].Badges().History(ctx, hq, id)
		if err != nil {
			t.Fatal(err)
		}
		sum += len(h)
		for _, a := range h {
			if a.Active() || a.Reason != badge.ReasonReleased {
				t.Fatalf("badge %s: assignment %+v not closed", id, a)
			}
		}
	}
	if sum != total {
		t.Errorf("histories hold %d assignments, want %d", sum, total)
	}
	// The visits agree with the history: each recorded the badge it was
	// assigned, and released it.
	rows, err := db.Query(`SELECT visit_id, badge_id FROM badge_history`)
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[string]string{}
	for rows.Next() {
		var v, b string
		if err := rows.Scan(&v, &b); err != nil {
			t.Fatal(err)
		}
		assigned[v] = b
	}
	rows.Close()
	vs, err := stores[2].Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != total/2 {
		t.Fatalf("%d visits, want %d", len(vs), total/2)
	}
	for _, v := range vs {
		if c := v.Credentials; len(c) != 1 || c[0].BadgeID != assigned[v.ID] || !c[0].Released || v.Version != 2 {
			t.Fatalf("visit %s records %+v (version %d); the history says badge %s", v.ID, c, v.Version, assigned[v.ID])
		}
	}
}

// TestPostgresReplicasSameVisit has every goroutine of 4 managers acquire
// a badge for the same few visits at once: each visit must end up with
// exactly one badge, returned to every caller.
func TestPostgresReplicasSameVisit(t *testing.T) {
	stores, db := replicas(t, 4, 3)
	ctx := t.Context()
	addBadges(t, stores[0].Badges(), 20)
	const visits, callers = 5, 24
	got := make([][]string, visits)
	for v := range visits {
		got[v] = make([]string, callers)
	}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			bs := stores[c%len(stores)].Badges()
			for v := range visits {
				b, err := bs.Acquire(ctx, hq, "", fmt.Sprintf("same-%d", v), t0)
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				got[v][c] = b.ID
			}
		})
	}
	wg.Wait()
	for v := range visits {
		for c := 1; c < callers; c++ {
			if got[v][c] != got[v][0] {
				t.Fatalf("visit same-%d got badge %s and %s", v, got[v][0], got[v][c])
			}
		}
	}
	if n := queryInt(t, db, `SELECT count(*) FROM badges WHERE state = 'assigned'`); n != visits {
		t.Fatalf("%d badges assigned, want %d", n, visits)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM badge_history`); n != visits {
		t.Fatalf("%d assignments recorded, want %d", n, visits)
	}
}

// TestPostgresReplicasSweep has 4 engines, each over its own Store on one
// database, sweep the same expired invitations at once: every visit must
// be expired exactly once.
func TestPostgresReplicasSweep(t *testing.T) {
	const managers = 4
	n := 2000
	if testing.Short() {
		n = 400
	}
	stores, db := replicas(t, managers, 4)
	ctx := t.Context()
	clock := visitor.NewManualClock(t0)
	p := acstest.NewMemory(levels)
	engines := make([]*visitor.Engine, managers)
	for i := range managers {
		engines[i] = newEngine(t, stores[i], p, clock, fmt.Sprintf("manager-%d", i), visitor.WithBatch(50, 2))
	}
	// Invitations, created by all managers at once.
	var wg sync.WaitGroup
	var next atomic.Int64
	for i := range managers {
		wg.Go(func() {
			for {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				_, err := engines[i].Invite(ctx, desk, visitor.InviteRequest{
					VisitID: fmt.Sprintf("inv-%05d", k), Location: hq,
					Visitor: visitor.Visitor{FirstName: "Guest", LastName: fmt.Sprint(k)}, ExpectedAt: t0.Add(2 * time.Hour),
				})
				if err != nil {
					t.Errorf("Invite: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Past every window: each invitation is due once, to expire.
	clock.Advance(24 * time.Hour)
	counts := make([]int, managers)
	start := time.Now()
	for i := range managers {
		wg.Go(func() {
			res, err := engines[i].Sweep(ctx)
			if err != nil {
				t.Errorf("manager %d: Sweep: %v", i, err)
			}
			counts[i] = res.Visits
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sum := 0
	for _, c := range counts {
		sum += c
	}
	t.Logf("%d expired invitations swept by %d managers in %v: %v per manager", n, managers, elapsed.Round(time.Millisecond), counts)
	if sum != n {
		t.Errorf("managers examined %d visits in total, want %d (each exactly once)", sum, n)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM visits WHERE state = 'expired'`); got != n {
		t.Errorf("%d visits expired, want %d", got, n)
	}
	recs, err := stores[0].Audit(ctx, visitor.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	expired := map[string]int{}
	for _, r := range recs {
		if r.Action == visitor.ActExpire {
			expired[r.VisitID]++
		}
	}
	if len(expired) != n {
		t.Errorf("%d visits have an expiry record, want %d", len(expired), n)
	}
	for id, c := range expired {
		if c != 1 {
			t.Errorf("visit %s was expired %d times", id, c)
		}
	}
	// Nothing is left to sweep.
	for i := range managers {
		if res, err := engines[i].Sweep(ctx); err != nil || res.Visits != 0 {
			t.Errorf("sweep after the run: %+v, %v", res, err)
		}
	}
}

// TestPostgresConcurrentOpen opens one fresh schema from 6 goroutines at
// once: the advisory lock lets one migrate, the others find the schema
// ready, and re-opening changes nothing.
func TestPostgresConcurrentOpen(t *testing.T) {
	stores, db := replicas(t, 6, 2)
	for _, s := range stores {
		v, err := s.Version(t.Context())
		if err != nil || v != sqlstore.SchemaVersion {
			t.Fatalf("Version = %d, %v; want %d", v, err, sqlstore.SchemaVersion)
		}
	}
	if n := queryInt(t, db, `SELECT count(*) FROM schema_migrations`); n != sqlstore.SchemaVersion {
		t.Fatalf("schema_migrations has %d rows, want %d", n, sqlstore.SchemaVersion)
	}
}

// TestPostgresReplicasOutbox signs visitors in at 4 managers while the ACS
// is down, so every provision is queued after one failed attempt, signs
// half of them out, and then lets the 4 managers drain the outbox at once
// when the ACS is back. Each queued operation must reach the ACS exactly
// once: a provision for every visitor still signed in, and for those who
// left, no provision but a revocation.
func TestPostgresReplicasOutbox(t *testing.T) {
	const managers = 4
	n := 200
	if testing.Short() {
		n = 60
	}
	stores, _ := replicas(t, managers, 3)
	ctx := t.Context()
	clock := visitor.NewManualClock(t0)
	p := acstest.NewMemory(levels)
	engines := make([]*visitor.Engine, managers)
	for i := range managers {
		engines[i] = newEngine(t, stores[i], p, clock, fmt.Sprintf("manager-%d", i), visitor.WithBatch(10, 3))
	}
	addBadges(t, stores[0].Badges(), n/2)
	if err := stores[0].Cards().SetRange(ctx, badge.Range{Location: hq, Format: crashRange.Format, Facility: crashRange.Facility, Min: 500000, Max: 500999}); err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := engines[i%managers]
			id := fmt.Sprintf("v%03d", i)
			v, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Location: hq,
				Visitor:   visitor.Visitor{FirstName: "Guest", LastName: id},
				Provision: &visitor.ProvisionRequest{FromRange: i%2 == 1}})
			if err != nil {
				t.Errorf("SignIn %s: %v", id, err)
				return
			}
			if c := v.Current(); c == nil || c.Status != visitor.CredPending {
				t.Errorf("SignIn %s with the ACS down: %+v", id, v.Credentials)
				return
			}
			if i%4 < 2 {
				if _, err := engines[(i+1)%managers].SignOut(ctx, desk, id, visitor.ViaDesk); err != nil {
					t.Errorf("SignOut %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	before := p.Calls()
	p.SetDown(false)
	clock.Advance(time.Hour) // past every backoff
	var claimed [managers]int
	for i := range managers {
		wg.Go(func() {
			for {
				k, err := engines[i].RunOutboxOnce(ctx)
				if err != nil {
					t.Errorf("manager %d: %v", i, err)
					return
				}
				if k == 0 {
					return
				}
				claimed[i] += k
			}
		})
	}
	wg.Wait()
	after := p.Calls()
	provisions, revokes := after["provision"]-before["provision"], after["revoke"]-before["revoke"]
	t.Logf("%d visitors, %d left while the ACS was down; after it came back: %d provisions, %d revocations, items claimed per manager %v",
		n, n/2, provisions, revokes, claimed)
	if provisions != n/2 || revokes != n/2 {
		t.Errorf("the ACS got %d provisions and %d revocations, want %d of each (each queued operation exactly once)", provisions, revokes, n/2)
	}
	if q, err := stores[1].Outbox(ctx, "", 0); err != nil || len(q) != 0 {
		t.Fatalf("outbox after draining: %d items, %v", len(q), err)
	}
	vs, err := stores[2].Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, v := range vs {
		c := v.Current()
		switch v.State {
		case visitor.SignedIn:
			in++
			if c.Status != visitor.CredActive || !p.Opens(c.Ref, "lobby", clock.Now()) {
				t.Errorf("signed-in visit %s: credential %s, opens %v", v.ID, c.Status, p.Opens(c.Ref, "lobby", clock.Now()))
			}
		case visitor.SignedOut:
			if c.Status != visitor.CredRevoked || !c.Released {
				t.Errorf("signed-out visit %s: credential %s, released %v", v.ID, c.Status, c.Released)
			}
		}
	}
	if live := p.Active(clock.Now()); len(live) != in || in != n/2 {
		t.Errorf("%d credentials live at the ACS, %d visitors signed in; want %d", len(live), in, n/2)
	}
	allocs, _ := stores[3].Cards().Allocations(ctx, hq)
	held, _ := stores[3].Badges().List(ctx, hq, badge.Filter{State: badge.Assigned})
	if len(allocs) != n/4 || len(held) != n/4 {
		t.Errorf("%d card numbers and %d badges held, want %d each", len(allocs), len(held), n/4)
	}
}
