package visitor_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// syncACS is an ACS the sync-option tests run against: its provider, the
// access level of its lobby, what it holds, an outage switch and its door
// oracle.
type syncACS struct {
	provider acs.Provider
	lobby    string
	// census counts the cardholders and credentials the ACS holds.
	census func() acstest.Census
	// down starts (true) or ends an outage of the ACS.
	down func(bool)
	// opens reports whether the card opens the lobby at t (a simulator
	// decides at its clock's now, which the tests pass as t).
	opens func(c acs.Card, visitID string, t time.Time) bool
}

func memorySyncACS(t *testing.T, _ *visitor.ManualClock) syncACS {
	m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	return syncACS{
		provider: m, lobby: "lobby", census: m.Census, down: m.SetDown,
		opens: func(c acs.Card, visitID string, at time.Time) bool {
			return m.Opens(acs.CredentialRef{CardholderExternalID: visitID, Card: c}, "lobby", at)
		},
	}
}

// simSyncACS is the sync-option view of an adapter over its simulator:
// the outage switch stops the ACS, and opens presents the card at the
// simulator's lobby door now and reports whether it was granted.
func simSyncACS(newACS func(*testing.T, *visitor.ManualClock) *simACS) func(*testing.T, *visitor.ManualClock) syncACS {
	return func(t *testing.T, clock *visitor.ManualClock) syncACS {
		s := newACS(t, clock)
		return syncACS{
			provider: s.p, lobby: s.levels[0], census: s.census, down: s.net.down.Store,
			opens: func(c acs.Card, _ string, _ time.Time) bool { return s.tap(t, c, s.door) },
		}
	}
}

// syncEngine is an Engine at "hq" over the ACS with two visitor types:
// "guest" (invited visitors only, sign-out removes the cardholder) and
// "contractor" (the defaults), and badges 2001–2003 (H10301, facility 42).
func syncEngine(t *testing.T, clock *visitor.ManualClock, a syncACS) *visitor.Engine {
	t.Helper()
	pol := visitor.Policy{
		Types: map[string]visitor.VisitorType{
			"guest":      {AccessLevels: []string{a.lobby}, AccessDuration: 8 * time.Hour, InvitedOnly: true, SignOut: visitor.SignOutRemove},
			"contractor": {AccessLevels: []string{a.lobby}, AccessDuration: 8 * time.Hour},
		},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {a.lobby}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: a.provider, Policy: pol}},
		visitor.WithClock(clock), visitor.WithOwner("sync"))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := e.Pool("hq")
	for _, n := range []uint64{2001, 2002, 2003} {
		id := badgeName(n)
		if _, err := pool.Add(t.Context(), badge.Badge{ID: id, Name: "Visitor " + id, Card: badge.Card{Format: wiegand.H10301, Facility: 42, Number: n}}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func badgeName(n uint64) string { return strconv.FormatUint(n, 10) }

// settleEngine advances the clock past any backoff and drains the outbox
// until nothing is queued.
func settleEngine(t *testing.T, e *visitor.Engine, clock *visitor.ManualClock) {
	t.Helper()
	for range 50 {
		pending, err := e.Outbox(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		clock.Advance(10 * time.Minute)
		for {
			n, err := e.RunOutboxOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	t.Fatal("the outbox does not settle")
}

var syncBackends = []struct {
	name string
	new  func(*testing.T, *visitor.ManualClock) syncACS
}{
	{"memory", memorySyncACS},
	{"genetec", simSyncACS(genetecACS)},
	{"lenel", simSyncACS(lenelACS)},
	{"brivo", simSyncACS(brivoACS)},
	{"alta", simSyncACS(altaACS)},
	{"verkada", simSyncACS(verkadaACS)},
	{"netbox", simSyncACS(netboxACS)},
}

// TestInvitedOnlyWalkInLeavesNothingAtACS: under a visitor type that
// provisions invited visitors only, a walk-in signs in (with a provision
// requested) and gets nothing at the ACS: no outbox item, no cardholder,
// and the audit trail says why; an explicit Provision is refused. An
// invited visitor of the same type is provisioned and opens the lobby.
func TestInvitedOnlyWalkInLeavesNothingAtACS(t *testing.T) {
	for _, b := range syncBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			clock := visitor.NewManualClock(t0)
			a := b.new(t, clock)
			e := syncEngine(t, clock, a)

			v, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "walk-in", Location: "hq", Visitor: ada,
				Provision: &visitor.ProvisionRequest{BadgeID: "2001"}})
			if err != nil || v.State != visitor.SignedIn || len(v.Credentials) != 0 || !v.WalkIn() {
				t.Fatalf("walk-in sign-in: %v, %s, %d credentials", err, v.State, len(v.Credentials))
			}
			_, err = e.Provision(ctx, desk, "walk-in", visitor.ProvisionRequest{BadgeID: "2001"})
			wantCode(t, "provisioning a walk-in of an invited-only type", err, acs.PermissionDenied)
			if q, _ := e.Outbox(ctx, "walk-in"); len(q) != 0 {
				t.Fatalf("outbox of the walk-in: %+v", q)
			}
			if c := a.census(); c != (acstest.Census{}) {
				t.Fatalf("the ACS holds %+v after a walk-in of an invited-only type", c)
			}
			recs, err := e.Audit(ctx, visitor.AuditQuery{VisitID: "walk-in"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, string(r.Action)+":"+string(r.Outcome))
				if r.Action == visitor.ActProvision && !strings.Contains(r.Error, "provisions invited visitors only") {
					t.Errorf("the refused provision does not say why: %q", r.Error)
				}
			}
			if want := "sign_in:ok provision:refused provision:refused"; strings.Join(got, " ") != want {
				t.Fatalf("audit of the walk-in %q, want %q", got, want)
			}
			if b, _ := mustPool(t, e).Get(ctx, "2001"); b.State != badge.Available {
				t.Fatalf("badge 2001 is %s, want available", b.State)
			}

			if _, err := e.Invite(ctx, desk, visitor.InviteRequest{VisitID: "invited", Location: "hq", Visitor: ada, ExpectedAt: clock.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
			v, err = e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "invited", Provision: &visitor.ProvisionRequest{BadgeID: "2001"}})
			if err != nil || v.Current() == nil || v.Current().Status != visitor.CredActive {
				t.Fatalf("invited sign-in: %v, %+v", err, v.Current())
			}
			if !a.opens(v.Current().Card, v.ID, clock.Now()) {
				t.Fatal("the invited visitor's badge does not open the lobby")
			}
		})
	}
}

func mustPool(t *testing.T, e *visitor.Engine) *badge.Pool {
	t.Helper()
	p, err := e.Pool("hq")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignOutRemovesCardholder: a visitor type whose sign-out removes the
// cardholder leaves nothing at the ACS once the visitor signs out, also
// when the ACS is down at sign-out and the outbox carries the removal out
// after the outage; the badge goes back only once the ACS confirms. A type
// with the default keeps the cardholder and revokes the credential.
func TestSignOutRemovesCardholder(t *testing.T) {
	for _, b := range syncBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			clock := visitor.NewManualClock(t0)
			a := b.new(t, clock)
			e := syncEngine(t, clock, a)
			signIn := func(id, badgeID string) visitor.Visit {
				t.Helper()
				if _, err := e.Invite(ctx, desk, visitor.InviteRequest{VisitID: id, Location: "hq", Visitor: ada, ExpectedAt: clock.Now()}); err != nil {
					t.Fatal(err)
				}
				v, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Provision: &visitor.ProvisionRequest{BadgeID: badgeID}})
				if err != nil || v.Current() == nil || v.Current().Status != visitor.CredActive {
					t.Fatalf("sign-in of %s: %v, %+v", id, err, v.Current())
				}
				return v
			}

			// At once.
			v := signIn("guest-1", "2001")
			if c := a.census(); c.Cardholders != 1 {
				t.Fatalf("the ACS holds %+v after one sign-in", c)
			}
			if v, err := e.SignOut(ctx, kiosk, "guest-1", visitor.ViaKiosk); err != nil || !v.CardholderRemoval || v.CardholderRemovedAt.IsZero() {
				t.Fatalf("sign-out: %v, removal queued %v, confirmed at %v", err, v.CardholderRemoval, v.CardholderRemovedAt)
			}
			if c := a.census(); c != (acstest.Census{}) {
				t.Fatalf("the ACS holds %+v after a sign-out that removes the cardholder", c)
			}
			if a.opens(v.Current().Card, v.ID, clock.Now()) {
				t.Fatal("the badge still opens the lobby")
			}
			if b, _ := mustPool(t, e).Get(ctx, "2001"); b.State != badge.Available {
				t.Fatalf("badge 2001 is %s after the removal, want available", b.State)
			}

			// The ACS is down at sign-out: the removal waits in the outbox.
			v = signIn("guest-2", "2002")
			a.down(true)
			got, err := e.SignOut(ctx, kiosk, "guest-2", visitor.ViaKiosk)
			if err != nil || got.State != visitor.SignedOut || got.Current().Status != visitor.CredRevoking || !got.CardholderRemovedAt.IsZero() {
				t.Fatalf("sign-out during an outage: %v, %s, %+v", err, got.State, got.Current())
			}
			if q, _ := e.Outbox(ctx, "guest-2"); len(q) != 1 || q[0].Op != visitor.OpRemoveCardholder {
				t.Fatalf("outbox during the outage: %+v", q)
			}
			if b, _ := mustPool(t, e).Get(ctx, "2002"); b.State != badge.Assigned {
				t.Fatalf("badge 2002 is %s before the ACS confirmed, want assigned", b.State)
			}
			clock.Advance(10 * time.Minute)
			if _, err := e.RunOutboxOnce(ctx); err != nil { // still down: retried later
				t.Fatal(err)
			}
			a.down(false)
			settleEngine(t, e, clock)
			if c := a.census(); c != (acstest.Census{}) {
				t.Fatalf("the ACS holds %+v after the outage was over", c)
			}
			if a.opens(v.Current().Card, v.ID, clock.Now()) {
				t.Fatal("guest-2's badge still opens the lobby")
			}
			got, _ = e.Visit(ctx, "guest-2")
			if got.CardholderRemovedAt.IsZero() || got.Current().Status != visitor.CredRevoked {
				t.Fatalf("guest-2 after the outage: removed at %v, %+v", got.CardholderRemovedAt, got.Current())
			}
			if b, _ := mustPool(t, e).Get(ctx, "2002"); b.State != badge.Available {
				t.Fatalf("badge 2002 is %s after the removal, want available", b.State)
			}

			// The default type: the credential is revoked, the cardholder stays.
			if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "contractor-1", Location: "hq", Type: "contractor", Visitor: ada,
				Provision: &visitor.ProvisionRequest{BadgeID: "2003"}}); err != nil {
				t.Fatal(err)
			}
			v, err = e.SignOut(ctx, kiosk, "contractor-1", visitor.ViaKiosk)
			if err != nil || v.CardholderRemoval || v.Current().Status != visitor.CredRevoked {
				t.Fatalf("default sign-out: %v, removal %v, %+v", err, v.CardholderRemoval, v.Current())
			}
			if c := a.census(); c.Cardholders != 1 || a.opens(v.Current().Card, v.ID, clock.Now()) {
				t.Fatalf("after the default sign-out the ACS holds %+v (want the cardholder kept) and the badge opens: %v", c, a.opens(v.Current().Card, v.ID, clock.Now()))
			}
		})
	}
}

// TestSignOutActionValidated: a policy naming an unknown sign-out action
// is refused.
func TestSignOutActionValidated(t *testing.T) {
	pol := testPolicy()
	g := pol.Types["guest"]
	g.SignOut = "delete"
	pol.Types["guest"] = g
	if err := pol.Validate(); err == nil || !strings.Contains(err.Error(), `unknown sign-out action "delete"`) {
		t.Fatalf("Validate: %v", err)
	}
}
