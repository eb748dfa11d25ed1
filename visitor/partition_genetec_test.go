package visitor_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// TestGenetecPartitionHoldsVisitor drives a visit through the Engine and
// the genetec adapter confined to the Security Center partition "Visitors
// HQ": the visitor's cardholder and credential are created in it, and the
// badge opens the lobby (the simulator's door oracle). Another partition
// holds a cardholder carrying the same "[visit-1]" key with a live card of
// its own: provisioning, reconciliation, sign-out and the ACS retention's
// cardholder removal neither find nor touch it.
func TestGenetecPartitionHoldsVisitor(t *testing.T) {
	ctx := t.Context()
	clock := visitor.NewManualClock(t0)
	sim := genetecsim.New(genetecsim.WithClock(clock.Now))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	hq := sim.AddPartition("Visitors HQ")
	annex := sim.AddPartition("Visitors Annex")
	other := sim.AddCardholder("Ada Lovelace [visit-1]", "Ada", "Lovelace", genetecsim.SeedLobbyGroup)
	otherCred, ok := sim.AddCredential("H10301 42/3001", wiegand.H10301, 42, 3001, "Active", other, t0.Add(-time.Hour), t0.Add(48*time.Hour))
	if !ok || !sim.SetPartitions(other, annex) || !sim.SetPartitions(otherCred, annex) {
		t.Fatal("setting up the annex's cardholder")
	}
	before, _ := sim.Cardholder(other)

	p, err := genetec.New(genetec.Config{
		BaseURL: srv.URL + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock.Now), genetec.WithRetry(0, 0, 0), genetec.WithPartition(hq))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{genetecsim.SeedLobbyGroup}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {genetecsim.SeedLobbyGroup}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: p, Policy: pol}},
		visitor.WithClock(clock), visitor.WithACSRetention(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := e.Pool("hq")
	if _, err := pool.Add(ctx, badge.Badge{ID: "2001", Name: "Visitor 2001", Card: badge.Card{Format: wiegand.H10301, Facility: 42, Number: 2001}}); err != nil {
		t.Fatal(err)
	}
	annexUntouched := func(when string) {
		t.Helper()
		got, ok := sim.Cardholder(other)
		cred, cok := sim.Credential(otherCred)
		if !ok || !cok || got.Name != before.Name || !slices.Equal(got.Groups, before.Groups) || got.State != "Active" ||
			!slices.Equal(sim.PartitionsOf(other), []string{annex}) || cred.Cardholder != other || cred.State != "Active" ||
			!sim.DoorOpens(otherCred, genetecsim.SeedLobbyDoor, clock.Now()) {
			t.Fatalf("%s: the annex's cardholder changed: %+v (partitions %v), credential %+v", when, got, sim.PartitionsOf(other), cred)
		}
	}

	v, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq", Visitor: ada,
		Provision: &visitor.ProvisionRequest{BadgeID: "2001"}})
	if err != nil || v.Current().Status != visitor.CredActive {
		t.Fatalf("sign-in at the HQ partition: %v, %+v", err, v.Current())
	}
	ref := v.Current().Ref
	if ref.CardholderID == other {
		t.Fatal("the visit was provisioned on the annex's cardholder")
	}
	if got := sim.PartitionsOf(ref.CardholderID); !slices.Equal(got, []string{hq}) {
		t.Fatalf("the visitor's cardholder is in %v, want only HQ", got)
	}
	if got := sim.PartitionsOf(ref.ID); !slices.Equal(got, []string{hq}) {
		t.Fatalf("the visitor's credential is in %v, want only HQ", got)
	}
	if !sim.DoorOpens(ref.ID, genetecsim.SeedLobbyDoor, clock.Now()) {
		t.Fatal("the visitor's badge does not open the lobby")
	}
	annexUntouched("after the provision")

	rep, err := e.Reconcile(ctx, "hq")
	if err != nil || rep.Cardholders != 1 || rep.Orphans != 0 || rep.Repairs != 0 {
		t.Fatalf("reconcile of HQ: %+v, %v (want the one HQ cardholder and nothing to fix)", rep, err)
	}
	annexUntouched("after reconciliation")

	clock.Advance(time.Hour)
	if _, err := e.SignOut(ctx, kiosk, "visit-1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	if sim.DoorOpens(ref.ID, genetecsim.SeedLobbyDoor, clock.Now()) {
		t.Fatal("the visitor's badge opens the lobby after sign-out")
	}
	annexUntouched("after sign-out")

	clock.Advance(2 * time.Hour)
	if _, err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	settleEngine(t, e, clock)
	if got, _ := e.Visit(ctx, "visit-1"); got.CardholderRemovedAt.IsZero() {
		t.Fatal("the ACS retention did not remove the visitor's cardholder")
	}
	if _, ok := sim.Cardholder(ref.CardholderID); ok {
		t.Fatal("the visitor's cardholder is still in HQ")
	}
	annexUntouched("after the cardholder removal")
	if c := sim.Census(); c.Cardholders != 1 || c.Credentials != 1 {
		t.Fatalf("census %+v, want only the annex's cardholder and credential", c)
	}
	var creations int
	for _, r := range sim.Requests() {
		if r.Method == "POST" && strings.EqualFold(r.Path, "creationpartition/"+strings.ReplaceAll(hq, "-", "")) {
			creations++
		}
	}
	if creations != 2 {
		t.Fatalf("%d requests set the creation partition to HQ, want 2 (cardholder, credential)", creations)
	}
}
