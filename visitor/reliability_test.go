package visitor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

func TestACSDownForWholeSignOut(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})

	f.acs.SetDown(true)
	v, err := f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk)
	if err != nil {
		t.Fatalf("sign-out must succeed while the ACS is down: %v", err)
	}
	c := v.Current()
	if v.State != visitor.SignedOut || c.Status != visitor.CredRevoking || !v.Pending() || c.Error == "" {
		t.Fatalf("after sign-out with the ACS down: state %s, credential %+v", v.State, c)
	}
	pending, _ := f.e.Outbox(f.ctx, "v1")
	if len(pending) != 1 || pending[0].Op != visitor.OpRevoke || pending[0].Attempts != 1 || pending[0].LeaseOwner != "" {
		t.Fatalf("pending %+v", pending)
	}
	if b := f.badgeState("1001"); b.State != badge.Assigned || b.VisitID != "v1" {
		t.Fatalf("badge released before the revocation was confirmed: %+v", b)
	}

	// The outage lasts: retries back off, the badge stays out of the pool,
	// and the next visitor gets another badge.
	f.signIn("v2")
	if got := f.provision("v2", visitor.ProvisionRequest{}).Current(); got.BadgeID == "1001" || got.Status != visitor.CredPending {
		t.Fatalf("next visitor got %+v", got)
	}
	_, err = f.e.Provision(f.ctx, desk, "v3", visitor.ProvisionRequest{BadgeID: "1001"})
	wantCode(t, "handing out the unconfirmed badge", err, acs.NotFound) // v3 does not exist…
	f.signIn("v3")
	_, err = f.e.Provision(f.ctx, desk, "v3", visitor.ProvisionRequest{BadgeID: "1001"})
	wantCode(t, "handing out the unconfirmed badge", err, acs.Conflict) // …and 1001 is not available
	var delays []time.Duration
	for range 6 {
		f.clock.Advance(time.Hour)
		f.drain()
		p, _ := f.e.Outbox(f.ctx, "v1")
		delays = append(delays, p[0].NextAttempt.Sub(f.now()))
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] || delays[i] > 6*time.Minute {
			t.Errorf("retry delays do not back off up to the cap: %v", delays)
			break
		}
	}
	if p, _ := f.e.Outbox(f.ctx, "v1"); p[0].Attempts != 7 {
		t.Errorf("attempts after six more runs: %d", p[0].Attempts)
	}
	if f.badgeState("1001").State != badge.Assigned {
		t.Fatal("badge released during the outage")
	}

	f.acs.SetDown(false)
	f.clock.Advance(time.Hour)
	f.drain()
	v = f.visit("v1")
	if c := v.Current(); c.Status != visitor.CredRevoked || !c.Released || v.Pending() {
		t.Fatalf("after recovery: %+v", c)
	}
	if f.badgeState("1001").State != badge.Available || f.opens(v, "lobby") {
		t.Fatal("badge not released or credential still live after recovery")
	}
	// v2's queued provision went through too.
	if c := f.visit("v2").Current(); c.Status != visitor.CredActive || !f.opens(f.visit("v2"), "lobby") {
		t.Errorf("v2's provision after recovery: %+v", c)
	}
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1"})
	retries, oks := 0, 0
	for _, r := range recs {
		if r.Action == visitor.ActACSRevoke {
			switch r.Outcome {
			case visitor.OutcomeRetry:
				retries++
			case visitor.OutcomeOK:
				oks++
			}
		}
	}
	if retries != 7 || oks != 1 {
		t.Errorf("audit has %d failed and %d confirmed revocations, want 7 and 1", retries, oks)
	}
}

func TestACSDownAtSignIn(t *testing.T) {
	f := newFixture(t)
	f.acs.SetDown(true)
	v, err := f.e.SignIn(f.ctx, kiosk, visitor.SignInRequest{VisitID: "v1", Location: "hq", Visitor: ada, Provision: &visitor.ProvisionRequest{}})
	if err != nil {
		t.Fatalf("sign-in with the ACS down: %v", err)
	}
	if v.State != visitor.SignedIn || v.Current().Status != visitor.CredPending || !v.Pending() {
		t.Fatalf("after sign-in: %+v", v)
	}
	if p, _ := f.e.Outbox(f.ctx, "v1"); len(p) != 1 || p[0].Op != visitor.OpProvision {
		t.Fatalf("pending %+v", p)
	}
	f.acs.SetDown(false)
	f.drain() // not yet due: backoff
	if f.visit("v1").Current().Status != visitor.CredPending {
		t.Fatal("retried before the backoff")
	}
	f.clock.Advance(time.Minute)
	f.drain()
	v = f.visit("v1")
	if v.Current().Status != visitor.CredActive || !f.opens(v, "lobby") {
		t.Fatalf("after recovery: %+v", v.Current())
	}
}

func TestProvisionGivesUpWhenItsWindowEnds(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.acs.SetDown(true)
	f.provision("v1", visitor.ProvisionRequest{})
	f.clock.Advance(8 * time.Hour) // the credential's window is over
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.acs.SetDown(false)
	f.settle()
	v := f.visit("v1")
	c := v.Current()
	if c.Status != visitor.CredRevoked || !c.Holding() || len(f.acs.Active(f.now())) != 0 {
		t.Fatalf("credential after its window: %+v", c)
	}
	if n := f.acs.Calls()["provision"]; n < 1 {
		t.Errorf("provision calls: %d", n)
	}
}

func TestRevocationWinsOverPendingProvision(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.acs.SetDown(true)
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1002"})
	calls := f.acs.Calls()["provision"]
	v, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk)
	if err != nil {
		t.Fatal(err)
	}
	if c := v.Current(); c.Status != visitor.CredRevoking {
		t.Fatalf("credential after sign-out: %+v", c)
	}
	p, _ := f.e.Outbox(f.ctx, "v1")
	if len(p) != 1 || p[0].Op != visitor.OpRevoke || p[0].Ref.CardholderExternalID != "v1" || p[0].Ref.Card.Number != 1002 {
		t.Fatalf("queue after sign-out: %+v", p)
	}
	f.acs.SetDown(false)
	f.settle()
	if got := f.acs.Calls()["provision"]; got != calls {
		t.Errorf("provisioned after the visit ended: %d calls, want %d", got, calls)
	}
	if f.badgeState("1002").State != badge.Available || !f.visit("v1").Current().Released {
		t.Error("badge not released after the revocation")
	}
	f.wantActions("v1", "sign_in:ok", "provision:queued", "acs_provision:retry", "sign_out:ok",
		"acs_revoke:retry", "acs_revoke:ok", "badge_release:ok")
}

func TestLostResponseOnProvision(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.acs.LoseResponses(true)
	v := f.provision("v1", visitor.ProvisionRequest{})
	if v.Current().Status != visitor.CredPending {
		t.Fatalf("credential after a lost response: %+v", v.Current())
	}
	if c := f.acs.Census(); c.Credentials != 1 {
		t.Fatalf("the ACS should hold the credential: %+v", c)
	}
	f.acs.LoseResponses(false)
	f.clock.Advance(time.Minute)
	f.drain()
	v = f.visit("v1")
	if v.Current().Status != visitor.CredActive || v.Current().Ref.ID == "" {
		t.Fatalf("after the retry: %+v", v.Current())
	}
	if c := f.acs.Census(); c.Cardholders != 1 || c.Credentials != 1 {
		t.Errorf("duplicate at the ACS: %+v", c)
	}

	// Lost response on the revocation too.
	f.acs.LoseResponses(true)
	v, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk)
	if err != nil {
		t.Fatal(err)
	}
	if v.Current().Status != visitor.CredRevoking || f.badgeState("1001").State != badge.Assigned {
		t.Fatalf("after a lost revoke response: %+v", v.Current())
	}
	if len(f.acs.Active(f.now())) != 0 {
		t.Fatal("the revocation did happen at the ACS")
	}
	f.acs.LoseResponses(false)
	f.settle()
	if v := f.visit("v1"); v.Current().Status != visitor.CredRevoked || !v.Current().Released || f.badgeState("1001").State != badge.Available {
		t.Fatalf("after the revoke retry: %+v", v.Current())
	}
	if c := f.acs.Census(); c.Credentials != 1 || len(f.acs.Active(f.now())) != 0 {
		t.Errorf("ACS after all: %+v, active %v", c, f.acs.Active(f.now()))
	}
}

func TestLostProvisionResponseThenSignOut(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.acs.LoseResponses(true)
	f.provision("v1", visitor.ProvisionRequest{FromRange: true})
	if len(f.acs.Active(f.now())) != 1 {
		t.Fatal("the lost provision should be live at the ACS")
	}
	// The visitor leaves before any retry: the engine never learned the
	// credential's ID, so it revokes by external ID and card.
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	f.acs.LoseResponses(false)
	f.settle()
	if a := f.acs.Active(f.now()); len(a) != 0 {
		t.Fatalf("live credential left after sign-out: %+v", a)
	}
	v := f.visit("v1")
	if c := v.Current(); c.Status != visitor.CredRevoked || !c.Released {
		t.Fatalf("credential %+v", c)
	}
	al, _ := f.e.Allocator("hq")
	if as, _ := al.Allocations(f.ctx); len(as) != 0 {
		t.Errorf("number still allocated: %+v", as)
	}
}

func TestProvisionRefusedByACS(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	// "ghost" is allowed by policy but unknown to the ACS.
	v, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "1003", AccessLevels: []string{"ghost"}})
	wantCode(t, "provision of an unknown level", err, acs.NotFound)
	c := v.Current()
	if v.ID != "v1" || c.Status != visitor.CredFailed || c.Error == "" || !c.Released {
		t.Fatalf("after the refusal: %+v", c)
	}
	if f.badgeState("1003").State != badge.Available {
		t.Error("badge of a refused provision not released")
	}
	// The visitor may be provisioned again.
	if v := f.provision("v1", visitor.ProvisionRequest{BadgeID: "1003"}); v.Current().Status != visitor.CredActive {
		t.Fatalf("second provision: %+v", v.Current())
	}

	// A refusal after an uncertain attempt is followed by a revocation.
	f.signIn("v2")
	f.acs.FailNext(acs.Errorf("provision", "memory", acs.Unavailable, "timeout"))
	f.provision("v2", visitor.ProvisionRequest{BadgeID: "1004"})
	f.acs.FailNext(acs.Errorf("provision", "memory", acs.Conflict, "card held elsewhere"))
	f.clock.Advance(time.Minute)
	f.drain()
	c = f.visit("v2").Current()
	if c.Status != visitor.CredRevoked || !c.Released || f.acs.Calls()["revoke"] != 1 {
		t.Fatalf("after a late refusal: %+v, calls %v", c, f.acs.Calls())
	}
}

// blockingACS wraps a provider so that Provision waits until released.
type blockingACS struct {
	acs.Provider
	entered, release chan struct{}
}

func (b *blockingACS) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Provider.Provision(ctx, g)
}

func TestSignOutWhileProvisionInFlight(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.acs.SetDown(true)
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1005"})
	f.acs.SetDown(false)

	// A second engine (another replica) whose provider blocks mid-call.
	blk := &blockingACS{Provider: f.acs, entered: make(chan struct{}), release: make(chan struct{})}
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: blk, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("replica-2"), visitor.WithBatch(10, 1))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := e2.RunOutboxOnce(f.ctx); err != nil {
			t.Error(err)
		}
	})
	<-blk.entered // the provision is at the ACS now

	v, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.e.Outbox(f.ctx, "v1")
	if v.Current().Status != visitor.CredRevoking || len(p) != 2 || p[0].Op != visitor.OpProvision || p[1].Op != visitor.OpRevoke {
		t.Fatalf("the revocation must queue behind the provision in flight: %+v", p)
	}
	// The revocation cannot run while the provision holds the visit's queue.
	f.drain()
	if f.acs.Calls()["revoke"] != 0 {
		t.Fatal("revoked before the provision in flight finished")
	}
	close(blk.release)
	wg.Wait()
	if len(f.acs.Active(f.now())) != 1 {
		t.Fatal("the late provision should have landed")
	}
	if f.badgeState("1005").State != badge.Assigned {
		t.Fatal("badge released while its credential is live")
	}
	f.drain()
	if a := f.acs.Active(f.now()); len(a) != 0 || f.badgeState("1005").State != badge.Available {
		t.Fatalf("after the revocation: active %v, badge %s", a, f.badgeState("1005").State)
	}
}

func TestNewEngineResumesOutbox(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{})
	f.acs.SetDown(true)
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	// A crash right after committing a change, before its first attempt:
	// the item is leased to the dead engine.
	f.signIn("v2")
	if _, err := f.store.Update(f.ctx, "v2", func(tx visitor.Tx, v *visitor.Visit) error {
		return tx.Enqueue(visitor.OutboxItem{
			ID: "crashed", VisitID: "v2", Location: "hq", Op: visitor.OpRevoke, Credential: 0,
			Ref:       &acs.CredentialRef{CardholderExternalID: "v2", Card: acs.Card{Format: acs.H10301, Facility: 1, Number: 1}},
			CreatedAt: f.now(), NextAttempt: f.now(), Attempts: 1, LeaseOwner: "dead#1", LeaseUntil: f.now().Add(2 * time.Minute),
		})
	}); err != nil {
		t.Fatal(err)
	}

	// "Restart": a new engine over the same store.
	f.acs.SetDown(false)
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy()}},
		visitor.WithClock(f.clock), visitor.WithOwner("restarted"))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute) // past the backoff, within the dead lease
	n, err := e2.RunOutboxOnce(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("first run after restart claimed %d (%v), want only v1's revocation", n, err)
	}
	f.clock.Advance(2 * time.Minute) // the dead lease expires
	if n, err := e2.RunOutboxOnce(f.ctx); err != nil || n != 1 {
		t.Fatalf("second run claimed %d (%v), want the crashed item", n, err)
	}
	if v := f.visit("v1"); v.Current().Status != visitor.CredRevoked || !v.Current().Released {
		t.Fatalf("v1 after restart: %+v", v.Current())
	}
	if p, _ := e2.Outbox(f.ctx, ""); len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}
}

func TestConcurrentDesksNeverShareABadge(t *testing.T) {
	f := newFixture(t)
	const visits = 20
	for i := range visits {
		f.signIn(fmt.Sprintf("c%02d", i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]string{}
	for i := range visits {
		wg.Go(func() {
			id := fmt.Sprintf("c%02d", i)
			v, err := f.e.Provision(f.ctx, desk, id, visitor.ProvisionRequest{})
			if err != nil {
				if acs.CodeOf(err) != acs.Conflict {
					t.Errorf("%s: %v", id, err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := got[v.Current().BadgeID]; dup {
				t.Errorf("badge %s handed to %s and %s", v.Current().BadgeID, other, id)
			}
			got[v.Current().BadgeID] = id
		})
	}
	wg.Wait()
	if len(got) != 5 {
		t.Errorf("%d badges handed out, want all 5", len(got))
	}
}
