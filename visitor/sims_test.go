package visitor_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/alta"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/netbox"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
	"github.com/acsbridge/acsbridge/verkada"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
	"github.com/acsbridge/acsbridge/visitor"
)

// startSim starts the simulator of the registered provider name on the
// clock, serves it on loopback behind an outage switch, and builds its
// adapter through the registry (internal/providers) with one quick retry,
// no client rate limit, its log lines (debug level) kept in simACS.logs,
// and the adapter's own options in extra. It returns
// the simulator, for the caller's oracle and door hooks, and a simACS
// holding the provider, the switch and the first two seeded access levels.
func startSim[S any](t *testing.T, name string, clock *visitor.ManualClock, extra ...any) (*S, *simACS) {
	t.Helper()
	reg, ok := providers.Lookup(name)
	if !ok {
		t.Fatalf("no provider %q in the registry", name)
	}
	sim := reg.Simulate(providers.SimOptions{Clock: clock.Now})
	server, ok := sim.Server.(*S)
	if !ok {
		t.Fatalf("the %s simulator is a %T", name, sim.Server)
	}
	net, origin := serve(t, sim.Handler)
	logs := &pinCapture{}
	p, err := reg.Build(reg.SimConfig(origin), providers.Options{Clock: clock.Now, Logger: logs.logger(),
		Retry:     &providers.Retry{Max: 1, WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond},
		RateLimit: &providers.RateLimit{}, Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.(acs.Closer); ok {
		t.Cleanup(func() { _ = c.Close(context.Background()) })
	}
	return server, &simACS{name: name, p: p, net: net, levels: [2]string{sim.Levels[0], sim.Levels[1]}, logs: logs}
}

func altaACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[altasim.Server](t, "alta", clock,
		alta.WithEvents(alta.EventOptions{Interval: 10 * time.Millisecond, Settle: time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	lobby := altasim.DefaultEntries()[0].ID
	s.door = strconv.FormatInt(lobby, 10)
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		uid, err := sim.AddUser("grace.hopper@example.com", "Grace", "Hopper", "")
		if err != nil {
			t.Fatal(err)
		}
		gid, _ := strconv.ParseInt(level, 10, 64)
		status := "A"
		if !enabled {
			status = "S"
		}
		cid, err := sim.AddCard(uid, card.Format, card.Facility, card.Number)
		if err == nil {
			err = errors.Join(sim.SetUserGroups(uid, gid), sim.SetUserStatus(uid, status))
		}
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(uid, 10), acs.CredentialRef{ID: strconv.FormatInt(cid, 10)}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.tap = func(t *testing.T, card acs.Card, door string) bool {
		id, _ := strconv.ParseInt(door, 10, 64)
		granted, err := sim.Swipe(id, card.Format, card.Facility, card.Number)
		if err != nil {
			t.Fatal(err)
		}
		return granted
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.Users, Credentials: c.Credentials}
	}
	s.pinLen, s.pinOnly = 8, true
	s.keypad = func(t *testing.T) func(acs.PIN, time.Time) bool {
		if !sim.SetEntryKeypad(lobby, true) {
			t.Fatal("altasim: no lobby entry")
		}
		return func(pin acs.PIN, at time.Time) bool { return sim.PINOpensEntry(pin.Reveal(), lobby, at) }
	}
	return s
}

func verkadaACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[verkadasim.Server](t, "verkada", clock,
		verkada.WithEvents(verkada.EventOptions{Interval: 10 * time.Millisecond, Settle: time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	s.door = verkadasim.DefaultDoors()[0].ID
	s.reader = sim.AddDoor("Desk reader").ID
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		uid, err := sim.AddUser("Grace", "Hopper", "")
		if err != nil {
			t.Fatal(err)
		}
		cid, err := sim.AddCard(uid, verkadasim.WiegandCardType(card.Format), card.Facility, card.Number, true)
		if err == nil {
			err = sim.SetGroups(uid, level)
		}
		if err == nil && !enabled {
			err = sim.SetWindow(uid, clock.Now().Add(365*24*time.Hour), time.Time{})
		}
		if err != nil {
			t.Fatal(err)
		}
		return uid, acs.CredentialRef{ID: cid}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.tap = func(t *testing.T, card acs.Card, door string) bool {
		ev, err := sim.Swipe(verkadasim.WiegandCardType(card.Format), card.Facility, card.Number, door, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ev.Granted
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.Users, Credentials: c.Cards}
	}
	s.pinLen, s.pinOnly = 8, true
	s.keypad = func(t *testing.T) func(acs.PIN, time.Time) bool {
		if !sim.SetDoorKeypad(s.door, true) {
			t.Fatal("verkadasim: no front door")
		}
		return func(pin acs.PIN, at time.Time) bool { return sim.PINOpensDoor(pin.Reveal(), s.door, at) }
	}
	return s
}

func netboxACS(t *testing.T, clock *visitor.ManualClock) *simACS {
	sim, s := startSim[netboxsim.Server](t, "netbox", clock,
		netbox.WithEvents(netbox.EventOptions{Interval: 10 * time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	// The lobby reader's key is also its portal's, which door events name.
	s.door = netboxsim.ReaderLobby
	names := map[string]string{netboxsim.LevelLobby: netboxsim.LevelLobbyName, netboxsim.LevelFloor3: netboxsim.LevelFloor3Name}
	s.addEmployee = func(t *testing.T, card acs.Card, enabled bool, level string) (string, acs.CredentialRef) {
		id, num := "emp-"+strconv.FormatUint(card.Number, 10), strconv.FormatUint(card.Number, 10)
		if !sim.AddPerson(netboxsim.PersonInfo{ID: id, FirstName: "Grace", LastName: "Hopper", Levels: []string{names[level]},
			Credentials: []netboxsim.CredentialInfo{{EncodedNum: num, HotStamp: num, Format: netboxsim.Format26, Disabled: !enabled}}}) {
			t.Fatalf("netboxsim already holds person %s", id)
		}
		cid, _ := sim.FindCredential(id, netboxsim.Format26, num)
		return id, acs.CredentialRef{ID: cid}
	}
	s.opens = func(ref acs.CredentialRef, level string, at time.Time) bool { return sim.Opens(ref.ID, level, at) }
	s.tap = func(t *testing.T, card acs.Card, door string) bool {
		a, ok := sim.Swipe(door, netboxsim.Format26, strconv.FormatUint(card.Number, 10))
		if !ok {
			t.Fatalf("netboxsim has no reader %s", door)
		}
		return a.Granted
	}
	s.census = func() acstest.Census {
		c := sim.Census()
		return acstest.Census{Cardholders: c.People, Credentials: c.Credentials}
	}
	s.pinLen, s.pinOnly = 8, true
	s.keypad = func(t *testing.T) func(acs.PIN, time.Time) bool {
		if !sim.SetReaderKeypad(netboxsim.ReaderLobby, true) {
			t.Fatal("netboxsim: no lobby reader")
		}
		return func(pin acs.PIN, at time.Time) bool {
			return sim.PINOpensReader(pin.Reveal(), netboxsim.ReaderLobby, at)
		}
	}
	return s
}
