package brivo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// An answer nobody can classify that persists is not retried forever: after
// a few attempts Events returns it, non-retryable.
func TestEventsStopOnPersistentUnclassifiedAnswer(t *testing.T) {
	ee := newEventsEnv(t, nil, WithEvents(EventOptions{BackoffMin: time.Second, BackoffMax: 4 * time.Second}))
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 418, Times: -1})
	err := ee.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if err == nil || acs.IsRetryable(err) || acs.CodeOf(err) == acs.Canceled {
		t.Fatalf("got %v, want a non-retryable error", err)
	}
	if n := len(ee.sleeps); n > 10 {
		t.Errorf("%d waits before giving up", n)
	}
	// One unclassified answer among good ones is retried.
	ee.sim.ClearFaults()
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 418, Times: 1})
	ee.provision(t, 1, ee.levels()[0])
	ee.swipe(t, 201, frontDoor, ee.clk.Now())
	ee.clk.Advance(time.Minute)
	if _, err := collect(t.Context(), ee.p, "", 1); err != errStop {
		t.Fatalf("after one unclassified answer: %v", err)
	}
}

// Refused credentials during the card and cardholder lookups end Events
// (Unauthenticated), rather than deliver events stripped of their card.
func TestEventsStopWhenLookupsAreRefused(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	ee.swipe(t, 201, frontDoor, ee.clk.Now())
	ee.clk.Advance(time.Minute)
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/credentials/*", Kind: brivosim.FaultStatus, Status: 401, Times: -1})
	got, err := collect(t.Context(), ee.p, "", 1)
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatalf("got %v (events %+v), want unauthenticated", err, got)
	}
	if len(got) != 0 {
		t.Errorf("delivered %+v", got)
	}
}

// A webhook handler whose provider cannot log in does not try again at
// every notification (which could lock the admin account): lookups pause
// for a while after a refusal that cannot pass by itself.
func TestWebhookPausesLookupsAfterPermanentRefusal(t *testing.T) {
	creds := brivosim.DefaultCredentials()
	creds.Password = "changed-by-the-admin"
	ee := newEventsEnv(t, []brivosim.Option{brivosim.WithCredentials(creds)})
	uid, err := ee.sim.AddUser("Ada", "Visitor", "visit-1")
	if err != nil {
		t.Fatal(err)
	}
	cid, err := ee.sim.AddCredential(100, "", 1, 201)
	if err != nil {
		t.Fatal(err)
	}
	if err := ee.sim.AssignCredential(uid, cid, ee.clk.Now().Add(-time.Hour), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := ee.sim.AddMember(ee.sim.Groups()[0].ID, uid); err != nil {
		t.Fatal(err)
	}
	var s sink
	h, err := NewWebhookHandler(s.fn, WithWebhookProvider(ee.p))
	if err != nil {
		t.Fatal(err)
	}
	post := func() {
		t.Helper()
		ev, err := ee.sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 201}, frontDoor, ee.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(ev.JSON))))
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	post()
	post()
	if g := tokenGrants(ee.sim.Requests()); len(g) != 1 {
		t.Errorf("token requests %q, want one login attempt for two notifications", g)
	}
	ee.clk.Advance(10 * time.Minute)
	post()
	if g := tokenGrants(ee.sim.Requests()); len(g) != 2 {
		t.Errorf("token requests %q, want a second attempt once the pause is over", g)
	}
	if n := len(s.events()); n != 3 {
		t.Errorf("%d events delivered, want 3", n)
	}
}

// A missing permission (Brivo's own 403) ends Events and Holdings at once
// with a non-retryable PermissionDenied error.
func TestMissingPermissionEndsEventsAndInventory(t *testing.T) {
	ee := newEventsEnv(t, nil)
	ee.provision(t, 1, ee.levels()[0])
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultForbidden, Times: -1})
	err := ee.p.Events(t.Context(), "", func(acs.DoorEvent) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied || acs.IsRetryable(err) || len(ee.sleeps) != 0 {
		t.Errorf("events: %v after %d waits, want permission denied at once", err, len(ee.sleeps))
	}
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users", Kind: brivosim.FaultForbidden, Times: -1})
	err = ee.p.Holdings(t.Context(), func(acs.Holding) error { return nil })
	if acs.CodeOf(err) != acs.PermissionDenied || acs.IsRetryable(err) {
		t.Errorf("holdings: %v, want permission denied", err)
	}
}
