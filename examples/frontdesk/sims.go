package main

// The three simulated sites of the demo: a simulator of each ACS on
// loopback, the adapter that talks to it, a badge pool and a door panel.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Door is a reader a door panel can swipe a badge at.
type Door struct {
	ID, Name string
}

// Swipe is one badge presented at a door of the panel.
type Swipe struct {
	At      time.Time
	BadgeID string
	Door    string
	Granted bool
}

// DoorPanel swipes badges at a simulator's doors: the simulator decides,
// as a controller would, and reports the event to the adapter's event
// stream like any other.
type DoorPanel interface {
	Doors() []Door
	Swipe(card badge.Card, doorID string, at time.Time) (granted bool, err error)
}

// SwipeAt presents a pool badge at a door of the site's panel and
// remembers the outcome for the panel's page.
func (s *Site) SwipeAt(b badge.Badge, doorID string) (Swipe, error) {
	if s.Doors == nil {
		return Swipe{}, fmt.Errorf("%s has no door panel", s.ID)
	}
	name := ""
	for _, d := range s.Doors.Doors() {
		if d.ID == doorID {
			name = d.Name
		}
	}
	if name == "" {
		return Swipe{}, fmt.Errorf("no door %q at %s", doorID, s.ID)
	}
	if b.Card.IsZero() {
		return Swipe{}, fmt.Errorf("badge %s has no card data", b.ID)
	}
	now := time.Now()
	granted, err := s.Doors.Swipe(b.Card, doorID, now)
	if err != nil {
		return Swipe{}, err
	}
	sw := Swipe{At: now, BadgeID: b.ID, Door: name, Granted: granted}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swipes = append(s.swipes, sw)
	if len(s.swipes) > 20 {
		s.swipes = slices.Delete(s.swipes, 0, len(s.swipes)-20)
	}
	return sw, nil
}

// Swipes returns the panel's latest swipes, newest first.
func (s *Site) Swipes() []Swipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.swipes)
	slices.Reverse(out)
	return out
}

// SimulatedSites starts a Genetec, a Lenel and a Brivo simulator on
// loopback, each behind its adapter, and returns one site per simulator
// with the demo policy and six badges. Each site's stop function closes
// its simulator.
func SimulatedSites(ctx context.Context) ([]*Site, error) {
	var sites []*Site
	fail := func(err error) ([]*Site, error) {
		for _, s := range sites {
			s.stop()
		}
		return nil, err
	}
	for _, start := range []func(context.Context) (*Site, error){genetecSite, lenelSite, brivoSite} {
		s, err := start(ctx)
		if err != nil {
			return fail(err)
		}
		sites = append(sites, s)
	}
	for i, s := range sites {
		levels, err := s.Provider.AccessLevels(ctx)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", s.ID, err))
		}
		lobby, floor3 := levelNamed(levels, "lobby"), levelNamed(levels, "floor 3")
		if lobby == "" || floor3 == "" {
			return fail(fmt.Errorf("%s: the simulator lists no lobby and floor 3 access levels", s.ID))
		}
		s.Policy = DemoPolicy(lobby, floor3)
		s.CardFormat, s.Facility = wiegand.H10301, uint64(10*(i+1))
		for n := 1; n <= 6; n++ {
			id := strconv.Itoa(1000*(i+1) + n)
			s.Badges = append(s.Badges, s.NewBadge(id, fmt.Sprintf("Visitor %02d", n), ""))
		}
	}
	return sites, nil
}

func levelNamed(levels []acs.AccessLevel, part string) string {
	for _, l := range levels {
		if strings.Contains(strings.ToLower(l.Name), part) {
			return l.ID
		}
	}
	return ""
}

// serve starts a simulator on loopback and connects its adapter.
func serve(h http.Handler, connect func(url string) (acs.Provider, error)) (acs.Provider, func(), error) {
	srv := httptest.NewServer(h)
	p, err := connect(srv.URL)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	stop := srv.Close
	if c, ok := p.(acs.Closer); ok {
		stop = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Close(ctx)
			srv.Close()
		}
	}
	return p, stop, nil
}

func genetecSite(context.Context) (*Site, error) {
	sim := genetecsim.New()
	p, stop, err := serve(sim, func(url string) (acs.Provider, error) {
		return genetec.New(genetec.Config{
			BaseURL: url + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
			Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
		})
	})
	if err != nil {
		return nil, err
	}
	return &Site{ID: "london-hq", Name: "London HQ", Provider: p, Doors: genetecDoors{sim}, stop: stop}, nil
}

type genetecDoors struct{ sim *genetecsim.Server }

func (g genetecDoors) Doors() []Door {
	var out []Door
	for _, d := range g.sim.Doors() {
		out = append(out, Door{ID: d.GUID, Name: d.Name})
	}
	return out
}

func (g genetecDoors) Swipe(c badge.Card, door string, at time.Time) (bool, error) {
	ev, err := g.sim.Swipe(door, c, at)
	return ev.Granted(), err
}

func lenelSite(context.Context) (*Site, error) {
	sim := lenelsim.New()
	sim.AddDoor(lenelsim.DoorSpec{Panel: 1, Name: "Lobby turnstile", TimeAttendance: lenelsim.ReaderEntrance, AccessLevels: []int64{lenelsim.LevelLobby}})
	sim.AddDoor(lenelsim.DoorSpec{Panel: 1, Name: "Floor 3", AccessLevels: []int64{lenelsim.LevelFloor3}})
	sim.AddDoor(lenelsim.DoorSpec{Panel: 2, Name: "Lobby exit", TimeAttendance: lenelsim.ReaderExit, AccessLevels: []int64{lenelsim.LevelLobby}})
	p, stop, err := serve(sim, func(url string) (acs.Provider, error) {
		return lenel.New(lenel.Config{
			BaseURL: url + lenelsim.BasePath, Username: lenelsim.DefaultUser,
			Password: lenelsim.DefaultPassword, ApplicationID: lenelsim.DefaultApplicationID,
		}, lenel.WithEvents(lenel.EventOptions{Interval: 500 * time.Millisecond}))
	})
	if err != nil {
		return nil, err
	}
	return &Site{ID: "paris-campus", Name: "Paris Campus", Provider: p, Doors: lenelDoors{sim}, stop: stop}, nil
}

type lenelDoors struct{ sim *lenelsim.Server }

func (l lenelDoors) Doors() []Door {
	var out []Door
	for _, d := range l.sim.Doors() {
		out = append(out, Door{ID: d.ID, Name: d.Name})
	}
	return out
}

// Swipe presents the card's number: OnGuard's badge ID is the card number
// (the lenel adapter's default BadgeIDFunc).
func (l lenelDoors) Swipe(c badge.Card, door string, at time.Time) (bool, error) {
	return l.sim.Swipe(int64(c.Number), door, at), nil
}

// The Brivo site's doors: the simulator's two, each opened by its own
// group, and an exit reader.
const brivoExitDoor = 408023600

func brivoSite(context.Context) (*Site, error) {
	doors := brivosim.DefaultDoors()
	groups := brivosim.DefaultGroups()
	for i := range doors {
		doors[i].Groups = doors[i].Groups[:1]
	}
	doors = append(doors, brivosim.Door{ID: brivoExitDoor, Name: "Lobby exit", Groups: []int64{groups[0].ID}})
	sim := brivosim.New(brivosim.WithDoors(doors...))
	k := brivosim.DefaultCredentials()
	p, stop, err := serve(sim, func(url string) (acs.Provider, error) {
		return brivo.New(brivo.Config{
			BaseURL: url + brivosim.APIPrefix, AuthURL: url, ClientID: k.ClientID,
			ClientSecret: k.ClientSecret, APIKey: k.APIKey, Username: k.Username, Password: k.Password,
		},
			brivo.WithEvents(brivo.EventOptions{Interval: 500 * time.Millisecond, Settle: time.Millisecond}),
			brivo.WithDoorDirection(strconv.Itoa(brivoExitDoor), acs.DirectionOut))
	})
	if err != nil {
		return nil, err
	}
	return &Site{ID: "berlin-office", Name: "Berlin Office", Provider: p, Doors: brivoDoors{sim}, stop: stop}, nil
}

type brivoDoors struct{ sim *brivosim.Server }

func (b brivoDoors) Doors() []Door {
	var out []Door
	for _, d := range b.sim.Doors() {
		out = append(out, Door{ID: strconv.FormatInt(d.ID, 10), Name: d.Name})
	}
	return out
}

func (b brivoDoors) Swipe(c badge.Card, door string, at time.Time) (bool, error) {
	id, err := strconv.ParseInt(door, 10, 64)
	if err != nil {
		return false, fmt.Errorf("door %q: %w", door, err)
	}
	ev, err := b.sim.Swipe(wiegand.Card(c), id, at)
	return ev.Granted, err
}
