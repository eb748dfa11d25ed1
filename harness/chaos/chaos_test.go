package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
)

// TestChaos runs complete visit lifecycles over the simulators (one per provider)
// through the real adapters while 20% of requests fail in every way the
// simulators can, drains the outbox (faults still on) by advancing the
// manual clock past each backoff, and then compares the store with the
// simulators' oracles: no credential live at an ACS for a visit that is not
// signed in, no duplicate cardholder or credential, no badge or card number
// held twice, every audit trail consistent with its visit. A few extra
// visits stay signed in, so that the live-credential oracle is seen to
// find what it must.
func TestChaos(t *testing.T) {
	n, workers, stay := 2000, 12, 30
	if testing.Short() {
		n = 500
	}
	ctx := context.Background()
	e := newEnv(t, envConfig{seed: 20260310, badges: 60})
	e.sims.SetFaultRate(0.20)
	begin := time.Now()
	errs := e.driver.RunAll(ctx, 0, n, workers)
	for i := n; i < n+stay; i++ {
		if err := e.driver.Lifecycle(ctx, i, chaos.Stay); err != nil {
			errs = append(errs, err)
		}
	}
	reportLifecycleErrors(t, errs)
	ran := time.Since(begin)
	drainStart := time.Now()
	st, err := chaos.Drain(ctx, e.engine, e.clock, 20000)
	if err != nil {
		t.Fatal(err)
	}
	drained := time.Since(drainStart)
	e.sims.SetFaultRate(0)
	if end := e.clock.Now(); !end.Before(t0.Add(chaos.AccessDuration)) {
		t.Fatalf("the run took %s of simulated time: credentials expired by themselves and the ACS check proves nothing", end.Sub(t0))
	}
	rep := e.check(t)
	faults := e.faultStats()
	t.Logf("%d lifecycles (%v) + %d staying, %d operations, %d without a badge, in %s on %d workers; drain: %d rounds, %d items, %s simulated, %s wall",
		n, e.driver.Plans(), stay, e.driver.Ops(), e.driver.NoBadge(), ran.Round(time.Millisecond), workers,
		st.Rounds, st.Items, st.Advance.Round(time.Second), drained.Round(time.Millisecond))
	t.Logf("requests %d, faults injected %d (%.1f%%): %s", faults.Requests, faults.Injected(),
		100*float64(faults.Injected())/float64(max(faults.Requests, 1)), faults)
	t.Logf("end state:\n%s", rep)
	paths := origoSummary(t, e.store, e.sims)
	t.Log(paths)

	if got := rep.States[visitor.SignedIn]; got != stay {
		t.Errorf("%d visits signed in, want the %d that stayed", got, stay)
	}
	if rep.ACSLive != rep.ActiveVisits {
		t.Errorf("%d credentials live at the ACSs, the Engine counts %d active visits", rep.ACSLive, rep.ActiveVisits)
	}
	if rep.ActiveVisits == 0 {
		t.Error("no visit holds an active credential: the live-credential oracle was not exercised")
	}
	if paths.atOnce == 0 || paths.afterWaiting == 0 || paths.withdrawn == 0 {
		t.Errorf("the Origo site did not take every path (%s)", paths)
	}
	if faults.Injected() < faults.Requests/10 {
		t.Errorf("only %d faults in %d requests", faults.Injected(), faults.Requests)
	}
}

// reportLifecycleErrors fails the test on each lifecycle error, except
// those of a known bug while its reproduction still shows it (so the
// tolerance ends by itself once the bug is fixed).
func reportLifecycleErrors(t *testing.T, errs []error) {
	t.Helper()
	known := 0
	lenelBug := -1
	for _, err := range errs {
		if isLenelLostDelete(err) {
			if lenelBug < 0 {
				lenelBug = 0
				if lenelLostDeleteAnswer() != nil {
					lenelBug = 1
				}
			}
			if lenelBug == 1 {
				known++
				t.Logf("known bug (see TestLenelReusedBadgeLostDeleteAnswer): %v", err)
				continue
			}
		}
		t.Error(err)
	}
	if known > 0 {
		t.Logf("%d lifecycles hit the known lenel bug; their visits went on without a credential", known)
	}
}
