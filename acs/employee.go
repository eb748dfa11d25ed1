package acs

import (
	"context"
	"errors"
	"fmt"
)

// ErrReadOnly is matched (errors.Is) by the error of an EmployeeAccess
// change refused because the ACS manages the cardholder read-only: it is
// kept in sync by a directory (SCIM, Active Directory, an identity
// provider) and only that directory may change it. The *Error carrying it
// has code PermissionDenied. Retrying does not help; the administrator
// either lets the VMS toggle access groups instead of the cardholder's
// status (group membership is often managed outside the directory) or
// gives the VMS write access to the cardholder.
var ErrReadOnly = errors.New("acs: the cardholder is managed read-only at the ACS")

// ReadOnly returns the error an adapter reports when the ACS refuses to
// change a cardholder it manages read-only: code PermissionDenied,
// matching both ErrReadOnly and ErrPermissionDenied, with cause (the
// vendor's error, may be nil) reachable through errors.As.
func ReadOnly(op, provider, message string, cause error) *Error {
	err := ErrReadOnly
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrReadOnly, cause)
	}
	return &Error{Op: op, Provider: provider, Code: PermissionDenied, Message: message, Err: err}
}

// Employee is a cardholder the VMS did not create (an employee, a
// contractor) as the ACS holds it, found with EmployeeAccess.FindEmployee.
type Employee struct {
	// Cardholder carries the ACS's ID of the cardholder (ExternalID is
	// empty: employees are not keyed by the VMS).
	Cardholder CardholderRef `json:"cardholder"`
	FirstName  string        `json:"first_name,omitempty"`
	LastName   string        `json:"last_name,omitempty"`
	// Enabled reports whether the cardholder's status lets its credentials
	// open doors at all (each adapter documents which status it reads).
	Enabled bool `json:"enabled"`
	// AccessLevels are the IDs of the access levels the cardholder holds.
	AccessLevels []string `json:"access_levels"`
	// Cards are the cards of the cardholder's credentials that the
	// adapter can read as known formats.
	Cards []Card `json:"cards,omitempty"`
}

// EmployeeQuery says which cardholder FindEmployee looks for: by the ACS's
// ID, or by a card it holds. Exactly one of the two is set.
type EmployeeQuery struct {
	// ID is the ACS's ID of the cardholder (a GUID, a numeric key).
	ID string `json:"id,omitempty"`
	// Card is the card of one of the cardholder's credentials.
	Card Card `json:"card,omitzero"`
}

// ValidateEmployeeQuery checks that exactly one of q.ID and q.Card is set,
// that the ID is printable text and that the card fits its format. Errors
// have code InvalidArgument.
func ValidateEmployeeQuery(q EmployeeQuery) error {
	switch {
	case q.ID == "" && q.Card.IsZero():
		return Errorf("", "", InvalidArgument, "employee query names neither an ID nor a card")
	case q.ID != "" && !q.Card.IsZero():
		return Errorf("", "", InvalidArgument, "employee query names both an ID and a card")
	case q.ID != "":
		return ValidateText("employee ID", q.ID, 128)
	}
	return ValidateCard(q.Card)
}

// EmployeeAccess is implemented by providers that can gate the access of
// an existing cardholder, so that a VMS can require employees to check in
// before their badge works: the badge is enabled at check-in and disabled
// again when the employee access duration ends. A location picks one of
// two methods: toggle the cardholder's status (the cardholder starts
// disabled), or toggle its membership of configured access levels (the
// cardholder stays enabled).
//
// Contract, checked by package acstest (the Employee rules):
//
//   - Every method takes the context first and returns a Canceled error,
//     having changed nothing, when it has ended.
//   - Changes are idempotent: enabling an enabled cardholder, adding a
//     level it holds or removing one it lacks succeeds and changes
//     nothing, so a VMS retries each until the ACS confirms.
//   - A cardholder that does not exist is NotFound; a malformed ID or
//     query is InvalidArgument.
//   - A cardholder the ACS manages read-only (directory sync, SCIM) is
//     refused with an error matching ErrReadOnly (code PermissionDenied),
//     and nothing changes.
//
// Fallback when absent: the VMS cannot gate employees at that ACS; their
// badges open doors as the ACS's administrator configured them.
type EmployeeAccess interface {
	// FindEmployee returns the cardholder with q.ID, or the one holding a
	// credential with q.Card. No such cardholder is NotFound.
	FindEmployee(ctx context.Context, q EmployeeQuery) (Employee, error)

	// SetEmployeeEnabled sets the status of the cardholder with the ACS's
	// ID id: enabled, its credentials open the doors of its access
	// levels; disabled, none.
	SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error

	// SetEmployeeLevels makes the cardholder with the ACS's ID id a member
	// of every access level in levels (member true) or of none of them
	// (false), leaving its other access levels as they are. An access
	// level the ACS does not know is NotFound and changes nothing.
	SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error
}

// ValidateEmployeeLevels checks the access levels of a SetEmployeeLevels
// call as ValidateGrant checks a grant's: at least one, at most
// MaxAccessLevels, none empty or repeated. Errors have code
// InvalidArgument.
func ValidateEmployeeLevels(levels []string) error {
	if len(levels) == 0 {
		return Errorf("", "", InvalidArgument, "no access level given")
	}
	if len(levels) > MaxAccessLevels {
		return Errorf("", "", InvalidArgument, "%d access levels given, at most %d allowed", len(levels), MaxAccessLevels)
	}
	for i, id := range levels {
		if id == "" {
			return Errorf("", "", InvalidArgument, "access level %d is empty", i+1)
		}
		if err := ValidateText("access level", id, 128); err != nil {
			return err
		}
		for _, prev := range levels[:i] {
			if prev == id {
				return Errorf("", "", InvalidArgument, "access level %q is listed twice", id)
			}
		}
	}
	return nil
}

// UnknownCardEvents is implemented by event sources whose refused door
// events carry the data of a card the ACS does not know (DoorEvent.Card
// set on a denied event of a blank or unregistered card), so that a VMS
// can capture a card presented at a reader and issue it (tap to enrol).
// Fallback when absent or false: the VMS hands out pool badges or card
// numbers whose data it already knows.
type UnknownCardEvents interface {
	// ReportsUnknownCards reports whether, as configured, the provider's
	// door events carry the card data of unknown cards.
	ReportsUnknownCards() bool
}
