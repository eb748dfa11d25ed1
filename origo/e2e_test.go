package origo_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/origo/origosim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

var (
	t0   = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	desk = visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	ada  = visitor.Visitor{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}
)

const (
	cbHeader = "X-Origo-Callback-Secret"
	cbSecret = "e2e-callback-secret-0123456789"
)

// site is a building whose doors are Security Center's (the Genetec
// simulator) and whose visitors get HID Origo mobile IDs (the Origo
// simulator), run by a visitor Engine; one manual clock drives all.
type site struct {
	t      *testing.T
	clock  *visitor.ManualClock
	origo  *origosim.Server
	door   *genetecsim.Server
	issuer *origo.Issuer
	e      *visitor.Engine
}

func newSite(t *testing.T) *site { return newSiteWith(t, true) }

// newSiteWith builds the site; callbacks registers the issuer's handler
// at the Origo simulator.
func newSiteWith(t *testing.T, callbacks bool) *site {
	clock := visitor.NewManualClock(t0)
	osim := origosim.New(origosim.WithClock(clock.Now))
	osrv := httptest.NewServer(osim)
	t.Cleanup(osrv.Close)
	gsim := genetecsim.New(genetecsim.WithClock(clock.Now))
	gsrv := httptest.NewServer(gsim)
	t.Cleanup(gsrv.Close)
	door, err := genetec.New(genetec.Config{
		BaseURL: gsrv.URL + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock.Now), genetec.WithRetry(1, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := origo.New(door, origo.Config{
		AuthURL: osrv.URL, BaseURL: osrv.URL, OrganizationID: origosim.DefaultOrganizationID,
		ClientID: origosim.DefaultClientID, ClientSecret: origosim.DefaultClientSecret,
		PartNumber: origosim.DefaultPartNumber, CardFormat: acs.H10301, FacilityCode: 42,
	}, origo.WithClock(clock.Now), origo.WithRetry(1, time.Millisecond, 5*time.Millisecond),
		origo.WithCallbackSecret(cbHeader, cbSecret))
	if err != nil {
		t.Fatal(err)
	}
	h, err := iss.Handler()
	if err != nil {
		t.Fatal(err)
	}
	if callbacks {
		cb := httptest.NewServer(h)
		t.Cleanup(cb.Close)
		osim.SetCallback(cb.URL, http.Header{cbHeader: {cbSecret}})
	}
	pol := visitor.Policy{
		Types: map[string]visitor.VisitorType{"guest": {AccessLevels: []string{genetecsim.SeedLobbyGroup},
			AccessDuration: 8 * time.Hour, AdvanceAccess: 24 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {genetecsim.SeedLobbyGroup}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: iss, Policy: pol,
		CredentialType: origo.CredentialType}}, visitor.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	alloc, _ := e.Allocator("hq")
	if err := alloc.SetRange(t.Context(), badge.Range{Format: wiegand.H10301, Facility: 7, Min: 100, Max: 199}); err != nil {
		t.Fatal(err)
	}
	return &site{t: t, clock: clock, origo: osim, door: gsim, issuer: iss, e: e}
}

// invite pre-registers a visit arriving in an hour and issues its mobile
// ID (a card number from the range selects the issuer's CredentialType).
func (s *site) invite(id string) visitor.Visit {
	s.t.Helper()
	ctx := s.t.Context()
	if _, err := s.e.Invite(ctx, desk, visitor.InviteRequest{VisitID: id, Location: "hq", Visitor: ada, ExpectedAt: s.clock.Now().Add(time.Hour)}); err != nil {
		s.t.Fatal(err)
	}
	v, err := s.e.Provision(ctx, desk, id, visitor.ProvisionRequest{FromRange: true})
	if err != nil {
		s.t.Fatalf("provision: %v", err)
	}
	return v
}

// drain runs the outbox once the clock reached the visit's next attempt.
func (s *site) drain(id string) visitor.Visit {
	s.t.Helper()
	ctx := s.t.Context()
	items, err := s.e.Outbox(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(items) > 0 && items[0].NextAttempt.After(s.clock.Now()) {
		s.clock.Set(items[0].NextAttempt)
	}
	if _, err := s.e.RunOutboxOnce(ctx); err != nil {
		s.t.Fatal(err)
	}
	v, err := s.e.Visit(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// swipe presents the mobile ID's card at the lobby turnstile.
func (s *site) swipe(number uint64) bool {
	s.t.Helper()
	ev, err := s.door.Swipe(genetecsim.SeedLobbyDoor, genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: number}, s.clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return ev.Type == genetecsim.EventAccessGranted
}

// origoCalls and doorCalls count the requests each simulator received
// since the last reset (token requests and Genetec sessions included).
func (s *site) origoCalls() []string {
	var out []string
	api := origosim.APIPath(origosim.DefaultOrganizationID)
	for _, r := range s.origo.Requests() {
		out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, api))
	}
	return out
}

func (s *site) reset() {
	s.origo.ResetRequests()
	s.door.ResetRequests()
}

// The whole path: the visitor is invited (an Origo user and invitation;
// nothing at the door), accepts on the phone (the callback arrives), the
// outbox's next attempt provisions the card at Security Center, the
// turnstile opens, and the sign-out deletes the Origo credential and user
// and revokes the card. While the invitation waits, the outbox neither
// spins nor gives up.
func TestEndToEndWithGenetec(t *testing.T) {
	s := newSite(t)
	ctx := t.Context()
	v := s.invite("visit-1")
	if c := v.Current(); c.Status != visitor.CredPending || !strings.Contains(c.Error, "not accepted yet") {
		t.Fatalf("after the invitation: %+v", c)
	}
	u, ok := s.origo.User("visit-1")
	if !ok || len(u.Invitations) != 1 || u.Invitations[0].Status != origosim.InvitationPending {
		t.Fatalf("Origo: %+v", u)
	}
	if n := len(s.door.Cardholders()); n != 0 {
		t.Fatalf("%d cardholders at the door before the phone accepted", n)
	}
	t.Logf("invitation: %q", s.origoCalls())

	// Two hours pass; the engine drains its outbox every minute, as Run
	// does. Origo is asked ever less often, and the item stays queued.
	s.reset()
	for range 120 {
		s.clock.Advance(time.Minute)
		if _, err := s.e.RunOutboxOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	polls := len(s.origoCalls())
	items, _ := s.e.Outbox(ctx, "visit-1")
	if polls == 0 || polls > 25 || len(items) != 1 || items[0].Op != visitor.OpProvision {
		t.Fatalf("two hours of waiting: %d Origo requests, outbox %+v", polls, items)
	}
	t.Logf("two hours waiting for the phone: %d Origo requests, %d outbox attempts, next in %s",
		polls, items[0].Attempts, items[0].NextAttempt.Sub(s.clock.Now()))

	// The phone accepts; the callback lifts the polling wait.
	issued, err := s.origo.Accept("visit-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := s.origo.Deliveries(); len(d) != 1 || d[0].Status != http.StatusOK {
		t.Fatalf("callback deliveries %+v", d)
	}
	s.reset()
	v = s.drain("visit-1")
	if c := v.Current(); c.Status != visitor.CredActive {
		t.Fatalf("after acceptance: %+v", c)
	}
	t.Logf("provision once accepted: Origo %q, Genetec %d requests", s.origoCalls(), len(s.door.Requests()))

	// The visitor arrives and the turnstile opens for the phone's card.
	if _, err := s.e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1"}); err != nil {
		t.Fatal(err)
	}
	if !s.swipe(issued.CardNumber) {
		t.Fatal("the turnstile refused the mobile ID")
	}

	s.reset()
	v, err = s.e.SignOut(ctx, desk, "visit-1", visitor.ViaDesk)
	if err != nil {
		t.Fatal(err)
	}
	if c := v.Current(); c.Status != visitor.CredRevoked {
		t.Fatalf("after sign-out: %+v", c)
	}
	t.Logf("revoke: Origo %q, Genetec %d requests", s.origoCalls(), len(s.door.Requests()))
	if _, ok := s.origo.User("visit-1"); ok {
		t.Fatal("the Origo user outlived the visit")
	}
	if s.swipe(issued.CardNumber) {
		t.Fatal("the turnstile still opens after the sign-out")
	}
}

// A sign-out before the phone accepted deletes the invitation and the
// Origo user (the queued provision is cancelled and a revocation by
// external ID follows it); the phone can no longer accept, and nothing was
// ever provisioned at the door.
func TestEndToEndSignOutBeforeAcceptance(t *testing.T) {
	s := newSite(t)
	ctx := t.Context()
	s.invite("visit-2")
	if _, err := s.e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-2"}); err != nil {
		t.Fatal(err)
	}
	s.reset()
	v, err := s.e.SignOut(ctx, desk, "visit-2", visitor.ViaDesk)
	if err != nil {
		t.Fatal(err)
	}
	if c := v.Current(); c.Status != visitor.CredRevoked || !c.Released {
		t.Fatalf("after sign-out: %+v", c)
	}
	t.Logf("revoke before acceptance: Origo %q", s.origoCalls())
	if c := s.origo.Census(); c != (origosim.Census{}) {
		t.Fatalf("Origo still holds %+v", c)
	}
	if _, err := s.origo.Accept("visit-2"); err == nil {
		t.Fatal("the phone accepted after the sign-out")
	}
	if n := len(s.door.Cardholders()); n != 0 {
		t.Fatalf("%d cardholders at the door", n)
	}
}

// An outage of Origo, then of the door ACS, at sign-out: the revocation
// is retried by the outbox until both confirm. The door is revoked first,
// so the card stops opening as soon as Security Center answers.
func TestEndToEndOutagesAtSignOut(t *testing.T) {
	s := newSite(t)
	ctx := t.Context()
	for _, id := range []string{"visit-3", "visit-4"} {
		s.invite(id)
		if _, err := s.origo.Accept(id); err != nil {
			t.Fatal(err)
		}
		if v := s.drain(id); v.Current().Status != visitor.CredActive {
			t.Fatalf("%s: %+v", id, v.Current())
		}
		if _, err := s.e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id}); err != nil {
			t.Fatal(err)
		}
	}
	card := func(id string) uint64 {
		u, _ := s.origo.User(id)
		return u.Credentials[0].CardNumber
	}
	c3, c4 := card("visit-3"), card("visit-4")

	// Origo is down: the card is revoked at the door, the Origo part waits.
	s.origo.SetDown(true)
	v, err := s.e.SignOut(ctx, desk, "visit-3", visitor.ViaDesk)
	if err != nil || v.Current().Status != visitor.CredRevoking {
		t.Fatalf("sign-out during the Origo outage: %+v %v", v.Current(), err)
	}
	if s.swipe(c3) {
		t.Fatal("the card opens during the Origo outage")
	}
	for range 3 {
		if v = s.drain("visit-3"); v.Current().Status != visitor.CredRevoking {
			t.Fatalf("revoked while Origo is down: %+v", v.Current())
		}
	}
	s.origo.SetDown(false)
	if v = s.drain("visit-3"); v.Current().Status != visitor.CredRevoked {
		t.Fatalf("after the Origo outage: %+v", v.Current())
	}
	if _, ok := s.origo.User("visit-3"); ok {
		t.Fatal("the Origo user outlived the outage")
	}

	// The door ACS is down: nothing changes at Origo until it answers.
	s.door.Inject(genetecsim.Fault{Status: http.StatusServiceUnavailable, Times: 1 << 20})
	v, err = s.e.SignOut(ctx, desk, "visit-4", visitor.ViaDesk)
	if err != nil || v.Current().Status != visitor.CredRevoking {
		t.Fatalf("sign-out during the door outage: %+v %v", v.Current(), err)
	}
	if u, ok := s.origo.User("visit-4"); !ok || u.Credentials[0].Status != origosim.CredentialIssued {
		t.Fatalf("Origo changed before the door revoked the card: %+v", u)
	}
	s.door.ClearFaults()
	if v = s.drain("visit-4"); v.Current().Status != visitor.CredRevoked {
		t.Fatalf("after the door outage: %+v", v.Current())
	}
	if s.swipe(c4) {
		t.Fatal("the card opens after the door outage")
	}
	if _, ok := s.origo.User("visit-4"); ok {
		t.Fatal("the Origo user outlived the door outage")
	}
}

// Without callbacks (none registered, or HID's one delivery lost),
// polling alone provisions the card, within the longest poll interval and
// the outbox's longest backoff after the phone accepted.
func TestEndToEndWithoutCallbacks(t *testing.T) {
	s := newSiteWith(t, false)
	s.invite("visit-5")
	s.clock.Advance(3 * time.Hour) // the invitation is old: Origo is polled rarely
	s.drain("visit-5")
	if _, err := s.origo.Accept("visit-5"); err != nil {
		t.Fatal(err)
	}
	accepted := s.clock.Now()
	for k := 0; ; k++ {
		v := s.drain("visit-5")
		if v.Current().Status == visitor.CredActive {
			break
		}
		if k > 20 {
			t.Fatalf("still %+v", v.Current())
		}
	}
	// The outbox's longest backoff is 5 minutes, give or take 20%.
	if d := s.clock.Now().Sub(accepted); d > origo.DefaultPollMax+6*time.Minute {
		t.Fatalf("provisioned %s after the phone accepted", d)
	} else {
		t.Logf("provisioned %s after the phone accepted, by polling", d)
	}
}
