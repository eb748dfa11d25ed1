package badge

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Field limits, in characters (bytes for MaxLocationLen and MaxVisitIDLen,
// which are ASCII-only keys).
const (
	MaxNameLen     = 100 // badge display name
	MaxTypeLen     = 100 // ACS credential format or badge type ID
	MaxLocationLen = 64  // location key
	MaxVisitIDLen  = 64  // visit key
)

// State is where a badge is in its life. The zero State is not a state; in a
// Filter it means "any".
type State uint8

// Badge states. A badge moves Available → Assigned (Acquire) → Available
// (Release); either of the first two may become Lost, Lost may become
// Available again (found) and Available or Lost may be Retired, for good.
const (
	Available State = iota + 1 // in the pool, ready to hand out
	Assigned                   // held by a visit; its credential may be live
	Lost                       // not returned or missing; never handed out
	Retired                    // withdrawn for good (damaged, destroyed)
)

var stateNames = [...]string{Available: "available", Assigned: "assigned", Lost: "lost", Retired: "retired"}

// String returns "available", "assigned", "lost" or "retired".
func (s State) String() string {
	if s.Valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Valid reports whether s is one of the four states.
func (s State) Valid() bool { return s >= Available && s <= Retired }

// ParseState returns the State named by String ("available", …).
func ParseState(name string) (State, error) {
	for s := Available; s <= Retired; s++ {
		if stateNames[s] == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown badge state %q", ErrInvalid, name)
}

// Card is the credential data the ACS knows a badge by: a Wiegand format, a
// facility code (0 for formats without one) and a card number. It is
// wiegand.Card, the same type as acs.Card, so a badge's card goes into a
// grant as it is. The zero Card means the data is not recorded and the ACS
// identifies the badge by its ID.
type Card = wiegand.Card

// ValidateCard checks that a non-zero Card has a supported format and that
// the facility code and number fit it. The zero Card is valid. Errors match
// ErrInvalid.
func ValidateCard(c Card) error {
	if c.IsZero() {
		return nil
	}
	if !c.Format.Known() {
		return fmt.Errorf("%w: card format %v is not supported", ErrInvalid, formatName(c.Format))
	}
	maxFC, hasFC := c.Format.MaxFacility()
	if !hasFC && c.Facility != 0 {
		return fmt.Errorf("%w: card format %s has no facility code, got %d", ErrInvalid, c.Format, c.Facility)
	}
	if c.Facility > maxFC {
		return fmt.Errorf("%w: facility code %d out of range for %s (0–%d)", ErrInvalid, c.Facility, c.Format, maxFC)
	}
	if c.Number > c.Format.MaxCard() {
		return fmt.Errorf("%w: card number %d out of range for %s (0–%d)", ErrInvalid, c.Number, c.Format, c.Format.MaxCard())
	}
	return nil
}

// formatName names f in an error: its String, or "(none)" for the zero
// Format, whose String is empty.
func formatName(f wiegand.Format) string {
	if f == 0 {
		return "(none)"
	}
	return f.String()
}

// Badge is a physical badge in a location's pool.
type Badge struct {
	// Location is the pool the badge belongs to.
	Location string
	// ID is the badge's unique number at the location, as its scanner reads
	// it; see ValidateID.
	ID string
	// Name is a display name chosen by the administrator ("Visitor 04").
	Name string
	// CredentialType is the ACS credential format or badge type ID the badge is
	// provisioned with (acs.Grant.CredentialType); empty means the ACS
	// default.
	CredentialType string
	// Card is the credential data, when known.
	Card Card
	// State is the badge's current state.
	State State
	// VisitID is the visit holding the badge; set exactly when State is
	// Assigned.
	VisitID string
	// Since is when the badge entered its current state.
	Since time.Time
}

// Assignment records that a visit held a badge from From until To. Every
// assignment is kept, so history answers who held a badge at any moment.
type Assignment struct {
	Location string
	BadgeID  string
	VisitID  string
	From     time.Time
	// To is when the assignment ended; zero while the visit still holds the
	// badge.
	To time.Time
	// Reason says why the assignment ended (ReasonReleased, ReasonLost);
	// empty while the visit still holds the badge.
	Reason string
}

// Reasons an assignment ends.
const (
	ReasonReleased = "released" // Release: returned and its credential revoked
	ReasonLost     = "lost"     // MarkLost while the visit held it
)

// Active reports whether the assignment has not ended.
func (a Assignment) Active() bool { return a.To.IsZero() }

// Covers reports whether the visit held the badge at t: From ≤ t, and t is
// before To or the assignment has not ended.
func (a Assignment) Covers(t time.Time) bool {
	return !t.Before(a.From) && (a.To.IsZero() || t.Before(a.To))
}

// Filter selects badges in List. Zero fields match everything.
type Filter struct {
	State   State  // only badges in this state
	VisitID string // only the badge held by this visit
}

// Match reports whether b passes the filter.
func (f Filter) Match(b Badge) bool {
	return (f.State == 0 || b.State == f.State) && (f.VisitID == "" || b.VisitID == f.VisitID)
}

// CheckTransition reports whether a badge in state from may be moved to
// state to with a plain state change (Store.SetState). Acquire and Release
// are the only ways into and out of Assigned, so:
//
//	to Lost:      from Available or Assigned
//	to Available: from Lost (the badge was found)
//	to Retired:   from Available or Lost
//
// from == to is allowed and changes nothing. Any other change returns an
// error wrapping ErrInvalidTransition.
func CheckTransition(from, to State) error {
	if from == to && to.Valid() {
		return nil
	}
	ok := false
	switch to {
	case Lost:
		ok = from == Available || from == Assigned
	case Available:
		ok = from == Lost
	case Retired:
		ok = from == Available || from == Lost
	}
	if ok {
		return nil
	}
	hint := ""
	switch {
	case to == Assigned:
		hint = "; use Acquire"
	case from == Assigned:
		hint = "; release it or mark it lost first"
	case from == Retired:
		hint = "; retired badges stay retired"
	}
	return fmt.Errorf("%w: %s badge cannot become %s%s", ErrInvalidTransition, from, to, hint)
}

// ValidateLocation checks a location key: 1 to MaxLocationLen bytes, no
// spaces or control characters.
func ValidateLocation(loc string) error {
	if loc == "" {
		return fmt.Errorf("%w: location is empty", ErrInvalid)
	}
	if len(loc) > MaxLocationLen {
		return fmt.Errorf("%w: location is %d bytes long, at most %d allowed", ErrInvalid, len(loc), MaxLocationLen)
	}
	if !utf8.ValidString(loc) {
		return fmt.Errorf("%w: location is not valid UTF-8", ErrInvalid)
	}
	for i, r := range loc {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: location has %q at byte %d; spaces and control characters are not allowed", ErrInvalid, r, i)
		}
	}
	return nil
}

// ValidateVisitID checks a visit key: 1 to MaxVisitIDLen bytes of ASCII
// letters, digits, '-', '_' and '.', the same rule as an ACS external ID,
// since the visit is the key the credential is provisioned under.
func ValidateVisitID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: visit ID is empty", ErrInvalid)
	}
	if len(id) > MaxVisitIDLen {
		return fmt.Errorf("%w: visit ID is %d bytes long, at most %d allowed", ErrInvalid, len(id), MaxVisitIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: visit ID has %q at position %d; only letters, digits, '-', '_' and '.' are allowed", ErrInvalid, rune(c), i+1)
		}
	}
	return nil
}

// validateText checks free text: valid UTF-8, no control characters, no
// leading or trailing space, at most max characters; empty only when
// optional.
func validateText(field, s string, max int, optional bool) error {
	if s == "" {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	n := 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: %s has control character %U at position %d", ErrInvalid, field, r, n)
		}
	}
	if n > max {
		return fmt.Errorf("%w: %s is %d characters long, at most %d allowed", ErrInvalid, field, n, max)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: %s %q has leading or trailing spaces", ErrInvalid, field, s)
	}
	return nil
}

// Validate checks the fields an administrator supplies: Location, ID
// (ValidateID), Name (required, at most MaxNameLen characters), Type
// (optional, at most MaxTypeLen characters) and Card. Names and types must
// be valid UTF-8 without control characters or surrounding spaces. State,
// VisitID and Since are not checked.
func (b Badge) Validate() error {
	if err := ValidateLocation(b.Location); err != nil {
		return err
	}
	if err := ValidateID(b.ID); err != nil {
		return err
	}
	if err := validateText("badge name", b.Name, MaxNameLen, false); err != nil {
		return err
	}
	if err := validateText("badge type", b.CredentialType, MaxTypeLen, true); err != nil {
		return err
	}
	return ValidateCard(b.Card)
}
