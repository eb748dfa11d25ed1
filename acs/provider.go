package acs

import (
	"context"
	"time"
)

// Provider is what every access control system can do. Adapters (packages
// genetec, lenel, brivo, or your own) implement it; a VMS calls it directly
// or through package visitor.
//
// Contract, checked by package acstest:
//
//   - Every method takes the context first, makes no request once it has
//     ended, and returns an error whose code is Canceled when it ended.
//   - Errors are *Error values with the provider's name and the operation.
//   - Provision validates the grant (see ValidateGrant) before any network
//     call; an invalid grant changes nothing at the ACS.
//   - Provision is idempotent by Grant.Person.ExternalID and Grant.Card:
//     repeating it after a timeout or a lost response finds what exists and
//     returns the same references instead of creating duplicates.
//   - Revoke and RemoveCardholder succeed when the target is already revoked
//     or gone, so they can be retried until confirmed.
//   - Methods are safe for concurrent use.
type Provider interface {
	// Name returns the provider's short name, such as "genetec".
	Name() string

	// Ping tests the connection and the credentials.
	Ping(ctx context.Context) error

	// AccessLevels lists every access level (all pages).
	AccessLevels(ctx context.Context) ([]AccessLevel, error)

	// CredentialFormats lists the credential formats or badge types.
	CredentialFormats(ctx context.Context) ([]CredentialFormat, error)

	// Provision makes sure a cardholder with g.Person.ExternalID exists,
	// holds a credential with g.Card valid from g.ValidFrom to g.ValidUntil,
	// and has each access level in g.AccessLevels for that window. An access
	// level unknown to the ACS is a NotFound error; a card held by another
	// cardholder is a Conflict error.
	Provision(ctx context.Context, g Grant) (Provisioned, error)

	// Revoke makes the credential stop opening doors. Already revoked or
	// absent credentials are a success.
	Revoke(ctx context.Context, ref CredentialRef) error

	// RemoveCardholder removes (or deactivates, as the adapter documents)
	// the cardholder and every credential it holds. An absent cardholder is
	// a success.
	RemoveCardholder(ctx context.Context, ref CardholderRef) error
}

// Closer is implemented by providers that hold a session or background
// work (Lenel's session keepalive, for example). Callers should call Close
// when done; providers that do not implement it need nothing.
type Closer interface {
	Close(ctx context.Context) error
}

// MobilePass is an invitation for a phone-based credential.
type MobilePass struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"` // where the visitor accepts it, when the ACS returns one
}

// MobilePassIssuer is implemented by providers that can send a visitor a
// mobile credential (Brivo Mobile Pass). Fallback when absent: issue a card
// number from a badge.Range and send it as a QR code through the VMS.
type MobilePassIssuer interface {
	// IssueMobilePass invites the person to a mobile pass for the access
	// levels of a provisioned cardholder. Idempotent by the cardholder.
	IssueMobilePass(ctx context.Context, ref CardholderRef, email string, validUntil time.Time) (MobilePass, error)
}

// Direction tells whether a door event was an entry or an exit.
type Direction int

// Door event directions.
const (
	DirectionUnknown Direction = iota
	DirectionIn
	DirectionOut
)

// String returns "unknown", "in" or "out".
func (d Direction) String() string {
	switch d {
	case DirectionIn:
		return "in"
	case DirectionOut:
		return "out"
	}
	return "unknown"
}

// MarshalText writes the direction as "in", "out" or "unknown".
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "in", "out" or "unknown" (or an empty string, which
// is unknown).
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "in":
		*d = DirectionIn
	case "out":
		*d = DirectionOut
	case "unknown", "":
		*d = DirectionUnknown
	default:
		return Errorf("", "", InvalidArgument, "direction %q is not in, out or unknown", b)
	}
	return nil
}

// DoorEvent is one access decision at a door.
type DoorEvent struct {
	// Cursor identifies this event in the provider's stream; passing it to
	// EventSource.Events resumes after this event.
	Cursor     string        `json:"cursor"`
	Time       time.Time     `json:"time"`
	DoorID     string        `json:"door_id"`
	DoorName   string        `json:"door_name,omitempty"`
	Card       Card          `json:"card,omitzero"`
	Credential string        `json:"credential_id,omitempty"`
	Cardholder CardholderRef `json:"cardholder,omitzero"`
	Granted    bool          `json:"granted"`
	Direction  Direction     `json:"direction"`
}

// EventSource is implemented by providers that deliver door events.
// Fallback when absent: the VMS has no arrival detection or muster data
// from that ACS and relies on sign-in and sign-out alone.
type EventSource interface {
	// Events delivers events after cursor to fn, one at a time and in
	// order, until ctx ends, fn returns an error (returned unchanged), or
	// the ACS refuses the stream for good (bad credentials, missing
	// licence or privilege: an *Error whose code is not retryable). With
	// an empty cursor delivery starts at the provider's documented
	// look-back (typically the last 24 hours), not at the beginning of
	// time. A slow fn slows the stream rather than growing a buffer.
	// Events reconnects by itself after transient failures and never
	// delivers an event twice within one call; callers persist each
	// event's Cursor to resume after a restart. Each adapter documents
	// the limits of its ACS's event history (events that arrive late or
	// out of order).
	Events(ctx context.Context, cursor string, fn func(DoorEvent) error) error
}
