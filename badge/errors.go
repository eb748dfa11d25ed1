package badge

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package, and by any Store or
// AllocationStore implementation, wraps exactly one of them, so callers
// classify with errors.Is and show Error() to people.
var (
	// ErrInvalid reports bad input: a malformed badge ID, name, type,
	// location, visit ID, card or range. Nothing was changed.
	ErrInvalid = errors.New("badge: invalid argument")

	// ErrInvalidID reports a malformed badge ID. It wraps ErrInvalid, so
	// errors.Is(err, ErrInvalid) also holds. Use errors.As with *IDError for
	// the offending character and its position.
	ErrInvalidID = fmt.Errorf("%w: badge ID", ErrInvalid)

	// ErrNotFound reports that no badge has the given ID at the location,
	// or that no one held the badge at the given time.
	ErrNotFound = errors.New("badge: not found")

	// ErrExists reports that a badge with the same ID already exists at the
	// location.
	ErrExists = errors.New("badge: already exists")

	// ErrNotAvailable reports that the requested badge is assigned, lost or
	// retired, or that no badge is available at the location.
	ErrNotAvailable = errors.New("badge: not available")

	// ErrVisitHasBadge reports that the visit already holds a different
	// badge at the location. A visit holds at most one badge per location.
	ErrVisitHasBadge = errors.New("badge: visit already holds a badge")

	// ErrInvalidTransition reports a state change the badge's current state
	// does not allow, such as retiring a badge a visitor still holds.
	ErrInvalidTransition = errors.New("badge: state change not allowed")

	// ErrNoRange reports that no card-number range is configured for the
	// location.
	ErrNoRange = errors.New("badge: no card-number range configured")

	// ErrRangeFull reports that every number in the location's range is
	// allocated.
	ErrRangeFull = errors.New("badge: card-number range exhausted")

	// ErrRangeInUse reports that a new range was refused because numbers
	// already issued would fall outside it or change format or facility.
	ErrRangeInUse = errors.New("badge: card-number range in use")
)
