package acs

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Limits on a PIN's length, shared by every adapter. An ACS may allow
// less: PINSupport says what it takes.
const (
	MinPINLen = 4
	MaxPINLen = 12
)

// pinRedacted is what every printed form of a PIN shows.
const pinRedacted = "[PIN redacted]"

// PIN is a keypad code: MinPINLen to MaxPINLen decimal digits. It is a
// secret handed to the visitor once, so every way a value is printed or
// encoded redacts it: String, GoString, Format (every verb of package
// fmt), MarshalJSON, MarshalText and LogValue (package slog) show
// "[PIN redacted]", and a zero PIN "[no PIN]". A struct holding a PIN in
// an unexported field prints a pointer, not the digits, and the digits
// are kept masked in memory, so even a reflection dump of the value shows
// no digit sequence. JSON and text never produce a PIN (UnmarshalJSON
// refuses digits): ParsePIN is the only way in, Reveal the only way out,
// and an adapter calls Reveal only to build the request that sets the PIN
// at the ACS.
//
// The zero PIN is no PIN. PINs are comparable with Equal, not ==.
type PIN struct{ v *pinValue }

// pinValue holds the digits XOR a random pad of the same length.
type pinValue struct{ masked, pad []byte }

// ParsePIN reads a PIN of MinPINLen to MaxPINLen ASCII digits. Its error
// (InvalidArgument) says what is wrong without quoting s.
func ParsePIN(s string) (PIN, error) {
	if n := len(s); n < MinPINLen || n > MaxPINLen {
		return PIN{}, Errorf("", "", InvalidArgument, "a PIN has %d to %d digits, this one %d characters", MinPINLen, MaxPINLen, n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return PIN{}, Errorf("", "", InvalidArgument, "a PIN has only digits; character %d is not one", i+1)
		}
	}
	pad := make([]byte, len(s))
	_, _ = rand.Read(pad)
	masked := make([]byte, len(s))
	for i := range masked {
		masked[i] = s[i] ^ pad[i]
	}
	return PIN{&pinValue{masked: masked, pad: pad}}, nil
}

// IsZero reports whether p is no PIN.
func (p PIN) IsZero() bool { return p.v == nil }

// Len returns the number of digits (0 for no PIN).
func (p PIN) Len() int {
	if p.v == nil {
		return 0
	}
	return len(p.v.masked)
}

// Reveal returns the digits. It is the one way to read them: call it only
// where the PIN goes to the ACS or, once, to the visitor.
func (p PIN) Reveal() string {
	if p.v == nil {
		return ""
	}
	b := make([]byte, len(p.v.masked))
	for i := range b {
		b[i] = p.v.masked[i] ^ p.v.pad[i]
	}
	return string(b)
}

// Equal reports whether p and q are the same digits, in constant time for
// PINs of the same length.
func (p PIN) Equal(q PIN) bool {
	if p.IsZero() || q.IsZero() {
		return p.IsZero() && q.IsZero()
	}
	return subtle.ConstantTimeCompare([]byte(p.Reveal()), []byte(q.Reveal())) == 1
}

// String returns "[PIN redacted]", or "[no PIN]" for the zero PIN.
func (p PIN) String() string {
	if p.IsZero() {
		return "[no PIN]"
	}
	return pinRedacted
}

// GoString returns the String form: %#v redacts too.
func (p PIN) GoString() string { return "acs.PIN(" + p.String() + ")" }

// Format prints the String form whatever the verb and flags (%d, %x, %q,
// %+v…), so that no verb of package fmt shows the digits.
func (p PIN) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(p.GoString()))
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// MarshalJSON writes "[PIN redacted]" (null for the zero PIN): a grant or
// a record marshalled to JSON never carries the digits.
func (p PIN) MarshalJSON() ([]byte, error) {
	if p.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + pinRedacted + `"`), nil
}

// UnmarshalJSON reads null or the redacted form as the zero PIN and
// refuses anything else: a PIN is never read from JSON (use ParsePIN).
func (p *PIN) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "null", `""`, `"` + pinRedacted + `"`:
		*p = PIN{}
		return nil
	}
	return Errorf("", "", InvalidArgument, "a PIN is not read from JSON; parse it with acs.ParsePIN")
}

// MarshalText writes the String form (used for map keys and by text
// encoders such as slog's TextHandler).
func (p PIN) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// LogValue redacts the PIN in log records (slog.LogValuer).
func (p PIN) LogValue() slog.Value { return slog.StringValue(p.String()) }

// RedactPIN returns err with the digits of each PIN removed from its text.
// When err's text holds none of them it returns err unchanged; otherwise
// an *Error with the same Op, Provider, Code and RetryAfter, whose message
// is the cleaned text and which drops the cause (the cause's own text
// quotes the PIN: an ACS that echoes its request in an error message).
// Adapters pass every error of ProvisionPIN through it, and the visitor
// engine does again before it records or logs one.
func RedactPIN(err error, pins ...PIN) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	hit := false
	for _, p := range pins {
		if d := p.Reveal(); d != "" && strings.Contains(text, d) {
			text, hit = strings.ReplaceAll(text, d, pinRedacted), true
		}
	}
	if !hit {
		return err
	}
	out := &Error{Code: CodeOf(err), Message: text}
	var ae *Error
	if errors.As(err, &ae) {
		out.Op, out.Provider, out.RetryAfter = ae.Op, ae.Provider, ae.RetryAfter
	}
	if top, ok := err.(*Error); ok {
		// The text starts with "provider op: code", which Error adds again.
		head := (&Error{Op: top.Op, Provider: top.Provider, Code: top.Code}).Error()
		out.Message = strings.TrimPrefix(strings.TrimPrefix(text, head), ": ")
	}
	return out
}

// PINGrant asks the ACS to let a person in through the given access levels
// by entering PIN at a keypad, from ValidFrom until ValidUntil.
type PINGrant struct {
	Person Person `json:"person"`
	// PIN is the code to set. It never appears in the grant's JSON.
	PIN PIN `json:"pin,omitzero"`
	// Card, when set, is the card the PIN goes with. An ACS that keeps a
	// PIN on a card credential (PINSupport.Standalone false: OnGuard's
	// badge PIN) sets it on the cardholder's credential of this card,
	// provisioned before; the others ignore it.
	Card         Card      `json:"card,omitzero"`
	AccessLevels []string  `json:"access_levels"`
	ValidFrom    time.Time `json:"valid_from"`
	ValidUntil   time.Time `json:"valid_until"`
}

// pinPlaceholderCard stands in for the card when ValidatePINGrant checks
// the rest of a PIN grant with ValidateGrant; it is valid and never sent.
var pinPlaceholderCard = Card{Format: H10301, Facility: 0, Number: 0}

// ValidatePINGrant checks a PIN grant before any network call as
// ValidateGrant checks a grant (external ID, names, access levels,
// window), and that it has a PIN and, when set, a valid card. Errors have
// code InvalidArgument and never contain the PIN.
func ValidatePINGrant(g PINGrant, r Rules) error {
	if g.PIN.IsZero() {
		return Errorf("", "", InvalidArgument, "PIN grant has no PIN")
	}
	if !g.Card.IsZero() {
		if err := ValidateCard(g.Card); err != nil {
			return err
		}
	}
	return RedactPIN(ValidateGrant(Grant{
		Person: g.Person, Card: pinPlaceholderCard, AccessLevels: g.AccessLevels,
		ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil,
	}, r), g.PIN)
}

// PINSupport says what an ACS can do with PINs.
type PINSupport struct {
	// MinLen and MaxLen bound the PIN's length, within MinPINLen and
	// MaxPINLen.
	MinLen, MaxLen int
	// Standalone reports whether a PIN may be issued without a card: a
	// cardholder with nothing but a PIN. When false, the PIN lives on a
	// card credential and PINGrant.Card must name one the cardholder was
	// provisioned with first.
	Standalone bool
}

// Check checks g against s: a PIN length within MinLen and MaxLen
// (InvalidArgument) and a card when the ACS keeps PINs on cards
// (Unsupported). It makes no request and never quotes the PIN.
func (s PINSupport) Check(g PINGrant) error {
	if n := g.PIN.Len(); n < s.MinLen || n > s.MaxLen {
		return Errorf("", "", InvalidArgument, "the ACS takes PINs of %d to %d digits, this one has %d", s.MinLen, s.MaxLen, n)
	}
	if !s.Standalone && g.Card.IsZero() {
		return Errorf("", "", Unsupported, "the ACS keeps a PIN on a card credential: issue the PIN with a card")
	}
	return nil
}

// PINIssuer is implemented by providers whose ACS lets a cardholder in by
// a PIN entered at a keypad reader: a Genetec keypad credential, an
// OnGuard badge PIN, a Brivo user PIN. The PIN opens the doors of the
// grant's access levels, within its window, by itself at PIN-only
// keypads; how a "card and PIN" reader combines it with a card is the
// ACS's reader configuration. Each cardholder holds at most one PIN from
// this interface: ProvisionPIN sets it, RevokePIN removes it.
//
// Contract (checked by package acstest, rules PIN…):
//
//   - ProvisionPIN validates (ValidatePINGrant, PINSupport.Check) before
//     any network call, and is idempotent by g.Person.ExternalID: the
//     cardholder is found or created (with the grant's levels and window,
//     as Provision would; or, when the PIN lives on a card, must hold that
//     card) and its PIN set to g.PIN.
//   - RevokePIN makes the cardholder's PIN stop opening doors: the one
//     ref.ID names, or with no ID every PIN of the cardholder with
//     ref.CardholderExternalID. Already revoked or absent is a success.
//     RemoveCardholder removes the PIN too.
//   - The PIN never appears in an error (see RedactPIN), a log line, a URL
//     the adapter logs, or a Provisioned.
//
// Fallback when absent: the VMS issues no PIN at that location; package
// visitor refuses a PIN request as Unsupported before any ACS call.
type PINIssuer interface {
	// PINSupport says which PINs the ACS takes. It makes no request.
	PINSupport() PINSupport
	// ProvisionPIN makes sure the cardholder with g.Person.ExternalID
	// holds g.PIN, valid from g.ValidFrom to g.ValidUntil for the access
	// levels of g. Provisioned.Credential refers to the PIN credential
	// (its Card is zero unless the PIN lives on that card).
	ProvisionPIN(ctx context.Context, g PINGrant) (Provisioned, error)
	// RevokePIN makes the PIN stop opening doors.
	RevokePIN(ctx context.Context, ref CredentialRef) error
}
