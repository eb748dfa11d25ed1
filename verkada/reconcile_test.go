package verkada

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// provisionOnce provisions g and returns the result, failing the test on
// an error.
func provisionOnce(t *testing.T, e *env, g acs.Grant) acs.Provisioned {
	t.Helper()
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Changes made behind the adapter's back (in Verkada Command) are
// repaired by provisioning again, with only the requests the drift needs.
func TestProvisionRepairsDrift(t *testing.T) {
	e := newEnv(t, nil)
	lobby, floor3 := e.levels()[0], e.levels()[1]
	g := testGrant(1, e.clk.Now(), lobby)
	p := provisionOnce(t, e, g)
	uid := p.Cardholder.ID
	extra := e.sim.AddGroup("Server Room")
	steps := []struct {
		name  string
		drift func() error
		want  []string
	}{
		{"card deactivated", func() error { return e.sim.SetCardActive(p.Credential.ID, false) },
			[]string{"PUT /access/v1/credentials/card/activate?card_id=" + p.Credential.ID + "&user_id=" + uid}},
		{"window widened", func() error { return e.sim.SetWindow(uid, g.ValidFrom.Add(-time.Hour), g.ValidUntil.Add(48*time.Hour)) },
			[]string{"PUT /access/v1/access_users/user/start_date?user_id=" + uid, "PUT /access/v1/access_users/user/end_date?user_id=" + uid}},
		{"end removed", func() error { return e.sim.SetWindow(uid, g.ValidFrom, time.Time{}) },
			[]string{"PUT /access/v1/access_users/user/end_date?user_id=" + uid}},
		{"groups changed", func() error { return e.sim.SetGroups(uid, extra.ID, floor3) },
			[]string{
				"DELETE /access/v1/access_groups/group/user?group_id=" + floor3 + "&user_id=" + uid,
				"DELETE /access/v1/access_groups/group/user?group_id=" + extra.ID + "&user_id=" + uid,
				"PUT /access/v1/access_groups/group/user?group_id=" + lobby,
			}},
	}
	for _, s := range steps {
		if err := s.drift(); err != nil {
			t.Fatal(err)
		}
		e.sim.ResetRequests()
		if got := provisionOnce(t, e, g); got.Credential != p.Credential || got.Created {
			t.Errorf("%s: provisioned %+v, want the same card, nothing created", s.name, got)
		}
		got := calls(e.sim.Requests())[1:] // after the lookup
		slices.Sort(got)
		want := slices.Clone(s.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: requests\n  got  %q\n  want %q", s.name, got, want)
		}
		u, _ := e.sim.User(g.Person.ExternalID)
		if !slices.Equal(u.Groups, []string{lobby}) || !u.Start.Equal(g.ValidFrom) || !u.End.Equal(g.ValidUntil) {
			t.Errorf("%s: not repaired: %+v", s.name, u)
		}
		if !e.sim.Opens(p.Credential.ID, lobby, e.clk.Now()) {
			t.Errorf("%s: card does not open", s.name)
		}
	}
	// The card deleted, then the whole user.
	if err := e.sim.DeleteCard(p.Credential.ID); err != nil {
		t.Fatal(err)
	}
	p2 := provisionOnce(t, e, g)
	if !p2.Created || p2.Credential.ID == p.Credential.ID || !e.sim.Opens(p2.Credential.ID, lobby, e.clk.Now()) {
		t.Errorf("deleted card not recreated: %+v", p2)
	}
	if err := e.sim.DeleteUser(uid); err != nil {
		t.Fatal(err)
	}
	p3 := provisionOnce(t, e, g)
	if !p3.Created || p3.Cardholder.ID == uid || !e.sim.Opens(p3.Credential.ID, lobby, e.clk.Now()) {
		t.Errorf("deleted user not recreated: %+v", p3)
	}
}

// A window moved wholly past the current one: the end is set before the
// start, so the start never falls after the end (the simulator refuses
// that, as Verkada may).
func TestWindowMovedLaterSetsEndFirst(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	p := provisionOnce(t, e, g)
	g.ValidFrom, g.ValidUntil = g.ValidUntil.Add(time.Hour), g.ValidUntil.Add(5*time.Hour)
	e.sim.ResetRequests()
	provisionOnce(t, e, g)
	uid := p.Cardholder.ID
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?external_id=visit-1",
		"PUT /access/v1/access_users/user/end_date?user_id="+uid,
		"PUT /access/v1/access_users/user/start_date?user_id="+uid)
	if e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) || !e.sim.Opens(p.Credential.ID, e.levels()[0], g.ValidFrom) {
		t.Error("window not moved")
	}
}

// A card an administrator entered with a short type name ("HID", an alias
// of Standard 26-bit Wiegand) is recognised, not created again.
func TestExistingCardWithAliasTypeIsReused(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	uid, err := e.sim.AddUser("Ada", "Visitor1", g.Person.ExternalID)
	if err != nil {
		t.Fatal(err)
	}
	cid, err := e.sim.AddCard(uid, "HID", g.Card.Facility, g.Card.Number, false)
	if err != nil {
		t.Fatal(err)
	}
	p := provisionOnce(t, e, g)
	if p.Credential.ID != cid || p.Created || !e.sim.Opens(cid, e.levels()[0], e.clk.Now()) {
		t.Errorf("provisioned %+v, want the existing card %s activated", p, cid)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
		t.Errorf("census %+v", c)
	}
}

// Should Verkada create a card inactive although "active" was sent, the
// adapter activates it.
func TestCardAnsweredInactiveIsActivated(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithCardsCreatedInactive()})
	p := provisionOnce(t, e, testGrant(1, e.clk.Now(), e.levels()[0]))
	if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("card left inactive")
	}
}

// A 400 to the access-user lookup is not taken to mean "no such user":
// the adapter asks Core.
func TestAmbiguousLookupAsksCore(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(verkadasim.Fault{Method: "GET", Path: "/access/v1/access_users/user", Kind: verkadasim.FaultStatus, Status: 400})
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	provisionOnce(t, e, g)
	got := calls(e.sim.Requests())
	if !slices.Contains(got, "GET /core/v1/user?external_id=visit-1") {
		t.Errorf("Core was not asked: %q", got)
	}
	// With the user present, the same answer is an error, not a new user.
	e.sim.AddFault(verkadasim.Fault{Method: "GET", Path: "/access/v1/access_users/user", Kind: verkadasim.FaultStatus, Status: 400})
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("got %v, want the 400 as invalid argument", err)
	}
	if c := e.sim.Census(); c != (verkadasim.Census{Users: 1, Cards: 1}) {
		t.Errorf("census %+v", c)
	}
}

// A stale revoke (retried after the badge went to the next visitor) does
// not take the card from its new holder.
func TestStaleRevokeLeavesNextHolder(t *testing.T) {
	e := newEnv(t, nil)
	a := testGrant(1, e.clk.Now(), e.levels()[0])
	pa := provisionOnce(t, e, a)
	if err := e.p.Revoke(t.Context(), pa.Credential); err != nil {
		t.Fatal(err)
	}
	b := testGrant(2, e.clk.Now(), e.levels()[0])
	b.Card = a.Card
	pb := provisionOnce(t, e, b)
	for _, ref := range []acs.CredentialRef{pa.Credential, {CardholderExternalID: a.Person.ExternalID, Card: a.Card}} {
		if err := e.p.Revoke(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
	}
	if !e.sim.Opens(pb.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("the next holder lost the card")
	}
}

// Revoke and RemoveCardholder succeed on targets already gone, whoever
// removed them, and again on their own work.
func TestRevokeAndRemoveAreIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	p := provisionOnce(t, e, g)
	if err := e.sim.DeleteCard(p.Credential.ID); err != nil {
		t.Fatal(err)
	}
	byCard := acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
	for _, ref := range []acs.CredentialRef{p.Credential, byCard, p.Credential} {
		if err := e.p.Revoke(t.Context(), ref); err != nil {
			t.Fatalf("revoke of a deleted card: %v", err)
		}
	}
	p = provisionOnce(t, e, g)
	if err := e.sim.DeleteUser(p.Cardholder.ID); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []acs.CredentialRef{p.Credential, byCard} {
		if err := e.p.Revoke(t.Context(), ref); err != nil {
			t.Fatalf("revoke for a deleted user: %v", err)
		}
	}
	for _, ref := range []acs.CardholderRef{p.Cardholder, {ExternalID: g.Person.ExternalID}, {ID: p.Cardholder.ID}} {
		if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
			t.Fatalf("remove of a deleted user: %v", err)
		}
	}
	p = provisionOnce(t, e, g)
	for range 2 {
		if err := e.p.RemoveCardholder(t.Context(), acs.CardholderRef{ExternalID: g.Person.ExternalID}); err != nil {
			t.Fatal(err)
		}
	}
	if c := e.sim.Census(); c != (verkadasim.Census{}) {
		t.Errorf("census %+v", c)
	}
}

// Should deleting a user leave its cards registered (the notes do not say),
// RemoveCardholder has deleted them first, so the badge can go to the
// next visitor.
func TestRemoveFreesCardsWhenUserDeleteIsSoft(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithUserDeleteKeepsCards()})
	a := testGrant(1, e.clk.Now(), e.levels()[0])
	pa := provisionOnce(t, e, a)
	if err := e.p.RemoveCardholder(t.Context(), pa.Cardholder); err != nil {
		t.Fatal(err)
	}
	b := testGrant(2, e.clk.Now(), e.levels()[0])
	b.Card = a.Card
	pb := provisionOnce(t, e, b)
	if !e.sim.Opens(pb.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("the returned badge does not open for the next visitor")
	}
}

// A 404 page that is not Verkada's (a proxy, a wrong base URL) is never
// taken for "no such user": revoking through it fails instead of
// reporting a revocation that did not happen.
func TestForeign404IsNotAbsence(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	p := provisionOnce(t, e, g)
	foreign := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if foreign && r.URL.Path == "/access/v1/access_users/user" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<html><body><h1>404 Not Found</h1>nginx</body></html>"))
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	pr, err := New(Config{BaseURL: srv.URL, APIKey: verkadasim.DefaultAPIKey}, testOptions(e.clk)...)
	if err != nil {
		t.Fatal(err)
	}
	ref := acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
	if err := pr.Revoke(t.Context(), ref); acs.CodeOf(err) != acs.Unknown {
		t.Fatalf("got %v, want an unknown error", err)
	}
	if _, err := pr.Provision(t.Context(), testGrant(2, e.clk.Now(), e.levels()[0])); acs.CodeOf(err) != acs.Unknown {
		t.Fatalf("got %v, want an unknown error", err)
	}
	if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) || e.sim.Census() != (verkadasim.Census{Users: 1, Cards: 1}) {
		t.Error("state changed through a foreign 404")
	}
}

// An error answer to a DELETE is settled by asking: gone is success,
// still there returns the error.
func TestDeleteErrorsAreSettledByAsking(t *testing.T) {
	e := newEnv(t, nil)
	p := provisionOnce(t, e, testGrant(1, e.clk.Now(), e.levels()[0]))
	e.sim.AddFault(verkadasim.Fault{Method: "DELETE", Path: "/access/v1/credentials/card", Kind: verkadasim.FaultStatus, Status: 409})
	if err := e.p.Revoke(t.Context(), p.Credential); acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("card still there: got %v, want the 409 as a conflict", err)
	}
	if err := e.sim.DeleteCard(p.Credential.ID); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(verkadasim.Fault{Method: "DELETE", Path: "/access/v1/credentials/card", Kind: verkadasim.FaultStatus, Status: 500, Times: -1})
	if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
		t.Fatalf("card gone: %v", err)
	}
	e.sim.ClearFaults()
	e.sim.AddFault(verkadasim.Fault{Method: "DELETE", Path: "/core/v1/user", Kind: verkadasim.FaultStatus, Status: 400})
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("user still there: got %v", err)
	}
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
		t.Fatal(err)
	}
}
