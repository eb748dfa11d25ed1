package visitor_test

import (
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

func TestSignInProvisionSignOut(t *testing.T) {
	f := newFixture(t)
	v := f.signIn("v1")
	if v.State != visitor.SignedIn || !v.SignedInAt.Equal(f.now()) || v.Current() != nil {
		t.Fatalf("after sign-in: %+v", v)
	}
	if want := f.now().Add(12 * time.Hour); !v.DueAt.Equal(want) {
		t.Errorf("DueAt = %s, want the auto sign-out %s", v.DueAt, want)
	}

	v = f.provision("v1", visitor.ProvisionRequest{BadgeID: "1003\r\n"})
	c := v.Current()
	if c == nil || c.Status != visitor.CredActive || c.BadgeID != "1003" || !slices.Equal(c.AccessLevels, []string{"lobby"}) {
		t.Fatalf("after provision: %+v", c)
	}
	if c.Ref.ID == "" || c.Ref.CardholderExternalID != "v1" || c.Card != (acs.Card{Format: acs.H10301, Facility: 12, Number: 1003}) {
		t.Errorf("credential ref %+v, card %v", c.Ref, c.Card)
	}
	if !c.ValidFrom.Equal(f.now()) || !c.ValidUntil.Equal(f.now().Add(8*time.Hour)) {
		t.Errorf("window %s–%s, want 8 h from now", c.ValidFrom, c.ValidUntil)
	}
	if !f.opens(v, "lobby") || f.opens(v, "floor-3") {
		t.Error("the credential must open the lobby and only the lobby")
	}
	if b := f.badgeState("1003"); b.State != badge.Assigned || b.VisitID != "v1" {
		t.Errorf("badge 1003: %+v", b)
	}

	f.clock.Advance(time.Hour)
	v, err := f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk)
	if err != nil {
		t.Fatal(err)
	}
	c = v.Current()
	if v.State != visitor.SignedOut || v.EndedBy != "kiosk-1" || v.EndReason != "kiosk" || c.Status != visitor.CredRevoked || !c.Released {
		t.Fatalf("after sign-out: %+v, credential %+v", v, c)
	}
	if !v.DueAt.IsZero() || v.Pending() {
		t.Errorf("an ended, settled visit is not due (%s) and has nothing pending (%v)", v.DueAt, v.Pending())
	}
	if f.opens(v, "lobby") || len(f.acs.Active(f.now())) != 0 {
		t.Error("credential still opens doors after sign-out")
	}
	if b := f.badgeState("1003"); b.State != badge.Available {
		t.Errorf("badge 1003 after sign-out: %s", b.State)
	}
	f.wantActions("v1",
		"sign_in:ok", "provision:queued", "acs_provision:ok",
		"sign_out:ok", "acs_revoke:ok", "badge_release:ok")

	// Signing out again is harmless; signing in again needs a new visit.
	if again, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil || again.Version != v.Version {
		t.Errorf("second sign-out: %v, version %d → %d", err, v.Version, again.Version)
	}
	_, err = f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "v1", Location: "hq", Visitor: ada})
	wantCode(t, "sign-in of an ended visit", err, acs.Conflict)
}

func TestNextAvailableBadgeAndSignInWithProvision(t *testing.T) {
	f := newFixture(t)
	v, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{
		VisitID: "v1", Location: "hq", Type: "contractor", Visitor: ada,
		Provision: &visitor.ProvisionRequest{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := v.Current(); c == nil || c.BadgeID != "1001" || c.Status != visitor.CredActive || !slices.Equal(c.AccessLevels, []string{"lobby", "floor-3"}) {
		t.Fatalf("contractor got %+v, want badge 1001 with the type's defaults", c)
	}
	f.signIn("v2")
	v2 := f.provision("v2", visitor.ProvisionRequest{})
	if v2.Current().BadgeID != "1002" {
		t.Errorf("second visit got badge %s, want 1002", v2.Current().BadgeID)
	}
	// v1 returns 1001; it is now the most recently available badge.
	if _, err := f.e.ReturnBadge(f.ctx, desk, "v1"); err != nil {
		t.Fatal(err)
	}
	f.signIn("v3")
	if got := f.provision("v3", visitor.ProvisionRequest{}).Current().BadgeID; got != "1003" {
		t.Errorf("third visit got badge %s, want 1003 (available longest)", got)
	}
	// Signing in again under the same key is idempotent.
	again, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "v3", Location: "hq", Visitor: ada})
	if err != nil || again.State != visitor.SignedIn || len(again.Credentials) != 1 {
		t.Errorf("repeated sign-in: %v, %+v", err, again)
	}
}

func TestCardFromRange(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	v := f.provision("v1", visitor.ProvisionRequest{FromRange: true, AccessLevels: []string{"floor-3"}})
	c := v.Current()
	if c.Source != visitor.FromRange || c.BadgeID != "" || c.Card != (acs.Card{Format: acs.H10304, Facility: 100, Number: 500000}) || c.CredentialType != "qr" {
		t.Fatalf("range credential %+v", c)
	}
	if !f.opens(v, "floor-3") {
		t.Error("range credential does not open floor 3")
	}
	al, _ := f.e.Allocator("hq")
	if as, _ := al.Allocations(f.ctx); len(as) != 1 || as[0].VisitID != "v1" {
		t.Errorf("allocations %+v", as)
	}
	v, err := f.e.ReturnBadge(f.ctx, desk, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.SignedIn || v.Current().Status != visitor.CredRevoked || !v.Current().Released {
		t.Errorf("after return: %+v", v.Current())
	}
	if as, _ := al.Allocations(f.ctx); len(as) != 0 {
		t.Errorf("number not freed after confirmed revocation: %+v", as)
	}
	f.wantActions("v1", "sign_in:ok", "provision:queued", "acs_provision:ok", "return_badge:queued", "acs_revoke:ok", "card_free:ok")
}

func TestReturnBadgeKeepsVisitorSignedIn(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1002"})
	v, err := f.e.ReturnBadge(f.ctx, desk, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.SignedIn || v.Current().Status != visitor.CredRevoked || f.opens(v, "lobby") {
		t.Fatalf("after return: state %s, credential %+v", v.State, v.Current())
	}
	if f.badgeState("1002").State != badge.Available {
		t.Error("returned badge not back in the pool")
	}
	_, err = f.e.ReturnBadge(f.ctx, desk, "v1")
	wantCode(t, "second return", err, acs.Conflict)
	// A new badge for the same visit is a new credential.
	v = f.provision("v1", visitor.ProvisionRequest{BadgeID: "1004"})
	if len(v.Credentials) != 2 || v.Current().BadgeID != "1004" || !f.opens(v, "lobby") {
		t.Fatalf("re-provision: %+v", v.Credentials)
	}
}

func TestInviteExpectedExpired(t *testing.T) {
	f := newFixture(t)
	arrival := f.now().Add(5 * time.Hour)
	v, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "inv1", Location: "hq", Visitor: ada, Host: "Grace", ExpectedAt: arrival})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.Invited || !v.AccessFrom.Equal(arrival.Add(-2*time.Hour)) || !v.AccessUntil.Equal(arrival.Add(8*time.Hour)) {
		t.Fatalf("invitation %+v", v)
	}
	// Inviting again with the same key returns the invitation.
	if again, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "inv1", Location: "hq", Visitor: ada, ExpectedAt: arrival}); err != nil || again.Version != v.Version {
		t.Errorf("repeated invitation: %v, %+v", err, again)
	}
	// A QR credential issued ahead of arrival, valid within the window.
	v = f.provision("inv1", visitor.ProvisionRequest{FromRange: true})
	c := v.Current()
	if c.Status != visitor.CredActive || !c.ValidFrom.Equal(v.AccessFrom) || !c.ValidUntil.Equal(v.AccessUntil) {
		t.Fatalf("advance credential %+v", c)
	}
	if f.opens(v, "lobby") {
		t.Error("the advance credential opens before its window")
	}
	f.clock.Set(v.AccessFrom)
	if res, err := f.e.Sweep(f.ctx); err != nil || res.Visits != 1 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	v = f.visit("inv1")
	if v.State != visitor.Expected || !f.opens(v, "lobby") {
		t.Fatalf("at window start: state %s, opens %v", v.State, f.opens(v, "lobby"))
	}
	f.clock.Set(v.AccessUntil)
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	v = f.visit("inv1")
	if v.State != visitor.Expired || v.EndedBy != visitor.ActorSystem || v.Current().Status != visitor.CredRevoked || !v.Current().Released {
		t.Fatalf("at window end: %+v", v)
	}
	f.wantActions("inv1", "invite:ok", "provision:queued", "acs_provision:ok", "expect:ok", "expire:ok", "acs_revoke:ok", "card_free:ok")
}

func TestInvitedVisitorSignsIn(t *testing.T) {
	f := newFixture(t)
	arrival := f.now().Add(time.Hour)
	v, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "inv2", Location: "hq", Type: "contractor", Visitor: ada, ExpectedAt: arrival})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.Invited { // contractors get no advance access: the window opens at arrival
		t.Fatalf("contractor invitation is %s, want invited", v.State)
	}
	_, err = f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "inv2", Location: "elsewhere"})
	wantCode(t, "sign-in at another location", err, acs.InvalidArgument)
	v, err = f.e.SignIn(f.ctx, kiosk, visitor.SignInRequest{VisitID: "inv2", Provision: &visitor.ProvisionRequest{}})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.SignedIn || v.Type != "contractor" || v.Current().Status != visitor.CredActive {
		t.Fatalf("invitee after sign-in: %+v", v)
	}
	if !v.Current().ValidUntil.Equal(f.now().Add(10 * time.Hour)) {
		t.Errorf("signed-in credential ends %s, want 10 h from now", v.Current().ValidUntil)
	}
	// The kiosk retries after a timeout: same visit, same credential, no error.
	again, err := f.e.SignIn(f.ctx, kiosk, visitor.SignInRequest{VisitID: "inv2", Provision: &visitor.ProvisionRequest{}})
	if err != nil || len(again.Credentials) != 1 || again.Current().BadgeID != v.Current().BadgeID {
		t.Errorf("retried sign-in with provisioning: %v, %+v", err, again.Credentials)
	}
	_, err = f.e.SignOut(f.ctx, desk, "nope", visitor.ViaDesk)
	wantCode(t, "sign-out of an unknown visit", err, acs.NotFound)
}

func TestAutoSignOut(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{AccessLevels: []string{"lobby", "floor-3"}})
	// One minute before the automatic sign-out (12 h) the visitor is still
	// signed in; only the 8-hour credential has ended.
	f.clock.Advance(11*time.Hour + 59*time.Minute)
	if res, _ := f.e.Sweep(f.ctx); res.Visits != 1 {
		t.Fatalf("sweep examined %d visits, want the credential's expiry", res.Visits)
	}
	f.drain()
	if v := f.visit("v1"); v.State != visitor.SignedIn {
		t.Fatalf("signed out too early: %s", v.State)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	v := f.visit("v1")
	if v.State != visitor.SignedOut || v.EndReason != string(visitor.ViaAuto) || v.EndedBy != visitor.ActorSystem {
		t.Fatalf("after auto sign-out: %+v", v)
	}
	if !v.Current().Released || f.badgeState("1001").State != badge.Available {
		t.Error("badge not back after auto sign-out")
	}
	f.wantActions("v1", "sign_in:ok", "provision:queued", "acs_provision:ok",
		"credential_expire:queued", "acs_revoke:ok", "sign_out:ok", "badge_release:ok")
}

func TestCredentialWindowCappedByAutoSignOut(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.clock.Advance(6 * time.Hour)
	v := f.provision("v1", visitor.ProvisionRequest{})
	if want := t0.Add(5*time.Second + 12*time.Hour); !v.Current().ValidUntil.Equal(want) {
		t.Errorf("credential ends %s, want the auto sign-out %s", v.Current().ValidUntil, want)
	}
}

func TestCredentialExpiresWhileSignedIn(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1005"})
	f.clock.Advance(8 * time.Hour)
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	v := f.visit("v1")
	c := v.Current()
	if v.State != visitor.SignedIn || c.Status != visitor.CredRevoked || !c.Holding() {
		t.Fatalf("after the window: state %s, credential %+v", v.State, c)
	}
	if b := f.badgeState("1005"); b.State != badge.Assigned {
		t.Errorf("the visitor still holds badge 1005, but the pool says %s", b.State)
	}
	_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{})
	wantCode(t, "provision while holding an expired badge", err, acs.Conflict)
	calls := f.acs.Calls()["revoke"]
	v, err = f.e.ReturnBadge(f.ctx, desk, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Current().Released || f.badgeState("1005").State != badge.Available || f.acs.Calls()["revoke"] != calls {
		t.Error("returning a revoked badge releases it without another ACS call")
	}
	f.wantActions("v1", "sign_in:ok", "provision:queued", "acs_provision:ok", "credential_expire:queued", "acs_revoke:ok",
		"provision:refused", "badge_release:ok", "return_badge:ok")
}

func TestRemoveBySecurity(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{})
	_, err := f.e.Remove(f.ctx, desk, "v1", "tailgating")
	wantCode(t, "removal by reception", err, acs.PermissionDenied)
	if r := f.lastRefusal(); r.Action != visitor.ActRemove || r.Actor != "alice" || r.VisitID != "v1" || r.Location != "hq" {
		t.Errorf("refusal record %+v", r)
	}
	_, err = f.e.Remove(f.ctx, security, "v1", "")
	wantCode(t, "removal without reason", err, acs.InvalidArgument)

	v, err := f.e.Remove(f.ctx, security, "v1", "tailgating")
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.Removed || v.EndedBy != "sam" || v.EndReason != "tailgating" || v.Current().Status != visitor.CredRevoked {
		t.Fatalf("after removal: %+v", v)
	}
	if c := f.acs.Census(); c.Cardholders != 0 || c.Credentials != 0 || f.acs.Calls()["remove_cardholder"] != 1 {
		t.Errorf("the cardholder must be removed at the ACS: %+v, calls %v", c, f.acs.Calls())
	}
	if f.badgeState("1001").State != badge.Available {
		t.Error("badge not released after confirmed removal")
	}
	_, err = f.e.Remove(f.ctx, security, "v1", "again")
	wantCode(t, "removal of an ended visit", err, acs.Conflict)
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1"})
	var found bool
	for _, r := range recs {
		found = found || (r.Action == visitor.ActRemove && r.Outcome == visitor.OutcomeQueued && r.Reason == "tailgating" && r.To == visitor.Removed)
	}
	if !found {
		t.Error("no removal record with its reason")
	}
}

func TestWatchlistAtSignIn(t *testing.T) {
	f := newFixture(t)
	f.watch.match.Store(&visitor.WatchlistMatch{List: "banned", Reason: "previous incident"})
	v, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "v1", Location: "hq", Visitor: ada, Provision: &visitor.ProvisionRequest{}})
	wantCode(t, "provisioning a watchlisted visitor", err, acs.PermissionDenied)
	if v.State != visitor.SignedIn || v.Watchlist == nil || v.Watchlist.List != "banned" || len(v.Credentials) != 0 {
		t.Fatalf("flagged visit %+v", v)
	}
	if f.acs.Calls()["provision"] != 0 || f.badgeState("1001").State != badge.Available {
		t.Error("a refused provision reached the ACS or took a badge")
	}
	f.wantActions("v1", "sign_in:ok", "watchlist_match:ok", "provision:refused")

	// A screening failure refuses the sign-in: fail closed.
	f.watch.match.Store(nil)
	var boom error = acs.Errorf("screen", "", acs.Unavailable, "screening service down")
	f.watch.err.Store(&boom)
	_, err = f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "v2", Location: "hq", Visitor: ada})
	wantCode(t, "sign-in while screening is down", err, acs.Unavailable)
	if _, err := f.e.Visit(f.ctx, "v2"); !errorsIsNotFound(err) {
		t.Errorf("visit created despite failed screening: %v", err)
	}
	if r := f.lastRefusal(); r.Action != visitor.ActSignIn || r.VisitID != "v2" {
		t.Errorf("refusal record %+v", r)
	}
}

func errorsIsNotFound(err error) bool { return acs.CodeOf(err) == acs.NotFound }

func TestWatchlistAfterCheckIn(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{FromRange: true})
	v, err := f.e.ReportWatchlistMatch(f.ctx, "v1", visitor.WatchlistMatch{List: "sanctions", Reason: "name match"})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.Removed || v.EndedBy != visitor.ActorWatchlist || v.Current().Status != visitor.CredRevoked || len(f.acs.Active(f.now())) != 0 {
		t.Fatalf("after a late watchlist match: %+v", v)
	}
	// On an ended visit the match is only recorded.
	v, err = f.e.ReportWatchlistMatch(f.ctx, "v1", visitor.WatchlistMatch{List: "other"})
	if err != nil || v.State != visitor.Removed || v.Watchlist.List != "other" {
		t.Errorf("match on an ended visit: %v, %+v", err, v)
	}
}

func TestReportBadgeLost(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1002"})
	v, err := f.e.ReportBadgeLost(f.ctx, desk, "v1")
	if err != nil {
		t.Fatal(err)
	}
	c := v.Current()
	if v.State != visitor.SignedIn || c.Status != visitor.CredRevoked || !c.Lost || c.Released || f.opens(v, "lobby") {
		t.Fatalf("after loss: %+v", c)
	}
	if b := f.badgeState("1002"); b.State != badge.Lost {
		t.Errorf("lost badge is %s", b.State)
	}
	// The visitor may get another badge; signing out later leaves the lost one lost.
	f.provision("v1", visitor.ProvisionRequest{})
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	if f.badgeState("1002").State != badge.Lost || f.badgeState("1001").State != badge.Available {
		t.Error("sign-out changed the lost badge or kept the other")
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{AccessLevels: []string{"server-room"}})
	wantCode(t, "level outside the operator's groups", err, acs.PermissionDenied)
	if r := f.lastRefusal(); r.Actor != "alice" || !slices.Equal(r.AccessLevels, []string{"server-room"}) || r.Action != visitor.ActProvision {
		t.Errorf("refusal record %+v", r)
	}
	_, err = f.e.Provision(f.ctx, itDesk, "v1", visitor.ProvisionRequest{AccessLevels: []string{"server-room"}})
	wantCode(t, "level forbidden to the visitor type", err, acs.PermissionDenied)
	_, err = f.e.Provision(f.ctx, itDesk, "v1", visitor.ProvisionRequest{AccessLevels: []string{"floor-3"}})
	wantCode(t, "level of another group", err, acs.PermissionDenied)
	_, err = f.e.Provision(f.ctx, visitor.Operator{ID: "nobody"}, "v1", visitor.ProvisionRequest{})
	wantCode(t, "operator without groups, type defaults", err, acs.PermissionDenied)
	if f.acs.Calls()["provision"] != 0 || f.badgeState("1001").State != badge.Available {
		t.Error("a refused provision reached the ACS or took a badge")
	}
	// The IT desk may grant the lobby.
	v, err := f.e.Provision(f.ctx, itDesk, "v1", visitor.ProvisionRequest{AccessLevels: []string{"lobby"}})
	if err != nil || v.Current().IssuedBy != "bob" {
		t.Fatalf("IT desk granting the lobby: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	f.signIn("busy")
	f.provision("busy", visitor.ProvisionRequest{BadgeID: "1001"})
	f.signIn("v1")
	f.signIn("out")
	if _, err := f.e.SignOut(f.ctx, desk, "out", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "esc", Location: "hq", Type: "escorted", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "inv", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	long := string(make([]byte, 65))
	cases := []struct {
		name string
		code acs.Code
		do   func() error
	}{
		{"unknown visit", acs.NotFound, func() error {
			_, err := f.e.Provision(f.ctx, desk, "ghost", visitor.ProvisionRequest{})
			return err
		}},
		{"badge held by another visit", acs.Conflict, func() error {
			_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "1001"})
			return err
		}},
		{"unknown badge", acs.NotFound, func() error {
			_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "9999"})
			return err
		}},
		{"badge ID with letters", acs.InvalidArgument, func() error {
			_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "10a1"})
			return err
		}},
		{"badge and range", acs.InvalidArgument, func() error {
			_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "1002", FromRange: true})
			return err
		}},
		{"repeated level", acs.InvalidArgument, func() error {
			_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{AccessLevels: []string{"lobby", "lobby"}})
			return err
		}},
		{"type without defaults", acs.InvalidArgument, func() error {
			_, err := f.e.Provision(f.ctx, desk, "esc", visitor.ProvisionRequest{})
			return err
		}},
		{"provision while holding", acs.Conflict, func() error {
			_, err := f.e.Provision(f.ctx, desk, "busy", visitor.ProvisionRequest{})
			return err
		}},
		{"provision after sign-out", acs.Conflict, func() error {
			_, err := f.e.Provision(f.ctx, desk, "out", visitor.ProvisionRequest{})
			return err
		}},
		{"return without badge", acs.Conflict, func() error {
			_, err := f.e.ReturnBadge(f.ctx, desk, "v1")
			return err
		}},
		{"lost without badge", acs.Conflict, func() error {
			_, err := f.e.ReportBadgeLost(f.ctx, desk, "v1")
			return err
		}},
		{"sign-out of an invitation", acs.Conflict, func() error {
			_, err := f.e.SignOut(f.ctx, desk, "inv", visitor.ViaDesk)
			return err
		}},
		{"unknown sign-out method", acs.InvalidArgument, func() error {
			_, err := f.e.SignOut(f.ctx, desk, "v1", "teleport")
			return err
		}},
		{"operator without ID", acs.InvalidArgument, func() error {
			_, err := f.e.SignOut(f.ctx, visitor.Operator{}, "v1", visitor.ViaDesk)
			return err
		}},
		{"unknown location", acs.InvalidArgument, func() error {
			_, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{Location: "mars", Visitor: ada})
			return err
		}},
		{"unknown type", acs.InvalidArgument, func() error {
			_, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{Location: "hq", Type: "vip", Visitor: ada})
			return err
		}},
		{"nameless visitor", acs.InvalidArgument, func() error {
			_, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{Location: "hq"})
			return err
		}},
		{"control character in a name", acs.InvalidArgument, func() error {
			_, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{Location: "hq", Visitor: visitor.Visitor{FirstName: "A\x00"}})
			return err
		}},
		{"visit ID too long", acs.InvalidArgument, func() error {
			_, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: long, Location: "hq", Visitor: ada})
			return err
		}},
		{"invitation without arrival", acs.InvalidArgument, func() error {
			_, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{Location: "hq", Visitor: ada})
			return err
		}},
		{"invitation window over", acs.InvalidArgument, func() error {
			_, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(-24 * time.Hour)})
			return err
		}},
		{"invitation window too long", acs.InvalidArgument, func() error {
			_, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour), Until: f.now().Add(40 * 24 * time.Hour)})
			return err
		}},
		{"watchlist match without list", acs.InvalidArgument, func() error {
			_, err := f.e.ReportWatchlistMatch(f.ctx, "v1", visitor.WatchlistMatch{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.e.Audit(f.ctx, visitor.AuditQuery{})
			calls := f.acs.Calls()
			wantCode(t, tc.name, tc.do(), tc.code)
			after, _ := f.e.Audit(f.ctx, visitor.AuditQuery{})
			if len(after) != len(before)+1 || after[len(after)-1].Outcome != visitor.OutcomeRefused || after[len(after)-1].Error == "" {
				t.Errorf("refusal not audited exactly once: %d → %d records", len(before), len(after))
			}
			if got := f.acs.Calls(); got["provision"] != calls["provision"] || got["revoke"] != calls["revoke"] {
				t.Error("a refusal reached the ACS")
			}
		})
	}
	// Nothing above took a badge or a number.
	if bs, _ := f.pool.List(f.ctx, badge.Filter{State: badge.Assigned}); len(bs) != 1 {
		t.Errorf("assigned badges after refusals: %+v", bs)
	}
}
