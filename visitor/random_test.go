package visitor_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// world is the system under random operations: two locations, each with
// its own in-memory ACS, four badges and a range of 20 numbers.
type world struct {
	t     *testing.T
	ctx   context.Context
	clock *visitor.ManualClock
	acs   map[string]*acstest.Memory
	locs  []string
	store *visitor.MemoryStore
	e     *visitor.Engine

	mu     sync.Mutex
	visits []string
	ids    atomic.Int64
	ops    atomic.Int64
}

const injectedMsg = "injected fault"

func newWorld(t *testing.T) *world {
	w := &world{
		t: t, ctx: t.Context(), clock: visitor.NewManualClock(t0),
		acs: map[string]*acstest.Memory{}, locs: []string{"hq", "annex"}, store: visitor.NewMemoryStore(),
	}
	var locs []visitor.Location
	for _, l := range w.locs {
		m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby"}, {ID: "floor-3"}, {ID: "server-room"}}, acstest.WithName(l))
		w.acs[l] = m
		locs = append(locs, visitor.Location{ID: l, Provider: m, Policy: testPolicy()})
	}
	e, err := visitor.New(w.store, locs, visitor.WithClock(w.clock), visitor.WithOwner("random"), visitor.WithBatch(20, 3),
		visitor.WithIDs(func() string { return "x" + strconv.FormatInt(w.ids.Add(1), 10) }))
	if err != nil {
		t.Fatal(err)
	}
	w.e = e
	for li, l := range w.locs {
		pool, _ := e.Pool(l)
		for i := range 4 {
			id := fmt.Sprint(100*(li+1) + i)
			if _, err := pool.Add(w.ctx, badge.Badge{ID: id, Name: id, Card: badge.Card{Format: wiegand.H10301, Facility: uint64(li + 1), Number: uint64(100*(li+1) + i)}}); err != nil {
				t.Fatal(err)
			}
		}
		al, _ := e.Allocator(l)
		if err := al.SetRange(w.ctx, badge.Range{Format: wiegand.H10304, Facility: uint64(10 + li), Min: 1000, Max: 1019}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) addVisit(id string) {
	w.mu.Lock()
	w.visits = append(w.visits, id)
	w.mu.Unlock()
}

func (w *world) pick(rng *rand.Rand) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.visits) == 0 || rng.IntN(40) == 0 {
		return "no-such-visit"
	}
	// Favour recent visits: they are the live ones.
	n := len(w.visits)
	if rng.IntN(3) > 0 && n > 8 {
		return w.visits[n-1-rng.IntN(8)]
	}
	return w.visits[rng.IntN(n)]
}

var randomOperators = []visitor.Operator{desk, desk, itDesk, kiosk, {ID: "nobody"}, security}

// expected reports whether err is a refusal a random operation may meet.
func expected(err error) bool {
	switch acs.CodeOf(err) {
	case acs.Conflict, acs.PermissionDenied, acs.InvalidArgument, acs.NotFound:
		return true
	}
	return false
}

// step performs one random operation.
func (w *world) step(rng *rand.Rand) {
	w.ops.Add(1)
	op := randomOperators[rng.IntN(len(randomOperators))]
	loc := w.locs[rng.IntN(len(w.locs))]
	var err error
	var what string
	switch r := rng.IntN(100); {
	case r < 10:
		what = "sign-in"
		req := visitor.SignInRequest{Location: loc, Visitor: ada, Type: []string{"guest", "contractor", "escorted", ""}[rng.IntN(4)]}
		if rng.IntN(2) == 0 {
			req.Provision = w.provisionRequest(rng, loc)
		}
		var v visitor.Visit
		v, err = w.e.SignIn(w.ctx, op, req)
		if v.ID != "" {
			w.addVisit(v.ID)
		}
	case r < 14:
		what = "invite"
		var v visitor.Visit
		v, err = w.e.Invite(w.ctx, op, visitor.InviteRequest{Location: loc, Visitor: ada, ExpectedAt: w.clock.Now().Add(time.Duration(rng.IntN(360)) * time.Minute)})
		if v.ID != "" {
			w.addVisit(v.ID)
		}
	case r < 18:
		what = "sign-in of an invitee"
		_, err = w.e.SignIn(w.ctx, op, visitor.SignInRequest{VisitID: w.pick(rng)})
		if err != nil && acs.CodeOf(err) == acs.InvalidArgument {
			err = nil // a made-up ID makes a walk-in without a location
		}
	case r < 32:
		what = "provision"
		_, err = w.e.Provision(w.ctx, op, w.pick(rng), *w.provisionRequest(rng, loc))
	case r < 38:
		what = "return"
		_, err = w.e.ReturnBadge(w.ctx, op, w.pick(rng))
	case r < 39:
		what = "lost"
		_, err = w.e.ReportBadgeLost(w.ctx, op, w.pick(rng))
	case r < 40:
		what = "found"
		pool, _ := w.e.Pool(loc)
		lost, _ := pool.List(w.ctx, badge.Filter{State: badge.Lost})
		if len(lost) > 0 {
			_, err = pool.MarkFound(w.ctx, lost[0].ID)
		}
	case r < 48:
		what = "sign-out"
		_, err = w.e.SignOut(w.ctx, op, w.pick(rng), []visitor.Method{visitor.ViaKiosk, visitor.ViaDesk}[rng.IntN(2)])
	case r < 50:
		what = "remove"
		_, err = w.e.Remove(w.ctx, op, w.pick(rng), "random removal")
	case r < 51:
		what = "watchlist"
		_, err = w.e.ReportWatchlistMatch(w.ctx, w.pick(rng), visitor.WatchlistMatch{List: "random"})
	case r < 56:
		what = "sweep"
		_, err = w.e.Sweep(w.ctx)
	case r < 68:
		what = "outbox"
		_, err = w.e.RunOutboxOnce(w.ctx)
	case r < 78:
		what = "time"
		w.clock.Advance(time.Duration(1+rng.IntN(90)) * time.Minute)
	case r < 81:
		what = "outage"
		w.acs[loc].SetDown(rng.IntN(2) == 0)
	case r < 84:
		what = "lost responses"
		w.acs[loc].LoseResponses(rng.IntN(3) == 0)
	default:
		what = "fault"
		codes := []acs.Code{acs.Unavailable, acs.RateLimited, acs.Unknown, acs.Canceled, acs.Unauthenticated, acs.Conflict, acs.NotFound, acs.InvalidArgument}
		w.acs[loc].FailNext(acs.Errorf("fault", loc, codes[rng.IntN(len(codes))], injectedMsg))
	}
	if (what == "sign-in" || what == "provision") && acs.CodeOf(err) == acs.Unavailable && strings.Contains(err.Error(), "window ended") {
		err = nil // the clock, moved by another goroutine, ended the window during the attempt
	}
	if err != nil && !expected(err) {
		w.t.Errorf("%s: unexpected error: %v", what, err)
	}
}

func (w *world) provisionRequest(rng *rand.Rand, loc string) *visitor.ProvisionRequest {
	req := &visitor.ProvisionRequest{}
	switch rng.IntN(3) {
	case 0:
		li := 1
		if loc == "annex" || rng.IntN(5) == 0 {
			li = 2
		}
		req.BadgeID = fmt.Sprint(100*li + rng.IntN(4))
	case 1:
		req.FromRange = true
	}
	if rng.IntN(2) == 0 {
		levels := []string{"lobby", "floor-3", "server-room", "ghost"}
		req.AccessLevels = []string{levels[rng.IntN(len(levels))]}
	}
	return req
}

// settle turns faults off and runs sweeps and the outbox until nothing is
// pending.
func (w *world) settle() {
	w.t.Helper()
	for _, m := range w.acs {
		m.SetDown(false)
		m.LoseResponses(false)
	}
	for range 200 {
		// Consume leftover injected faults harmlessly.
		for _, m := range w.acs {
			_ = m.Ping(w.ctx)
		}
		if _, err := w.e.Sweep(w.ctx); err != nil {
			w.t.Fatal(err)
		}
		for {
			n, err := w.e.RunOutboxOnce(w.ctx)
			if err != nil {
				w.t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		if p, _ := w.e.Outbox(w.ctx, ""); len(p) == 0 {
			return
		}
		w.clock.Advance(10 * time.Minute)
	}
	p, _ := w.e.Outbox(w.ctx, "")
	w.t.Fatalf("outbox does not settle: %+v", p)
}

// checkBadges verifies that no badge is held by two visits and that the
// pools agree with the visits.
func (w *world) checkBadges(visits []visitor.Visit) {
	w.t.Helper()
	held := map[string]string{} // location/badge → visit
	cards := map[string]string{}
	for _, v := range visits {
		for _, c := range v.Credentials {
			if !c.Holding() {
				continue
			}
			key := v.Location + "/" + c.BadgeID
			m := held
			if c.Source == visitor.FromRange {
				key, m = v.Location+"/"+strconv.FormatUint(c.Card.Number, 10), cards
			}
			if other, dup := m[key]; dup {
				w.t.Fatalf("%s held by visits %s and %s", key, other, v.ID)
			}
			m[key] = v.ID
		}
	}
	for _, l := range w.locs {
		pool, _ := w.e.Pool(l)
		bs, _ := pool.List(w.ctx, badge.Filter{})
		for _, b := range bs {
			want := held[l+"/"+b.ID]
			if (b.State == badge.Assigned) != (want != "") || b.VisitID != want {
				w.t.Fatalf("badge %s/%s is %s held by %q, visits say %q", l, b.ID, b.State, b.VisitID, want)
			}
		}
		al, _ := w.e.Allocator(l)
		as, _ := al.Allocations(w.ctx)
		n := 0
		for k := range cards {
			if strings.HasPrefix(k, l+"/") {
				n++
			}
		}
		if len(as) != n {
			w.t.Fatalf("location %s: %d numbers allocated, visits hold %d", l, len(as), n)
		}
		for _, a := range as {
			if cards[l+"/"+strconv.FormatUint(a.Card.Number, 10)] != a.VisitID {
				w.t.Fatalf("number %d allocated to %s, not held by it", a.Card.Number, a.VisitID)
			}
		}
	}
}

// check verifies the invariants once everything is settled.
func (w *world) check() {
	w.t.Helper()
	now := w.clock.Now()
	visits, err := w.e.Visits(w.ctx, visitor.VisitFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	byID := map[string]*visitor.Visit{}
	for i := range visits {
		v := &visits[i]
		byID[v.ID] = v
		for _, c := range v.Credentials {
			switch {
			case c.Status == visitor.CredPending || c.Status == visitor.CredRevoking:
				w.t.Fatalf("visit %s: credential still %s after settling", v.ID, c.Status)
			case v.State.Ended() && !c.Status.Done():
				w.t.Fatalf("ended visit %s (%s) has a %s credential", v.ID, v.State, c.Status)
			case v.State.Ended() && !c.Released && !c.Lost:
				w.t.Fatalf("ended visit %s still holds %s %v", v.ID, c.BadgeID, c.Card)
			}
		}
	}
	w.checkBadges(visits)
	for l, m := range w.acs {
		for _, ref := range m.Active(now) {
			v := byID[ref.CardholderExternalID]
			if v == nil || v.Location != l || (v.State != visitor.SignedIn && v.State != visitor.Expected) {
				w.t.Fatalf("credential %+v is active at %s for a visit that is not signed in: %+v", ref, l, v)
			}
			live := false
			for _, c := range v.Credentials {
				live = live || (c.Status == visitor.CredActive && c.Card == ref.Card)
			}
			if !live {
				w.t.Fatalf("credential %+v is active at the ACS but not for visit %s", ref, v.ID)
			}
		}
	}
	w.checkAudit(visits)
}

// checkAudit replays each visit's audit trail against its final state.
func (w *world) checkAudit(visits []visitor.Visit) {
	w.t.Helper()
	recs, err := w.e.Audit(w.ctx, visitor.AuditQuery{})
	if err != nil {
		w.t.Fatal(err)
	}
	type trail struct {
		state                visitor.State
		provisions, releases int
		confirmed            int
	}
	trails := map[string]*trail{}
	for _, r := range recs {
		if strings.Contains(r.Error, "held by another cardholder") {
			w.t.Fatalf("a card was provisioned while live for another visit: %+v", r)
		}
		if r.Outcome == visitor.OutcomeRefused {
			continue
		}
		tr := trails[r.VisitID]
		if tr == nil {
			tr = &trail{}
			trails[r.VisitID] = tr
		}
		if r.From != tr.state && (r.Action == visitor.ActInvite || r.Action == visitor.ActSignIn || r.To != r.From) {
			w.t.Fatalf("visit %s: record %d (%s) moves from %q but the trail is at %q", r.VisitID, r.Seq, r.Action, r.From, tr.state)
		}
		tr.state = r.To
		switch r.Action {
		case visitor.ActProvision:
			tr.provisions++
		case visitor.ActBadgeRelease, visitor.ActCardFree:
			tr.releases++
		case visitor.ActACSProvision:
			if r.Outcome == visitor.OutcomeOK {
				tr.confirmed++
			}
		}
	}
	for _, v := range visits {
		tr := trails[v.ID]
		if tr == nil {
			w.t.Fatalf("visit %s has no audit trail", v.ID)
		}
		released, active := 0, 0
		for _, c := range v.Credentials {
			if c.Released {
				released++
			}
			if !c.ActiveAt.IsZero() {
				active++
			}
		}
		if tr.state != v.State || tr.provisions != len(v.Credentials) || tr.releases != released || tr.confirmed < active {
			w.t.Fatalf("visit %s (%s, %d credentials, %d released, %d confirmed) disagrees with its trail %+v", v.ID, v.State, len(v.Credentials), released, active, *tr)
		}
	}
}

func TestRandomInterleavings(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	steps, workers, rounds := 1500, 4, 3
	if testing.Short() {
		seeds, steps, rounds = seeds[:1], 300, 1
	}
	if s := os.Getenv("VISITOR_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds = []uint64{n}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := newWorld(t)
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			for round := range rounds {
				// A sequential stretch, reproducible from the seed…
				for i := range steps {
					w.step(rng)
					if i%100 == 0 {
						visits, _ := w.e.Visits(w.ctx, visitor.VisitFilter{})
						w.checkBadges(visits)
					}
					if t.Failed() {
						t.Fatalf("seed %d: failed at round %d step %d", seed, round, i)
					}
				}
				// …then goroutines interleaving freely.
				var wg sync.WaitGroup
				for g := range workers {
					grng := rand.New(rand.NewPCG(seed, uint64(round*workers+g)))
					wg.Go(func() {
						for range steps / 10 {
							w.step(grng)
						}
					})
				}
				wg.Wait()
				w.settle()
				w.check()
			}
			// Two days later everyone has been signed out or expired.
			w.clock.Advance(48 * time.Hour)
			w.settle()
			w.check()
			visits, _ := w.e.Visits(w.ctx, visitor.VisitFilter{})
			for _, v := range visits {
				if !v.State.Ended() {
					t.Fatalf("visit %s still %s two days later", v.ID, v.State)
				}
			}
			for l, m := range w.acs {
				if a := m.Active(w.clock.Now()); len(a) != 0 {
					t.Fatalf("%s: %d credentials still active", l, len(a))
				}
			}
			t.Logf("seed %d: %d operations, %d visits", seed, w.ops.Load(), len(visits))
		})
	}
}
