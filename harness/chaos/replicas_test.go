package chaos_test

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/postgres"
)

// TestChaosReplicas runs 1,000 lifecycles (300 with -short) through three
// Engines, each with its own connection pool to one PostgreSQL database
// and its own adapter sessions, as three VMS replicas would, while 20% of
// requests fail and 3% of ACS calls take longer than the outbox lease (the
// shared manual clock jumps past the lease mid-call, so another replica
// takes the item over while the call is still at the ACS). Then it drains
// the outbox and checks the simulators' truth: no credential live for a
// visit that is not signed in, no badge held twice, nothing pending. The
// fleet's Origo site takes part (an Issuer per replica, each receiving
// the callbacks; TestOrigoTwoIssuersOneVisit is the race of two replicas
// provisioning one visit there, reduced to one step).
func TestChaosReplicas(t *testing.T) {
	dsn := pgSchemaDSN(t)
	n, workers := 1000, 4
	if testing.Short() {
		n = 300
	}
	ctx := context.Background()
	clock := visitor.NewManualClock(t0)
	secrets := chaos.DistinctSecrets()
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: secrets, Seed: 20261207})
	t.Cleanup(sims.Close)
	sites, locs := replicaSites(t, sims)
	const lease, call = 20 * time.Second, 5 * time.Second
	slow := &slowness{clock: clock, jump: lease + 5*time.Second, rate: 0.03, r: rand.New(rand.NewPCG(7, 11))}
	var stores []visitor.Store
	var drivers []*chaos.Driver
	for i, prefix := range []string{"a", "b", "c"} {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		providers, closeProviders, err := sims.Connect(chaos.ProviderConfig{Clock: clock.Now, Secrets: secrets})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeProviders)
		var used []acs.Provider
		for j, p := range providers {
			if slices.Contains(sites, sims.Sites[j]) {
				used = append(used, slow.wrap(p))
			}
		}
		e, err := visitor.New(store, chaos.Locations(sites, used), visitor.WithClock(clock),
			visitor.WithOwner("replica-"+prefix), visitor.WithLease(lease, call), visitor.WithBackoff(time.Second, 2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := chaos.Stock(ctx, e, sites, 60); err != nil {
				t.Fatal(err)
			}
		}
		stores = append(stores, store)
		drivers = append(drivers, &chaos.Driver{Engine: e, Clock: clock, Locations: locs, Prefix: prefix, Seed: uint64(20261207 + i), Pump: true})
	}
	sims.SetFaultRate(0.20)
	begin := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, d := range drivers {
		first, last := i*n/3, (i+1)*n/3
		wg.Go(func() {
			es := d.RunAll(ctx, first, last-first, workers)
			mu.Lock()
			errs = append(errs, es...)
			mu.Unlock()
		})
	}
	wg.Wait()
	reportLifecycleErrors(t, errs)
	ran := time.Since(begin)
	for round := 0; ; round++ {
		// Every replica drains at once, so items keep changing hands.
		var dw sync.WaitGroup
		for _, d := range drivers {
			dw.Go(func() {
				if _, err := chaos.Drain(ctx, d.Engine, clock, 5000); err != nil {
					t.Error(err)
				}
			})
		}
		dw.Wait()
		p, err := drivers[0].Engine.Outbox(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		if round >= 3 || t.Failed() {
			t.Fatalf("outbox not drained: %d items left, first %s of %s: %s", len(p), p[0].Op, p[0].VisitID, p[0].LastError)
		}
	}
	sims.SetFaultRate(0)
	rep, err := chaos.Check(ctx, stores[0], sites, clock.Now(), chaos.CheckOptions{Settled: true})
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	recs, err := stores[0].Audit(ctx, visitor.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Action == visitor.ActLateOutcome {
			late++
		}
	}
	t.Logf("%d lifecycles on 3 replicas in %s; %d ACS calls outlasted their lease; %d late provisions revoked again; %s simulated",
		n, ran.Round(time.Millisecond), slow.count(), late, clock.Now().Sub(t0).Round(time.Second))
	t.Logf("end state:\n%s", rep)
	if rep.Violations() > 0 {
		t.Errorf("invariants violated:\n%s", rep)
		logTrails(t, stores[0], rep.String())
	}
	if rep.ACSLive != rep.ActiveVisits {
		t.Errorf("%d credentials live at the ACSs, the store counts %d active visits", rep.ACSLive, rep.ActiveVisits)
	}
	if slow.count() == 0 {
		t.Error("no ACS call outlasted its lease: the scenario was not exercised")
	}
	if end := clock.Now(); !end.Before(t0.Add(chaos.AccessDuration)) {
		t.Fatalf("the run took %s of simulated time: credentials expired by themselves", end.Sub(t0))
	}
}

// replicaSites returns the Engines' sites and their locations: the whole
// fleet.
func replicaSites(t *testing.T, sims *chaos.Sims) (sites []*chaos.Site, locs []string) {
	t.Helper()
	for _, s := range sims.Sites {
		sites = append(sites, s)
		locs = append(locs, s.Location)
	}
	return sites, locs
}

// slowness makes a share of ACS calls outlast the outbox lease: the shared
// manual clock jumps past it while the call is at the ACS, and the call
// returns a little later in real time, so another replica can take the
// item over meanwhile.
type slowness struct {
	clock *visitor.ManualClock
	jump  time.Duration
	rate  float64
	mu    sync.Mutex
	r     *rand.Rand
	n     int
}

func (s *slowness) hit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r.Float64() >= s.rate {
		return false
	}
	s.n++
	return true
}

func (s *slowness) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *slowness) wrap(p acs.Provider) acs.Provider { return &slowProvider{Provider: p, s: s} }

// stall runs before a slow call reaches the ACS.
func (s *slowness) stall() {
	if s.hit() {
		s.clock.Advance(s.jump)
		time.Sleep(20 * time.Millisecond) // the other replicas' turn
	}
}

type slowProvider struct {
	acs.Provider
	s *slowness
}

func (p *slowProvider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	p.s.stall()
	return p.Provider.Provision(context.WithoutCancel(ctx), g)
}

func (p *slowProvider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	p.s.stall()
	return p.Provider.Revoke(context.WithoutCancel(ctx), ref)
}

func (p *slowProvider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	p.s.stall()
	return p.Provider.RemoveCardholder(context.WithoutCancel(ctx), ref)
}

// pgSchemaDSN returns a connection string selecting a schema of this
// test's own (dropped at cleanup), or skips without PostgreSQL.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("ACSBRIDGE_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ACSBRIDGE_POSTGRES_DSN is not set; skipping the PostgreSQL chaos test")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal("ACSBRIDGE_POSTGRES_DSN is not a valid connection string")
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = crand.Read(b[:])
	schema := "chaos_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal("ACSBRIDGE_POSTGRES_DSN must be a postgres:// URL for this test")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// logTrails logs the audit trail of every visit a report names, to show
// how it came to violate an invariant.
func logTrails(t *testing.T, store visitor.Store, report string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?:visit|external ID) ([a-z]v\d+)`).FindAllStringSubmatch(report, 20) {
		recs, err := store.Audit(context.Background(), visitor.AuditQuery{VisitID: m[1]})
		if err != nil {
			t.Log(err)
			return
		}
		for _, r := range recs {
			t.Logf("%s %s %-8s %-22s %-9s attempt %d %s %s %s", m[1], r.Time.Format("15:04:05.000"), r.Actor, r.Action, r.Outcome, r.Attempt, r.Card, r.Reason, r.Error)
		}
	}
}
