package visitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

func TestReconcileRepairsWhatChangedBehindItsBack(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"v1", "v2", "v3"} {
		f.signIn(id)
	}
	widened := f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"}).Current()
	deleted := f.provision("v2", visitor.ProvisionRequest{BadgeID: "1002"}).Current()
	ended := f.provision("v3", visitor.ProvisionRequest{BadgeID: "1003"}).Current()
	if _, err := f.e.SignOut(f.ctx, desk, "v3", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	// Behind the engine's back: a window widened, a credential deleted, an
	// ended visit's card live again, and a marked cardholder no visit knows.
	if !f.acs.SetWindow(widened.Ref, widened.ValidFrom, widened.ValidUntil.Add(7*24*time.Hour)) || !f.acs.DeleteCredential(deleted.Ref) {
		t.Fatal("planting drift failed")
	}
	grant := func(ext string, c acs.Card) acs.Grant {
		return acs.Grant{Person: acs.Person{ExternalID: ext, FirstName: "Ghost", LastName: "Visitor"}, Card: c,
			AccessLevels: []string{"lobby"}, ValidFrom: f.now().Add(-time.Hour), ValidUntil: f.now().Add(30 * 24 * time.Hour)}
	}
	if _, err := f.acs.Provision(f.ctx, grant("v3", ended.Card)); err != nil {
		t.Fatal(err)
	}
	ghost, err := f.acs.Provision(f.ctx, grant("restored-from-backup", acs.Card{Format: acs.H10301, Facility: 12, Number: 4242}))
	if err != nil {
		t.Fatal(err)
	}

	rep, err := f.e.Reconcile(f.ctx, "hq")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cardholders != 4 || rep.Orphans != 2 || rep.Repairs != 2 || rep.Failed != 0 {
		t.Fatalf("report %+v, want 4 cardholders, 2 orphans, 2 repairs", rep)
	}
	f.drain()
	at := f.now()
	live := map[string]bool{}
	for _, ref := range f.acs.Active(at) {
		live[ref.CardholderExternalID] = true
	}
	if !live["v1"] || !live["v2"] || live["v3"] || live["restored-from-backup"] || len(live) != 2 {
		t.Fatalf("live at the ACS after reconcile: %v", live)
	}
	if f.acs.Opens(ghost.Credential, "lobby", at) {
		t.Fatal("the orphan of an unknown visit still opens")
	}
	if f.acs.Opens(widened.Ref, "lobby", widened.ValidUntil.Add(time.Hour)) {
		t.Fatal("the widened window was not put back")
	}
	for _, id := range []string{"v1", "v2", "v3", "restored-from-backup"} {
		if !f.hasAction(id, visitor.ActReconcile) {
			t.Errorf("no reconcile audit record for %s", id)
		}
	}
	if v := f.visit("v3"); v.Current().Status != visitor.CredRevoked || v.Pending() {
		t.Errorf("v3 after its orphan was revoked: %+v", v.Current())
	}
	// Everything repaired: a second pass finds nothing.
	if rep, err := f.e.Reconcile(f.ctx, "hq"); err != nil || rep.Orphans+rep.Repairs != 0 {
		t.Fatalf("second reconcile: %+v, %v", rep, err)
	}
}

func (f *fixture) hasAction(visitID string, a visitor.Action) bool {
	f.t.Helper()
	recs, err := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: visitID})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range recs {
		if r.Action == a {
			return true
		}
	}
	return false
}

func TestReconcileNeedsAnInventory(t *testing.T) {
	f := newFixture(t)
	_, err := f.e.Reconcile(f.ctx, "nowhere")
	wantCode(t, "unknown location", err, acs.InvalidArgument)
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: noInventory{f.acs}, Policy: testPolicy()}}, visitor.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e2.Reconcile(f.ctx, "hq")
	wantCode(t, "provider without inventory", err, acs.Unsupported)
}

type noInventory struct{ acs.Provider }

func TestACSRetentionRemovesTheCardholder(t *testing.T) {
	f := newFixture(t, visitor.WithACSRetention(24*time.Hour))
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if c := f.acs.Census(); c.Cardholders != 1 {
		t.Fatalf("census after sign-out: %+v", c)
	}
	f.clock.Advance(23 * time.Hour)
	f.sweepAndDrain()
	if c := f.acs.Census(); c.Cardholders != 1 {
		t.Fatal("removed before the retention period ended")
	}
	f.clock.Advance(2 * time.Hour)
	f.sweepAndDrain()
	if c := f.acs.Census(); c.Cardholders != 0 || c.Credentials != 0 {
		t.Fatalf("the ACS still holds the visitor after retention: %+v", c)
	}
	v := f.visit("v1")
	if v.CardholderRemovedAt.IsZero() || !f.hasAction("v1", visitor.ActACSRemove) {
		t.Fatalf("removal not recorded: %+v", v)
	}
	// Nothing more to do for it.
	f.clock.Advance(48 * time.Hour)
	if res, err := f.e.Sweep(f.ctx); err != nil || res.Visits != 0 {
		t.Fatalf("sweep after removal: %+v, %v", res, err)
	}
}

func (f *fixture) sweepAndDrain() {
	f.t.Helper()
	if _, err := f.e.Sweep(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.drain()
}

// refusedStream is an event source the ACS refuses for good.
type refusedStream struct{ acs.Provider }

func (refusedStream) Events(context.Context, string, func(acs.DoorEvent) error) error {
	return acs.Errorf("events", "memory", acs.PermissionDenied, "the account may not read events")
}

func TestDoorEventsStopOnPermanentRefusal(t *testing.T) {
	f := newFixture(t)
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: refusedStream{f.acs}, Policy: testPolicy()}}, visitor.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	err = e2.RunDoorEvents(ctx, "hq")
	if ctx.Err() != nil || acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("RunDoorEvents = %v (ctx %v): a permanent refusal must end the consumer with it", err, ctx.Err())
	}
}

func TestReconcileLeavesWhatItDoesNotOwn(t *testing.T) {
	f := newFixture(t)
	pol := testPolicy()
	owns := func(h acs.Holding) bool { return strings.HasPrefix(h.Cardholder.ExternalID, "id-") }
	e2, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: pol, Owns: owns}}, visitor.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	g := acs.Grant{Person: acs.Person{ExternalID: "employee-7", FirstName: "Eve", LastName: "Employee"},
		Card: acs.Card{Format: acs.H10301, Facility: 12, Number: 777}, AccessLevels: []string{"lobby"},
		ValidFrom: f.now().Add(-time.Hour), ValidUntil: f.now().Add(24 * time.Hour)}
	p, err := f.acs.Provision(f.ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e2.Reconcile(f.ctx, "hq")
	if err != nil || rep.Orphans != 0 || !f.acs.Opens(p.Credential, "lobby", f.now()) {
		t.Fatalf("a cardholder the location does not own was touched: %+v, %v", rep, err)
	}
}
