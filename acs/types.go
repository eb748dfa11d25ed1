package acs

import (
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// CardFormat names a Wiegand card data layout. It is wiegand.Format: one
// type for the whole SDK, with the names, field ranges and codec in package
// wiegand. Formats are always named, never inferred from a bit length: a
// 37-bit frame is valid as both H10302 and H10304. A CardFormat is its name
// in JSON and text ("H10301", "C1000-35"); the zero CardFormat is the empty
// name and means no format.
type CardFormat = wiegand.Format

// The card formats the SDK knows. Their names (String, MarshalText) are
// stable and are what adapters, stores and the command-line tool write.
const (
	H10301      = wiegand.H10301      // 26-bit: facility 0–255, card 0–65,535
	H10306      = wiegand.H10306      // 34-bit: facility 0–65,535, card 0–65,535
	H10302      = wiegand.H10302      // 37-bit without facility: card 0–34,359,738,367
	H10304      = wiegand.H10304      // 37-bit: facility 0–65,535, card 0–524,287
	Corp1000_35 = wiegand.Corp1000_35 // Corporate 1000 35-bit: company 0–4,095, card 0–1,048,575
	Corp1000_48 = wiegand.Corp1000_48 // Corporate 1000 48-bit: company 0–4,194,303, card 0–8,388,607
)

// Card is the data on a physical or issued credential: a named format, a
// facility code (zero for formats without one) and a card number. It is
// wiegand.Card, so card data moves between this package, package badge and
// package wiegand without conversion. In JSON it is
// {"format":"H10301","facility":1,"number":200}; its String is
// "H10301 1/200". ValidateCard checks it against its format.
type Card = wiegand.Card

// ValidateCard checks that the card's format is known and that its facility
// code and card number fit the format. Errors have code InvalidArgument.
func ValidateCard(c Card) error {
	f := c.Format
	if !f.Known() {
		if f == 0 {
			return Errorf("", "", InvalidArgument, "card has no format")
		}
		return Errorf("", "", InvalidArgument, "unknown card format %v", f)
	}
	maxFC, hasFC := f.MaxFacility()
	if !hasFC && c.Facility != 0 {
		return Errorf("", "", InvalidArgument, "card format %s has no facility code, got %d", f, c.Facility)
	}
	if c.Facility > maxFC {
		return Errorf("", "", InvalidArgument, "facility code %d out of range for %s (0–%d)", c.Facility, f, maxFC)
	}
	if c.Number > f.MaxCard() {
		return Errorf("", "", InvalidArgument, "card number %d out of range for %s (0–%d)", c.Number, f, f.MaxCard())
	}
	return nil
}

// Person is the cardholder side of a grant.
type Person struct {
	// ExternalID is the caller's key for this cardholder (for a VMS: the
	// visit). Provisioning is idempotent by it. Required; at most 64
	// characters of letters, digits, '-', '_' and '.'.
	ExternalID string `json:"external_id"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Email      string `json:"email,omitempty"`
	Company    string `json:"company,omitempty"`
}

// AccessLevel is a named set of doors and schedules at the ACS: a Genetec
// cardholder group, a Lenel access level, a Brivo group.
type AccessLevel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CredentialFormat is a card format or badge type as the ACS lists it: a
// Genetec card format, a Lenel badge type, a Brivo credential format.
type CredentialFormat struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Format is the Wiegand layout the adapter maps this entry to, when it
	// is one of the known CardFormats; zero (and absent from JSON)
	// otherwise. A vendor format that is no known layout keeps its vendor
	// name in Name, never in Format.
	Format CardFormat `json:"format,omitempty"`
}

// Grant asks the ACS to let a person in through the given access levels
// with the given card, from ValidFrom until ValidUntil.
type Grant struct {
	Person Person `json:"person"`
	Card   Card   `json:"card"`
	// CredentialType optionally selects the ACS's credential format or badge
	// type by its ID (as listed by Provider.CredentialFormats). Empty means
	// the adapter's configured or the system's default.
	CredentialType string `json:"credential_type,omitempty"`
	// AccessLevels are access level IDs as listed by Provider.AccessLevels.
	AccessLevels []string  `json:"access_levels"`
	ValidFrom    time.Time `json:"valid_from"`
	ValidUntil   time.Time `json:"valid_until"`
}

// CardholderRef identifies a cardholder at the ACS. ID is the ACS's own
// identifier (a GUID, a numeric key); ExternalID is the caller's key. Either
// suffices: adapters look the cardholder up by ExternalID when ID is empty.
type CardholderRef struct {
	ID         string `json:"id,omitempty"`
	ExternalID string `json:"external_id"`
}

// CredentialRef identifies a credential at the ACS. Adapters use ID when set;
// otherwise they find the credential by Card among the credentials of the
// cardholder with CardholderExternalID. This is what lets a revocation
// succeed when the response to the provision was lost.
type CredentialRef struct {
	ID                   string `json:"id,omitempty"`
	CardholderID         string `json:"cardholder_id,omitempty"`
	CardholderExternalID string `json:"cardholder_external_id"`
	Card                 Card   `json:"card"`
}

// Provisioned references what a Provision created or found.
type Provisioned struct {
	Cardholder CardholderRef `json:"cardholder"`
	Credential CredentialRef `json:"credential"`
	// AccessLevels are the access level IDs now granted.
	AccessLevels []string `json:"access_levels"`
	// Created reports whether anything new was created at the ACS (false
	// when an earlier identical provision was found and reused).
	Created bool `json:"created"`
}
