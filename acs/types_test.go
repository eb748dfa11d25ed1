package acs_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// oldGrantJSON is a grant as the builds before CardFormat became
// wiegand.Format wrote it (CardFormat was a string then).
const oldGrantJSON = `{"person":{"external_id":"visit-1","first_name":"Ada","last_name":"Lovelace"},` +
	`"card":{"format":"C1000-35","facility":7,"number":1048575},"credential_type":"cf-2","access_levels":["lobby"],` +
	`"valid_from":"2026-11-22T09:00:00Z","valid_until":"2026-11-22T17:00:00Z"}`

// Grants, references and credential formats are written and read exactly
// as before: the format by name, the zero format as "" (or left out where
// the field is optional).
func TestCardJSONCompatible(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	g := acs.Grant{
		Person:         acs.Person{ExternalID: "visit-1", FirstName: "Ada", LastName: "Lovelace"},
		Card:           acs.Card{Format: acs.Corp1000_35, Facility: 7, Number: 1048575},
		CredentialType: "cf-2",
		AccessLevels:   []string{"lobby"},
		ValidFrom:      t0, ValidUntil: t0.Add(8 * time.Hour),
	}
	b, err := json.Marshal(g)
	if err != nil || string(b) != oldGrantJSON {
		t.Fatalf("grant JSON\n got %s, %v\nwant %s", b, err, oldGrantJSON)
	}
	var back acs.Grant
	if err := json.Unmarshal([]byte(oldGrantJSON), &back); err != nil || back.Card != g.Card || acs.ValidateGrant(back, acs.Rules{}) != nil {
		t.Fatalf("old grant JSON read as %+v, %v", back, err)
	}

	for _, c := range []struct {
		v    any
		want string
	}{
		{acs.CredentialRef{CardholderExternalID: "v", Card: acs.Card{Format: acs.H10301, Facility: 1, Number: 200}},
			`{"cardholder_external_id":"v","card":{"format":"H10301","facility":1,"number":200}}`},
		{acs.CredentialRef{CardholderExternalID: "v"}, `{"cardholder_external_id":"v","card":{"format":"","facility":0,"number":0}}`},
		{acs.CredentialFormat{ID: "1", Name: "HID 37 Bit", Format: acs.H10304}, `{"id":"1","name":"HID 37 Bit","format":"H10304"}`},
		{acs.CredentialFormat{ID: "2", Name: "MIFARE CSN 32 bit"}, `{"id":"2","name":"MIFARE CSN 32 bit"}`},
		{acs.DoorEvent{DoorID: "d", Time: t0}, `{"cursor":"","time":"2026-11-22T09:00:00Z","door_id":"d","granted":false,"direction":"unknown"}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T JSON\n got %s, %v\nwant %s", c.v, b, err, c.want)
		}
	}

	// Every format by name, in a grant's card and a credential format.
	for _, f := range wiegand.Formats() {
		in := `{"id":"x","name":"y","format":"` + f.String() + `"}`
		var cf acs.CredentialFormat
		if err := json.Unmarshal([]byte(in), &cf); err != nil || cf.Format != f {
			t.Errorf("%s read as %+v, %v", in, cf, err)
		}
		if b, err := json.Marshal(cf); err != nil || string(b) != in {
			t.Errorf("%v written as %s, %v", f, b, err)
		}
	}
}

// A name that is no known layout cannot become a CardFormat: reading it
// fails with an error matching wiegand.ErrFormat that names it.
func TestUnknownCardFormatRefused(t *testing.T) {
	for _, in := range []string{
		`{"card":{"format":"W26","facility":0,"number":1}}`,
		`{"card":{"format":"HID 37 bit","facility":0,"number":1}}`,
	} {
		var g acs.Grant
		err := json.Unmarshal([]byte(in), &g)
		if !errors.Is(err, wiegand.ErrFormat) || !strings.Contains(err.Error(), "unknown card format") {
			t.Errorf("Unmarshal(%s) = %v, want an error matching wiegand.ErrFormat", in, err)
		}
	}
	var cf acs.CredentialFormat
	if err := json.Unmarshal([]byte(`{"id":"9","name":"Site special","format":"Site special"}`), &cf); !errors.Is(err, wiegand.ErrFormat) {
		t.Errorf("credential format with an unknown layout: %v", err)
	}
}

func TestValidateCard(t *testing.T) {
	for _, c := range []struct {
		card acs.Card
		want string // "" when valid
	}{
		{acs.Card{Format: acs.H10301, Facility: 255, Number: 65535}, ""},
		{acs.Card{Format: acs.H10302, Number: 1<<35 - 1}, ""},
		{acs.Card{}, "card has no format"},
		{acs.Card{Number: 5}, "card has no format"},
		{acs.Card{Format: 200, Number: 5}, "unknown card format Format(200)"},
		{acs.Card{Format: acs.H10302, Facility: 1}, "card format H10302 has no facility code, got 1"},
		{acs.Card{Format: acs.Corp1000_48, Facility: 1 << 22}, "facility code 4194304 out of range for C1000-48 (0–4194303)"},
		{acs.Card{Format: acs.H10304, Number: 1 << 19}, "card number 524288 out of range for H10304 (0–524287)"},
	} {
		err := acs.ValidateCard(c.card)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v refused: %v", c.card, err)
		case c.want != "" && (acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want InvalidArgument saying %q", c.card, err, c.want)
		}
	}
}
