package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Operators of the chaos policy.
var (
	Desk     = visitor.Operator{ID: "desk-1", Groups: []string{"reception"}}
	Kiosk    = visitor.Operator{ID: "kiosk-1"}
	Security = visitor.Operator{ID: "guard-1", Groups: []string{"security"}}
)

// AccessDuration is how long chaos credentials are valid: long enough that
// no credential issued during a run expires before the final check, so a
// credential left at an ACS still opens doors then.
const AccessDuration = 7 * 24 * time.Hour

// Policy returns the chaos policy of a site: guests get the first level
// for AccessDuration (their invitations open an hour early); reception
// may grant both levels; security may remove visitors; no automatic
// sign-out.
func Policy(site *Site) visitor.Policy {
	return visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: site.Levels[:1], AccessDuration: AccessDuration, AdvanceAccess: time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": site.Levels},
		SecurityGroups: []string{"security"},
	}
}

// Locations returns one visitor location per site, with Policy, over the
// given providers (in the order of sims.Sites).
func Locations(sites []*Site, providers []acs.Provider) []visitor.Location {
	var locs []visitor.Location
	for i, site := range sites {
		locs = append(locs, visitor.Location{ID: site.Location, Provider: providers[i], Policy: Policy(site)})
	}
	return locs
}

// Facility returns the facility code of the cards of site i.
func Facility(i int) uint64 { return uint64(20 + i) }

// Card-number layout of every site: pool badges are numbered from
// BadgeBase, range numbers run from RangeMin to RangeMax; both H10301.
const (
	BadgeBase = 1000
	RangeMin  = 30000
	RangeMax  = 39999
)

// Stock fills each site's badge pool with n badges ("1001"…) and sets its
// card-number range, unless they are already there.
func Stock(ctx context.Context, e *visitor.Engine, sites []*Site, n int) error {
	for i, site := range sites {
		pool, err := e.Pool(site.Location)
		if err != nil {
			return err
		}
		for b := 1; b <= n; b++ {
			id := fmt.Sprint(BadgeBase + b)
			card := badge.Card{Format: wiegand.H10301, Facility: Facility(i), Number: uint64(BadgeBase + b)}
			if _, err := pool.Add(ctx, badge.Badge{ID: id, Name: "Visitor " + id, Card: card}); err != nil && !errors.Is(err, badge.ErrExists) {
				return err
			}
		}
		alloc, err := e.Allocator(site.Location)
		if err != nil {
			return err
		}
		r := badge.Range{Location: site.Location, Format: wiegand.H10301, Facility: Facility(i), Min: RangeMin, Max: RangeMax}
		if cur, err := alloc.Range(ctx); err == nil && cur == r {
			continue
		}
		if err := alloc.SetRange(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// Plan is the shape of one visit's lifecycle.
type Plan int

// Lifecycle plans.
const (
	WalkIn Plan = iota // sign in with the next pool badge, sign out
	Range              // sign in with a card number from the range, sign out
	Return             // sign in, return the badge, get another, sign out
	Invite             // invite, provision before arrival, sign in, sign out
	Remove             // sign in, removed by security
	Stay               // sign in and stay (not a complete lifecycle)
	numPlans
)

var planNames = [numPlans]string{"walk-in", "range", "return", "invite", "remove", "stay"}

// String returns the plan's name.
func (p Plan) String() string {
	if p >= 0 && p < numPlans {
		return planNames[p]
	}
	return fmt.Sprintf("plan(%d)", int(p))
}

// PickPlan chooses a complete lifecycle's plan from r: mostly walk-ins.
func PickPlan(r *rand.Rand) Plan {
	switch n := r.IntN(20); {
	case n < 11:
		return WalkIn
	case n < 14:
		return Range
	case n < 16:
		return Return
	case n < 18:
		return Invite
	default:
		return Remove
	}
}

// Driver walks visits through an Engine, advancing a manual clock between
// operations. It is safe for concurrent use.
type Driver struct {
	Engine    *visitor.Engine
	Clock     *visitor.ManualClock
	Locations []string
	// Prefix starts every visit ID.
	Prefix string
	// Seed makes lifecycles reproducible.
	Seed uint64
	// MaxStep bounds the random clock advance after each operation
	// (default 3 s).
	MaxStep time.Duration
	// Pump, when set, runs one outbox batch after each operation with
	// probability one half, as a VMS's worker would in the meantime.
	Pump bool
	// OnOp, when set, is called after every operation.
	OnOp func()

	ops     atomic.Int64
	noBadge atomic.Int64
	planMu  sync.Mutex
	plans   [numPlans]int
}

// Ops returns the number of Engine operations performed.
func (d *Driver) Ops() int64 { return d.ops.Load() }

// NoBadge returns how many provisions found the pool or range empty.
func (d *Driver) NoBadge() int64 { return d.noBadge.Load() }

// Plans returns how many lifecycles of each plan ran.
func (d *Driver) Plans() map[string]int {
	d.planMu.Lock()
	defer d.planMu.Unlock()
	m := map[string]int{}
	for p, n := range d.plans {
		if n > 0 {
			m[Plan(p).String()] = n
		}
	}
	return m
}

// VisitID returns the ID of lifecycle i.
func (d *Driver) VisitID(i int) string { return fmt.Sprintf("%sv%06d", d.Prefix, i) }

// Lifecycle runs lifecycle i with the given plan at location i modulo the
// number of locations. An error is an unexpected refusal or a store
// failure; an empty pool is counted (NoBadge) and the visit goes on
// without a credential.
func (d *Driver) Lifecycle(ctx context.Context, i int, plan Plan) error {
	d.planMu.Lock()
	d.plans[plan]++
	d.planMu.Unlock()
	r := rand.New(rand.NewPCG(d.Seed, uint64(i)))
	lc := &lifecycle{d: d, ctx: ctx, r: r, id: d.VisitID(i), plan: plan,
		loc: d.Locations[i%len(d.Locations)],
		who: visitor.Visitor{FirstName: firstNames[r.IntN(len(firstNames))], LastName: lastNames[r.IntN(len(lastNames))],
			Email: fmt.Sprintf("guest%d@example.com", i), Company: "Chaos & Sons, Ltd."}}
	if err := lc.run(); err != nil {
		return err
	}
	return lc.refused
}

// lifecycle is one visit walked by a Driver. Each step is an Engine call
// (checked by check) followed by step, which advances the clock.
type lifecycle struct {
	d       *Driver
	ctx     context.Context
	r       *rand.Rand
	id, loc string
	plan    Plan
	who     visitor.Visitor
	refused error // the first provision an ACS refused; the visit goes on
}

// run performs the plan: arrival (invited or walk-in), then the plan's
// middle, then the sign-out unless the plan ends otherwise.
func (lc *lifecycle) run() error {
	prov := &visitor.ProvisionRequest{FromRange: lc.plan == Range}
	if lc.plan == Invite {
		if err := lc.invite(); err != nil {
			return err
		}
		prov = nil
	}
	_, err := lc.d.Engine.SignIn(lc.ctx, Desk, visitor.SignInRequest{VisitID: lc.id, Location: lc.loc, Visitor: lc.who, Host: "host-42", Provision: prov})
	if err := lc.after("sign in", err); err != nil {
		return err
	}
	switch lc.plan {
	case Stay:
		return nil
	case Remove:
		_, err := lc.d.Engine.Remove(lc.ctx, Security, lc.id, "asked to leave")
		return lc.after("remove", err)
	case Return:
		if err := lc.returnAndProvisionAgain(); err != nil {
			return err
		}
	}
	return lc.signOut()
}

// invite invites the visit and provisions it before arrival.
func (lc *lifecycle) invite() error {
	_, err := lc.d.Engine.Invite(lc.ctx, Desk, visitor.InviteRequest{VisitID: lc.id, Location: lc.loc, Visitor: lc.who,
		Host: "host-42", ExpectedAt: lc.d.Clock.Now().Add(30 * time.Minute)})
	if err := lc.after("invite", err); err != nil {
		return err
	}
	_, err = lc.d.Engine.Provision(lc.ctx, Desk, lc.id, visitor.ProvisionRequest{})
	return lc.after("provision before arrival", err)
}

// returnAndProvisionAgain returns the badge (when one is out) and asks for
// a second one.
func (lc *lifecycle) returnAndProvisionAgain() error {
	v, err := lc.d.Engine.Visit(lc.ctx, lc.id)
	if err != nil {
		return err
	}
	if c := v.Current(); c != nil && !c.Status.Done() {
		if _, err := lc.d.Engine.ReturnBadge(lc.ctx, Desk, lc.id); err != nil {
			return lc.check("return badge", err)
		}
		if err := lc.step(); err != nil {
			return err
		}
	}
	_, err = lc.d.Engine.Provision(lc.ctx, Desk, lc.id, visitor.ProvisionRequest{})
	var ae *acs.Error
	if errors.As(err, &ae) && ae.Provider == "" && ae.Code == acs.Conflict {
		// The first badge is still out: its revocation is not confirmed
		// yet, so the visit holds it.
		err = nil
	}
	return lc.after("second provision", err)
}

// signOut signs the visit out at the kiosk or the desk, at random.
func (lc *lifecycle) signOut() error {
	via, op := visitor.ViaKiosk, Kiosk
	if lc.r.IntN(2) == 0 {
		via, op = visitor.ViaDesk, Desk
	}
	_, err := lc.d.Engine.SignOut(lc.ctx, op, lc.id, via)
	return lc.after("sign out", err)
}

// after checks an operation's error and, when the lifecycle goes on,
// takes a step.
func (lc *lifecycle) after(what string, err error) error {
	if err := lc.check(what, err); err != nil {
		return err
	}
	return lc.step()
}

// step counts an operation, advances the clock at random, runs an outbox
// batch half of the time when the Driver pumps, and calls OnOp.
func (lc *lifecycle) step() error {
	d := lc.d
	d.ops.Add(1)
	max := d.MaxStep
	if max <= 0 {
		max = 3 * time.Second
	}
	d.Clock.Advance(time.Duration(lc.r.Int64N(int64(max))) + time.Millisecond)
	if d.Pump && lc.r.IntN(2) == 0 {
		if _, err := d.Engine.RunOutboxOnce(lc.ctx); err != nil {
			return err
		}
	}
	if d.OnOp != nil {
		d.OnOp()
	}
	return nil
}

// check sorts an operation's error: an empty pool or range is counted and
// ignored, an ACS's refusal is remembered (the first one) and ignored so
// that every lifecycle completes, anything else ends the lifecycle.
func (lc *lifecycle) check(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badge.ErrNotAvailable), errors.Is(err, badge.ErrRangeFull):
		lc.d.noBadge.Add(1)
		return nil
	}
	err = fmt.Errorf("visit %s (%s) %s: %w", lc.id, lc.plan, what, err)
	var ae *acs.Error
	if errors.As(err, &ae) && ae.Provider != "" {
		if lc.refused == nil {
			lc.refused = err
		}
		return nil
	}
	return err
}

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Zoë", "José", "Søren", "Ngozi", "O'Brien", "Anne-Marie", "李", "Renée", "Miloš"}
	lastNames  = []string{"Lovelace", "Hopper", "Torvalds", "Øvergaard", "Müller", "d'Arc", "García (Jr.)", "Smith, PhD", "Nakamura", "Ó Súilleabháin", "van der Berg", "Kowalski=1"}
)

// RunAll runs n complete lifecycles, numbered from first, on workers
// goroutines, and returns the errors of the lifecycles that failed.
func (d *Driver) RunAll(ctx context.Context, first, n, workers int) []error {
	var mu sync.Mutex
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				r := rand.New(rand.NewPCG(d.Seed^0xa5a5, uint64(i)))
				if err := d.Lifecycle(ctx, i, PickPlan(r)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := first; i < first+n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// DrainStats reports a Drain.
type DrainStats struct {
	Rounds  int           // RunOutboxOnce calls
	Items   int           // items claimed
	Advance time.Duration // how far the clock moved
}

// Drain runs the outbox until nothing is pending, advancing the clock to
// the next attempt whenever nothing is due. It gives up after maxRounds
// calls of RunOutboxOnce.
//
// At the Origo site a provision waits for the visitor's phone, and the
// outbox would retry it until the credential's window ends (a week here).
// It does not come to that: while the provision is retried the Issuer
// reads the user at Origo at least once a minute (origoOptions), the
// simulated phone accepts once the clock has passed its delay
// (PhoneDelays: two minutes at most) when the next request arrives, so a
// drain that advances the clock sees every phone accept and every waiting
// provision reach the door, deterministically, without a timer.
func Drain(ctx context.Context, e *visitor.Engine, clock *visitor.ManualClock, maxRounds int) (DrainStats, error) {
	return runOutbox(ctx, e, clock, maxRounds, time.Time{}, 0)
}

// RunUntil works the outbox as a worker ticking every step would, until
// the clock reaches until or nothing is pending.
func RunUntil(ctx context.Context, e *visitor.Engine, clock *visitor.ManualClock, until time.Time, step time.Duration) (DrainStats, error) {
	return runOutbox(ctx, e, clock, 1<<30, until, step)
}

func runOutbox(ctx context.Context, e *visitor.Engine, clock *visitor.ManualClock, maxRounds int, until time.Time, step time.Duration) (st DrainStats, err error) {
	start := clock.Now()
	defer func() { st.Advance = clock.Now().Sub(start) }()
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n, err := e.RunOutboxOnce(ctx)
		st.Rounds++
		st.Items += n
		if err != nil {
			return st, err
		}
		if n > 0 {
			if st.Rounds >= maxRounds {
				return st, fmt.Errorf("chaos: outbox not drained after %d rounds", st.Rounds)
			}
			continue
		}
		items, err := e.Outbox(ctx, "")
		if err != nil {
			return st, err
		}
		if len(items) == 0 {
			return st, nil
		}
		if st.Rounds >= maxRounds {
			it := items[0]
			return st, fmt.Errorf("chaos: outbox not drained after %d rounds: %d items left, first %s of %s after %d attempts: %s",
				st.Rounds, len(items), it.Op, it.VisitID, it.Attempts, it.LastError)
		}
		now := clock.Now()
		var next time.Time
		if step > 0 {
			next = now.Add(step)
		}
		for _, it := range items {
			if step > 0 {
				break
			}
			t := it.NextAttempt
			if it.LeaseOwner != "" && it.LeaseUntil.After(t) {
				t = it.LeaseUntil
			}
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() {
			next = now.Add(time.Second)
		}
		if step == 0 {
			next = next.Add(time.Millisecond)
		}
		if !until.IsZero() && next.After(until) {
			clock.Set(until)
			return st, nil
		}
		clock.Set(next)
	}
}
