package badge

import (
	"context"
	"fmt"
	"time"
)

// Option configures a Pool or an Allocator.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes the Pool or Allocator read the time from now instead of
// time.Now; tests use it to control timestamps. A nil now means time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// Pool is the badge pool of one location: the front desk takes badges from
// it for visits and puts them back. It validates every input before it
// reaches the Store, stamps every change with its clock, and is safe for
// concurrent use when its Store is.
//
// The times a Pool records (Badge.Since, Assignment.From and To) are its
// clock's readings in UTC.
//
// Badge IDs given to a Pool method may come straight from a keyboard-wedge
// scanner: they pass through ParseScan (trailing CR/LF removed, then
// ValidateID).
//
// # Releasing
//
// A badge held by a visit stays Assigned until Release is called, even when
// the visitor has handed it back. A visit lifecycle should revoke the
// badge's credential at the ACS first and call Release only once the ACS has
// confirmed the revocation, so a badge is never handed to the next visitor
// while it still opens doors for the previous one.
type Pool struct {
	store    Store
	location string
	now      func() time.Time
}

// NewPool returns the pool of location, kept in store.
func NewPool(store Store, location string, opts ...Option) (*Pool, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalid)
	}
	if err := ValidateLocation(location); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	return &Pool{store: store, location: location, now: o.now}, nil
}

// Location returns the location the pool belongs to.
func (p *Pool) Location() string { return p.location }

// stamp returns the time to record: the clock's reading in UTC, without
// its monotonic part.
func (p *Pool) stamp() time.Time { return p.now().Round(0).UTC() }

// Add puts a new badge in the pool. The caller sets ID, Name, Type and
// optionally Card (see Badge.Validate); Location may be empty or must name
// the pool's location. The badge starts Available. A second badge with the
// same ID is refused with ErrExists.
func (p *Pool) Add(ctx context.Context, b Badge) (Badge, error) {
	if b.Location == "" {
		b.Location = p.location
	} else if b.Location != p.location {
		return Badge{}, fmt.Errorf("%w: badge location %q is not the pool's location %q", ErrInvalid, b.Location, p.location)
	}
	id, err := ParseScan(b.ID)
	if err != nil {
		return Badge{}, err
	}
	b.ID = id
	if err := b.Validate(); err != nil {
		return Badge{}, err
	}
	b.State, b.VisitID, b.Since = Available, "", p.stamp()
	if err := p.store.Add(ctx, b); err != nil {
		return Badge{}, err
	}
	return b, nil
}

// Get returns the badge with the given ID.
func (p *Pool) Get(ctx context.Context, id string) (Badge, error) {
	id, err := ParseScan(id)
	if err != nil {
		return Badge{}, err
	}
	return p.store.Get(ctx, p.location, id)
}

// List returns the pool's badges matching f, in ID order (see CompareIDs).
func (p *Pool) List(ctx context.Context, f Filter) ([]Badge, error) {
	if f.State != 0 && !f.State.Valid() {
		return nil, fmt.Errorf("%w: filter state %s", ErrInvalid, f.State)
	}
	if f.VisitID != "" {
		if err := ValidateVisitID(f.VisitID); err != nil {
			return nil, err
		}
	}
	return p.store.List(ctx, p.location, f)
}

// Acquire hands the badge with the given (scanned) ID to visitID. The badge
// must be Available: an assigned, lost or retired badge is refused with
// ErrNotAvailable and an unknown one with ErrNotFound. Acquire is idempotent
// by visit: if visitID already holds this badge it is returned unchanged;
// if it holds another one, ErrVisitHasBadge.
func (p *Pool) Acquire(ctx context.Context, id, visitID string) (Badge, error) {
	id, err := ParseScan(id)
	if err != nil {
		return Badge{}, err
	}
	if err := ValidateVisitID(visitID); err != nil {
		return Badge{}, err
	}
	return p.store.Acquire(ctx, p.location, id, visitID, p.stamp())
}

// AcquireNext hands visitID the badge that has been available longest. It
// returns ErrNotAvailable when the pool has no available badge. If visitID
// already holds a badge, that badge is returned unchanged, so retrying after
// a timeout never takes a second badge.
func (p *Pool) AcquireNext(ctx context.Context, visitID string) (Badge, error) {
	if err := ValidateVisitID(visitID); err != nil {
		return Badge{}, err
	}
	return p.store.Acquire(ctx, p.location, "", visitID, p.stamp())
}

// Release returns a badge held by visitID to the pool: it becomes Available
// and the visit's assignment ends. Call it only after the badge's credential
// is revoked at the ACS (see the Pool documentation). Release is
// idempotent: when visitID does not hold the badge (already released, or
// marked lost), nothing changes and the badge is returned as it is.
func (p *Pool) Release(ctx context.Context, id, visitID string) (Badge, error) {
	id, err := ParseScan(id)
	if err != nil {
		return Badge{}, err
	}
	if err := ValidateVisitID(visitID); err != nil {
		return Badge{}, err
	}
	return p.store.Release(ctx, p.location, id, visitID, p.stamp())
}

// MarkLost records that a badge is missing; it is never handed out until
// MarkFound. If a visit held it, that assignment ends with ReasonLost. The
// caller remains responsible for revoking its credential at the ACS.
func (p *Pool) MarkLost(ctx context.Context, id string) (Badge, error) {
	return p.setState(ctx, id, Lost)
}

// MarkFound returns a lost badge to the pool as Available. Other states are
// refused with ErrInvalidTransition, except Available, which is left as it
// is.
func (p *Pool) MarkFound(ctx context.Context, id string) (Badge, error) {
	return p.setState(ctx, id, Available)
}

// Retire withdraws an available or lost badge for good. A badge a visit
// still holds is refused with ErrInvalidTransition: release it or mark it
// lost first. Its history is kept.
func (p *Pool) Retire(ctx context.Context, id string) (Badge, error) {
	return p.setState(ctx, id, Retired)
}

func (p *Pool) setState(ctx context.Context, id string, to State) (Badge, error) {
	id, err := ParseScan(id)
	if err != nil {
		return Badge{}, err
	}
	return p.store.SetState(ctx, p.location, id, to, p.stamp())
}

// History returns every assignment of the badge, oldest first.
func (p *Pool) History(ctx context.Context, id string) ([]Assignment, error) {
	id, err := ParseScan(id)
	if err != nil {
		return nil, err
	}
	return p.store.History(ctx, p.location, id)
}

// HolderAt answers "who held badge id at time t": the assignment covering
// t, or an error wrapping ErrNotFound when the badge was in no one's hands
// then.
func (p *Pool) HolderAt(ctx context.Context, id string, t time.Time) (Assignment, error) {
	id, err := ParseScan(id)
	if err != nil {
		return Assignment{}, err
	}
	if t.IsZero() {
		return Assignment{}, fmt.Errorf("%w: HolderAt needs a non-zero time", ErrInvalid)
	}
	return p.store.HolderAt(ctx, p.location, id, t)
}
