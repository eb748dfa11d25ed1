package badge

import (
	"context"
	"time"
)

// Store keeps badges and their assignment history, per location. The Pool
// validates every argument before calling a Store, so implementations may
// assume valid input. Every method must be safe for concurrent use and
// atomic: a method either makes all of its change or none of it.
//
// Errors wrap the package sentinels (ErrNotFound, ErrExists, …) so the Pool
// and its callers can classify them; storage failures may be returned as
// they are.
//
// The interface is shaped for database/sql: each method is one short
// transaction. Package badgetest checks an implementation against this
// contract.
type Store interface {
	// Add stores a new badge. b is valid and Available, with Since set.
	// It returns ErrExists when the location already has a badge with
	// b.ID.
	Add(ctx context.Context, b Badge) error

	// Get returns one badge, or ErrNotFound.
	Get(ctx context.Context, location, id string) (Badge, error)

	// List returns the location's badges that match f, ordered by the
	// length of the ID and then by ID, which is numeric order for IDs
	// without leading zeros. An unknown location has no badges.
	List(ctx context.Context, location string, f Filter) ([]Badge, error)

	// Acquire assigns a badge to visitID at time at, in one atomic step: a
	// badge is never assigned to two visits.
	//
	//  1. If visitID already holds a badge at the location, Acquire returns
	//     that badge unchanged when id is "" or its ID, so a retried request
	//     does not take a second badge; for another id it returns
	//     ErrVisitHasBadge.
	//  2. With id set, that badge must exist (ErrNotFound) and be Available
	//     (ErrNotAvailable). With id "", the Available badge that has been
	//     available longest (oldest Since) is taken; ties are broken in an
	//     order of the store's choosing. When none is Available, Acquire
	//     returns ErrNotAvailable.
	//  3. The badge becomes Assigned with VisitID visitID and Since at, and
	//     an Assignment{From: at} is added to its history.
	//
	// A SQL store can do step 2 with one UPDATE … WHERE state = 'available'
	// … RETURNING, or SELECT … FOR UPDATE SKIP LOCKED, guarded by a unique
	// index on (location, visit_id) for assigned badges.
	Acquire(ctx context.Context, location, id, visitID string, at time.Time) (Badge, error)

	// Release ends visitID's hold on the badge at time at: the badge
	// becomes Available (VisitID cleared, Since at) and the open Assignment
	// gets To at and Reason ReasonReleased. When the badge exists but
	// visitID does not hold it (already released, marked lost, or held by
	// another visit), Release changes nothing and returns the badge as it
	// is with a nil error, so a retried release is harmless. Unknown badge:
	// ErrNotFound.
	Release(ctx context.Context, location, id, visitID string, at time.Time) (Badge, error)

	// SetState moves a badge to Lost, Available (found) or Retired at time
	// at, as CheckTransition allows; a refused change returns its error
	// (wrapping ErrInvalidTransition) and changes nothing. Moving to the
	// current state changes nothing. Assigned → Lost clears VisitID and
	// closes the open Assignment with Reason ReasonLost. Unknown badge:
	// ErrNotFound.
	SetState(ctx context.Context, location, id string, to State, at time.Time) (Badge, error)

	// History returns every assignment of the badge, oldest first, or
	// ErrNotFound for an unknown badge.
	History(ctx context.Context, location, id string) ([]Assignment, error)

	// HolderAt returns the assignment that covers t (Assignment.Covers);
	// if several do, the one with the latest From. It returns ErrNotFound
	// when the badge is unknown or no visit held it at t.
	HolderAt(ctx context.Context, location, id string, t time.Time) (Assignment, error)
}
