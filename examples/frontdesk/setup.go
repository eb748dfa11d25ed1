package main

// This file is the whole set-up of the visitor engine: the store, one
// visitor.Location per site with its policy, the engine and its options,
// the badge pools, and the background work (outbox retries, the sweeper,
// door events). The handlers in the other files only call what it builds.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Site is one location of the front desk: its access control system, the
// card data its badges carry and, for a simulator, the door panel that
// swipes badges at its doors.
type Site struct {
	// ID is the location key (visitor.Location.ID).
	ID string
	// Name is what the pages show ("London HQ").
	Name string
	// Provider is the location's ACS.
	Provider acs.Provider
	// CardFormat and Facility make the card data of the badges an
	// administrator adds: the badge ID is the card number.
	CardFormat wiegand.Format
	Facility   uint64
	// Doors is the simulator's door panel; nil for a real ACS.
	Doors DoorPanel

	// Policy is given to the engine as the location's rules.
	Policy visitor.Policy
	// Badges seeds the location's pool when it has none.
	Badges []badge.Badge

	// stop releases what the site holds (a simulator's server, the
	// provider's session).
	stop func()

	mu        sync.Mutex
	levels    []acs.AccessLevel
	formats   []acs.CredentialFormat
	refreshed time.Time
	swipes    []Swipe
}

// Catalog returns what the last Refresh read from the ACS.
func (s *Site) Catalog() (levels []acs.AccessLevel, formats []acs.CredentialFormat, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]acs.AccessLevel(nil), s.levels...), append([]acs.CredentialFormat(nil), s.formats...), s.refreshed
}

// Refresh reads the ACS's access levels and credential formats (the
// admin page's Refresh Provider).
func (s *Site) Refresh(ctx context.Context) error {
	levels, err := s.Provider.AccessLevels(ctx)
	if err != nil {
		return err
	}
	formats, err := s.Provider.CredentialFormats(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.levels, s.formats, s.refreshed = levels, formats, time.Now()
	return nil
}

// LevelName returns the name of an access level, or its ID when unknown.
func (s *Site) LevelName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.levels {
		if l.ID == id {
			return l.Name
		}
	}
	return id
}

// FormatName returns the name of a credential format, or its ID.
func (s *Site) FormatName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.formats {
		if f.ID == id {
			return f.Name
		}
	}
	return id
}

// NewBadge makes the badge an administrator registers with a name, a
// badge ID and a badge type from the ACS: the ID, when it is a number, is
// the card number, in the type's card format (or the site's) with the
// site's facility code. An ID that is not a number gets no card data, and
// the badge package's validation says what is wrong with it.
func (s *Site) NewBadge(id, name, typ string) badge.Badge {
	b := badge.Badge{Location: s.ID, ID: id, Name: name, CredentialType: typ}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return b
	}
	f := s.CardFormat
	_, formats, _ := s.Catalog()
	for _, cf := range formats {
		if cf.ID == typ && cf.Format.Known() {
			f = cf.Format
		}
	}
	b.Card = badge.Card{Format: f, Facility: s.Facility, Number: n}
	if !f.HasFacility() {
		b.Card.Facility = 0
	}
	return b
}

// Desk is a running front desk: the engine over its sites and the
// operators who may sign in.
type Desk struct {
	Engine    *visitor.Engine
	Sites     []*Site
	Operators *Accounts
	Log       *slog.Logger

	cancel context.CancelFunc
	done   sync.WaitGroup
	close  []func()
}

// Site returns the site with the given location ID, or nil.
func (d *Desk) Site(id string) *Site {
	for _, s := range d.Sites {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Setup says where the desk keeps its data and what it runs on.
type Setup struct {
	// Sites are the locations. Their stop functions are called by Close.
	Sites []*Site
	// Operators may sign in.
	Operators *Accounts
	// DBPath is the SQLite file; empty means a file in a new temporary
	// directory, removed by Close.
	DBPath string
	// Log receives the engine's and the server's log lines.
	Log *slog.Logger
	// Interval is how often the engine sweeps and retries its outbox
	// (default 5 seconds).
	Interval time.Duration
}

// Start opens the store, builds the engine over the sites, seeds the badge
// pools and starts the background work. On error everything it started is
// stopped, the sites included.
func Start(ctx context.Context, cfg Setup) (d *Desk, err error) {
	d = &Desk{Sites: cfg.Sites, Operators: cfg.Operators, Log: cfg.Log}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	for _, s := range cfg.Sites {
		if s.stop != nil {
			d.close = append(d.close, s.stop)
		}
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	// The store: visits, badge pools, outbox and audit trail in one SQLite
	// file, so that everything survives a restart.
	path := cfg.DBPath
	if path == "" {
		dir, err := os.MkdirTemp("", "acsbridge-frontdesk-")
		if err != nil {
			return nil, err
		}
		d.close = append(d.close, func() { os.RemoveAll(dir) })
		path = filepath.Join(dir, "visits.db")
	}
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	d.close = append(d.close, func() { store.Close() })

	// One visitor.Location per site: its ACS and its policy.
	var locations []visitor.Location
	for _, s := range cfg.Sites {
		if err := s.Refresh(ctx); err != nil {
			return nil, fmt.Errorf("%s: reading access levels: %w", s.ID, err)
		}
		locations = append(locations, visitor.Location{ID: s.ID, Provider: s.Provider, Policy: s.Policy})
	}
	interval := cfg.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	d.Engine, err = visitor.New(store, locations,
		visitor.WithLogger(d.Log),
		visitor.WithIDs(NewVisitCode), // visit IDs are the codes visitors type at the kiosk
		visitor.WithInterval(interval),
	)
	if err != nil {
		return nil, err
	}

	// Each pool starts with the site's badges; a restart over the same
	// file finds them there already.
	for _, s := range cfg.Sites {
		pool, err := d.Engine.Pool(s.ID)
		if err != nil {
			return nil, err
		}
		for _, b := range s.Badges {
			if _, err := pool.Add(ctx, b); err != nil && !errors.Is(err, badge.ErrExists) {
				return nil, fmt.Errorf("%s: badge %s: %w", s.ID, b.ID, err)
			}
		}
	}

	// Background work: the outbox worker and sweeper (Run), and the door
	// events of every ACS that reports them (RunDoorEvents).
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	var withEvents []string
	for _, s := range cfg.Sites {
		if _, ok := s.Provider.(acs.EventSource); ok {
			withEvents = append(withEvents, s.ID)
		}
	}
	d.done.Add(1)
	go func() {
		defer d.done.Done()
		if err := d.Engine.Run(bg); err != nil && bg.Err() == nil {
			d.Log.Error("engine stopped", "err", err)
		}
	}()
	if len(withEvents) > 0 {
		d.done.Add(1)
		go func() {
			defer d.done.Done()
			if err := d.Engine.RunDoorEvents(bg, withEvents...); err != nil && bg.Err() == nil {
				d.Log.Error("door events stopped", "err", err)
			}
		}()
	}
	return d, nil
}

// Close stops the background work, then the store and the sites.
func (d *Desk) Close() {
	if d.cancel != nil {
		d.cancel()
	}
	d.done.Wait()
	for i := len(d.close) - 1; i >= 0; i-- {
		d.close[i]()
	}
	d.close = nil
}

// NewVisitCode returns a visit ID short enough to type at a kiosk:
// "K7M2-Q9XA", eight characters from an alphabet without 0/O and 1/I.
// It is also a valid ACS external ID.
func NewVisitCode() string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	var sb strings.Builder
	for i, c := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// DemoPolicy is the policy of the demo sites: guests get the lobby for
// eight hours, contractors the lobby and floor 3 for ten; the reception
// group may grant the lobby only, the security group both levels (and
// may remove visitors); everybody is signed out after twelve hours; the
// first granted entry of an invited visitor signs them in.
func DemoPolicy(lobby, floor3 string) visitor.Policy {
	return visitor.Policy{
		Types: map[string]visitor.VisitorType{
			"guest":      {AccessLevels: []string{lobby}, AccessDuration: 8 * time.Hour},
			"contractor": {AccessLevels: []string{lobby, floor3}, AccessDuration: 10 * time.Hour},
		},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {lobby}, "security": {lobby, floor3}},
		SecurityGroups: []string{"security"},
		AutoSignOut:    12 * time.Hour,
		Doors:          visitor.DoorPolicy{MarkArrival: true},
	}
}
