package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

// crashChildEnv carries a child's configuration (JSON) into the
// re-executed test binary.
const crashChildEnv = "ACSBRIDGE_CHAOS_CRASH_CHILD"

type crashConfig struct {
	DB         string           `json:"db"`
	Sites      []chaos.SiteInfo `json:"sites"`
	Secrets    chaos.Secrets    `json:"secrets"`
	Start      time.Time        `json:"start"`
	Run        int              `json:"run"`
	Seed       uint64           `json:"seed"`
	Lifecycles int              `json:"lifecycles"` // new lifecycles after recovery; -1: sign everyone out and stop
}

// TestCrash kills the process running the visit lifecycle with SIGKILL at
// random points, 100 times (10 with -short), and checks after every
// restart that the invariants of TestChaos hold. The lifecycle runs in a
// child process (this test binary, re-executed) over an SQLite store,
// against the simulators of every site (Origo's and the door's behind it
// included), which live in this process and so survive the kills; Origo's
// simulated phones accept on the child's clock, which the requests carry. Each child first recovers (drains the outbox left by the one
// before, whose leases have expired) and reports ready; this process then
// checks the store against the simulators' oracles and lets the child go
// on with new lifecycles until it is killed: at the n-th ACS request,
// before the simulator acts or after it acted and before it answered, or
// at a random moment (inside an SQLite commit, between operations…). 5% of
// requests also fail as in TestChaos.
func TestCrash(t *testing.T) {
	kills := 100
	if testing.Short() {
		kills = 10
	}
	const seed = 20260311
	rng := rand.New(rand.NewPCG(seed, 3))
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")
	sec := chaos.DistinctSecrets()
	clock := chaos.NewMaxClock(t0)
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: sec, Seed: seed, Wrap: clock.Sync})
	defer sims.Close()
	trip := &chaos.Tripwire{}
	for _, in := range sims.Injectors() {
		in.SetTripwire(trip)
	}
	sims.SetFaultRate(0.05)
	sites := sims.Info()

	// The badge pools and ranges, stocked once.
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	providers, closeProviders, err := sims.Connect(chaos.ProviderConfig{Clock: clock.Now, Secrets: sec})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := visitor.New(store, chaos.Locations(sims.Sites, providers), visitor.WithClock(visitor.NewManualClock(t0)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chaos.Stock(ctx, engine, sims.Sites, 8); err != nil {
		t.Fatal(err)
	}
	closeProviders()
	store.Close()

	var st crashStats
	killedRuns := 0
	for run := 0; ; run++ {
		last := killedRuns >= kills
		if run >= 3*kills && !last {
			t.Fatalf("only %d kills in %d runs", killedRuns, run)
		}
		cfg := crashConfig{DB: path, Sites: sites, Secrets: sec, Run: run, Seed: seed,
			Start: clock.Now().Add(15 * time.Minute), Lifecycles: 2 + rng.IntN(9)}
		plan := killPlan{}
		switch {
		case last:
			cfg.Lifecycles = -1 // the last run signs everyone out and finishes
		case run%4 == 0:
			plan.after = time.Duration(2+rng.IntN(150)) * time.Millisecond
		default:
			plan.request = 1 + rng.IntN(60)
			plan.committed = run%4 == 2 || run%4 == 3 && rng.IntN(2) == 0
		}
		res := runCrashChild(t, cfg, plan, trip, func(now time.Time) {
			rep, err := checkSQLite(ctx, path, sims, now)
			if err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if rep.Violations() > 0 {
				t.Fatalf("run %d: invariants violated after the restart:\n%s", run, rep)
			}
		})
		st.add(res, plan)
		if res.killed {
			killedRuns++
		}
		t.Logf("run %d: %d ops, killed=%v (%s)", run, res.ops, res.killed, plan)
		if last {
			break
		}
	}
	// The last child signed everyone out and drained: check once more.
	rep, err := checkSQLite(ctx, path, sims, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations() > 0 {
		t.Fatalf("after the last run:\n%s", rep)
	}
	if rep.ACSLive != rep.ActiveVisits {
		t.Errorf("%d credentials live at the ACSs, %d visits hold an active one", rep.ACSLive, rep.ActiveVisits)
	}
	faults := chaos.Stats{}
	for _, in := range sims.Injectors() {
		faults = faults.Add(in.Stats())
	}
	t.Logf("%d runs: %d killed at an ACS request before it acted, %d after it acted and before it answered, %d at a random moment, %d finished; %d operations; %d requests, %d faults (%s)",
		st.before+st.after+st.timed+st.clean, st.before, st.after, st.timed, st.clean, st.ops, faults.Requests, faults.Injected(), faults)
	t.Logf("end state:\n%s", rep)
	if s, err := sqlite.Open(ctx, path); err == nil {
		t.Log(origoSummary(t, s, sims))
		s.Close()
	}
}

type killPlan struct {
	request   int           // kill at this ACS request after the child goes on
	committed bool          // … after the simulator handled it
	after     time.Duration // or this long after the child goes on
}

func (k killPlan) String() string {
	switch {
	case k.request > 0 && k.committed:
		return fmt.Sprintf("kill at ACS request %d after it acted", k.request)
	case k.request > 0:
		return fmt.Sprintf("kill at ACS request %d before it acted", k.request)
	case k.after > 0:
		return fmt.Sprintf("kill %s after going on", k.after)
	}
	return "no kill"
}

type crashResult struct {
	ops    int
	killed bool
}

type crashStats struct{ before, after, timed, clean, ops int }

func (s *crashStats) add(r crashResult, k killPlan) {
	s.ops += r.ops
	switch {
	case !r.killed:
		s.clean++
	case k.after > 0:
		s.timed++
	case k.committed:
		s.after++
	default:
		s.before++
	}
}

// runCrashChild starts a child, waits for its recovery, calls ready, lets
// it go on and kills it as planned.
func runCrashChild(t *testing.T, cfg crashConfig, k killPlan, trip *chaos.Tripwire, ready func(now time.Time)) crashResult {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	var once sync.Once
	kill := func() {
		once.Do(func() {
			killed.Store(true)
			_ = cmd.Process.Kill() // SIGKILL
		})
	}
	defer trip.Disarm()
	var res crashResult
	var tail []string
	done := false
	var timer *time.Timer
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 30 {
			tail = tail[1:]
		}
		word, _, _ := strings.Cut(line, " ")
		switch word {
		case "ready":
			ready(parseClock(t, line))
			switch {
			case k.request > 0:
				trip.Arm(k.request, k.committed, kill)
			case k.after > 0:
				timer = time.AfterFunc(k.after, kill)
			}
			if _, err := io.WriteString(stdin, "go\n"); err != nil && !killed.Load() {
				t.Fatalf("run %d: %v", cfg.Run, err)
			}
		case "op":
			res.ops++
		case "done":
			done = true
		}
	}
	if timer != nil {
		timer.Stop()
	}
	trip.Disarm()
	err = cmd.Wait()
	res.killed = killed.Load()
	if !res.killed && err != nil {
		t.Fatalf("run %d: child failed: %v\n%s\n%s", cfg.Run, err, strings.Join(tail, "\n"), stderr.String())
	}
	if !res.killed && !done {
		t.Fatalf("run %d: child ended without finishing:\n%s\n%s", cfg.Run, strings.Join(tail, "\n"), stderr.String())
	}
	return res
}

func parseClock(t *testing.T, line string) time.Time {
	_, v, _ := strings.Cut(line, " ")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("bad line from the child: %q", line)
	}
	return time.Unix(0, n).UTC()
}

// checkSQLite opens the store the child uses (the child waits meanwhile)
// and checks it against the simulators.
func checkSQLite(ctx context.Context, path string, sims *chaos.Sims, now time.Time) (*chaos.Report, error) {
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return chaos.Check(ctx, s, sims.Sites, now, chaos.CheckOptions{Settled: true})
}

// TestCrashChild is the child process of TestCrash; it is skipped unless
// started by it.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashChildEnv)
	if raw == "" {
		t.Skip("run by TestCrash")
	}
	var cfg crashConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := crashChild(cfg); err != nil {
		t.Fatal(err)
	}
}

func crashChild(cfg crashConfig) error {
	ctx := context.Background()
	clock := visitor.NewManualClock(cfg.Start)
	tr := chaos.ClockTransport{Next: http.DefaultTransport.(*http.Transport).Clone(), Clock: clock}
	sites := chaos.RemoteSites(cfg.Sites)
	var providers []acs.Provider
	for _, s := range cfg.Sites {
		p, err := chaos.NewSiteProvider(s, chaos.ProviderConfig{Clock: clock.Now, Secrets: cfg.Secrets, Transport: tr})
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	defer chaos.CloseProviders(providers)
	store, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	engine, err := visitor.New(store, chaos.Locations(sites, providers), visitor.WithClock(clock),
		visitor.WithLease(10*time.Minute, 5*time.Second), visitor.WithBackoff(time.Second, 2*time.Minute),
		visitor.WithOwner(fmt.Sprintf("child-%d", cfg.Run)))
	if err != nil {
		return err
	}
	say := func(word string) { fmt.Printf("%s %d\n", word, clock.Now().UnixNano()) }

	// Recover what the previous child left.
	if _, err := chaos.Drain(ctx, engine, clock, 100000); err != nil {
		return err
	}
	say("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		return fmt.Errorf("no go-ahead: %q %v", line, err)
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(cfg.Run)))
	signedIn, err := engine.Visits(ctx, visitor.VisitFilter{States: []visitor.State{visitor.SignedIn}})
	if err != nil {
		return err
	}
	for _, v := range signedIn {
		if cfg.Lifecycles < 0 || rng.IntN(2) == 0 {
			if _, err := engine.SignOut(ctx, chaos.Desk, v.ID, visitor.ViaDesk); err != nil {
				return err
			}
			clock.Advance(time.Second)
			say("op")
		}
	}
	var locs []string
	for _, s := range sites {
		locs = append(locs, s.Location)
	}
	d := &chaos.Driver{Engine: engine, Clock: clock, Locations: locs, Prefix: fmt.Sprintf("r%03d-", cfg.Run),
		Seed: cfg.Seed + uint64(cfg.Run), Pump: true, OnOp: func() { say("op") }}
	for k := 0; k < cfg.Lifecycles; k++ {
		plan := chaos.PickPlan(rng)
		if rng.IntN(4) == 0 {
			plan = chaos.Stay
		}
		// Lifecycle i runs at site i mod the number of sites: starting at
		// the run's number spreads the first lifecycles of the runs (the
		// ones a kill leaves time for) over every site, the last ones
		// (NetBox, Origo) included.
		i := cfg.Run + k
		if err := d.Lifecycle(ctx, i, plan); err != nil && !isLenelLostDelete(err) {
			return err
		}
	}
	if _, err := chaos.Drain(ctx, engine, clock, 100000); err != nil {
		return err
	}
	say("done")
	return nil
}
