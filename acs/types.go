package acs

import (
	"strconv"
	"time"
)

// CardFormat names a Wiegand card data layout. Formats are always named,
// never inferred from a bit length: a 37-bit frame is valid as both H10302
// and H10304. Package wiegand encodes and decodes each format; this package
// only knows each format's field ranges, so that grants are validated
// without importing the encoder.
type CardFormat string

// The card formats the SDK knows. The string values are stable and are what
// adapters, stores and the command-line tool write.
const (
	H10301      CardFormat = "H10301"   // 26-bit: facility 0–255, card 0–65,535
	H10306      CardFormat = "H10306"   // 34-bit: facility 0–65,535, card 0–65,535
	H10302      CardFormat = "H10302"   // 37-bit without facility: card 0–34,359,738,367
	H10304      CardFormat = "H10304"   // 37-bit: facility 0–65,535, card 0–524,287
	Corp1000_35 CardFormat = "C1000-35" // Corporate 1000 35-bit: company 0–4,095, card 0–1,048,575
	Corp1000_48 CardFormat = "C1000-48" // Corporate 1000 48-bit: company 0–4,194,303, card 0–8,388,607
)

type formatLimits struct {
	bits        int
	maxFacility uint64 // 0 with hasFacility false: the format has no facility field
	hasFacility bool
	maxCard     uint64
}

func (f CardFormat) limits() (formatLimits, bool) {
	switch f {
	case H10301:
		return formatLimits{26, 1<<8 - 1, true, 1<<16 - 1}, true
	case H10306:
		return formatLimits{34, 1<<16 - 1, true, 1<<16 - 1}, true
	case H10302:
		return formatLimits{37, 0, false, 1<<35 - 1}, true
	case H10304:
		return formatLimits{37, 1<<16 - 1, true, 1<<19 - 1}, true
	case Corp1000_35:
		return formatLimits{35, 1<<12 - 1, true, 1<<20 - 1}, true
	case Corp1000_48:
		return formatLimits{48, 1<<22 - 1, true, 1<<23 - 1}, true
	}
	return formatLimits{}, false
}

// Known reports whether f is one of the formats listed above.
func (f CardFormat) Known() bool { _, ok := f.limits(); return ok }

// Bits returns the frame length of f, or 0 for an unknown format.
func (f CardFormat) Bits() int { l, _ := f.limits(); return l.bits }

// MaxFacility returns the largest facility code of f and whether f has a
// facility field at all.
func (f CardFormat) MaxFacility() (max uint64, ok bool) {
	l, _ := f.limits()
	return l.maxFacility, l.hasFacility
}

// MaxCard returns the largest card number of f (0 for an unknown format).
func (f CardFormat) MaxCard() uint64 { l, _ := f.limits(); return l.maxCard }

// Card is the data on a physical or issued credential: a named format, a
// facility code (zero for formats without one) and a card number.
type Card struct {
	Format   CardFormat `json:"format"`
	Facility uint64     `json:"facility"`
	Number   uint64     `json:"number"`
}

// IsZero reports whether c is the zero Card (no card data).
func (c Card) IsZero() bool { return c == Card{} }

// String formats c as "H10301 1/200" (format, facility/number).
func (c Card) String() string {
	b := make([]byte, 0, 32)
	b = append(b, c.Format...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.Facility, 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, c.Number, 10)
	return string(b)
}

// Validate checks that the format is known and the facility code and card
// number fit it. Errors have code InvalidArgument.
func (c Card) Validate() error {
	l, ok := c.Format.limits()
	if !ok {
		return Errorf("", "", InvalidArgument, "unknown card format %.40q", string(c.Format))
	}
	if !l.hasFacility && c.Facility != 0 {
		return Errorf("", "", InvalidArgument, "card format %s has no facility code, got %d", c.Format, c.Facility)
	}
	if c.Facility > l.maxFacility {
		return Errorf("", "", InvalidArgument, "facility code %d out of range for %s (0–%d)", c.Facility, c.Format, l.maxFacility)
	}
	if c.Number > l.maxCard {
		return Errorf("", "", InvalidArgument, "card number %d out of range for %s (0–%d)", c.Number, c.Format, l.maxCard)
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
	// knows one; empty otherwise.
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
