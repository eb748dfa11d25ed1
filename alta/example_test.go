package alta_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Provisioning a visitor's badge and revoking it, against the simulator.
func Example() {
	sim := altasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c := altasim.DefaultCredentials()
	p, err := alta.New(alta.Config{
		BaseURL:  srv.URL, // alta.DefaultBaseURL in production
		Username: c.Email,
		Password: c.Password,
		OrgID:    altasim.OrgID,
	}, alta.WithRateLimit(0, 0)) // the simulator needs no client-side limit
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	levels, err := p.AccessLevels(ctx)
	if err != nil {
		log.Fatal(err)
	}
	lobby := levels[0]
	fmt.Println("group", lobby.ID, lobby.Name)

	now := time.Now()
	grant := acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2026-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{lobby.ID},
		ValidFrom:    now,
		ValidUntil:   now.Add(8 * time.Hour),
	}
	prov, err := p.Provision(ctx, grant)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user", prov.Cardholder.ID, "credential", prov.Credential.ID, "created", prov.Created)
	fmt.Println("opens the lobby:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))

	// The same card for another visitor while it is active is a conflict.
	other := grant
	other.Person = acs.Person{ExternalID: "visit-2026-0043", FirstName: "Charles", LastName: "Babbage"}
	_, err = p.Provision(ctx, other)
	fmt.Println("second holder is a conflict:", errors.Is(err, acs.ErrConflict))

	if err := p.Revoke(ctx, prov.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens after revoke:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))
	// Output:
	// group 4822 Lobby visitors
	// user 1000001 credential 2000001 created true
	// opens the lobby: true
	// second holder is a conflict: true
	// opens after revoke: false
}

// Connecting to an Alta organisation.
func ExampleNew() {
	p, err := alta.New(alta.Config{
		Username: "integration@example.com", // the login e-mail
		Password: "password",
		OrgID:    5231,
	}, alta.WithRateLimit(5, 5))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name())
	// Output: alta
}

// Listing what the adapter created, as Alta holds it, for reconciliation.
func ExampleProvider_Holdings() {
	sim := altasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := altasim.DefaultCredentials()
	p, err := alta.New(alta.Config{BaseURL: srv.URL, Username: c.Email, Password: c.Password, OrgID: altasim.OrgID},
		alta.WithRateLimit(0, 0))
	if err != nil {
		log.Fatal(err)
	}
	// An employee, created by hand in Alta, is not listed.
	if _, err := sim.AddUser("jo@corp.example", "Jo", "Employee", "hr-4711"); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	for i, ext := range []string{"visit-1", "visit-2"} {
		_, err := p.Provision(ctx, acs.Grant{
			Person:       acs.Person{ExternalID: ext, FirstName: "Visitor", LastName: fmt.Sprint(i + 1)},
			Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: uint64(300 + i)},
			AccessLevels: []string{"5729"},
			ValidFrom:    now, ValidUntil: now.Add(time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	var lines []string
	err = p.Holdings(ctx, func(h acs.Holding) error {
		for _, cr := range h.Credentials {
			lines = append(lines, fmt.Sprintf("%s %s levels %v opens %v", h.Cardholder.ExternalID, cr.Ref.Card, cr.AccessLevels, cr.OpensAt(time.Now())))
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// visit-1 H10301 1/300 levels [5729] opens true
	// visit-2 H10301 1/301 levels [5729] opens true
}

// manualClock is a clock the example moves by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *manualClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Reading door events: a visitor's badge at the lobby and at a door its
// group does not open.
func ExampleProvider_Events() {
	// The simulator's clock stands a minute back, so that its swipes are
	// settled when Events first polls.
	clk := &manualClock{t: time.Now().Add(-time.Minute)}
	sim := altasim.New(altasim.WithClock(clk.Now))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := altasim.DefaultCredentials()
	p, err := alta.New(alta.Config{BaseURL: srv.URL, Username: c.Email, Password: c.Password, OrgID: altasim.OrgID},
		alta.WithDoorDirection("42", acs.DirectionIn),
		alta.WithRateLimit(0, 0), alta.WithEvents(alta.EventOptions{History: time.Hour}))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-7", FirstName: "Grace", LastName: "Hopper"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 77},
		AccessLevels: []string{"4822"},
		ValidFrom:    clk.Now(), ValidUntil: clk.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, _ = sim.Swipe(42, wiegand.H10301, 1, 77) // the lobby
	clk.Advance(time.Second)
	_, _ = sim.Swipe(43, wiegand.H10301, 1, 77) // floor 3: not the visitor's group

	done := errors.New("done")
	n := 0
	err = p.Events(ctx, "", func(ev acs.DoorEvent) error {
		fmt.Println(ev.DoorName, ev.Direction, "granted:", ev.Granted, "visit:", ev.Cardholder.ExternalID)
		if n++; n == 2 {
			return done
		}
		return nil
	})
	fmt.Println(err == done)
	// Output:
	// Lobby in granted: true visit: visit-7
	// Floor 3 East unknown granted: false visit: visit-7
	// true
}
