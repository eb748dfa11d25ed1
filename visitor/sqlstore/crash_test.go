package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

// crashEnv carries the child's configuration (JSON) into the re-executed
// test binary.
const crashEnv = "ACSBRIDGE_SQLSTORE_CRASH_CHILD"

// crashConfig tells a child what to do.
type crashConfig struct {
	DB    string `json:"db"`
	ACS   string `json:"acs"`
	Epoch int    `json:"epoch"` // run number: the clock starts Epoch hours after t0
	Ops   int    `json:"ops"`   // operations to run after recovering; 0 only recovers
	Seed  uint64 `json:"seed"`
}

const crashBadges = 12

var crashRange = badge.Range{Location: hq, Format: wiegand.H10304, Facility: 100, Min: 500000, Max: 500009}

// TestSQLiteCrashRecovery runs the visit lifecycle in a child process on an
// SQLite file and kills it with SIGKILL at seeded random points: after a
// random number of operations, or inside a random ACS call (before the ACS
// acts, or after it acted and before it answered). Each run starts by
// recovering what the previous one left: the outbox is drained, leases of
// the dead process expire. The ACS (an acstest.Memory) lives in this
// process, behind loopback HTTP, so it survives the kills. At the end no
// credential may be live for a visit that is not signed in, no badge may be
// lost or held twice, and the outbox must be empty.
func TestSQLiteCrashRecovery(t *testing.T) {
	runs := 18
	if testing.Short() {
		runs = 6
	}
	const seed = 20260310
	rng := rand.New(rand.NewPCG(seed, 1))
	path := filepath.Join(t.TempDir(), "crash.db")
	mem := acstest.NewMemory(levels)
	srv := newACSServer(mem)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	addBadges(t, s.Badges(), crashBadges)
	if err := s.Cards().SetRange(ctx, crashRange); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var stats struct{ byOps, before, after, clean, ops, pending, revokes int }
	var last childResult
	for run := 0; run <= runs; run++ {
		cfg := crashConfig{DB: path, ACS: hs.URL, Epoch: run, Ops: 40, Seed: seed}
		var k killPlan
		switch {
		case run == runs:
			cfg.Ops = 0 // the last run only recovers, and must finish
		case run%3 == 0:
			k.afterOps = 1 + rng.IntN(cfg.Ops)
		default:
			k.atChange, k.after = 1+rng.IntN(20), run%3 == 2
			if rng.IntN(2) == 0 {
				k.atChange = 1 + rng.IntN(8)
				k.ops = []string{"revoke", "remove_cardholder"}
			}
		}
		last = runChild(t, srv, cfg, k)
		stats.ops += last.ops
		stats.pending += last.pending
		stats.revokes += last.revokes
		switch {
		case !last.killed:
			stats.clean++
		case k.afterOps > 0:
			stats.byOps++
		case k.after:
			stats.after++
		default:
			stats.before++
		}
		t.Logf("run %d: %d ops, %d outbox items pending at start (%d revocations), killed=%v (plan %+v)", run, last.ops, last.pending, last.revokes, last.killed, k)
	}
	if last.killed || last.clock.IsZero() {
		t.Fatal("the recovery run did not finish")
	}
	t.Logf("%d runs: %d killed after an operation, %d killed in an ACS call before it acted, %d after it acted and before it answered, %d finished; %d operations; %d outbox items (%d revocations) found pending at restarts and completed",
		runs+1, stats.byOps, stats.before, stats.after, stats.clean, stats.ops, stats.pending, stats.revokes)
	if stats.byOps+stats.before+stats.after == 0 {
		t.Fatal("no run was killed")
	}
	checkCrashState(t, path, mem, runs, last.clock)
}

// killPlan says when to kill a child: after its afterOps-th operation, or
// at its atChange-th ACS change (after the ACS acted when after is set).
type killPlan struct {
	afterOps int
	atChange int
	after    bool
	ops      []string // the ACS operations counted for atChange; all when empty
}

type childResult struct {
	ops, pending, revokes int
	killed                bool
	clock                 time.Time
}

func runChild(t *testing.T, srv *acsServer, cfg crashConfig, k killPlan) childResult {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(raw))
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
	kill := func() {
		if killed.CompareAndSwap(false, true) {
			_ = cmd.Process.Kill() // SIGKILL
		}
	}
	if k.atChange > 0 {
		srv.arm(k.atChange, k.after, k.ops, kill)
	}
	defer srv.disarm()
	var res childResult
	var tail []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 40 {
			tail = tail[1:]
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "op":
			res.ops++
			if k.afterOps > 0 && res.ops == k.afterOps {
				kill()
			}
		case "pending":
			res.pending = int(n)
		case "revokes":
			res.revokes = int(n)
		case "clock":
			res.clock = time.Unix(0, n).UTC()
		}
	}
	err = cmd.Wait()
	res.killed = killed.Load()
	if !res.killed && err != nil {
		t.Fatalf("child (epoch %d) failed: %v\n%s\n%s", cfg.Epoch, err, strings.Join(tail, "\n"), stderr.String())
	}
	return res
}

// TestSQLiteCrashChild is the child process of TestSQLiteCrashRecovery; it
// is skipped unless started by it.
func TestSQLiteCrashChild(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("helper process of TestSQLiteCrashRecovery")
	}
	var cfg crashConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clock := visitor.NewManualClock(t0.Add(time.Duration(cfg.Epoch) * time.Hour))
	s, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids atomic.Int64
	e := newEngine(t, s, newHTTPACS(cfg.ACS), clock, fmt.Sprintf("child-%d", cfg.Epoch),
		visitor.WithLease(time.Minute, 10*time.Second), visitor.WithBackoff(time.Second, 10*time.Second),
		visitor.WithBatch(20, 2),
		visitor.WithIDs(func() string { return fmt.Sprintf("e%d-i%d", cfg.Epoch, ids.Add(1)) }))

	pending, err := s.Outbox(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	revokes := 0
	for _, it := range pending {
		if it.Op != visitor.OpProvision {
			revokes++
		}
	}
	fmt.Printf("pending %d\nrevokes %d\n", len(pending), revokes)
	drain := func() {
		for range 1000 {
			n, err := e.RunOutboxOnce(ctx)
			if err != nil {
				t.Fatalf("RunOutboxOnce: %v", err)
			}
			if n == 0 {
				return
			}
		}
		t.Fatal("the outbox does not drain")
	}
	drain()
	if _, err := e.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	drain()

	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(cfg.Epoch)))
	for i := range cfg.Ops {
		clock.Advance(time.Second)
		in, err := e.Visits(ctx, visitor.VisitFilter{Location: hq, States: []visitor.State{visitor.SignedIn}})
		if err != nil {
			t.Fatal(err)
		}
		r := rng.IntN(100)
		var pick string
		if len(in) > 0 {
			pick = in[rng.IntN(len(in))].ID
		}
		switch {
		case r < 45 || pick == "":
			_, err = e.SignIn(ctx, desk, visitor.SignInRequest{
				VisitID: fmt.Sprintf("e%d-v%d", cfg.Epoch, i), Location: hq,
				Visitor:   visitor.Visitor{FirstName: "Guest", LastName: strconv.Itoa(i)},
				Provision: &visitor.ProvisionRequest{FromRange: rng.IntN(3) == 0},
			})
		case r < 75:
			_, err = e.SignOut(ctx, desk, pick, visitor.ViaDesk)
		case r < 87:
			_, err = e.ReturnBadge(ctx, desk, pick)
		default:
			_, err = e.Remove(ctx, guard, pick, "escorted out")
		}
		if err != nil && !isACS(err) {
			t.Fatalf("op %d: %v", i, err)
		}
		fmt.Printf("op %d\n", i)
		if i%5 == 4 {
			drain()
		}
	}
	drain()
	fmt.Printf("clock %d\n", clock.Now().UnixNano())
}

// checkCrashState checks the store and the ACS after the last run.
func checkCrashState(t *testing.T, path string, mem *acstest.Memory, lastEpoch int, end time.Time) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if items, err := s.Outbox(ctx, "", 0); err != nil || len(items) != 0 {
		t.Fatalf("outbox after recovery: %d items, %v", len(items), err)
	}
	vs, err := s.Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*visitor.Visit{}
	states := map[visitor.State]int{}
	for i := range vs {
		byID[vs[i].ID] = &vs[i]
		states[vs[i].State]++
	}
	t.Logf("%d visits: %v", len(vs), states)

	// The oracle: every credential the ACS would open a door for, at any
	// hour of the test, belongs to a signed-in visit whose credential is
	// active in the store.
	live := map[string]acs.CredentialRef{}
	for e := 0; e <= lastEpoch; e++ {
		for _, ref := range mem.Active(t0.Add(time.Duration(e) * time.Hour)) {
			live[ref.ID] = ref
		}
	}
	for _, ref := range mem.Active(end) {
		live[ref.ID] = ref
	}
	for _, ref := range live {
		v := byID[ref.CardholderExternalID]
		if v == nil || v.State != visitor.SignedIn {
			state := visitor.State("unknown")
			if v != nil {
				state = v.State
			}
			t.Errorf("credential %s (card %s) of visit %s is live at the ACS, but the visit is %s", ref.ID, ref.Card, ref.CardholderExternalID, state)
			continue
		}
		if !slices.ContainsFunc(v.Credentials, func(c visitor.Credential) bool { return c.Card == ref.Card && c.Status == visitor.CredActive }) {
			t.Errorf("credential %s (card %s) is live at the ACS, but visit %s has no active credential with that card", ref.ID, ref.Card, v.ID)
		}
	}
	// And the other way round: what the store calls active opens doors.
	activeInStore := 0
	for _, v := range vs {
		for _, c := range v.Credentials {
			if c.Status == visitor.CredActive && !end.Before(c.ValidFrom) && end.Before(c.ValidUntil) {
				activeInStore++
				if !mem.Opens(c.Ref, c.AccessLevels[0], end) {
					t.Errorf("visit %s: credential %+v is active in the store but not at the ACS", v.ID, c.Ref)
				}
			}
			if v.State.Ended() && (!c.Status.Done() || c.Holding()) {
				t.Errorf("ended visit %s still has credential %s (status %s, holding %v)", v.ID, c.Card, c.Status, c.Holding())
			}
		}
	}
	t.Logf("oracle: %d credentials live at the ACS over the test's hours, %d active in the store at the end", len(live), activeInStore)

	// Badges: each one available, or held by the one visit whose current
	// pool credential holds it; none lost, none held twice.
	bl, err := s.Badges().List(ctx, hq, badge.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(bl) != crashBadges {
		t.Fatalf("%d badges, want %d", len(bl), crashBadges)
	}
	holders := map[string]string{}
	for _, b := range bl {
		h, err := s.Badges().History(ctx, hq, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range h {
			if a.Active() && i != len(h)-1 {
				t.Errorf("badge %s: assignment %d of %d is still open", b.ID, i+1, len(h))
			}
		}
		switch b.State {
		case badge.Available:
			if len(h) > 0 && h[len(h)-1].Active() {
				t.Errorf("available badge %s has an open assignment", b.ID)
			}
		case badge.Assigned:
			holders[b.ID] = b.VisitID
			if len(h) == 0 || !h[len(h)-1].Active() || h[len(h)-1].VisitID != b.VisitID {
				t.Errorf("badge %s is assigned to %s but its history says %+v", b.ID, b.VisitID, h)
			}
		default:
			t.Errorf("badge %s is %s", b.ID, b.State)
		}
	}
	allocs, err := s.Cards().Allocations(ctx, hq)
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[uint64]string{}
	for _, a := range allocs {
		numbers[a.Card.Number] = a.VisitID
	}
	heldBadges, heldNumbers := 0, 0
	for _, v := range vs {
		for _, c := range v.Credentials {
			if !c.Holding() {
				continue
			}
			switch c.Source {
			case visitor.FromPool:
				heldBadges++
				if holders[c.BadgeID] != v.ID {
					t.Errorf("visit %s holds badge %s, which the pool says is held by %q", v.ID, c.BadgeID, holders[c.BadgeID])
				}
			case visitor.FromRange:
				heldNumbers++
				if numbers[c.Card.Number] != v.ID {
					t.Errorf("visit %s holds number %d, which the range says is allocated to %q", v.ID, c.Card.Number, numbers[c.Card.Number])
				}
			}
		}
	}
	if heldBadges != len(holders) || heldNumbers != len(allocs) {
		t.Errorf("visits hold %d badges and %d numbers; the pool has %d assigned, the range %d allocated",
			heldBadges, heldNumbers, len(holders), len(allocs))
	}
	t.Logf("badges: %d held, %d available; card numbers: %d allocated", len(holders), len(bl)-len(holders), len(allocs))
}
