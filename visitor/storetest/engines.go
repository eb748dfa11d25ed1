package storetest

import (
	"context"
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

// RunEngines runs scenarios with several Engines sharing one store from
// newStore, in real time (the system clock, real leases), as VMS replicas
// would: what a manual clock cannot show. Each is bounded to a few
// seconds.
func RunEngines(t *testing.T, newStore func(t *testing.T) visitor.Store) {
	t.Run("LateProvisionAfterLeaseLost", func(t *testing.T) { lateProvision(t, newStore(t)) })
}

// slowACS makes provisions take longer than the lease while slow is set,
// ignoring the caller's context as a request already at the ACS would: the
// change happens at the ACS after the caller gave up waiting.
type slowACS struct {
	*acstest.Memory
	slow    atomic.Int64 // nanoseconds
	entered chan struct{}
}

func (s *slowACS) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if d := time.Duration(s.slow.Swap(0)); d > 0 {
		s.entered <- struct{}{}
		time.Sleep(d) // the ACS is slow; the call is not ours to shorten
		return s.Memory.Provision(context.WithoutCancel(ctx), g)
	}
	return s.Memory.Provision(ctx, g)
}

// lateProvision: engine A's provision outlasts its lease; engine B takes
// the item over, provisions, and the visit signs out and is revoked; then
// A's provision lands at the ACS. The credential must end revoked at the
// ACS, with nothing pending and the badge back in the pool.
func lateProvision(t *testing.T, store visitor.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	const lease, call, slow = 400 * time.Millisecond, 150 * time.Millisecond, 1200 * time.Millisecond
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	sa := &slowACS{Memory: mem, entered: make(chan struct{}, 1)}
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"desk": {"lobby"}},
	}
	newEngine := func(name string, p acs.Provider) *visitor.Engine {
		e, err := visitor.New(store, []visitor.Location{{ID: loc, Provider: p, Policy: pol}},
			visitor.WithOwner(name), visitor.WithLease(lease, call), visitor.WithBackoff(10*time.Millisecond, 50*time.Millisecond), visitor.WithBatch(10, 1))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEngine("engine-a", sa), newEngine("engine-b", mem)
	op := visitor.Operator{ID: "desk-1", Groups: []string{"desk"}}
	if err := store.Badges().Add(ctx, badge.Badge{Location: loc, ID: "7001", Name: "Visitor 7001", State: badge.Available,
		Since: time.Now().Add(-time.Hour), Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 7001}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SignIn(ctx, op, visitor.SignInRequest{VisitID: "late-1", Location: loc, Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"}}); err != nil {
		t.Fatal(err)
	}
	// The ACS is down at the desk: the provision is queued.
	mem.SetDown(true)
	if _, err := a.Provision(ctx, op, "late-1", visitor.ProvisionRequest{BadgeID: "7001"}); err != nil {
		t.Fatalf("provision with the ACS down must queue, got %v", err)
	}
	mem.SetDown(false)
	sa.slow.Store(int64(slow))
	waitFor(ctx, t, "the queued provision to be due", func() bool {
		p, err := a.Outbox(ctx, "late-1")
		return err == nil && len(p) == 1 && !p[0].NextAttempt.After(time.Now())
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := a.RunOutboxOnce(ctx); err != nil {
			t.Errorf("engine A: %v", err)
		}
	})
	<-sa.entered // A's provision is at the (slow) ACS now
	waitFor(ctx, t, "engine B to take the item over", func() bool {
		n, err := b.RunOutboxOnce(ctx)
		return err == nil && n > 0
	})
	if v, err := b.SignOut(ctx, op, "late-1", visitor.ViaDesk); err != nil || v.Current().Status != visitor.CredRevoked {
		t.Fatalf("sign-out through engine B: %v, credential %+v", err, v.Current())
	}
	wg.Wait() // A's provision has landed at the ACS and A has recorded what it could
	drain(ctx, t, b)
	v, err := b.Visit(ctx, "late-1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.Outbox(ctx, "")
	bd, _ := store.Badges().Get(ctx, loc, "7001")
	if live := mem.Active(time.Now()); len(live) != 0 || v.State != visitor.SignedOut || len(p) != 0 || bd.State != badge.Available {
		t.Fatalf("after the late provision: live at the ACS %v, visit %s, credential %s, pending %d, badge %s",
			live, v.State, v.Current().Status, len(p), bd.State)
	}
	recs, _ := b.Audit(ctx, visitor.AuditQuery{VisitID: "late-1"})
	for _, r := range recs {
		if r.Action == visitor.ActLateOutcome {
			return
		}
	}
	t.Errorf("no %s audit record: %+v", visitor.ActLateOutcome, recs)
}

// waitFor polls cond in real time until it holds, failing the test when
// ctx ends first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// drain runs e's outbox until nothing is pending, in real time.
func drain(ctx context.Context, t *testing.T, e *visitor.Engine) {
	t.Helper()
	waitFor(ctx, t, "the outbox to drain", func() bool {
		if _, err := e.RunOutboxOnce(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := e.Outbox(ctx, "")
		return err == nil && len(p) == 0
	})
}
