package visitor_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// queueProvisions signs in n visits and provisions each while the ACS is
// down, so that n provisions wait in the outbox, due after the backoff.
func (f *fixture) queueProvisions(n int) {
	f.t.Helper()
	f.acs.SetDown(true)
	for i := range n {
		id := fmt.Sprintf("v%d", i+1)
		f.signIn(id)
		f.provision(id, visitor.ProvisionRequest{BadgeID: fmt.Sprint(1001 + i)})
	}
	f.acs.SetDown(false)
	f.clock.Advance(time.Minute)
}

func TestClaimFitsInLease(t *testing.T) {
	// One worker, 30 s calls, a 2-minute lease: at most 3 items per claim,
	// whatever the batch size, so the last call still ends in its lease.
	f := newFixture(t, visitor.WithBatch(50, 1), visitor.WithLease(2*time.Minute, 30*time.Second))
	if got := f.e.ClaimLimit(); got != 3 {
		t.Fatalf("ClaimLimit = %d, want 3", got)
	}
	f.queueProvisions(5)
	n, err := f.e.RunOutboxOnce(f.ctx)
	if err != nil || n != 3 {
		t.Fatalf("RunOutboxOnce claimed %d (err %v), want 3 of the 5 due", n, err)
	}
	f.drain()
	if p, _ := f.e.Outbox(f.ctx, ""); len(p) != 0 {
		t.Fatalf("pending after drain: %d", len(p))
	}
}

// clockHog is a provider whose first provision takes most of the lease
// (it advances the manual clock).
type clockHog struct {
	acs.Provider
	clock *visitor.ManualClock
	d     time.Duration
	calls atomic.Int32
}

func (c *clockHog) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if c.calls.Add(1) == 1 {
		c.clock.Advance(c.d)
	}
	return c.Provider.Provision(ctx, g)
}

func TestNoCallOnAShortLease(t *testing.T) {
	f := newFixture(t)
	f.queueProvisions(2)
	hog := &clockHog{Provider: f.acs, clock: f.clock, d: 100 * time.Second}
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: hog, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("replica-2"), visitor.WithBatch(10, 1),
		visitor.WithLease(2*time.Minute, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e2.RunOutboxOnce(f.ctx); err != nil || n != 2 {
		t.Fatalf("claimed %d, err %v", n, err)
	}
	// The first call used 100 s of the 120 s lease: the second item has 20
	// s left, less than a call may take, so it must not reach the ACS.
	if got := hog.calls.Load(); got != 1 {
		t.Fatalf("%d provisions reached the ACS; the second had only 20 s of lease left", got)
	}
	p, _ := e2.Outbox(f.ctx, "")
	if len(p) != 1 || p[0].LeaseOwner != "" || p[0].NextAttempt.After(f.now()) {
		t.Fatalf("the item not called must be free to claim at once: %+v", p)
	}
	if n, err := e2.RunOutboxOnce(f.ctx); err != nil || n != 1 || hog.calls.Load() != 2 {
		t.Fatalf("second run: claimed %d, err %v, calls %d", n, err, hog.calls.Load())
	}
}

// refusingRevoke refuses every revocation with the given error.
type refusingRevoke struct {
	acs.Provider
	err error
}

func (r refusingRevoke) Revoke(context.Context, acs.CredentialRef) error { return r.err }

func TestRevocationRefusedForGoodEscalates(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	var stuck []visitor.StuckItem
	prov := refusingRevoke{Provider: f.acs, err: acs.Errorf("revoke", "memory", acs.PermissionDenied, "operator may not modify this cardholder")}
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: prov, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("replica-2"), visitor.WithBackoff(2*time.Second, 5*time.Minute),
		visitor.WithStuck(10, time.Hour, func(s visitor.StuckItem) { stuck = append(stuck, s) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	if len(stuck) != 1 || stuck[0].Item.Op != visitor.OpRevoke || acs.CodeOf(stuck[0].Err) != acs.PermissionDenied {
		t.Fatalf("a revocation refused for good must be reported at once: %+v", stuck)
	}
	p, _ := e2.Outbox(f.ctx, "v1")
	if len(p) != 1 || p[0].NextAttempt.Sub(f.now()) < 5*time.Minute {
		t.Fatalf("still retried, at the longest backoff: %+v", p)
	}
	var escalated bool
	recs, _ := e2.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1"})
	for _, r := range recs {
		escalated = escalated || r.Action == visitor.ActStuck && r.Outcome == visitor.OutcomeEscalated && strings.Contains(r.Reason, "for good")
	}
	if !escalated {
		t.Fatalf("no escalation in the audit trail: %+v", recs)
	}
}

func TestStuckAfterAttempts(t *testing.T) {
	var reported atomic.Int32
	f := newFixture(t, visitor.WithStuck(3, 24*time.Hour, func(visitor.StuckItem) { reported.Add(1) }))
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	f.acs.SetDown(true)
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if s, _ := f.e.Stuck(f.ctx); len(s) != 0 && reported.Load() == 0 {
			t.Fatal("listed as stuck before it was reported")
		}
		f.clock.Advance(10 * time.Minute)
		f.drain()
	}
	s, err := f.e.Stuck(f.ctx)
	if err != nil || len(s) != 1 || s[0].Op != visitor.OpRevoke || s[0].Attempts != 5 {
		t.Fatalf("Stuck = %+v, %v", s, err)
	}
	if got := reported.Load(); got != 3 { // attempts 3, 4 and 5
		t.Fatalf("reported %d times, want 3", got)
	}
	f.acs.SetDown(false)
	f.settle()
	if s, _ := f.e.Stuck(f.ctx); len(s) != 0 {
		t.Fatalf("still stuck after the ACS recovered: %+v", s)
	}
}

// awaitingPhone answers provisions as an issuer of mobile credentials does
// while the visitor has not accepted the invitation; with accepted set it
// provisions.
type awaitingPhone struct {
	acs.Provider
	accepted atomic.Bool
}

func (p *awaitingPhone) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if !p.accepted.Load() {
		return acs.Provisioned{}, &acs.Error{Op: "provision", Provider: "phone", Code: acs.Unavailable,
			Message: "invitation open", Err: acs.ErrAwaitingPerson, RetryAfter: 5 * time.Minute}
	}
	return p.Provider.Provision(ctx, g)
}

// A provision waiting for a person is retried as long as it waits and is
// never reported stuck; the same provider failing for another reason is.
func TestAwaitingPersonIsNotStuck(t *testing.T) {
	var reported atomic.Int32
	f := newFixture(t)
	phone := &awaitingPhone{Provider: f.acs}
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: phone, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("replica-2"),
		visitor.WithStuck(3, time.Hour, func(visitor.StuckItem) { reported.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	f.queueProvisions(1)
	for range 20 { // 20 attempts over more than three hours
		f.clock.Advance(10 * time.Minute)
		if _, err := e2.RunOutboxOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := e2.Stuck(f.ctx); len(s) != 0 || reported.Load() != 0 {
		t.Fatalf("a provision waiting for a person was reported stuck: %+v (%d reports)", s, reported.Load())
	}
	p, _ := e2.Outbox(f.ctx, "v1")
	if len(p) != 1 || p[0].Attempts < 10 {
		t.Fatalf("the provision must keep being retried: %+v", p)
	}
	phone.accepted.Store(true)
	f.clock.Advance(10 * time.Minute)
	if _, err := e2.RunOutboxOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := e2.Outbox(f.ctx, "v1"); len(p) != 0 {
		t.Fatalf("accepted, the provision must land: %+v", p)
	}
}

// plainErrors answers provisions with an error that is not an *acs.Error,
// breaking the Provider contract.
type plainErrors struct{ acs.Provider }

func (plainErrors) Provision(context.Context, acs.Grant) (acs.Provisioned, error) {
	return acs.Provisioned{}, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
}

func TestProviderErrorIsNotAStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.queueProvisions(1)
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: plainErrors{f.acs}, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("replica-2"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e2.RunOutboxOnce(f.ctx); n != 1 || err != nil {
		t.Fatalf("a provider's own error is the ACS's failure, not the store's: claimed %d, err %v", n, err)
	}
	p, _ := e2.Outbox(f.ctx, "v1")
	if len(p) != 1 || !strings.Contains(p[0].LastError, "memory provision: unknown") {
		t.Fatalf("the attempt must be retried with a classified error: %+v", p)
	}
}
