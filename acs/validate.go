package acs

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxValidity is the longest validity window ValidateGrant accepts
// when Rules.MaxValidity is zero: 31 days, enough for a contractor's month
// and short enough that a forgotten credential dies on its own.
const DefaultMaxValidity = 31 * 24 * time.Hour

// Limits on grant fields, shared by every adapter.
const (
	MaxExternalIDLen = 64  // bytes
	MaxNameLen       = 100 // characters, per name field
	MaxEmailLen      = 254 // bytes
	MaxAccessLevels  = 16  // per grant; Brivo's group limit is the strictest
)

// Rules tune grant validation. The zero value applies the defaults.
type Rules struct {
	// MaxValidity bounds ValidUntil − ValidFrom; zero means DefaultMaxValidity.
	MaxValidity time.Duration
}

// ValidateGrant checks a grant before any network call: a well-formed
// external ID, a non-empty first or last name without control characters,
// card data that fits its format, at least one access level (no empty or
// repeated IDs, at most MaxAccessLevels), and a window that ends after it
// starts and is no longer than the rules allow. The error has code
// InvalidArgument and names the offending field.
func ValidateGrant(g Grant, r Rules) error {
	if err := ValidateExternalID(g.Person.ExternalID); err != nil {
		return err
	}
	if err := ValidateNames(g.Person.FirstName, g.Person.LastName); err != nil {
		return err
	}
	for _, f := range [...]struct{ name, v string }{
		{"first name", g.Person.FirstName},
		{"last name", g.Person.LastName},
		{"company", g.Person.Company},
	} {
		if err := ValidateText(f.name, f.v, MaxNameLen); err != nil {
			return err
		}
	}
	if err := ValidateText("email", g.Person.Email, MaxEmailLen); err != nil {
		return err
	}
	if err := ValidateCard(g.Card); err != nil {
		return err
	}
	if len(g.AccessLevels) == 0 {
		return Errorf("", "", InvalidArgument, "grant has no access level")
	}
	if len(g.AccessLevels) > MaxAccessLevels {
		return Errorf("", "", InvalidArgument, "grant has %d access levels, at most %d allowed", len(g.AccessLevels), MaxAccessLevels)
	}
	for i, id := range g.AccessLevels {
		if id == "" {
			return Errorf("", "", InvalidArgument, "access level %d is empty", i+1)
		}
		if err := ValidateText("access level", id, 128); err != nil {
			return err
		}
		for _, prev := range g.AccessLevels[:i] {
			if prev == id {
				return Errorf("", "", InvalidArgument, "access level %q is listed twice", id)
			}
		}
	}
	if g.ValidFrom.IsZero() || g.ValidUntil.IsZero() {
		return Errorf("", "", InvalidArgument, "validity window needs both a start and an end")
	}
	if !g.ValidUntil.After(g.ValidFrom) {
		return Errorf("", "", InvalidArgument, "validity window ends (%s) before it starts (%s)",
			g.ValidUntil.UTC().Format(time.RFC3339), g.ValidFrom.UTC().Format(time.RFC3339))
	}
	max := r.MaxValidity
	if max <= 0 {
		max = DefaultMaxValidity
	}
	if d := g.ValidUntil.Sub(g.ValidFrom); d > max {
		return Errorf("", "", InvalidArgument, "validity window of %s is longer than the maximum %s", d, max)
	}
	return nil
}

// ValidateNames checks a person's first and last name as ValidateGrant
// does: at least one of them has a character other than white space, and
// neither is white space alone. Callers that accept a person long before
// provisioning (a sign-in desk) use it to refuse what the ACS would refuse
// later.
func ValidateNames(first, last string) error {
	if strings.TrimSpace(first) == "" && strings.TrimSpace(last) == "" {
		return Errorf("", "", InvalidArgument, "person has neither a first nor a last name")
	}
	for _, n := range [...]struct{ name, v string }{{"first name", first}, {"last name", last}} {
		if n.v != "" && strings.TrimSpace(n.v) == "" {
			return Errorf("", "", InvalidArgument, "%s is only white space", n.name)
		}
	}
	return nil
}

// ValidateExternalID checks a caller's key: 1 to MaxExternalIDLen bytes of
// ASCII letters, digits, '-', '_' and '.'. The restriction keeps keys safe
// to place in every vendor's query language, path and custom field.
func ValidateExternalID(id string) error {
	if id == "" {
		return Errorf("", "", InvalidArgument, "external ID is empty")
	}
	if len(id) > MaxExternalIDLen {
		return Errorf("", "", InvalidArgument, "external ID is %d bytes long, at most %d allowed", len(id), MaxExternalIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Errorf("", "", InvalidArgument, "external ID has %q at position %d; only letters, digits, '-', '_' and '.' are allowed", rune(c), i+1)
		}
	}
	return nil
}

// ValidateText checks free text bound for an ACS: valid UTF-8, no control
// characters, at most max characters. field names the value in the error.
// Vendor-specific escaping (or refusal) of query-language characters is the
// adapter's job on top of this.
func ValidateText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Errorf("", "", InvalidArgument, "%s is not valid UTF-8", field)
	}
	n := 0
	for i, r := range s {
		n++
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Errorf("", "", InvalidArgument, "%s has control character %U at byte %d", field, r, i)
		}
	}
	if n > max {
		return Errorf("", "", InvalidArgument, "%s is %d characters long, at most %d allowed", field, n, max)
	}
	return nil
}
