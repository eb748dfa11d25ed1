package chaos_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/visitor"
)

// t0 is when every simulated run starts.
var t0 = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

// env is the simulators (one site per kind: a provider's, or an issuer's
// in front of a door of its own), the providers pointed at them and an
// Engine with one location per site, all on one manual clock.
type env struct {
	sims      *chaos.Sims
	providers []acs.Provider
	clock     *visitor.ManualClock
	store     visitor.Store
	engine    *visitor.Engine
	driver    *chaos.Driver
}

type envConfig struct {
	store   visitor.Store
	seed    uint64
	logger  *slog.Logger
	secrets chaos.Secrets
	badges  int
	// minBackoff and maxBackoff default to 1 s and 2 min.
	minBackoff, maxBackoff time.Duration
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	if cfg.store == nil {
		cfg.store = visitor.NewMemoryStore()
	}
	if cfg.secrets == nil {
		cfg.secrets = chaos.DistinctSecrets()
	}
	if cfg.badges == 0 {
		cfg.badges = 60
	}
	if cfg.minBackoff == 0 {
		cfg.minBackoff, cfg.maxBackoff = time.Second, 2*time.Minute
	}
	clock := visitor.NewManualClock(t0)
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: cfg.secrets, Seed: cfg.seed})
	t.Cleanup(sims.Close)
	providers, closeProviders, err := sims.Connect(chaos.ProviderConfig{Clock: clock.Now, Secrets: cfg.secrets, Logger: cfg.logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeProviders)
	opts := []visitor.Option{
		visitor.WithClock(clock),
		visitor.WithLease(10*time.Minute, 5*time.Second),
		visitor.WithBackoff(cfg.minBackoff, cfg.maxBackoff),
	}
	if cfg.logger != nil {
		opts = append(opts, visitor.WithLogger(cfg.logger))
	}
	engine, err := visitor.New(cfg.store, chaos.Locations(sims.Sites, providers), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := chaos.Stock(context.Background(), engine, sims.Sites, cfg.badges); err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, s := range sims.Sites {
		locs = append(locs, s.Location)
	}
	return &env{
		sims: sims, providers: providers, clock: clock, store: cfg.store, engine: engine,
		driver: &chaos.Driver{Engine: engine, Clock: clock, Locations: locs, Seed: cfg.seed, Pump: true},
	}
}

// faultStats sums the injectors' counts.
func (e *env) faultStats() chaos.Stats {
	var st chaos.Stats
	for _, in := range e.sims.Injectors() {
		st = st.Add(in.Stats())
	}
	return st
}

// check runs chaos.Check on a settled env and fails the test on any
// violation.
func (e *env) check(t *testing.T) *chaos.Report {
	t.Helper()
	rep, err := chaos.Check(context.Background(), e.store, e.sims.Sites, e.clock.Now(), chaos.CheckOptions{Settled: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations() > 0 {
		t.Errorf("invariants violated:\n%s", rep)
	}
	return rep
}

// parallel runs fn(0) … fn(n-1) on workers goroutines and returns the
// errors.
func parallel(n, workers int, fn func(i int) error) []error {
	var mu sync.Mutex
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// origoPaths counts how the credentials of the Origo site's visits went,
// from the store and the audit trail: confirmed at the first attempt (the
// phone accepted in the invitation's answer), confirmed after waiting for
// the phone, or never confirmed after waiting (the visit ended first and
// the invitation was withdrawn); and the callbacks Origo's receivers
// accepted.
type origoPaths struct {
	atOnce, afterWaiting, withdrawn, callbacks int
}

func (p origoPaths) String() string {
	return fmt.Sprintf("Origo site: %d credentials confirmed at once, %d after waiting for the phone, %d withdrawn before the phone accepted; %d callbacks accepted",
		p.atOnce, p.afterWaiting, p.withdrawn, p.callbacks)
}

func origoSummary(t *testing.T, store visitor.Store, sims *chaos.Sims) origoPaths {
	t.Helper()
	ctx := context.Background()
	site := sims.Site(chaos.Origo)
	visits, err := store.Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var p origoPaths
	for _, v := range visits {
		if v.Location != site.Location {
			continue
		}
		recs, err := store.Audit(ctx, visitor.AuditQuery{VisitID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		waited := map[string]bool{} // by card
		for _, r := range recs {
			if r.Action == visitor.ActACSProvision && strings.Contains(r.Error, origo.ErrNotAccepted.Error()) {
				waited[r.Card] = true
			}
		}
		for _, c := range v.Credentials {
			switch w := waited[c.Card.String()]; {
			case !c.ActiveAt.IsZero() && w:
				p.afterWaiting++
			case !c.ActiveAt.IsZero():
				p.atOnce++
			case w:
				p.withdrawn++
			}
		}
	}
	for _, d := range sims.Origo.Deliveries() {
		if d.Status == 200 {
			p.callbacks++
		}
	}
	return p
}
