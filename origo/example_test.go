package origo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// A visitor's mobile ID from invitation to revocation, against the Origo
// simulator, with an in-memory door ACS (any acs.Provider: genetec.New,
// lenel.New, …, in production). The visitor engine calls Provision again
// by itself until the phone accepted; here the example does, after moving
// its clock past the polling wait.
func Example() {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sim := origosim.New(origosim.WithClock(clock))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	door := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})

	iss, err := origo.New(door, origo.Config{
		AuthURL: srv.URL, BaseURL: srv.URL, // origo.DefaultAuthURL and DefaultBaseURL in production
		OrganizationID: origosim.DefaultOrganizationID,
		ClientID:       origosim.DefaultClientID,
		ClientSecret:   origosim.DefaultClientSecret,
		PartNumber:     origosim.DefaultPartNumber,
		CardFormat:     acs.H10301, // the part number's card format and facility code
		FacilityCode:   42,
	}, origo.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	grant := acs.Grant{
		Person:         acs.Person{ExternalID: "visit-2026-0042", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Card:           acs.Card{Format: acs.H10301, Facility: 1, Number: 200}, // the VMS's own number; Origo assigns the card
		CredentialType: origo.CredentialType,
		AccessLevels:   []string{"lobby"},
		ValidFrom:      now,
		ValidUntil:     now.Add(8 * time.Hour),
	}
	_, err = iss.Provision(ctx, grant)
	wait, _ := acs.RetryAfterOf(err)
	fmt.Println("invited; accepted yet:", !errors.Is(err, origo.ErrNotAccepted), "ask again in", wait)
	st, _ := iss.Status(ctx, "visit-2026-0042")
	fmt.Println("invitation", st.InvitationStatus)

	if _, err := sim.Accept("visit-2026-0042"); err != nil { // the visitor's phone
		log.Fatal(err)
	}
	now = now.Add(wait)
	p, err := iss.Provision(ctx, grant)
	if err != nil {
		log.Fatal(err)
	}
	doorRef, _ := iss.DoorRef(p.Credential)
	fmt.Println("card", p.Credential.Card, "opens the lobby:", door.Opens(doorRef, "lobby", now))

	if err := iss.Revoke(ctx, p.Credential); err != nil {
		log.Fatal(err)
	}
	_, held := sim.User("visit-2026-0042")
	fmt.Println("after revoke: opens", door.Opens(doorRef, "lobby", now), "- Origo user", held)
	// Output:
	// invited; accepted yet: false ask again in 30s
	// invitation PENDING
	// card H10301 42/5001 opens the lobby: true
	// after revoke: opens false - Origo user false
}
