package acstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func ExampleMemory() {
	ctx := context.Background()
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	var p acs.Provider = mem

	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	got, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-1", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{"lobby"},
		ValidFrom:    start,
		ValidUntil:   start.Add(8 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	noon := start.Add(3 * time.Hour)
	fmt.Println("opens lobby at noon:", mem.Opens(got.Credential, "lobby", noon))

	if err := p.Revoke(ctx, got.Credential); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after revoke:", mem.Opens(got.Credential, "lobby", noon))

	mem.SetDown(true)
	err = p.Ping(ctx)
	fmt.Println(acs.CodeOf(err), acs.IsRetryable(err))
	// Output:
	// opens lobby at noon: true
	// after revoke: false
	// unavailable true
}

// A provider with keypad readers is discovered with a type assertion; the
// Memory's OpensWithPIN is the oracle that says whether a PIN opens.
func ExampleMemory_ProvisionPIN() {
	ctx := context.Background()
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	var p acs.Provider = mem
	pi, ok := p.(acs.PINIssuer)
	if !ok {
		fmt.Println("no keypad credentials at", p.Name())
		return
	}
	pin, _ := acs.ParsePIN("73925814")
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	got, err := pi.ProvisionPIN(ctx, acs.PINGrant{
		Person: acs.Person{ExternalID: "visit-1", FirstName: "Ada"}, PIN: pin,
		AccessLevels: []string{"lobby"}, ValidFrom: start, ValidUntil: start.Add(8 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	noon := start.Add(3 * time.Hour)
	fmt.Printf("%+v\n", pi.PINSupport())
	fmt.Println("PIN opens the lobby at noon:", mem.OpensWithPIN(pin, "lobby", noon))
	if err := pi.RevokePIN(ctx, got.Credential); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after RevokePIN:", mem.OpensWithPIN(pin, "lobby", noon))
	// Output:
	// {MinLen:4 MaxLen:12 Standalone:true}
	// PIN opens the lobby at noon: true
	// after RevokePIN: false
}
