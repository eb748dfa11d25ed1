package visitor

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
)

// Store errors, for Store implementations: they wrap them so that the
// Engine classifies with errors.Is. Callers of the Engine test acs codes
// instead (errors.Is(err, acs.ErrNotFound), acs.ErrAlreadyExists): every
// Engine method turns these into *acs.Error values, one sentinel per
// outcome whatever the source (the store, the ACS, a badge pool).
var (
	// ErrNotFound: no visit (or outbox item) has the given ID.
	ErrNotFound = errors.New("visitor: not found")
	// ErrExists: a visit with the same ID already exists.
	ErrExists = errors.New("visitor: already exists")
	// ErrLeaseLost: the outbox item is not (or no longer) leased by the
	// given lease owner: its lease expired and another worker claimed it,
	// or it was completed or cancelled.
	ErrLeaseLost = errors.New("visitor: outbox lease lost")
)

// Store keeps visits, the outbox of ACS operations, the audit trail, and the
// badge pools and card-number ranges, in one database so that a visit, its
// badge and its outbox entries change in one transaction.
//
// Every method is safe for concurrent use, including from several processes
// sharing one database (several VMS replicas on one PostgreSQL). Every
// method is atomic. Package storetest checks an implementation against this
// contract; MemoryStore is the in-memory implementation.
//
// A SQL implementation maps Visit, OutboxItem and AuditRecord to rows: the
// struct as a JSON document plus the columns the methods filter and sort on
// (visit: id, location, state, due_at, ended_at and a sweep lease; outbox:
// id, seq, visit_id, next_attempt, lease_owner, lease_until; audit: seq,
// time, visit_id, location, badge_id).
type Store interface {
	// Create inserts v (v.ID set) and runs fn on it in the same
	// transaction, as Update does; fn sees v with Version 0. It returns ErrExists when a
	// visit with v.ID exists, and otherwise the visit as stored, Version 1.
	Create(ctx context.Context, v Visit, fn TxFunc) (Visit, error)

	// Update runs fn on the visit with the given ID inside one transaction
	// and stores the visit fn leaves, with Version one more. Everything fn
	// does through tx (badges, card numbers, outbox, audit) commits with
	// the visit or not at all: when fn returns an error nothing changes and
	// Update returns that error unchanged. Updates of one visit are
	// serialised (a SQL store locks the visit row first). Unknown ID:
	// ErrNotFound, without calling fn.
	//
	// fn may be called more than once (a store may retry a transaction
	// that failed to serialise); it must have no effect outside v and tx
	// beyond overwriting its own results.
	Update(ctx context.Context, id string, fn TxFunc) (Visit, error)

	// Visit returns the visit with the given ID, or ErrNotFound.
	Visit(ctx context.Context, id string) (Visit, error)

	// Visits returns the visits matching f, ordered by ID.
	Visits(ctx context.Context, f VisitFilter) ([]Visit, error)

	// ClaimDue leases up to limit visits whose DueAt is set and not after
	// now and whose sweep lease is free (never taken or expired before
	// now), to owner until now+lease, and returns their IDs ordered by
	// DueAt. A visit leased to one owner is not returned to another until
	// the lease expires or the visit is updated: a successful Update ends
	// the sweep lease, since whoever changed the visit has handled it (and
	// set its next DueAt).
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, error)

	// ClaimOutbox leases up to limit outbox items to owner until now+lease
	// and returns them, each with Attempts one more, LeaseOwner and
	// LeaseUntil set. Only the head of each visit's queue is claimable
	// (the unfinished item with the lowest Seq of its visit), and only when
	// its NextAttempt is not after now and its lease is free (empty or
	// expired before now), so the operations of one visit run one at a
	// time and in order. Items are returned by NextAttempt, then Seq.
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)

	// Outbox returns the unfinished outbox items of the visit (all visits
	// when visitID is ""), by Seq, at most limit of them (all when limit
	// is 0 or less).
	Outbox(ctx context.Context, visitID string, limit int) ([]OutboxItem, error)

	// AppendAudit appends records outside any visit transaction (refusals
	// change no visit). Seq is assigned by the store.
	AppendAudit(ctx context.Context, recs ...AuditRecord) error

	// Audit returns the records matching q, by Seq.
	Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)

	// Scrub applies Visit.Scrub to every visit that ended before before and
	// is not yet scrubbed, and AuditRecord.Scrub to every record whose Time
	// is before before and is not yet scrubbed. It returns how many of each
	// it scrubbed; running it again scrubs nothing more.
	Scrub(ctx context.Context, before time.Time) (ScrubCount, error)

	// Badges returns the badge pools of this store, for badge.NewPool:
	// administration outside any visit transaction (adding badges, marking
	// them found, history).
	Badges() badge.Store

	// Cards returns the card-number ranges of this store, for
	// badge.NewAllocator.
	Cards() badge.AllocationStore
}

// TxFunc changes a visit inside a Store transaction. v is the stored visit
// (a copy fn may change freely); tx reaches the rest of the store within the
// same transaction.
type TxFunc func(tx Tx, v *Visit) error

// Tx is the part of a Store a TxFunc reaches inside its transaction. Its
// methods are only valid during the call to the TxFunc; everything they do
// commits or rolls back with the visit.
type Tx interface {
	// Badges returns the badge pools within the transaction. The Engine
	// acquires, releases and marks badges lost through it, so a badge and
	// the visit recording it never disagree.
	Badges() badge.Store

	// Cards returns the card-number ranges within the transaction.
	Cards() badge.AllocationStore

	// Outbox returns the visit's unfinished outbox items, by Seq, including
	// those enqueued earlier in this transaction.
	Outbox() ([]OutboxItem, error)

	// Enqueue adds an item to the visit's queue. The caller sets every
	// field but Seq, which the store assigns (higher than every Seq it
	// assigned before). An item may be enqueued already leased (LeaseOwner
	// and LeaseUntil set, Attempts 1), so the caller can attempt it right
	// after the commit without another worker claiming it.
	Enqueue(item OutboxItem) error

	// Cancel removes an unfinished item of the visit whatever its lease.
	// Callers cancel only items nobody is executing. Unknown ID:
	// ErrNotFound.
	Cancel(id string) error

	// Complete removes the item, which must be leased by leaseOwner:
	// otherwise ErrLeaseLost (ErrNotFound for an unknown item is also
	// acceptable). A lease that expired but was not claimed by anyone else
	// still counts as held.
	Complete(leaseOwner, id string) error

	// Retry ends leaseOwner's lease on the item and schedules its next
	// attempt at next, recording lastError. Same lease rule as Complete.
	Retry(leaseOwner, id string, next time.Time, lastError string) error

	// Audit appends a record in the transaction. Seq is assigned by the
	// store.
	Audit(rec AuditRecord) error
}

// VisitFilter selects visits in Store.Visits. Zero fields match everything.
type VisitFilter struct {
	Location string
	// States lists the states to include; empty means all.
	States []State
	// AfterID returns only visits whose ID sorts after it (paging).
	AfterID string
	// Limit caps the number of visits; 0 or less means no limit.
	Limit int
}

// Match reports whether v passes the filter (ignoring AfterID and Limit).
func (f VisitFilter) Match(v *Visit) bool {
	if f.Location != "" && v.Location != f.Location {
		return false
	}
	if len(f.States) == 0 {
		return true
	}
	for _, s := range f.States {
		if v.State == s {
			return true
		}
	}
	return false
}

// Op is an ACS operation in the outbox.
type Op string

// Outbox operations.
const (
	OpProvision        Op = "provision"         // acs.Provider.Provision(Grant)
	OpRevoke           Op = "revoke"            // acs.Provider.Revoke(Credential)
	OpRemoveCardholder Op = "remove_cardholder" // acs.Provider.RemoveCardholder(Cardholder)
	// OpReprovision provisions an active credential again to repair what
	// Reconcile found changed or missing at the ACS (acs.Provider.Provision(Grant)).
	OpReprovision Op = "reprovision"
)

// OutboxItem is one ACS operation the Engine has committed to carry out. It
// is written in the same transaction as the visit change that needs it and
// removed only once the ACS confirms it (or, for a provision, once it is no
// longer wanted). Items of one visit are executed one at a time in Seq
// order.
type OutboxItem struct {
	ID       string `json:"id"`
	Seq      int64  `json:"seq"`
	VisitID  string `json:"visit_id"`
	Location string `json:"location"`
	Op       Op     `json:"op"`
	// Credential is the index in Visit.Credentials the item is about
	// (provision, revoke); -1 for OpRemoveCardholder, which is about all.
	Credential int `json:"credential"`

	Grant      *acs.Grant         `json:"grant,omitempty"`      // OpProvision, OpReprovision
	Ref        *acs.CredentialRef `json:"ref,omitempty"`        // OpRevoke
	Cardholder *acs.CardholderRef `json:"cardholder,omitempty"` // OpRemoveCardholder
	Employee   *EmployeeOp        `json:"employee,omitempty"`   // OpEmployeeEnable, OpEmployeeDisable
	// PINGrant is the grant of an OpProvisionPIN, without its PIN, which
	// travels sealed in SealedPIN (see WithPINKey): the outbox never holds
	// a PIN in clear.
	PINGrant  *acs.PINGrant `json:"pin_grant,omitempty"`
	SealedPIN []byte        `json:"sealed_pin,omitempty"`

	CreatedAt   time.Time `json:"created_at"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LeaseOwner  string    `json:"lease_owner,omitempty"`
	LeaseUntil  time.Time `json:"lease_until,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Clone returns a deep copy of it.
func (it OutboxItem) Clone() OutboxItem {
	if it.Grant != nil {
		g := *it.Grant
		g.AccessLevels = append([]string(nil), g.AccessLevels...)
		it.Grant = &g
	}
	if it.Ref != nil {
		r := *it.Ref
		it.Ref = &r
	}
	if it.Cardholder != nil {
		c := *it.Cardholder
		it.Cardholder = &c
	}
	if it.Employee != nil {
		eo := *it.Employee
		eo.AccessLevels = slices.Clone(eo.AccessLevels)
		it.Employee = &eo
	}
	if it.PINGrant != nil {
		g := *it.PINGrant
		g.AccessLevels = append([]string(nil), g.AccessLevels...)
		it.PINGrant = &g
	}
	it.SealedPIN = append([]byte(nil), it.SealedPIN...)
	return it
}

// Leased reports whether the item is leased at now.
func (it *OutboxItem) Leased(now time.Time) bool {
	return it.LeaseOwner != "" && !it.LeaseUntil.Before(now)
}

// ScrubCount reports what Store.Scrub erased.
type ScrubCount struct {
	Visits  int `json:"visits"`
	Records int `json:"records"`
}
