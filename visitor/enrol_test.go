package visitor_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
)

// enrolFixture is newFixture with an enrolment reader "desk-reader" (a
// door of no access level) at "hq".
func enrolFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	e, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy(),
		Enrolment: visitor.EnrolmentReader{Reader: "desk-reader", Timeout: 2 * time.Minute}}},
		visitor.WithClock(f.clock), visitor.WithOwner("test"), visitor.WithIDs(func() string { return "e-" + strconv.FormatInt(f.ids.Add(1), 10) }))
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	f.acs.AddDoor("desk-reader", "Desk reader")
	f.acs.AddDoor("lobby-door", "Lobby", "lobby")
	return f
}

var blank = acs.Card{Format: acs.H10301, Facility: 99, Number: 31337}

// taps counts the swipes at each Memory, so that tap reads the event of
// the latest.
var taps = map[*acstest.Memory]int{}

// tap presents card at a door of the fixture's Memory and records the
// event through the engine.
func (f *fixture) tap(card acs.Card, door string) (visitor.DoorResult, acs.DoorEvent) {
	f.t.Helper()
	f.acs.Swipe(card, door, acs.DirectionUnknown, f.now())
	taps[f.acs]++
	evs := memEvents(f.t, f.acs, taps[f.acs])
	ev := evs[len(evs)-1]
	res, err := f.e.RecordDoorEvent(f.ctx, "hq", ev)
	if err != nil {
		f.t.Fatalf("RecordDoorEvent: %v", err)
	}
	return res, ev
}

func TestEnrolByTap(t *testing.T) {
	f := enrolFixture(t)
	f.signIn("v1")
	v, err := f.e.StartEnrolment(f.ctx, desk, "v1", visitor.EnrolRequest{})
	if err != nil || v.Enrolment.Status != visitor.EnrolWaiting || !v.DueAt.Equal(f.now().Add(2*time.Minute)) {
		t.Fatalf("start: %v %+v due %v", err, v.Enrolment, v.DueAt)
	}
	f.clock.Advance(30 * time.Second)
	res, ev := f.tap(blank, "desk-reader")
	if ev.Granted || ev.Card != blank {
		t.Fatalf("the Memory's event %+v", ev)
	}
	if res.VisitID != "v1" || res.LinkedBy != visitor.ByEnrolment || res.Duplicate {
		t.Fatalf("result %+v", res)
	}
	v = f.visit("v1")
	c := v.Current()
	if v.Enrolment.Status != visitor.EnrolCaptured || c == nil || c.Source != visitor.FromTap || c.Card != blank || c.Status != visitor.CredActive {
		t.Fatalf("after the tap: %+v %+v", v.Enrolment, c)
	}
	if !f.acs.Opens(c.Ref, "lobby", f.now()) {
		t.Fatal("the captured card does not open the lobby")
	}
	if got, _ := f.e.RecordDoorEvent(f.ctx, "hq", ev); !got.Duplicate || got.VisitID != "v1" {
		t.Fatalf("the event delivered again: %+v", got)
	}
	f.wantActions("v1", "sign_in:ok", "enrol_start:queued", "enrol_capture:ok", "provision:queued", "acs_provision:ok")
	if tl, _ := f.e.DoorTimeline(f.ctx, "v1"); len(tl) != 0 || v.Doors.Last.DoorID != "desk-reader" {
		t.Fatalf("doors %+v, timeline %+v", v.Doors.Last, tl)
	}
	if _, err := f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	v = f.visit("v1")
	if f.acs.Opens(c.Ref, "lobby", f.now()) || !v.Current().Released || v.Current().Status != visitor.CredRevoked {
		t.Fatalf("after sign-out: %+v", v.Current())
	}
}

func TestEnrolTimesOut(t *testing.T) {
	f := enrolFixture(t)
	f.signIn("v1")
	if _, err := f.e.StartEnrolment(f.ctx, desk, "v1", visitor.EnrolRequest{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	v := f.visit("v1")
	if v.Enrolment.Status != visitor.EnrolTimedOut || !strings.Contains(v.Enrolment.Reason, "no card was presented at reader desk-reader within 2m0s") {
		t.Fatalf("after the timeout: %+v", v.Enrolment)
	}
	res, _ := f.tap(blank, "desk-reader")
	if res.VisitID != "" || len(f.visit("v1").Credentials) != 0 {
		t.Fatalf("a late tap was captured: %+v", res)
	}
	f.wantActions("v1", "sign_in:ok", "enrol_start:queued", "enrol_end:failed")
	// The reader is free again.
	if _, err := f.e.StartEnrolment(f.ctx, desk, "v1", visitor.EnrolRequest{}); err != nil {
		t.Fatal(err)
	}
}

// Cards someone else holds are refused with a clear outcome: a pool
// badge, another visit's captured card, a card the ACS holds for an
// employee.
func TestEnrolCardHeldBySomeoneElse(t *testing.T) {
	f := enrolFixture(t)
	f.acs.AddEmployee(acstest.EmployeeSpec{LastName: "Hopper", Card: graceCard, Enabled: true, AccessLevels: []string{"lobby"}})
	for _, c := range []struct {
		visit, reason string
		card          acs.Card
	}{
		{"v1", "the card is pool badge 1001; hand it out by its badge ID", f.badgeState("1001").Card},
		{"v2", "the card is a number of the location's range", acs.Card{Format: acs.H10304, Facility: 100, Number: 500007}},
		{"v3", "the ACS refused the card as held by another cardholder", graceCard},
	} {
		f.signIn(c.visit)
		if _, err := f.e.StartEnrolment(f.ctx, desk, c.visit, visitor.EnrolRequest{}); err != nil {
			t.Fatal(err)
		}
		res, _ := f.tap(c.card, "desk-reader")
		v := f.visit(c.visit)
		if res.VisitID != c.visit || v.Enrolment.Status != visitor.EnrolCardHeld || !strings.HasPrefix(v.Enrolment.Reason, c.reason) {
			t.Fatalf("%s: %+v %+v", c.visit, res, v.Enrolment)
		}
		if cur := v.Current(); cur != nil && cur.Status != visitor.CredFailed {
			t.Fatalf("%s: credential %+v", c.visit, cur)
		}
	}
	// Another visit's captured card.
	f.signIn("v4")
	f.e.StartEnrolment(f.ctx, desk, "v4", visitor.EnrolRequest{})
	f.tap(blank, "desk-reader")
	f.signIn("v5")
	f.e.StartEnrolment(f.ctx, desk, "v5", visitor.EnrolRequest{})
	f.tap(blank, "desk-reader")
	if v := f.visit("v5"); v.Enrolment.Status != visitor.EnrolCardHeld || v.Enrolment.Reason != "the card is held by visit v4" {
		t.Fatalf("v5: %+v", v.Enrolment)
	}
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v5"})
	if last := recs[len(recs)-1]; last.Action != visitor.ActEnrolCapture || last.Outcome != visitor.OutcomeRefused || last.Card != blank.String() {
		t.Fatalf("audit %+v", last)
	}
}

func TestEnrolRefusals(t *testing.T) {
	f := newFixture(t) // no enrolment reader
	f.signIn("v1")
	_, err := f.e.StartEnrolment(f.ctx, desk, "v1", visitor.EnrolRequest{})
	wantCode(t, "no reader", err, acs.Unsupported)

	g := enrolFixture(t)
	g.signIn("v1")
	g.signIn("v2")
	if _, err := g.e.StartEnrolment(g.ctx, desk, "v1", visitor.EnrolRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = g.e.StartEnrolment(g.ctx, desk, "v2", visitor.EnrolRequest{})
	wantCode(t, "a second visit at the reader", err, acs.Conflict)
	_, err = g.e.StartEnrolment(g.ctx, itDesk, "v2", visitor.EnrolRequest{AccessLevels: []string{"floor-3"}})
	wantCode(t, "a level the operator may not grant", err, acs.Conflict) // the reader is checked first
	if _, err := g.e.CancelEnrolment(g.ctx, desk, "v1"); err != nil {
		t.Fatal(err)
	}
	_, err = g.e.StartEnrolment(g.ctx, itDesk, "v2", visitor.EnrolRequest{AccessLevels: []string{"floor-3"}})
	wantCode(t, "a level the operator may not grant", err, acs.PermissionDenied)
	g.provision("v2", visitor.ProvisionRequest{})
	_, err = g.e.StartEnrolment(g.ctx, desk, "v2", visitor.EnrolRequest{})
	wantCode(t, "a visit holding a badge", err, acs.Conflict)

	// A tap from before the request is not the card asked for.
	g.signIn("v3")
	g.acs.Swipe(blank, "desk-reader", acs.DirectionUnknown, g.now().Add(-10*time.Minute))
	taps[g.acs]++
	if _, err := g.e.StartEnrolment(g.ctx, desk, "v3", visitor.EnrolRequest{}); err != nil {
		t.Fatal(err)
	}
	evs := memEvents(t, g.acs, taps[g.acs])
	if res, err := g.e.RecordDoorEvent(g.ctx, "hq", evs[len(evs)-1]); err != nil || res.VisitID != "" {
		t.Fatalf("an old tap: %+v %v", res, err)
	}

	// An ACS whose events do not carry unknown cards cannot enrol.
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: plainProvider{g.acs}, Policy: testPolicy(),
		Enrolment: visitor.EnrolmentReader{Reader: "r"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignIn(g.ctx, desk, visitor.SignInRequest{VisitID: "p1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	_, err = e.StartEnrolment(g.ctx, desk, "p1", visitor.EnrolRequest{})
	wantCode(t, "an ACS without unknown-card events", err, acs.Unsupported)
}
