package visitor_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

var (
	card1001  = acs.Card{Format: acs.H10301, Facility: 12, Number: 1001}
	card1002  = acs.Card{Format: acs.H10301, Facility: 12, Number: 1002}
	card1005  = acs.Card{Format: acs.H10301, Facility: 12, Number: 1005}
	cardEmp   = acs.Card{Format: acs.H10301, Facility: 12, Number: 5000}
	cardRange = acs.Card{Format: acs.H10304, Facility: 100, Number: 500000}
)

// doorFixture is a fixture whose ACS has doors: "lobby-in" and "side"
// (lobby level, entries), "lobby-out" (lobby level, exit) and "srv"
// (server-room level). It counts the swipes so it can read back each
// event the ACS recorded.
type doorFixture struct {
	*fixture
	swipes int
}

func newDoorFixture(t *testing.T, doors visitor.DoorPolicy, opts ...visitor.Option) *doorFixture {
	t.Helper()
	pol := testPolicy()
	pol.Doors = doors
	f := &doorFixture{fixture: newFixturePolicy(t, pol, opts...)}
	f.acs.AddDoor("lobby-in", "Lobby turnstile in", "lobby")
	f.acs.AddDoor("side", "Side entrance", "lobby")
	f.acs.AddDoor("lobby-out", "Lobby turnstile out", "lobby")
	f.acs.AddDoor("srv", "Server room", "server-room")
	return f
}

var errStop = errors.New("stop")

// swipe presents card at door now and returns the event the ACS recorded.
func (f *doorFixture) swipe(card acs.Card, door string, dir acs.Direction) acs.DoorEvent {
	f.t.Helper()
	f.acs.Swipe(card, door, dir, f.now())
	f.swipes++
	var got acs.DoorEvent
	err := f.acs.Events(f.ctx, strconv.Itoa(f.swipes-1), func(ev acs.DoorEvent) error { got = ev; return errStop })
	if !errors.Is(err, errStop) {
		f.t.Fatalf("reading back swipe %d: %v", f.swipes, err)
	}
	return got
}

func (f *doorFixture) record(ev acs.DoorEvent) visitor.DoorResult {
	f.t.Helper()
	res, err := f.e.RecordDoorEvent(f.ctx, "hq", ev)
	if err != nil {
		f.t.Fatalf("RecordDoorEvent(%+v): %v", ev, err)
	}
	return res
}

// employee provisions an employee cardholder (not a visit) at the ACS.
func (f *doorFixture) employee() {
	f.t.Helper()
	_, err := f.acs.Provision(f.ctx, acs.Grant{
		Person: acs.Person{ExternalID: "emp-7", FirstName: "Grace", LastName: "Hopper"}, Card: cardEmp,
		AccessLevels: []string{"lobby"}, ValidFrom: f.now().Add(-time.Hour), ValidUntil: f.now().Add(24 * time.Hour),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func wantLinked(t *testing.T, what string, res visitor.DoorResult, visitID string, by visitor.LinkedBy) {
	t.Helper()
	if res.VisitID != visitID || res.LinkedBy != by || res.Duplicate {
		t.Fatalf("%s: linked to %q by %q (duplicate %v), want %q by %q", what, res.VisitID, res.LinkedBy, res.Duplicate, visitID, by)
	}
}

func TestDoorEventLinksByExternalID(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	f.clock.Advance(time.Minute)

	ev := f.swipe(card1001, "lobby-in", acs.DirectionIn)
	if !ev.Granted || ev.Cardholder.ExternalID != "v1" {
		t.Fatalf("ACS event %+v: want granted, cardholder v1", ev)
	}
	res := f.record(ev)
	wantLinked(t, "badge swipe", res, "v1", visitor.ByExternalID)
	if res.Arrived || res.Visit.Doors.Events != 1 {
		t.Fatalf("result %+v", res)
	}

	// A mobile credential event carries the cardholder but no card data.
	f.clock.Advance(time.Minute)
	res = f.record(acs.DoorEvent{Cursor: "m-1", Time: f.now(), DoorID: "side", Cardholder: acs.CardholderRef{ExternalID: "v1"}, Granted: true})
	wantLinked(t, "event without card", res, "v1", visitor.ByExternalID)

	// An external ID naming no visit, and no card: unmatched.
	res = f.record(acs.DoorEvent{Cursor: "m-2", Time: f.now(), DoorID: "side", Cardholder: acs.CardholderRef{ExternalID: "nobody"}, Granted: true})
	if res.VisitID != "" {
		t.Fatalf("unknown external ID linked to %s", res.VisitID)
	}
	if got := f.visit("v1").Doors.Events; got != 2 {
		t.Fatalf("v1 has %d door events, want 2", got)
	}
}

func TestDoorEventLinksByCard(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	f.signIn("v2")
	v2 := f.provision("v2", visitor.ProvisionRequest{FromRange: true})
	if v2.Current().Card != cardRange {
		t.Fatalf("v2 got card %s, want %s", v2.Current().Card, cardRange)
	}
	f.clock.Advance(time.Minute)
	ev := func(c acs.Card, cursor string, granted bool) acs.DoorEvent {
		return acs.DoorEvent{Cursor: cursor, Time: f.now(), DoorID: "lobby-in", Card: c, Granted: granted, Direction: acs.DirectionIn}
	}

	wantLinked(t, "pool badge", f.record(ev(card1001, "1", true)), "v1", visitor.ByCard)
	wantLinked(t, "range number", f.record(ev(cardRange, "2", true)), "v2", visitor.ByCard)
	// An employee external ID that is no visit falls back to the card.
	e := ev(card1001, "3", true)
	e.Cardholder.ExternalID = "emp-7"
	wantLinked(t, "card with a foreign external ID", f.record(e), "v1", visitor.ByCard)
	for _, c := range []acs.Card{card1005, cardEmp, {Format: acs.H10304, Facility: 100, Number: 500049}, {Format: acs.H10304, Facility: 101, Number: 500000}} {
		if res := f.record(ev(c, "x-"+c.String(), false)); res.VisitID != "" {
			t.Errorf("card %s (no visit holds it) linked to %s", c, res.VisitID)
		}
	}
	// The audit record names the badge.
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{BadgeID: "1001"})
	doors := 0
	for _, r := range recs {
		if r.Action == visitor.ActDoor {
			doors++
		}
	}
	if doors != 2 {
		t.Fatalf("%d door records for badge 1001, want 2", doors)
	}

	// After sign-out the badge is back in the pool; a swipe soon after
	// still links to v1 (denied after sign-out), a swipe much later does
	// not, and neither does one before the badge was handed out.
	f.clock.Advance(time.Hour)
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if b := f.badgeState("1001"); b.VisitID != "" {
		t.Fatalf("badge 1001 still held by %s", b.VisitID)
	}
	f.clock.Advance(10 * time.Minute)
	res := f.record(ev(card1001, "4", false))
	wantLinked(t, "badge swipe after sign-out", res, "v1", visitor.ByCard)
	if res.Visit.State != visitor.SignedOut || res.Visit.Doors.Last.Granted {
		t.Fatalf("after sign-out: %s, last %s", res.Visit.State, res.Visit.Doors.Last)
	}
	f.clock.Advance(2 * time.Hour)
	if res := f.record(ev(card1001, "5", false)); res.VisitID != "" {
		t.Fatalf("swipe 2h after release linked to %s", res.VisitID)
	}
	old := ev(card1001, "6", false)
	old.Time = t0.Add(-time.Hour)
	if res := f.record(old); res.VisitID != "" {
		t.Fatalf("swipe before the badge was handed out linked to %s", res.VisitID)
	}
}

func TestDoorEventMarksArrival(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{MarkArrival: true, ArrivalDoors: []string{"lobby-in"}})
	inv, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "v1", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)})
	if err != nil || inv.State != visitor.Expected {
		t.Fatalf("Invite: %v, %v", inv.State, err)
	}
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	f.clock.Advance(50 * time.Minute)

	// Denied, an exit, and a door that does not mark arrival: no arrival.
	for _, s := range []struct {
		door string
		dir  acs.Direction
	}{{"srv", acs.DirectionIn}, {"lobby-in", acs.DirectionOut}, {"side", acs.DirectionIn}} {
		res := f.record(f.swipe(card1001, s.door, s.dir))
		if res.Arrived || res.Visit.State != visitor.Expected {
			t.Fatalf("swipe at %s (%s) arrived: %+v", s.door, s.dir, res)
		}
	}
	f.clock.Advance(time.Minute)
	arrival := f.swipe(card1001, "lobby-in", acs.DirectionIn)
	f.clock.Advance(30 * time.Second) // recorded a little after the swipe
	res := f.record(arrival)
	if !res.Arrived || res.Visit.State != visitor.SignedIn || !res.Visit.SignedInAt.Equal(arrival.Time) {
		t.Fatalf("arrival: %+v (signed in at %s, swipe at %s)", res, res.Visit.SignedInAt, arrival.Time)
	}
	f.wantActions("v1", "invite:ok", "provision:queued", "acs_provision:ok",
		"door:denied", "door:ok", "door:ok", "door:ok", "sign_in:ok")
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1"})
	si := recs[len(recs)-1]
	if si.Actor != visitor.ActorACS || si.From != visitor.Expected || si.To != visitor.SignedIn || si.Door.DoorID != "lobby-in" {
		t.Fatalf("sign-in record %+v", si)
	}
	// The next entry is just a door event; the visit was not changed twice.
	res = f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	if res.Arrived || !res.Visit.SignedInAt.Equal(arrival.Time) {
		t.Fatalf("second entry: %+v", res)
	}
	// The auto sign-out counts from the arrival.
	if want := arrival.Time.Add(testPolicy().AutoSignOut); res.Visit.DueAt.After(want) {
		t.Fatalf("due at %s, after the auto sign-out %s", res.Visit.DueAt, want)
	}
}

func TestDoorArrivalScreensWatchlist(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{MarkArrival: true})
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "v1", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	down := errors.New("screening service down")
	f.watch.err.Store(&down)
	res := f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	if res.Arrived || res.Visit.State != visitor.Expected || res.Visit.Doors.Events != 1 {
		t.Fatalf("watchlist down: %+v", res)
	}
	f.watch.err.Store(nil)
	f.watch.match.Store(&visitor.WatchlistMatch{List: "banned", Reason: "test"})
	res = f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	if !res.Arrived || res.Visit.Watchlist == nil || res.Visit.Watchlist.List != "banned" {
		t.Fatalf("watchlist match at arrival: %+v", res)
	}
}

func TestDoorArrivalOffKeepsState(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "v1", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	res := f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	if res.Arrived || res.Visit.State != visitor.Expected || !res.Visit.Doors.Inside() {
		t.Fatalf("%+v", res)
	}
}

func TestUnmatchedDoorEventHandler(t *testing.T) {
	var mu sync.Mutex
	var got []acs.DoorEvent
	var fail error
	f := newDoorFixture(t, visitor.DoorPolicy{}, visitor.WithUnmatchedDoorEvents(func(ctx context.Context, location string, ev acs.DoorEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if location != "hq" {
			t.Errorf("location %q", location)
		}
		got = append(got, ev)
		return fail
	}))
	f.employee()
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	before, _ := f.e.Audit(f.ctx, visitor.AuditQuery{})

	emp := f.swipe(cardEmp, "lobby-in", acs.DirectionIn)
	if res := f.record(emp); res.VisitID != "" {
		t.Fatalf("employee swipe linked to %s", res.VisitID)
	}
	unknown := f.swipe(acs.Card{Format: acs.H10301, Facility: 99, Number: 1}, "lobby-in", acs.DirectionIn)
	f.record(unknown)
	f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn)) // a visitor: not for the handler
	if len(got) != 2 || got[0].Cardholder.ExternalID != "emp-7" || !got[0].Granted || got[1].Granted || got[1].Cursor != unknown.Cursor {
		t.Fatalf("handler got %+v", got)
	}
	after, _ := f.e.Audit(f.ctx, visitor.AuditQuery{})
	if len(after) != len(before)+1 {
		t.Fatalf("%d audit records added, want 1 (the visitor's)", len(after)-len(before))
	}
	fail = errors.New("VMS database down")
	if _, err := f.e.RecordDoorEvent(f.ctx, "hq", emp); !errors.Is(err, fail) {
		t.Fatalf("handler failure: %v", err)
	}
}

func TestDoorLastSeenAndTimeline(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	f.clock.Advance(time.Minute)
	t1 := f.now()
	f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	f.clock.Advance(time.Minute)
	f.record(f.swipe(card1001, "srv", acs.DirectionUnknown))
	v := f.visit("v1")
	if l, g := v.Doors.Last, v.Doors.LastGranted; l.DoorID != "srv" || l.Granted || g.DoorID != "lobby-in" || !g.Granted || g.Direction != acs.DirectionIn || !g.Time.Equal(t1) {
		t.Fatalf("last %s, last granted %s", l, g)
	}
	f.clock.Advance(time.Minute)
	t3 := f.now()
	f.record(f.swipe(card1001, "lobby-out", acs.DirectionOut))
	// A late event (an offline controller's backlog) joins the timeline
	// but does not hide the newer ones.
	late := f.record(acs.DoorEvent{Cursor: "late-1", Time: t1.Add(-30 * time.Second), DoorID: "side", Card: card1001, Granted: true})
	d := late.Visit.Doors
	if d.Events != 4 || d.Last.DoorID != "lobby-out" || !d.Last.Time.Equal(t3) || d.LastGranted.Direction != acs.DirectionOut || d.Inside() {
		t.Fatalf("after the late event: %+v", d)
	}

	tl, err := f.e.DoorTimeline(f.ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var doors []string
	for _, s := range tl {
		doors = append(doors, s.DoorID+"/"+strconv.FormatBool(s.Granted))
	}
	if want := []string{"lobby-in/true", "srv/false", "lobby-out/true", "side/true"}; !slices.Equal(doors, want) {
		t.Fatalf("timeline %q, want %q", doors, want)
	}
	// The records carry the event's time, so time-range queries find
	// them; the earliest are the sign-in and provision.
	recs, err := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1", Since: t1, Until: t3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Action)+":"+string(r.Outcome)+"@"+r.Door.DoorID)
		if r.Actor != visitor.ActorACS || r.Card != card1001.String() || r.BadgeID != "1001" || r.Location != "hq" || r.From != visitor.SignedIn {
			t.Errorf("door record %+v", r)
		}
	}
	if want := []string{"door:ok@lobby-in", "door:denied@srv"}; !slices.Equal(got, want) {
		t.Fatalf("records from t1 to t3: %q, want %q", got, want)
	}
	// The exports carry the door.
	var buf bytes.Buffer
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{VisitID: "v1"}, visitor.CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if n := len(last); last[n-3] != "side" || last[n-2] != "" || last[n-1] != "unknown" {
		t.Fatalf("CSV row of the late event: %q", last)
	}
	buf.Reset()
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{VisitID: "v1"}, visitor.JSONLines); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"door":{"location":"hq","door_id":"lobby-out","door_name":"Lobby turnstile out"`) ||
		!strings.Contains(buf.String(), `"direction":"out"`) {
		t.Fatalf("JSON export lacks the door:\n%s", buf.String())
	}
}

func TestDoorEventIdempotent(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{MarkArrival: true})
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "v1", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	ev := f.swipe(card1001, "lobby-in", acs.DirectionIn)
	first := f.record(ev)
	if !first.Arrived {
		t.Fatalf("first delivery: %+v", first)
	}
	n := len(f.actions("v1"))
	for _, again := range []acs.DoorEvent{ev, func() acs.DoorEvent { e := ev; e.Cardholder = acs.CardholderRef{}; return e }()} {
		res := f.record(again)
		if !res.Duplicate || res.Arrived || res.Visit.Version != first.Visit.Version || res.Visit.Doors.Events != 1 {
			t.Fatalf("re-delivery: %+v (version %d, was %d)", res, res.Visit.Version, first.Visit.Version)
		}
	}
	if got := len(f.actions("v1")); got != n {
		t.Fatalf("re-delivery added %d audit records", got-n)
	}
	// Events without a cursor are recognised by their content.
	nc := acs.DoorEvent{Time: f.now().Add(time.Minute), DoorID: "side", Card: card1001, Granted: true}
	if f.record(nc).Duplicate || !f.record(nc).Duplicate {
		t.Fatal("an event without a cursor is not recognised when delivered again")
	}
	// A replay from far back (a lost cursor) changes nothing either, even
	// once the visit has more events than it remembers by key.
	var all []acs.DoorEvent
	for range 20 {
		f.clock.Advance(time.Minute)
		e := f.swipe(card1001, "side", acs.DirectionIn)
		f.record(e)
		all = append(all, e)
	}
	v := f.visit("v1")
	n = len(f.actions("v1"))
	for _, e := range append([]acs.DoorEvent{ev}, all...) {
		if res := f.record(e); !res.Duplicate {
			t.Fatalf("replayed event %s recorded again", e.Cursor)
		}
	}
	if after := f.visit("v1"); after.Version != v.Version || len(f.actions("v1")) != n {
		t.Fatal("a replay changed the visit or its audit trail")
	}
}

func TestRecordDoorEventValidates(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	good := acs.DoorEvent{Time: f.now(), DoorID: "lobby-in", Card: card1001}
	for name, c := range map[string]struct {
		loc string
		ev  acs.DoorEvent
	}{
		"unknown location": {"annex", good},
		"no door":          {"hq", acs.DoorEvent{Time: f.now()}},
		"no time":          {"hq", acs.DoorEvent{DoorID: "d"}},
		"bad direction":    {"hq", acs.DoorEvent{Time: f.now(), DoorID: "d", Direction: 7}},
	} {
		_, err := f.e.RecordDoorEvent(f.ctx, c.loc, c.ev)
		wantCode(t, name, err, acs.InvalidArgument)
	}
	// And policies validate their door settings.
	for _, d := range []visitor.DoorPolicy{{LinkAfterRelease: -time.Second}, {ArrivalDoors: []string{""}}} {
		p := testPolicy()
		p.Doors = d
		if p.Validate() == nil {
			t.Errorf("door policy %+v accepted", d)
		}
	}
}

func TestMusterReport(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{})
	signIn := func(id, first string, b string) {
		t.Helper()
		if _, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: visitor.Visitor{FirstName: first, LastName: "Test"}, Host: "Grace"}); err != nil {
			t.Fatal(err)
		}
		if b != "" {
			f.provision(id, visitor.ProvisionRequest{BadgeID: b})
		}
	}
	signIn("v-in", "Ada", "1001")
	signIn("v-unseen", "Bea", "")
	signIn("v-left", "Cy", "1002")
	signIn("v-out", "Dee", "1003")
	for _, id := range []string{"v-exp", "v-exp-away"} {
		if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: id, Location: "hq", Visitor: visitor.Visitor{FirstName: "Eve " + id}, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	f.provision("v-exp", visitor.ProvisionRequest{BadgeID: "1004"})
	f.clock.Advance(time.Minute)
	f.record(f.swipe(card1001, "lobby-in", acs.DirectionIn))
	f.record(f.swipe(card1002, "lobby-in", acs.DirectionIn))
	f.record(f.swipe(acs.Card{Format: acs.H10301, Facility: 12, Number: 1003}, "lobby-in", acs.DirectionIn))
	f.record(f.swipe(acs.Card{Format: acs.H10301, Facility: 12, Number: 1004}, "side", acs.DirectionUnknown))
	f.clock.Advance(time.Minute)
	f.record(f.swipe(card1002, "lobby-out", acs.DirectionOut))
	f.record(f.swipe(card1001, "srv", acs.DirectionIn)) // denied: still inside, last seen at srv
	if _, err := f.e.SignOut(f.ctx, kiosk, "v-out", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}

	rep, err := f.e.Muster(f.ctx, "hq")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range rep.Entries {
		got = append(got, en.VisitID+":"+string(en.Status)+":"+string(en.State)+":"+en.LastSeen.DoorID)
	}
	want := []string{
		"v-in:inside:signed_in:srv", "v-exp:inside:expected:side",
		"v-unseen:unseen:signed_in:", "v-left:left:signed_in:lobby-out",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("muster:\n got  %q\n want %q", got, want)
	}
	if rep.Inside != 2 || rep.Unseen != 1 || rep.Left != 1 || rep.Missing() != 3 || !rep.At.Equal(f.now()) {
		t.Fatalf("counts %d/%d/%d at %s", rep.Inside, rep.Unseen, rep.Left, rep.At)
	}
	in := rep.Entries[0]
	if in.Name != "Ada Test" || in.Host != "Grace" || in.BadgeID != "1001" || in.LastGranted.DoorID != "lobby-in" || in.LastSeen.Granted {
		t.Fatalf("entry %+v", in)
	}

	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back visitor.MusterReport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Entries) != 4 || back.Inside != 2 || back.Entries[3].LastGranted.Direction != acs.DirectionOut || !back.Entries[0].LastSeen.Time.Equal(in.LastSeen.Time) {
		t.Fatalf("JSON round trip: %+v", back)
	}
	if !strings.Contains(buf.String(), `"status": "left"`) || !strings.Contains(buf.String(), `"direction": "out"`) {
		t.Fatalf("JSON:\n%s", buf.String())
	}
	buf.Reset()
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "visit_id" || rows[1][0] != "v-in" || rows[1][8] != "inside" || rows[1][11] != "srv" || rows[1][13] != "false" {
		t.Fatalf("CSV:\n%q", rows)
	}

	all, err := f.e.Muster(f.ctx, "")
	if err != nil || len(all.Entries) != 4 || all.Location != "" {
		t.Fatalf("all locations: %d entries, %v", len(all.Entries), err)
	}
	_, err = f.e.Muster(f.ctx, "annex")
	wantCode(t, "unknown location", err, acs.InvalidArgument)
}

func TestDoorLinkAfterReleaseSetting(t *testing.T) {
	f := newDoorFixture(t, visitor.DoorPolicy{LinkAfterRelease: 5 * time.Minute})
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after time.Duration
		visit string
	}{{4 * time.Minute, "v1"}, {6 * time.Minute, ""}} {
		ev := acs.DoorEvent{Cursor: c.after.String(), Time: f.now().Add(c.after), DoorID: "lobby-in", Card: card1001}
		if res := f.record(ev); res.VisitID != c.visit {
			t.Errorf("swipe %s after release linked to %q, want %q", c.after, res.VisitID, c.visit)
		}
	}
}
