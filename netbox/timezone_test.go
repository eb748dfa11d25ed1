package netbox

import (
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// controllerZone returns a zone whose offset differs from the host's now,
// so that a date written in the host's zone (or UTC) shows.
func controllerZone(t *testing.T, at time.Time) string {
	t.Helper()
	_, host := at.In(time.Local).Zone()
	for _, z := range []string{"America/Los_Angeles", "Asia/Kathmandu", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal(err)
		}
		if _, off := at.In(loc).Zone(); off != host && off != 0 {
			return z
		}
	}
	t.Fatal("no zone differs from the host's")
	return ""
}

// The controller's zone differs from the host's (and from UTC): the
// window is written as the controller's wall clock, opens at the
// controller exactly inside the grant, reads back as the same instants,
// and door events carry the instant of the swipe.
func TestControllerTimeZone(t *testing.T) {
	now := newTestClock().Now()
	zone := controllerZone(t, now)
	name, off := now.In(time.Local).Zone()
	t.Logf("host zone %s (UTC%+.1fh), controller zone %s", name, float64(off)/3600, zone)
	e := newEnv(t, envOpts{zone: zone})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	from, until := window(g.ValidFrom, g.ValidUntil, e.clock.Now())
	wantAct, wantExp := from.In(e.loc).Format(wireMinute), until.In(e.loc).Format(wireMinute)
	var add string
	for _, r := range e.sim.Requests() {
		if r.Command == "AddPerson" {
			add = r.Params
		}
	}
	if !strings.Contains(add, "ACTDATE="+wantAct+";") || !strings.Contains(add, "EXPDATE="+wantExp+";") {
		t.Errorf("AddPerson %s, want ACTDATE %s and EXPDATE %s", add, wantAct, wantExp)
	}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{from.Add(-time.Second), false}, {from, true}, {until.Add(-time.Second), true}, {until, false},
	} {
		if got := e.opens(p.Credential, netboxsim.LevelLobby, c.at); got != c.want {
			t.Errorf("opens at %s: %v, want %v", c.at.UTC(), got, c.want)
		}
	}
	var held acs.Holding
	if err := e.p.Holdings(ctx, func(h acs.Holding) error { held = h; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := held.Credentials[0]; !c.ValidFrom.Equal(from) || !c.ValidUntil.Equal(until) {
		t.Errorf("holdings window %s – %s, want %s – %s", c.ValidFrom, c.ValidUntil, from, until)
	}
	at := e.clock.Now().Truncate(time.Second)
	e.swipe(netboxsim.ReaderLobby, g.Card)
	if ev := collect(t, e, "", 1)[0]; !ev.Time.Equal(at) {
		t.Errorf("event at %s, want %s", ev.Time.UTC(), at.UTC())
	}
}

// A provider configured with the wrong zone writes a window the
// controller reads hours off: the reason Config.TimeZone exists.
func TestWrongTimeZoneShifts(t *testing.T) {
	e := newEnv(t, envOpts{zone: "America/Los_Angeles", cfg: func(c *Config) { c.TimeZone = "UTC" }})
	p, err := e.p.Provision(t.Context(), e.grant(1))
	if err != nil {
		t.Fatal(err)
	}
	if e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("a window written in UTC to a Pacific controller opens now; the test shows nothing")
	}
}

// A window across a DST change in the controller's zone: the wall clock
// jumps from 02:00 to 03:00, the window keeps its instants.
func TestWindowAcrossDST(t *testing.T) {
	e := newEnv(t, envOpts{zone: "America/New_York"})
	g := e.grant(1)
	g.ValidFrom = time.Date(2025, 3, 9, 6, 30, 0, 0, time.UTC)  // 01:30 EST
	g.ValidUntil = time.Date(2025, 3, 9, 8, 30, 0, 0, time.UTC) // 04:30 EDT
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.sim.Person(p.Cardholder.ID)
	if !got.ActDate.Equal(g.ValidFrom) || !got.ExpDate.Equal(g.ValidUntil) {
		t.Errorf("stored %s – %s, want %s – %s", got.ActDate, got.ExpDate, g.ValidFrom, g.ValidUntil)
	}
	if !e.opens(p.Credential, netboxsim.LevelLobby, g.ValidUntil.Add(-time.Minute)) || e.opens(p.Credential, netboxsim.LevelLobby, g.ValidUntil) {
		t.Error("the window's end moved")
	}
}

// Dates are read in every form seen, an offset honoured.
func TestParseTime(t *testing.T) {
	e := newEnv(t, envOpts{zone: "Asia/Kolkata"})
	want := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"2025-03-10 14:30:00", "2025-03-10 14:30", "2025-03-10T14:30:00", "03/10/2025 14:30:00",
		"2025-03-10T09:00:00Z", "2025-03-10 14:30:00 +0530", "2025-03-10 04:00:00-05:00", " 2025-03-10 14:30:00 ",
	} {
		if got, ok := e.p.parseTime(s); !ok || !got.Equal(want) {
			t.Errorf("%q read as %s (%v)", s, got, ok)
		}
	}
	for _, s := range []string{"", "tomorrow", "2025-13-40 25:00"} {
		if _, ok := e.p.parseTime(s); ok {
			t.Errorf("%q read as a date", s)
		}
	}
}

// The window is rounded to whole minutes so that the badge never works
// outside the visit: the end down, a start to come up, a start passed
// down (those seconds are over).
func TestWindowRounding(t *testing.T) {
	base := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	f, u := window(base.Add(10*time.Second), base.Add(time.Hour+50*time.Second), base)
	if !f.Equal(base.Add(time.Minute)) || !u.Equal(base.Add(time.Hour)) {
		t.Errorf("a start to come: rounded to %s – %s", f, u)
	}
	f, u = window(base.Add(10*time.Second), base.Add(time.Hour+50*time.Second), base.Add(10*time.Second))
	if !f.Equal(base) || !u.Equal(base.Add(time.Hour)) {
		t.Errorf("a start passed: rounded to %s – %s", f, u)
	}
	e := newEnv(t, envOpts{})
	g := e.grant(1)
	g.ValidFrom, g.ValidUntil = base.Add(10*time.Second), base.Add(50*time.Second)
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.InvalidArgument || len(e.sim.Requests()) != 0 {
		t.Errorf("a window without a whole minute: %v after %d requests", err, len(e.sim.Requests()))
	}
}

// A walk-in's badge opens as soon as Provision returns, though the
// controller stores minutes and the sign-in fell mid-minute; a start to
// come is not brought forward, and once it has passed a repeat
// provision makes the badge open at once. Seen under chaos: visits signed
// in a few seconds before the check held an Active credential that opened
// nothing until the next minute.
func TestStartPassedOpensAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	g.ValidFrom = e.clock.Now() // mid-minute: 09:00:00.5
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if !e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("the walk-in's badge does not open when Provision returns")
	}
	g2 := e.grant(2)
	g2.ValidFrom = e.clock.Now().Add(30 * time.Second)
	p2, err := e.p.Provision(ctx, g2)
	if err != nil {
		t.Fatal(err)
	}
	if e.opens(p2.Credential, netboxsim.LevelLobby, g2.ValidFrom.Add(-time.Second)) {
		t.Error("a badge whose visit starts later opens before it")
	}
	e.clock.Advance(45 * time.Second)
	if _, err := e.p.Provision(ctx, g2); err != nil {
		t.Fatal(err)
	}
	if !e.opens(p2.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("once its start passed, the repeated provision left the badge closed until the next minute")
	}
}
