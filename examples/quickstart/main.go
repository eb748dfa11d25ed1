// Command quickstart shows acsbridge end to end with nothing installed: it
// starts simulators of Genetec Security Center, LenelS2 OnGuard and Brivo
// on loopback and a SQLite store in a temporary directory, sets up one
// location per system with a badge pool and a policy, and walks visitors through sign-in, badge provisioning, a door
// check, badge return, sign-out and an automatic sign-out, printing a
// timeline and the audit trail.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// oracle answers, from a simulator's own state, whether a credential opens
// the doors of an access level: the "door check".
type oracle interface {
	Opens(credentialID, levelID string, at time.Time) bool
}

// site is one location backed by one simulated ACS.
type site struct {
	location string
	provider acs.Provider
	doors    oracle
	stop     func()
}

func startSites() ([]site, error) {
	var sites []site
	stopAll := func() {
		for _, s := range sites {
			s.stop()
		}
	}
	add := func(location string, h http.Handler, doors oracle, connect func(url string) (acs.Provider, error)) error {
		srv := httptest.NewServer(h)
		p, err := connect(srv.URL)
		if err != nil {
			srv.Close()
			return err
		}
		stop := srv.Close
		if c, ok := p.(acs.Closer); ok {
			stop = func() { _ = c.Close(context.Background()); srv.Close() }
		}
		sites = append(sites, site{location, p, doors, stop})
		return nil
	}
	g := genetecsim.New()
	err := add("london-hq", g, g, func(url string) (acs.Provider, error) {
		return genetec.New(genetec.Config{BaseURL: url + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
			Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID})
	})
	if err != nil {
		return nil, err
	}
	l := lenelsim.New()
	err = add("paris-campus", l, l, func(url string) (acs.Provider, error) {
		return lenel.New(lenel.Config{BaseURL: url + lenelsim.BasePath, Username: lenelsim.DefaultUser,
			Password: lenelsim.DefaultPassword, ApplicationID: lenelsim.DefaultApplicationID})
	})
	if err != nil {
		stopAll()
		return nil, err
	}
	b := brivosim.New()
	k := brivosim.DefaultCredentials()
	err = add("berlin-office", b, b, func(url string) (acs.Provider, error) {
		return brivo.New(brivo.Config{BaseURL: url + brivosim.APIPrefix, AuthURL: url, ClientID: k.ClientID,
			ClientSecret: k.ClientSecret, APIKey: k.APIKey, Username: k.Username, Password: k.Password})
	})
	if err != nil {
		stopAll()
		return nil, err
	}
	return sites, nil
}

func run(ctx context.Context) error {
	begin := time.Now()
	sites, err := startSites()
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range sites {
			s.stop()
		}
	}()

	// One location per ACS: its first access level is what guests get and
	// what the reception group may grant; visits end 8 hours after sign-in.
	clock := visitor.NewManualClock(time.Now().UTC().Truncate(time.Second))
	var locations []visitor.Location
	lobby := map[string]string{}
	for _, s := range sites {
		levels, err := s.provider.AccessLevels(ctx)
		if err != nil {
			return err
		}
		lobby[s.location] = levels[0].ID
		fmt.Printf("%-13s %-8s %d access levels; guests get %q\n", s.location, s.provider.Name(), len(levels), levels[0].Name)
		locations = append(locations, visitor.Location{
			ID:       s.location,
			Provider: s.provider,
			Policy: visitor.Policy{
				Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{levels[0].ID}, AccessDuration: 8 * time.Hour}},
				DefaultType:    "guest",
				OperatorGroups: map[string][]string{"reception": {levels[0].ID}},
				AutoSignOut:    8 * time.Hour,
			},
		})
	}
	// The visits, badge pools, outbox and audit trail live in a SQLite file:
	// everything survives a restart.
	dir, err := os.MkdirTemp("", "acsbridge-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "visits.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	engine, err := visitor.New(store, locations, visitor.WithClock(clock))
	if err != nil {
		return err
	}
	// Each location's pool: two physical badges.
	for i, s := range sites {
		pool, err := engine.Pool(s.location)
		if err != nil {
			return err
		}
		for n := 1; n <= 2; n++ {
			id := fmt.Sprintf("%d%03d", i+1, n)
			card := badge.Card{Format: wiegand.H10301, Facility: uint64(10 + i), Number: uint64(1000*(i+1) + n)}
			if _, err := pool.Add(ctx, badge.Badge{ID: id, Name: "Visitor " + id, Card: card}); err != nil {
				return err
			}
		}
	}

	desk := visitor.Operator{ID: "reception-1", Groups: []string{"reception"}}
	say := func(format string, args ...any) {
		fmt.Printf("  %s  %s\n", clock.Now().Format("15:04"), fmt.Sprintf(format, args...))
	}
	doorCheck := func(s site, visitID string) (bool, error) {
		v, err := engine.Visit(ctx, visitID)
		if err != nil {
			return false, err
		}
		c := v.Current()
		if c == nil || c.Ref.ID == "" {
			return false, nil
		}
		return s.doors.Opens(c.Ref.ID, lobby[s.location], clock.Now()), nil
	}

	for _, s := range sites {
		fmt.Printf("\n%s (%s)\n", s.location, s.provider.Name())
		first, second := s.location+"-ada", s.location+"-grace"

		v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: first, Location: s.location,
			Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}})
		if err != nil {
			return err
		}
		say("Ada signs in (%s)", v.State)
		if v, err = engine.Provision(ctx, desk, first, visitor.ProvisionRequest{}); err != nil {
			return err
		}
		c := v.Current()
		say("badge %s (%s) provisioned: %s, valid until %s", c.BadgeID, c.Card, c.Status, c.ValidUntil.Format("15:04"))
		opens, err := doorCheck(s, first)
		if err != nil {
			return err
		}
		say("door check at the lobby: opens=%v", opens)
		if !opens {
			return fmt.Errorf("%s: the provisioned badge does not open the lobby", s.location)
		}

		clock.Advance(90 * time.Minute)
		if _, err = engine.ReturnBadge(ctx, desk, first); err != nil {
			return err
		}
		v, _ = engine.Visit(ctx, first)
		opens, _ = doorCheck(s, first)
		say("Ada returns badge %s: credential %s, still %s; door check: opens=%v", v.Current().BadgeID, v.Current().Status, v.State, opens)
		if opens {
			return fmt.Errorf("%s: a returned badge still opens the lobby", s.location)
		}
		clock.Advance(15 * time.Minute)
		if v, err = engine.SignOut(ctx, visitor.Operator{ID: "kiosk-1"}, first, visitor.ViaKiosk); err != nil {
			return err
		}
		say("Ada signs out at the kiosk (%s)", v.State)

		if _, err = engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: second, Location: s.location,
			Visitor: visitor.Visitor{FirstName: "Grace", LastName: "Hopper"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
			return err
		}
		v, _ = engine.Visit(ctx, second)
		opens, _ = doorCheck(s, second)
		say("Grace signs in with badge %s (%s): opens=%v", v.Current().BadgeID, v.Current().Status, opens)
	}

	// Nobody signs Grace out: nine hours later the sweeper does.
	clock.Advance(9 * time.Hour)
	fmt.Printf("\nnine hours later\n")
	res, err := engine.Sweep(ctx)
	if err != nil {
		return err
	}
	if _, err := engine.RunOutboxOnce(ctx); err != nil {
		return err
	}
	say("sweeper: %+v", res)
	for _, s := range sites {
		v, err := engine.Visit(ctx, s.location+"-grace")
		if err != nil {
			return err
		}
		opens, _ := doorCheck(s, v.ID)
		say("%-13s Grace %s (%s), credential %s, opens=%v", s.location, v.State, v.EndReason, v.Current().Status, opens)
		if opens || v.State != visitor.SignedOut {
			return fmt.Errorf("%s: the expired visit still has access", s.location)
		}
	}

	fmt.Printf("\naudit trail of %s\n", sites[0].location+"-ada")
	recs, err := engine.Audit(ctx, visitor.AuditQuery{VisitID: sites[0].location + "-ada"})
	if err != nil {
		return err
	}
	for _, r := range recs {
		line := fmt.Sprintf("%s %-12s %-15s %-10s", r.Time.Format("15:04"), r.Actor, r.Action, r.Outcome)
		if r.BadgeID != "" {
			line += " badge " + r.BadgeID
		}
		if r.From != r.To {
			line += fmt.Sprintf(" %s → %s", r.From, r.To)
		}
		fmt.Println("  " + strings.TrimRight(line, " "))
	}
	fmt.Printf("\ndone in %s: 3 access control systems, 6 visits, nothing left live\n", time.Since(begin).Round(time.Millisecond))
	return nil
}
