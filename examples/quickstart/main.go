// Command quickstart walks one visit through an access control system:
// provision a temporary credential when the visitor signs in, check that it
// opens the lobby, revoke it when the visitor signs out, and check that it no
// longer does. It uses the in-memory provider, so it needs no building.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	mem := acstest.NewMemory([]acs.AccessLevel{
		{ID: "lobby", Name: "Lobby"},
		{ID: "floor-3", Name: "Floor 3"},
	})
	var p acs.Provider = mem

	levels, err := p.AccessLevels(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s offers %d access levels\n", p.Name(), len(levels))

	now := time.Now()
	g := acs.Grant{
		Person:       acs.Person{ExternalID: "visit-0001", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{"lobby"},
		ValidFrom:    now,
		ValidUntil:   now.Add(8 * time.Hour),
	}
	got, err := p.Provision(ctx, g)
	if err != nil {
		return err
	}
	fmt.Printf("signed in: credential %s (%s) for cardholder %s\n", got.Credential.ID, got.Credential.Card, got.Cardholder.ExternalID)
	fmt.Printf("opens the lobby: %v\n", mem.Opens(got.Credential, "lobby", now.Add(time.Minute)))

	if err := p.Revoke(ctx, got.Credential); err != nil {
		return err
	}
	fmt.Printf("signed out: opens the lobby: %v\n", mem.Opens(got.Credential, "lobby", now.Add(time.Minute)))
	return nil
}
