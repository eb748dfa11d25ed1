package badge

import (
	"context"
	"fmt"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Range is the block of card numbers a location issues to visitors whose
// credential is generated rather than a physical badge (a QR code or a
// mobile credential). Every issued card has the range's format and facility
// code and a number in [Min, Max]. Ranges are configured at the ACS side
// too (a Genetec card range, for example) and must match it.
type Range struct {
	Location string
	Format   wiegand.Format
	Facility uint64 // 0 for formats without a facility code
	Min, Max uint64
}

// Validate checks the location, that the format is supported, that the
// facility code and both bounds fit the format (H10301: facility 0–255,
// numbers 0–65,535) and that Min ≤ Max.
func (r Range) Validate() error {
	if err := ValidateLocation(r.Location); err != nil {
		return err
	}
	if !r.Format.Known() {
		return fmt.Errorf("%w: range card format %s is not supported", ErrInvalid, formatName(r.Format))
	}
	maxFC, hasFC := r.Format.MaxFacility()
	if !hasFC && r.Facility != 0 {
		return fmt.Errorf("%w: card format %s has no facility code, got %d", ErrInvalid, r.Format, r.Facility)
	}
	if r.Facility > maxFC {
		return fmt.Errorf("%w: facility code %d out of range for %s (0–%d)", ErrInvalid, r.Facility, r.Format, maxFC)
	}
	if r.Min > r.Max {
		return fmt.Errorf("%w: range minimum %d is above its maximum %d", ErrInvalid, r.Min, r.Max)
	}
	if r.Max > r.Format.MaxCard() {
		return fmt.Errorf("%w: range maximum %d out of range for %s (0–%d)", ErrInvalid, r.Max, r.Format, r.Format.MaxCard())
	}
	return nil
}

// Size returns how many numbers the range holds.
func (r Range) Size() uint64 { return r.Max - r.Min + 1 }

// Contains reports whether n is in [Min, Max].
func (r Range) Contains(n uint64) bool { return r.Min <= n && n <= r.Max }

// Card returns the card with number n in this range's format and facility.
func (r Range) Card(n uint64) Card { return Card{Format: r.Format, Facility: r.Facility, Number: n} }

// String formats r as "lobby H10301 12/1000–1999".
func (r Range) String() string {
	return fmt.Sprintf("%s %s %d/%d–%d", r.Location, r.Format, r.Facility, r.Min, r.Max)
}

// CheckRangeChange decides whether a location's range may change from old
// to next while issued numbers are allocated, the lowest and highest of them
// being lowest and highest. With none issued any valid change is allowed.
// Otherwise the format and facility must stay the same and next must still
// contain every issued number; a refusal wraps ErrRangeInUse. Stores call it
// inside the transaction that changes the range.
func CheckRangeChange(old, next Range, issued int, lowest, highest uint64) error {
	if issued == 0 {
		return nil
	}
	if old.Format != next.Format || old.Facility != next.Facility {
		return fmt.Errorf("%w: location %s has %d issued numbers in %s facility %d; the format and facility cannot change until they are freed",
			ErrRangeInUse, old.Location, issued, old.Format, old.Facility)
	}
	if !next.Contains(lowest) || !next.Contains(highest) {
		return fmt.Errorf("%w: location %s has issued numbers from %d to %d; the new range %d–%d must contain them",
			ErrRangeInUse, old.Location, lowest, highest, next.Min, next.Max)
	}
	return nil
}

// Allocation is a card number issued to a visit.
type Allocation struct {
	Location string
	VisitID  string
	Card     Card // the range's format and facility, and the number
	At       time.Time
}

// AllocationStore keeps each location's range and the numbers allocated in
// it. Arguments are validated by the Allocator. Implementations must be safe
// for concurrent use and make each method atomic; errors wrap the package
// sentinels. Package badgetest checks an implementation against this
// contract.
type AllocationStore interface {
	// Range returns the location's range, or ErrNoRange.
	Range(ctx context.Context, location string) (Range, error)

	// SetRange sets or replaces the range of r.Location. A replacement is
	// refused as CheckRangeChange decides, so issued numbers are never
	// orphaned.
	SetRange(ctx context.Context, r Range) error

	// Allocate issues visitID a number of the location's range not
	// allocated to anyone, in one atomic step: a number is never issued to
	// two visits at once. If visitID already holds a number at the
	// location, that allocation is returned unchanged, so a retried request
	// does not take a second number. ErrNoRange without a range,
	// ErrRangeFull when every number is taken. Which free number is chosen
	// is up to the store; preferring the one freed longest ago keeps a
	// just-revoked number out of circulation for as long as possible.
	Allocate(ctx context.Context, location, visitID string, at time.Time) (Allocation, error)

	// Free returns number to the range if it is allocated to visitID. When
	// it is not (already freed, possibly reissued to another visit), Free
	// changes nothing and returns nil, so a retried free is harmless.
	Free(ctx context.Context, location string, number uint64, visitID string) error

	// Allocations returns the live allocations of the location, ordered by
	// number.
	Allocations(ctx context.Context, location string) ([]Allocation, error)
}

// Allocator issues card numbers from one location's Range to visits. It is
// safe for concurrent use when its store is.
//
// As with Pool.Release, free a number only once the ACS has confirmed that
// the credential carrying it is revoked.
type Allocator struct {
	store    AllocationStore
	location string
	now      func() time.Time
}

// NewAllocator returns the allocator of location, kept in store.
func NewAllocator(store AllocationStore, location string, opts ...Option) (*Allocator, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil AllocationStore", ErrInvalid)
	}
	if err := ValidateLocation(location); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	return &Allocator{store: store, location: location, now: o.now}, nil
}

// Location returns the location the allocator belongs to.
func (a *Allocator) Location() string { return a.location }

// Range returns the location's range, or ErrNoRange.
func (a *Allocator) Range(ctx context.Context) (Range, error) {
	return a.store.Range(ctx, a.location)
}

// SetRange validates r and makes it the location's range. r.Location may be
// empty or must name the allocator's location. Once numbers are issued the
// format and facility are fixed and the range may only change so that it
// still contains every issued number; otherwise ErrRangeInUse.
func (a *Allocator) SetRange(ctx context.Context, r Range) error {
	if r.Location == "" {
		r.Location = a.location
	} else if r.Location != a.location {
		return fmt.Errorf("%w: range location %q is not the allocator's location %q", ErrInvalid, r.Location, a.location)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	return a.store.SetRange(ctx, r)
}

// Allocate issues visitID a free number of the range; see
// AllocationStore.Allocate. It is idempotent by visit.
func (a *Allocator) Allocate(ctx context.Context, visitID string) (Allocation, error) {
	if err := ValidateVisitID(visitID); err != nil {
		return Allocation{}, err
	}
	return a.store.Allocate(ctx, a.location, visitID, a.now().Round(0))
}

// Free returns number to the range if visitID holds it, and otherwise does
// nothing; see AllocationStore.Free.
func (a *Allocator) Free(ctx context.Context, number uint64, visitID string) error {
	if err := ValidateVisitID(visitID); err != nil {
		return err
	}
	return a.store.Free(ctx, a.location, number, visitID)
}

// Allocations returns the live allocations, ordered by number.
func (a *Allocator) Allocations(ctx context.Context) ([]Allocation, error) {
	return a.store.Allocations(ctx, a.location)
}
