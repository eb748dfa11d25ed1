package origo

import (
	"errors"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// A provision waits for the phone without spinning: the first call
// creates the user and the invitation and reports ErrNotAccepted with a
// RetryAfter; calls sooner than that send nothing; once the phone accepted
// and Origo is asked again, the card is provisioned at the door ACS.
func TestProvisionWaitsForThePhone(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	g := testGrant(1, e.clk.Now(), "lobby")

	_, err := e.iss.Provision(ctx, g)
	ra, _ := acs.RetryAfterOf(err)
	if !errors.Is(err, ErrNotAccepted) || acs.CodeOf(err) != acs.Unavailable || ra != DefaultPollMin {
		t.Fatalf("first provision: %v (retry after %s), want unavailable, ErrNotAccepted, %s", err, ra, DefaultPollMin)
	}
	wantCalls(t, e.calls(), "POST token", "POST /users/.search", "POST /users", "POST /users/1001/invitation")
	u, _ := e.sim.User("visit-1")
	if len(u.Invitations) != 1 || u.Invitations[0].Status != origosim.InvitationPending || u.Email != "ada1@example.com" {
		t.Fatalf("Origo user %+v", u)
	}
	if c := e.door.Calls(); c["provision"] != 0 {
		t.Fatalf("door calls %v before the phone accepted", c)
	}

	e.sim.ResetRequests()
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("again at once: %v", err)
	}
	wantCalls(t, e.calls()) // too soon: nothing sent

	e.clk.Advance(DefaultPollMin)
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("after the wait: %v", err)
	}
	wantCalls(t, e.calls(), "GET /users/1001")

	issued, err := e.sim.Accept("visit-1")
	if err != nil || issued.CardNumber != origosim.FirstCardNumber {
		t.Fatalf("accept: %+v %v", issued, err)
	}
	e.sim.ResetRequests()
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("accepted but not asked yet (no callback): %v", err)
	}
	wantCalls(t, e.calls())
	e.clk.Advance(DefaultPollMin)
	p, err := e.iss.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "GET /users/1001")
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: origosim.FirstCardNumber}
	if p.Credential.Card != card || p.Cardholder.ExternalID != "visit-1" || p.Credential.CardholderID != p.Cardholder.ID || !p.Created {
		t.Fatalf("provisioned %+v", p)
	}
	if !e.doorOpens(p.Credential, "lobby") || e.doorOpens(p.Credential, "floor-3") {
		t.Fatal("the door ACS does not open exactly the lobby for the mobile ID's card")
	}

	// Again: the remembered user is read, the door provision is found.
	e.sim.ResetRequests()
	p2, err := e.iss.Provision(ctx, g)
	if err != nil || p2.Credential != p.Credential || p2.Created {
		t.Fatalf("repeat: %+v %v", p2, err)
	}
	wantCalls(t, e.calls(), "GET /users/1001")

	// Revoke: the door first, then the visit's users are found and read
	// (every card they hold is revoked at the door), and the credential and
	// the user deleted at Origo.
	e.sim.ResetRequests()
	if err := e.iss.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "POST /users/.search", "GET /users/1001", "DELETE /credential/1003", "DELETE /users/1001")
	if e.doorOpens(p.Credential, "lobby") {
		t.Fatal("revoked card still opens")
	}
	if _, ok := e.sim.User("visit-1"); ok {
		t.Fatal("Origo user left after revoke")
	}
	// Revoking again succeeds (the user is gone).
	if err := e.iss.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
}

// The wait between polls grows with the invitation's age, up to the
// maximum: over a day, Origo is asked a bounded number of times.
func TestPollingSpacing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	g := testGrant(2, e.clk.Now(), "lobby")
	var waits []time.Duration
	polls := 0
	for range 2000 {
		before := len(e.sim.Requests())
		_, err := e.iss.Provision(ctx, g)
		if !errors.Is(err, ErrNotAccepted) {
			t.Fatal(err)
		}
		if len(e.sim.Requests()) > before {
			polls++
			ra, _ := acs.RetryAfterOf(err)
			waits = append(waits, ra)
		}
		e.clk.Advance(time.Minute)
		if e.clk.Now().Sub(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) > 24*time.Hour {
			break
		}
	}
	// An eighth of the age, from 30 s to 15 min: about 24 h / 15 min plus
	// the ramp.
	if polls > 130 || polls < 90 {
		t.Fatalf("%d polls in a day (waits %v)", polls, waits)
	}
	if waits[0] != DefaultPollMin || waits[len(waits)-1] != DefaultPollMax {
		t.Fatalf("waits from %s to %s, want %s to %s", waits[0], waits[len(waits)-1], DefaultPollMin, DefaultPollMax)
	}
	t.Logf("%d polls of Origo in 24 hours of waiting for the phone", polls)
}

// A sign-out before the phone accepted comes as a revocation without an
// ID: the invitation and the user are deleted, and the phone can no longer
// accept.
func TestRevokeBeforeAcceptance(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	g := testGrant(3, e.clk.Now(), "lobby")
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	// The visitor engine's reference: external ID and its own card.
	if err := e.iss.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-3", Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "POST /users/.search", "GET /users/1001", "DELETE /invitation/1002", "DELETE /users/1001")
	if c := e.sim.Census(); c != (origosim.Census{}) {
		t.Fatalf("Origo census %+v after the revoke", c)
	}
	if _, err := e.sim.Accept("visit-3"); err == nil {
		t.Fatal("the phone accepted a deleted invitation")
	}
	// Provision again: a fresh user and invitation (the book was cleared).
	e.sim.ResetRequests()
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	wantCalls(t, e.calls(), "POST /users/.search", "POST /users", "POST /users/1004/invitation")
}

// A card the door ACS refuses for good removes the Origo user before the
// refusal is returned: nothing of the refused provision remains.
func TestDoorRefusalRemovesTheMobileID(t *testing.T) {
	e := newEnv(t, []origosim.Option{origosim.WithAutoAccept()})
	ctx := t.Context()
	g := testGrant(4, e.clk.Now(), "lobby")
	e.door.FailNext(nil) // the level check passes
	e.door.FailNext(acs.Errorf("provision", "door", acs.Conflict, "card held by someone else"))
	_, err := e.iss.Provision(ctx, g)
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want the door's conflict", err)
	}
	if c := e.sim.Census(); c.Users != 0 {
		t.Fatalf("Origo census %+v after the refusal", c)
	}
}

// A creation or invitation whose answer is lost is settled by looking:
// no duplicate user, no second invitation.
func TestLostAnswers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	api := origosim.APIPath(origosim.DefaultOrganizationID)
	e.sim.AddFault(origosim.Fault{Method: "POST", Path: api + "/users", Kind: origosim.FaultDropAfterCommit})
	g := testGrant(5, e.clk.Now(), "lobby")
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("lost user creation: %v", err)
	}
	wantCalls(t, e.calls(), "POST token", "POST /users/.search", "POST /users", "POST /users/.search", "GET /users/1001", "POST /users/1001/invitation")

	g6 := testGrant(6, e.clk.Now(), "lobby")
	e.sim.ResetRequests()
	e.sim.AddFault(origosim.Fault{Method: "POST", Path: api + "/users/", Kind: origosim.FaultDropAfterCommit})
	// The fault matches the first POST below /users/: the search. A search
	// is resent (it changes nothing).
	if _, err := e.iss.Provision(ctx, g6); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("lost search: %v", err)
	}
	e.sim.AddFault(origosim.Fault{Method: "POST", Path: api + "/users/1004/invitation", Kind: origosim.FaultDropAfterCommit})
	if err := e.iss.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-6", Card: g6.Card}); err != nil {
		t.Fatal(err)
	}
	g7 := testGrant(7, e.clk.Now(), "lobby")
	e.sim.AddFault(origosim.Fault{Method: "POST", Path: api + "/users/1006/invitation", Kind: origosim.FaultDropAfterCommit})
	if _, err := e.iss.Provision(ctx, g7); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("lost invitation: %v", err)
	}
	u, _ := e.sim.User("visit-7")
	if len(u.Invitations) != 1 {
		t.Fatalf("invitations after a lost answer: %+v", u.Invitations)
	}
	for _, u := range e.sim.Users() {
		if u.ExternalID == "visit-5" && u.ID != "1001" {
			t.Fatalf("duplicate user for visit-5: %+v", u)
		}
	}
}

// Two users of one external ID (two creations that raced) converge on the
// one whose phone accepted; the other is removed.
func TestTwinsConverge(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	g := testGrant(8, e.clk.Now(), "lobby")
	first := e.sim.AddUser("visit-8", "Ada", "Visitor8", "ada8@example.com")
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	// A second user appears (another replica created it), invited and
	// accepted.
	e.sim.AddUser("visit-8", "Ada", "Visitor8", "ada8@example.com")
	e.iss.waits.forget("visit-8") // as after a restart
	if _, err := e.sim.Accept("visit-8"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	p, err := e.iss.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	users := e.sim.Users()
	if len(users) != 1 || users[0].ID != first {
		t.Fatalf("users after convergence: %+v (want only %s, the accepted one)", users, first)
	}
	if !e.doorOpens(p.Credential, "lobby") {
		t.Fatal("the kept user's card does not open")
	}
}

// Two issuers (two VMS replicas) that both find the user of a visit
// without an invitation both invite it, and the phone accepts both: the
// user holds two mobile IDs. Provision converges on one (the other's card
// revoked at the door first, then deleted at Origo), and a revocation by
// either reference stops every card of the visit.
func TestTwoMobileIDsConverge(t *testing.T) {
	for _, revokeKept := range []bool{true, false} {
		t.Run(map[bool]string{true: "revoke the kept reference", false: "revoke the dropped reference"}[revokeKept], func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := t.Context()
			other, err := New(e.door, e.cfg, testOptions(e.clk)...)
			if err != nil {
				t.Fatal(err)
			}
			g := testGrant(9, e.clk.Now(), "lobby")
			if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
				t.Fatal(err)
			}
			first, err := e.sim.Accept("visit-9")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(DefaultPollMin)
			pa, err := e.iss.Provision(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			// The other issuer read the user before the first invitation
			// and invites it again (as ensureInvitation does after such a
			// read); the phone accepts that one too, and the other issuer
			// provisions its card.
			u, ok := e.sim.User("visit-9")
			if !ok {
				t.Fatal("no Origo user")
			}
			if _, err := other.invite(ctx, "provision", u.ID, false); err != nil {
				t.Fatal(err)
			}
			second, err := e.sim.Accept("visit-9")
			if err != nil || second.CardNumber == first.CardNumber {
				t.Fatalf("second acceptance: %+v %v", second, err)
			}
			dropped := pa.Credential
			dropped.ID = credID(u.ID, second.ID, second.CardNumber, "x")
			dg := g
			dg.Card, dg.CredentialType = e.iss.card(second.CardNumber), ""
			pd, err := e.door.Provision(ctx, dg)
			if err != nil {
				t.Fatal(err)
			}
			dropped.ID, dropped.Card = credID(u.ID, second.ID, second.CardNumber, pd.Credential.ID), dg.Card
			if !e.doorOpens(dropped, "lobby") {
				t.Fatal("setup: the second card does not open")
			}

			// Provision converges on the first mobile ID.
			e.clk.Advance(time.Minute)
			e.sim.ResetRequests()
			pb, err := other.Provision(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			wantCalls(t, e.calls(), "POST /users/.search", "GET /users/"+u.ID, "DELETE /credential/"+second.ID)
			if pb.Credential != pa.Credential || !e.doorOpens(pa.Credential, "lobby") || e.doorOpens(dropped, "lobby") {
				t.Fatalf("after convergence: kept %+v (opens %v), dropped opens %v", pb.Credential, e.doorOpens(pa.Credential, "lobby"), e.doorOpens(dropped, "lobby"))
			}

			// The phone accepts a third invitation behind the issuers' back;
			// revoking either reference stops every card of the visit.
			if _, err := other.invite(ctx, "provision", u.ID, false); err != nil {
				t.Fatal(err)
			}
			third, err := e.sim.Accept("visit-9")
			if err != nil {
				t.Fatal(err)
			}
			dg.Card = e.iss.card(third.CardNumber)
			pt, err := e.door.Provision(ctx, dg)
			if err != nil {
				t.Fatal(err)
			}
			thirdRef := acs.CredentialRef{ID: credID(u.ID, third.ID, third.CardNumber, pt.Credential.ID), CardholderExternalID: "visit-9", Card: dg.Card}
			ref := dropped
			if revokeKept {
				ref = pa.Credential
			}
			if err := e.iss.Revoke(ctx, ref); err != nil {
				t.Fatal(err)
			}
			for _, r := range []acs.CredentialRef{pa.Credential, dropped, thirdRef} {
				if e.doorOpens(r, "lobby") {
					t.Errorf("card %s still opens after the visit's revocation", r.Card)
				}
			}
			if c := e.sim.Census(); c.Users != 0 {
				t.Fatalf("Origo census %+v after the revocation", c)
			}
		})
	}
}
