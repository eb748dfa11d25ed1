package genetec_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Provision a visitor's badge against the simulator, then revoke it.
func Example() {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sim := genetecsim.New(genetecsim.WithClock(clock))
	srv := httptest.NewServer(sim)
	defer srv.Close()

	p, err := genetec.New(genetec.Config{
		BaseURL:       srv.URL + "/WebSdk", // https://<host>:4590/WebSdk in production
		Username:      genetecsim.DefaultUser,
		Password:      genetecsim.DefaultPassword,
		ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	res, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2025-0042", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: 1001},
		AccessLevels: []string{genetecsim.SeedLobbyGroup},
		ValidFrom:    now,
		ValidUntil:   now.Add(4 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	holder, _ := sim.Cardholder(res.Cardholder.ID)
	fmt.Println("cardholder:", holder.Name)
	fmt.Println("created:", res.Created, "round trips:", len(sim.Requests()))
	fmt.Println("opens the lobby:", sim.Opens(res.Credential.ID, genetecsim.SeedLobbyGroup, now))
	fmt.Println("opens after the visit:", sim.Opens(res.Credential.ID, genetecsim.SeedLobbyGroup, now.Add(5*time.Hour)))

	if err := p.Revoke(ctx, res.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens after revoke:", sim.Opens(res.Credential.ID, genetecsim.SeedLobbyGroup, now))
	// Output:
	// cardholder: Ada Lovelace [visit-2025-0042]
	// created: true round trips: 6
	// opens the lobby: true
	// opens after the visit: false
	// opens after revoke: false
}

func ExampleProvider_AccessLevels() {
	sim := genetecsim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := genetec.New(genetec.Config{
		BaseURL:       srv.URL + "/WebSdk",
		Username:      genetecsim.DefaultUser,
		Password:      genetecsim.DefaultPassword,
		ApplicationID: genetecsim.DefaultApplicationID,
	})
	if err != nil {
		log.Fatal(err)
	}
	levels, err := p.AccessLevels(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range levels {
		fmt.Println(l.ID, l.Name)
	}
	// Output:
	// 5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c11 Visitors - Lobby
	// c7d2e8a4-1f3b-4e59-a6c0-8b9d7e2f4a36 Visitors - Floor 3
}

// Door events that happened while the VMS was not listening are caught up
// from the DoorActivity report; later ones come on the event stream. A
// real caller runs Events until its context ends and stores each event's
// Cursor to resume from after a restart.
func ExampleProvider_Events() {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sim := genetecsim.New(genetecsim.WithClock(clock))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := genetec.New(genetec.Config{
		BaseURL:       srv.URL + "/WebSdk",
		Username:      genetecsim.DefaultUser,
		Password:      genetecsim.DefaultPassword,
		ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2025-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: 1001},
		AccessLevels: []string{genetecsim.SeedLobbyGroup},
		ValidFrom:    now,
		ValidUntil:   now.Add(4 * time.Hour),
	}); err != nil {
		log.Fatal(err)
	}
	// Ada badges in at the lobby and tries floor 3; an unknown card tries the lobby.
	sim.Swipe(genetecsim.SeedLobbyDoor, genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: 1001}, now)
	sim.Swipe(genetecsim.SeedFloor3Door, genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: 1001}, now.Add(time.Minute))
	sim.Swipe(genetecsim.SeedLobbyDoor, genetecsim.Card{Format: wiegand.H10301, Facility: 7, Number: 7}, now.Add(2*time.Minute))

	errEnough := errors.New("enough for this example")
	var cursor string
	n := 0
	err = p.Events(ctx, "", func(e acs.DoorEvent) error {
		card := "unknown"
		if !e.Card.IsZero() {
			card = e.Card.String()
		}
		fmt.Printf("%s %-17s granted=%-5v visit=%q card=%s\n", e.Time.Format("15:04"), e.DoorName, e.Granted, e.Cardholder.ExternalID, card)
		cursor = e.Cursor // persist it with the visit's state
		if n++; n == 3 {
			return errEnough
		}
		return nil
	})
	fmt.Println(errors.Is(err, errEnough), cursor != "")
	// Output:
	// 09:00 Lobby turnstile   granted=true  visit="visit-2025-0042" card=H10301 42/1001
	// 09:01 Floor 3 east door granted=false visit="visit-2025-0042" card=H10301 42/1001
	// 09:02 Lobby turnstile   granted=false visit="" card=unknown
	// true true
}

// Issue a visitor a PIN (a keypad credential) without a card, open a
// keypad door with it, and revoke it.
func ExampleProvider_ProvisionPIN() {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sim := genetecsim.New(genetecsim.WithClock(clock))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	door, _ := sim.AddDoor("Lab keypad", genetecsim.SeedLobbyRule)
	sim.SetKeypad(door, true)

	p, err := genetec.New(genetec.Config{
		BaseURL: srv.URL + "/WebSdk", Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	pin, _ := acs.ParsePIN("4817")
	ctx := context.Background()
	res, err := p.ProvisionPIN(ctx, acs.PINGrant{
		Person: acs.Person{ExternalID: "visit-2025-0043", FirstName: "Grace", LastName: "Hopper"}, PIN: pin,
		AccessLevels: []string{genetecsim.SeedLobbyGroup}, ValidFrom: now, ValidUntil: now.Add(4 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	c, _ := sim.Credential(res.Credential.ID)
	fmt.Println("credential:", c.Name, "keypad:", c.Keypad)
	fmt.Println("the PIN opens the keypad door:", sim.PINOpensDoor(pin.Reveal(), door, now))
	if err := p.RevokePIN(ctx, res.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after RevokePIN:", sim.PINOpensDoor(pin.Reveal(), door, now))
	// Output:
	// credential: PIN [visit-2025-0043] keypad: true
	// the PIN opens the keypad door: true
	// after RevokePIN: false
}
