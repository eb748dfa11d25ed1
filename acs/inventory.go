package acs

import (
	"context"
	"time"
)

// Inventory is implemented by providers that can list what this SDK
// created at the ACS: every cardholder carrying the external-ID marker that
// Provision writes, with its credentials, as the ACS holds them now. It is
// what reconciliation compares with the VMS's own records, so it must read
// the ACS's state, never a cache of the adapter's.
//
// Fallback when absent: the VMS cannot find orphans or drift at that ACS
// and relies on the expiry every credential carries at the ACS.
type Inventory interface {
	// Holdings delivers each marked cardholder to fn, one at a time, in no
	// particular order, until all were delivered (nil), ctx ends, fn
	// returns an error (returned unchanged), or the ACS fails (an *Error).
	// Cardholders without the marker (employees, people created by hand)
	// are never delivered. A cardholder the ACS keeps only as an archived
	// or soft-deleted record that opens no door may be omitted.
	Holdings(ctx context.Context, fn func(Holding) error) error
}

// Holding is one marked cardholder at the ACS and the credentials it holds.
type Holding struct {
	// Cardholder carries the ACS's ID and the caller's external ID.
	Cardholder CardholderRef `json:"cardholder"`
	// Name is the cardholder's name as the ACS stores it, for reports.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Credentials are the cardholder's credentials, revoked ones included
	// when the ACS keeps them.
	Credentials []HeldCredential `json:"credentials"`
}

// HeldCredential is one credential of a Holding as the ACS holds it. Where
// the ACS keeps access levels or the validity window on the cardholder
// rather than the credential (Genetec, Brivo), the adapter copies the
// cardholder's into each credential, so that each entry says by itself
// what the card opens and when.
type HeldCredential struct {
	// Ref identifies the credential (ID, cardholder IDs and card).
	Ref CredentialRef `json:"ref"`
	// Active reports whether the ACS lets the credential open doors at all:
	// both the credential's and its cardholder's status are active.
	Active bool `json:"active"`
	// AccessLevels are the access level IDs that apply to the credential.
	AccessLevels []string `json:"access_levels"`
	// ValidFrom and ValidUntil are the window the ACS enforces; zero when
	// the ACS stores no bound on that side.
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// OpensAt reports whether the credential, as held, opens the doors of at
// least one access level at t: it is active, has a level, and t is inside
// its window.
func (c HeldCredential) OpensAt(t time.Time) bool {
	if !c.Active || len(c.AccessLevels) == 0 {
		return false
	}
	if !c.ValidFrom.IsZero() && t.Before(c.ValidFrom) {
		return false
	}
	return c.ValidUntil.IsZero() || t.Before(c.ValidUntil)
}
