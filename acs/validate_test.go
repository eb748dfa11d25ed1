package acs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

func validGrant() acs.Grant {
	from := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	return acs.Grant{
		Person:       acs.Person{ExternalID: "visit-1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{"lobby"},
		ValidFrom:    from,
		ValidUntil:   from.Add(8 * time.Hour),
	}
}

func TestValidateGrant(t *testing.T) {
	if err := acs.ValidateGrant(validGrant(), acs.Rules{}); err != nil {
		t.Fatalf("valid grant refused: %v", err)
	}
	cases := []struct {
		name   string
		rules  acs.Rules
		mutate func(*acs.Grant)
		want   string
	}{
		{"no names", acs.Rules{}, func(g *acs.Grant) { g.Person.FirstName, g.Person.LastName = "", "" }, "neither a first nor a last name"},
		{"blank names", acs.Rules{}, func(g *acs.Grant) { g.Person.FirstName, g.Person.LastName = " ", "\u00a0" }, "neither a first nor a last name"},
		{"blank last name", acs.Rules{}, func(g *acs.Grant) { g.Person.LastName = "  " }, "last name is only white space"},
		{"empty external ID", acs.Rules{}, func(g *acs.Grant) { g.Person.ExternalID = "" }, "external ID is empty"},
		{"external ID with space", acs.Rules{}, func(g *acs.Grant) { g.Person.ExternalID = "visit 1" }, "' ' at position 6"},
		{"long external ID", acs.Rules{}, func(g *acs.Grant) { g.Person.ExternalID = strings.Repeat("a", 65) }, "65 bytes"},
		{"control char", acs.Rules{}, func(g *acs.Grant) { g.Person.FirstName = "A\nB" }, "control character U+000A"},
		{"bad utf8", acs.Rules{}, func(g *acs.Grant) { g.Person.LastName = "\xc3" }, "not valid UTF-8"},
		{"long name", acs.Rules{}, func(g *acs.Grant) { g.Person.LastName = strings.Repeat("é", 101) }, "101 characters"},
		{"card too big", acs.Rules{}, func(g *acs.Grant) { g.Card.Number = 70000 }, "card number 70000 out of range for H10301 (0–65535)"},
		{"facility too big", acs.Rules{}, func(g *acs.Grant) { g.Card.Facility = 300 }, "facility code 300 out of range"},
		{"facility on H10302", acs.Rules{}, func(g *acs.Grant) { g.Card = acs.Card{Format: acs.H10302, Facility: 1, Number: 5} }, "has no facility code"},
		{"unknown format", acs.Rules{}, func(g *acs.Grant) { g.Card.Format = 9 }, "unknown card format Format(9)"},
		{"no format", acs.Rules{}, func(g *acs.Grant) { g.Card.Format = 0 }, "card has no format"},
		{"zero card", acs.Rules{}, func(g *acs.Grant) { g.Card = acs.Card{} }, "card has no format"},
		{"no level", acs.Rules{}, func(g *acs.Grant) { g.AccessLevels = nil }, "no access level"},
		{"repeated level", acs.Rules{}, func(g *acs.Grant) { g.AccessLevels = []string{"a", "a"} }, "listed twice"},
		{"too many levels", acs.Rules{}, func(g *acs.Grant) {
			g.AccessLevels = nil
			for i := range 17 {
				g.AccessLevels = append(g.AccessLevels, fmt.Sprint("l", i))
			}
		}, "17 access levels"},
		{"reversed window", acs.Rules{}, func(g *acs.Grant) { g.ValidFrom, g.ValidUntil = g.ValidUntil, g.ValidFrom }, "ends (2026-11-22T09:00:00Z) before it starts"},
		{"empty window", acs.Rules{}, func(g *acs.Grant) { g.ValidUntil = g.ValidFrom }, "before it starts"},
		{"zero start", acs.Rules{}, func(g *acs.Grant) { g.ValidFrom = time.Time{} }, "both a start and an end"},
		{"window too long", acs.Rules{MaxValidity: 4 * time.Hour}, func(g *acs.Grant) {}, "longer than the maximum 4h0m0s"},
		{"default max", acs.Rules{}, func(g *acs.Grant) { g.ValidUntil = g.ValidFrom.Add(32 * 24 * time.Hour) }, "longer than the maximum"},
	}
	for _, c := range cases {
		g := validGrant()
		c.mutate(&g)
		err := acs.ValidateGrant(g, c.rules)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: code %v", c.name, acs.CodeOf(err))
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q lacks %q", c.name, err, c.want)
		}
	}
}

func TestCardFormats(t *testing.T) {
	cases := []struct {
		f     acs.CardFormat
		bits  int
		maxFC uint64
		hasFC bool
		maxCN uint64
	}{
		{acs.H10301, 26, 255, true, 65535},
		{acs.H10306, 34, 65535, true, 65535},
		{acs.H10302, 37, 0, false, 1<<35 - 1},
		{acs.H10304, 37, 65535, true, 524287},
		{acs.Corp1000_35, 35, 4095, true, 1048575},
		{acs.Corp1000_48, 48, 4194303, true, 8388607},
	}
	for _, c := range cases {
		fc, has := c.f.MaxFacility()
		if !c.f.Known() || c.f.Bits() != c.bits || fc != c.maxFC || has != c.hasFC || c.f.MaxCard() != c.maxCN {
			t.Errorf("%s: bits %d fc %d/%v cn %d", c.f, c.f.Bits(), fc, has, c.f.MaxCard())
		}
		if err := acs.ValidateCard(acs.Card{Format: c.f, Facility: c.maxFC, Number: c.maxCN}); err != nil {
			t.Errorf("%s at its maxima: %v", c.f, err)
		}
	}
	for _, f := range []acs.CardFormat{0, 7, 255} {
		if f.Known() {
			t.Errorf("%d known", f)
		}
	}
}

func ExampleValidateGrant() {
	g := acs.Grant{
		Person:       acs.Person{ExternalID: "visit-7", FirstName: "Grace", LastName: "Hopper"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 70000},
		AccessLevels: []string{"lobby"},
		ValidFrom:    time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC),
		ValidUntil:   time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC),
	}
	err := acs.ValidateGrant(g, acs.Rules{})
	fmt.Println(err)
	fmt.Println(acs.CodeOf(err))
	// Output:
	// invalid argument: card number 70000 out of range for H10301 (0–65535)
	// invalid argument
}
