package lenel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// Provision a visitor badge against the simulator, then revoke it as
// Front Desk does on sign-out.
func Example() {
	ctx := context.Background()
	sim := lenelsim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	p, err := lenel.New(lenel.Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	now := time.Now()
	prov, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2024-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: 1001},
		AccessLevels: []string{"1"}, // "Lobby"
		ValidFrom:    now.Add(-time.Minute),
		ValidUntil:   now.Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", prov.Created, "visitor:", prov.Cardholder.ID, "badge key:", prov.Credential.ID)
	fmt.Println("opens the lobby:", sim.Opens(prov.Credential.ID, "1", time.Now()))

	if err := p.Revoke(ctx, prov.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens the lobby after revoke:", sim.Opens(prov.Credential.ID, "1", time.Now()))
	fmt.Println("badge records kept:", sim.Census().Badges)
	// Output:
	// created: true visitor: 1 badge key: 1
	// opens the lobby: true
	// opens the lobby after revoke: false
	// badge records kept: 1
}

// List the access levels a grant may name.
func ExampleProvider_AccessLevels() {
	ctx := context.Background()
	srv := httptest.NewServer(lenelsim.New())
	defer srv.Close()
	p, err := lenel.New(lenel.Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	levels, err := p.AccessLevels(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range levels {
		fmt.Println(l.ID, l.Name)
	}
	// Output:
	// 1 Lobby
	// 2 Floor 3
}

// Errors carry an acs code and, through errors.As, OnGuard's own answer.
func ExampleAPIError() {
	ctx := context.Background()
	srv := httptest.NewServer(lenelsim.New())
	defer srv.Close()
	p, err := lenel.New(lenel.Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      "not-the-password",
		ApplicationID: lenelsim.DefaultApplicationID,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	err = p.Ping(ctx)
	fmt.Println(acs.CodeOf(err))
	var ae *lenel.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Code)
	}
	// Output:
	// unauthenticated
	// 401 openaccess.general.authenticationfailed
}

// Follow door events: a visitor's badge opens the lobby, a stranger's card
// is refused. Each event's Cursor is what a VMS stores to resume after a
// restart.
func ExampleProvider_Events() {
	ctx := context.Background()
	sim := lenelsim.New()
	lobby := sim.AddDoor(lenelsim.DoorSpec{Name: "Lobby turnstile", AccessLevels: []int64{lenelsim.LevelLobby}})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	p, err := lenel.New(lenel.Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	}, lenel.WithCardFunc(lenel.CardNumber(acs.H10301, 42)))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	now := time.Now()
	if _, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2024-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: 1001},
		AccessLevels: []string{"1"},
		ValidFrom:    now.Add(-time.Minute),
		ValidUntil:   now.Add(2 * time.Hour),
	}); err != nil {
		log.Fatal(err)
	}
	sim.Swipe(1001, lobby.ID, now) // the visitor
	sim.Swipe(7777, lobby.ID, now) // a card OnGuard does not know

	done := errors.New("done")
	seen := 0
	err = p.Events(ctx, "", func(ev acs.DoorEvent) error {
		fmt.Printf("%s %s granted=%v visit=%q card=%s direction=%s\n",
			ev.DoorID, ev.DoorName, ev.Granted, ev.Cardholder.ExternalID, ev.Card, ev.Direction)
		if seen++; seen == 2 {
			return done // a real consumer runs until its context ends
		}
		return nil
	})
	fmt.Println(err == done)
	// Output:
	// 1:1 Lobby turnstile granted=true visit="visit-2024-0042" card=H10301 42/1001 direction=in
	// 1:1 Lobby turnstile granted=false visit="" card=H10301 42/7777 direction=unknown
	// true
}
