package verkada_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Provisioning a visitor's badge and revoking it, against the simulator.
func Example() {
	sim := verkadasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	p, err := verkada.New(verkada.Config{
		BaseURL: srv.URL + verkadasim.BasePath, // verkada.DefaultBaseURL (or EU/AU) in production
		APIKey:  verkadasim.DefaultAPIKey,
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
	fmt.Println("user", prov.Cardholder.ID)
	fmt.Println("card", prov.Credential.ID, "created", prov.Created)
	stored, _ := sim.Card(prov.Credential.ID)
	fmt.Println("stored as", stored.Type, stored.Facility+"/"+stored.Number, "active", stored.Active)
	fmt.Println("opens the lobby:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))

	// The same card for another visitor while it is registered is a conflict.
	other := grant
	other.Person = acs.Person{ExternalID: "visit-2026-0043", FirstName: "Charles", LastName: "Babbage"}
	_, err = p.Provision(ctx, other)
	fmt.Println("second holder is a conflict:", errors.Is(err, acs.ErrConflict))

	if err := p.Revoke(ctx, prov.Credential); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opens after revoke:", sim.Opens(prov.Credential.ID, lobby.ID, time.Now()))
	// Output:
	// user 75736572-0000-4000-8000-000000000001
	// card 63617264-0000-4000-8000-000000000001 created true
	// stored as Standard 26-bit Wiegand 1/200 active true
	// opens the lobby: true
	// second holder is a conflict: true
	// opens after revoke: false
}

// Connecting to a Verkada organisation in the EU region, sharing its
// 300-requests-a-minute budget with another integration.
func ExampleNew() {
	p, err := verkada.New(verkada.Config{
		BaseURL: verkada.EUBaseURL,
		APIKey:  "api-key-from-verkada-command",
	}, verkada.WithRateLimit(200.0/60, 200)) // 200 requests in any minute
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name())
	// Output: verkada
}

// Listing what the SDK created at Verkada, for reconciliation.
func ExampleProvider_Holdings() {
	sim := verkadasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := verkada.New(verkada.Config{BaseURL: srv.URL, APIKey: verkadasim.DefaultAPIKey})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	from := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, err = p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-7", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10304, Facility: 42, Number: 1007},
		AccessLevels: []string{verkadasim.GroupID(1), verkadasim.GroupID(2)},
		ValidFrom:    from,
		ValidUntil:   from.Add(8 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	// An employee, not created by the SDK, is not listed.
	if _, err := sim.AddUser("Grace", "Hopper", "hr-0001"); err != nil {
		log.Fatal(err)
	}
	err = p.Holdings(ctx, func(h acs.Holding) error {
		for _, c := range h.Credentials {
			fmt.Println(h.Cardholder.ExternalID, h.FirstName, c.Ref.Card, c.Active, len(c.AccessLevels), "groups")
			fmt.Println(c.ValidFrom.Format(time.RFC3339), "to", c.ValidUntil.Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// visit-7 Ada Lovelace H10304 42/1007 true 2 groups
	// 2026-03-02T09:00:00Z to 2026-03-02T17:00:00Z
}
