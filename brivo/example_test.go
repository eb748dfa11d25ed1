package brivo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// Provisioning a visitor's badge and revoking it, against the simulator.
func Example() {
	sim := brivosim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c := brivosim.DefaultCredentials()
	p, err := brivo.New(brivo.Config{
		BaseURL:  srv.URL + brivosim.APIPrefix, // brivo.DefaultBaseURL in production
		AuthURL:  srv.URL,                      // brivo.DefaultAuthURL
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, APIKey: c.APIKey,
		Username: c.Username, Password: c.Password,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	lobby, err := p.AccessLevelByName(ctx, "Lobby")
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	prov, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2026-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{lobby.ID},
		ValidFrom:    now,
		ValidUntil:   now.Add(8 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user", prov.Cardholder.ID, "credential", prov.Credential.ID, "created", prov.Created)
	id, _ := strconv.ParseInt(prov.Credential.ID, 10, 64)
	stored, _ := sim.Credential(id)
	fmt.Println("encodedCredential", stored.Encoded)
	fmt.Println("opens the lobby:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))

	// The same card for another visitor while it is active is a conflict.
	_, err = p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2026-0043", FirstName: "Charles", LastName: "Babbage"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{lobby.ID},
		ValidFrom:    now,
		ValidUntil:   now.Add(8 * time.Hour),
	})
	fmt.Println("second holder is a conflict:", errors.Is(err, acs.ErrConflict))

	if err := p.Revoke(ctx, prov.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens after revoke:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))
	// Output:
	// user 15540780 credential 22197840 created true
	// encodedCredential 2020190
	// opens the lobby: true
	// second holder is a conflict: true
	// opens after revoke: false
}

// Connecting to a Brivo account in the EU region.
func ExampleNew() {
	p, err := brivo.New(brivo.Config{
		BaseURL:      brivo.EUBaseURL,
		AuthURL:      brivo.EUAuthURL,
		ClientID:     "client-id",
		ClientSecret: "client-secret",
		APIKey:       "api-key",
		Username:     "12345678", // the Brivo admin ID
		Password:     "admin-password",
	}, brivo.WithRateLimit(50, 25)) // a production key's tier
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name())
	// Output: brivo
}
