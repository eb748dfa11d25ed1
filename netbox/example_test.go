package netbox_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// The controller's clock in the examples.
var exampleNow = time.Date(2025, 6, 2, 13, 0, 0, 0, time.UTC)

func now() time.Time { return exampleNow }

// Provision a visitor at a NetBox controller in New York (here its
// simulator), then revoke the badge when the visitor signs out.
func Example() {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	sim := netboxsim.New(netboxsim.WithClock(now), netboxsim.WithTimeZone(ny))
	srv := httptest.NewServer(sim)
	defer srv.Close()

	p, err := netbox.New(netbox.Config{
		URL:      srv.URL + netboxsim.Path, // https://controller/nbws/goforms/nbapi
		Username: netboxsim.DefaultUsername,
		Password: netboxsim.DefaultPassword,
		TimeZone: "America/New_York",
		Layouts:  []netbox.Layout{{Name: "26 bit Wiegand", Format: acs.H10301, Facility: 42}},
	}, netbox.WithClock(now))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx) // Logout

	levels, err := p.AccessLevels(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("level %s is %q\n", levels[0].ID, levels[0].Name)

	prov, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-42", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: 1234},
		AccessLevels: []string{levels[0].ID},
		ValidFrom:    exampleNow,
		ValidUntil:   exampleNow.Add(4 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	person, _ := sim.Person(prov.Cardholder.ID)
	fmt.Println("PERSONID", prov.Cardholder.ID, "CREDENTIALID", prov.Credential.ID)
	fmt.Println("stored window", person.ActDate.In(ny).Format("2006-01-02 15:04"), "to", person.ExpDate.In(ny).Format("15:04 MST"))

	if err := p.Revoke(ctx, prov.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens after revoke:", sim.Opens(prov.Credential.ID, levels[0].ID, exampleNow))
	// Output:
	// level 1 is "Lobby"
	// PERSONID vms-visit-42 CREDENTIALID 2
	// stored window 2025-06-02 09:00 to 13:00 EDT
	// opens after revoke: false
}

// Door events: each access record of the controller's log, with the
// visit's external ID and card.
func ExampleProvider_Events() {
	ctx := context.Background()
	sim := netboxsim.New(netboxsim.WithClock(now))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := netbox.New(netbox.Config{URL: srv.URL + netboxsim.Path, Username: netboxsim.DefaultUsername,
		Password: netboxsim.DefaultPassword, Layouts: []netbox.Layout{{Name: "26 bit Wiegand", Format: acs.H10301, Facility: 42}}},
		netbox.WithClock(now))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: 1234}
	if _, err := p.Provision(ctx, acs.Grant{
		Person: acs.Person{ExternalID: "visit-42", LastName: "Lovelace"}, Card: card,
		AccessLevels: []string{netboxsim.LevelLobby}, ValidFrom: exampleNow, ValidUntil: exampleNow.Add(time.Hour),
	}); err != nil {
		log.Fatal(err)
	}
	sim.Swipe(netboxsim.ReaderLobby, "26 bit Wiegand", "1234")
	sim.Swipe(netboxsim.ReaderFloor3, "26 bit Wiegand", "1234")

	done := errors.New("done")
	err = p.Events(ctx, "", func(ev acs.DoorEvent) error {
		fmt.Printf("#%s %s %s %s %s granted=%v\n", ev.Cursor, ev.Time.UTC().Format(time.TimeOnly), ev.DoorName, ev.Cardholder.ExternalID, ev.Card, ev.Granted)
		if ev.Cursor == "2" {
			return done
		}
		return nil
	})
	fmt.Println(err == done)
	// Output:
	// #1 13:00:00 Lobby In visit-42 H10301 42/1234 granted=true
	// #2 13:00:00 Floor 3 In visit-42 H10301 42/1234 granted=false
	// true
}

// Errors carry the controller's answer: here a revoke by external ID and
// card of a person the controller does not know is a success, and a grant
// for an access level key it lacks is NotFound.
func ExampleError() {
	ctx := context.Background()
	sim := netboxsim.New(netboxsim.WithClock(now))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := netbox.New(netbox.Config{URL: srv.URL + netboxsim.Path, Username: netboxsim.DefaultUsername,
		Password: netboxsim.DefaultPassword, CardFormat: "26 bit Wiegand"}, netbox.WithClock(now))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: 1234}
	fmt.Println(p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-0", Card: card}))
	_, err = p.Provision(ctx, acs.Grant{Person: acs.Person{ExternalID: "visit-1", LastName: "Byron"}, Card: card,
		AccessLevels: []string{"99"}, ValidFrom: exampleNow, ValidUntil: exampleNow.Add(time.Hour)})
	fmt.Println(errors.Is(err, acs.ErrNotFound), err)
	sim.AddFault(netboxsim.Fault{Command: "GetAPIVersion", APIError: 6})
	err = p.Ping(ctx)
	var nb *netbox.Error
	fmt.Println(errors.As(err, &nb), nb.APIError, acs.CodeOf(err))
	// Output:
	// <nil>
	// true netbox provision: not found: access level "99" does not exist at the controller
	// true 6 unsupported
}
