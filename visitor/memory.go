package visitor

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/badge"
)

// MemoryStore is a Store kept in memory: for tests, examples and single
// process deployments that accept losing everything on restart (the ACS
// still expires every credential at the end of its window). It also
// implements the badge pools and card-number ranges (Badges, Cards).
//
// One mutex serialises all operations; a transaction (Create, Update) holds
// it while its TxFunc runs and undoes every change exactly when the TxFunc
// fails. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu     sync.Mutex
	visits map[string]*memVisit
	due    map[string]*memVisit // visits with a DueAt

	items   map[string]*memItem
	queue   []*memItem            // every unfinished item by Seq, plus removed ones until compacted
	dead    int                   // removed items still in queue
	byVisit map[string][]*memItem // unfinished items of each visit by Seq
	seq     int64

	audit    []AuditRecord
	auditSeq int64

	badges     map[string]*mbLoc
	badgeOrder uint64
	ranges     map[string]*maLoc

	cursors map[string]string // door event cursors by location

	pinTags map[string]string // "location\x00tag" → visit holding the PIN (memory_pin.go)
}

type memVisit struct {
	v          Visit
	leaseOwner string
	leaseUntil time.Time
}

type memItem struct {
	it      OutboxItem
	removed bool
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		visits:  make(map[string]*memVisit),
		due:     make(map[string]*memVisit),
		items:   make(map[string]*memItem),
		byVisit: make(map[string][]*memItem),
		badges:  make(map[string]*mbLoc),
		ranges:  make(map[string]*maLoc),
		cursors: make(map[string]string),
	}
}

var (
	_ Store       = (*MemoryStore)(nil)
	_ CursorStore = (*MemoryStore)(nil)
)

// DoorCursor implements CursorStore, so that an Engine over a MemoryStore
// keeps its door event cursors with its visits.
func (s *MemoryStore) DoorCursor(ctx context.Context, location string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[location], nil
}

// SaveDoorCursor implements CursorStore.
func (s *MemoryStore) SaveDoorCursor(ctx context.Context, location, cursor string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[location] = cursor
	return nil
}

// memTx is one transaction: the undo log of everything done so far.
type memTx struct {
	s       *MemoryStore
	visitID string
	undo    []func()
}

// onUndo records how to revert a change. A nil tx (a change outside any
// transaction) records nothing.
func (tx *memTx) onUndo(f func()) {
	if tx != nil {
		tx.undo = append(tx.undo, f)
	}
}

func (tx *memTx) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	tx.undo = nil
}

func (s *MemoryStore) setDue(mv *memVisit) {
	if mv.v.DueAt.IsZero() {
		delete(s.due, mv.v.ID)
	} else {
		s.due[mv.v.ID] = mv
	}
}

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, v Visit, fn TxFunc) (Visit, error) {
	if err := ctx.Err(); err != nil {
		return Visit{}, err
	}
	if v.ID == "" {
		return Visit{}, fmt.Errorf("visitor: visit has no ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.visits[v.ID]; ok {
		return Visit{}, fmt.Errorf("%w: visit %s", ErrExists, v.ID)
	}
	mv := &memVisit{}
	s.visits[v.ID] = mv
	v = v.Clone()
	v.Version = 0
	if err := s.run(v.ID, &v, fn); err != nil {
		delete(s.visits, v.ID)
		return Visit{}, err
	}
	v.Version = 1
	mv.v = v
	s.setDue(mv)
	return v.Clone(), nil
}

// run calls fn in a transaction on v, rolling back when it fails. s.mu is
// held.
func (s *MemoryStore) run(id string, v *Visit, fn TxFunc) error {
	if fn == nil {
		return nil
	}
	tx := &memTx{s: s, visitID: id}
	err := fn(tx, v)
	if err == nil && v.ID != id {
		err = fmt.Errorf("visitor: a transaction may not change the visit ID (%s to %s)", id, v.ID)
	}
	if err != nil {
		tx.rollback()
		return err
	}
	return nil
}

// Update implements Store.
func (s *MemoryStore) Update(ctx context.Context, id string, fn TxFunc) (Visit, error) {
	if err := ctx.Err(); err != nil {
		return Visit{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mv, ok := s.visits[id]
	if !ok {
		return Visit{}, fmt.Errorf("%w: visit %s", ErrNotFound, id)
	}
	v := mv.v.Clone()
	if err := s.run(id, &v, fn); err != nil {
		return Visit{}, err
	}
	v.Version = mv.v.Version + 1
	mv.v = v
	mv.leaseOwner, mv.leaseUntil = "", time.Time{}
	s.setDue(mv)
	return v.Clone(), nil
}

// Visit implements Store.
func (s *MemoryStore) Visit(ctx context.Context, id string) (Visit, error) {
	if err := ctx.Err(); err != nil {
		return Visit{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mv, ok := s.visits[id]
	if !ok {
		return Visit{}, fmt.Errorf("%w: visit %s", ErrNotFound, id)
	}
	return mv.v.Clone(), nil
}

// Visits implements Store.
func (s *MemoryStore) Visits(ctx context.Context, f VisitFilter) ([]Visit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var match []*memVisit
	for _, mv := range s.visits {
		if mv.v.ID > f.AfterID && f.Match(&mv.v) {
			match = append(match, mv)
		}
	}
	slices.SortFunc(match, func(a, b *memVisit) int { return cmp.Compare(a.v.ID, b.v.ID) })
	if f.Limit > 0 && len(match) > f.Limit {
		match = match[:f.Limit]
	}
	out := make([]Visit, len(match))
	for i, mv := range match {
		out[i] = mv.v.Clone()
	}
	s.mu.Unlock()
	return out, nil
}

// ClaimDue implements Store.
func (s *MemoryStore) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if owner == "" || limit <= 0 {
		return nil, fmt.Errorf("visitor: ClaimDue needs an owner and a positive limit")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the limit earliest due visits in a max-heap: O(n log limit).
	h := dueHeap{}
	for _, mv := range s.due {
		if mv.v.DueAt.After(now) || (mv.leaseOwner != "" && !mv.leaseUntil.Before(now)) {
			continue
		}
		if len(h) < limit {
			heap.Push(&h, mv)
		} else if dueBefore(mv, h[0]) {
			h[0] = mv
			heap.Fix(&h, 0)
		}
	}
	due := []*memVisit(h)
	slices.SortFunc(due, func(a, b *memVisit) int {
		if dueBefore(a, b) {
			return -1
		}
		return 1
	})
	out := make([]string, len(due))
	for i, mv := range due {
		mv.leaseOwner, mv.leaseUntil = owner, now.Add(lease)
		out[i] = mv.v.ID
	}
	return out, nil
}

// dueBefore orders visits by DueAt, then ID.
func dueBefore(a, b *memVisit) bool {
	if c := a.v.DueAt.Compare(b.v.DueAt); c != 0 {
		return c < 0
	}
	return a.v.ID < b.v.ID
}

// dueHeap is a max-heap of visits by dueBefore: the root is the latest.
type dueHeap []*memVisit

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return dueBefore(h[j], h[i]) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(*memVisit)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// ClaimOutbox implements Store.
func (s *MemoryStore) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if owner == "" || limit <= 0 {
		return nil, fmt.Errorf("visitor: ClaimOutbox needs an owner and a positive limit")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead > 64 && s.dead*2 > len(s.queue) {
		q := make([]*memItem, 0, len(s.queue)-s.dead)
		for _, m := range s.queue {
			if !m.removed {
				q = append(q, m)
			}
		}
		s.queue, s.dead = q, 0
	}
	var out []OutboxItem
	for _, m := range s.queue {
		if m.removed || s.byVisit[m.it.VisitID][0] != m {
			continue // only each visit's head
		}
		if m.it.NextAttempt.After(now) || m.it.Leased(now) {
			continue
		}
		m.it.Attempts++
		m.it.LeaseOwner, m.it.LeaseUntil = owner, now.Add(lease)
		out = append(out, m.it.Clone())
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Outbox implements Store.
func (s *MemoryStore) Outbox(ctx context.Context, visitID string, limit int) ([]OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.byVisit[visitID]
	if visitID == "" {
		src = s.queue
	}
	var out []OutboxItem
	for _, m := range src {
		if m.removed {
			continue
		}
		out = append(out, m.it.Clone())
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *MemoryStore) appendAudit(tx *memTx, r AuditRecord) {
	s.auditSeq++
	r.Seq = s.auditSeq
	r.AccessLevels = slices.Clone(r.AccessLevels)
	s.audit = append(s.audit, r)
	tx.onUndo(func() { s.audit = s.audit[:len(s.audit)-1]; s.auditSeq-- })
}

// AppendAudit implements Store.
func (s *MemoryStore) AppendAudit(ctx context.Context, recs ...AuditRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.appendAudit(nil, r)
	}
	return nil
}

// Audit implements Store.
func (s *MemoryStore) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Records are kept by Seq: skip straight past AfterSeq.
	start, _ := slices.BinarySearchFunc(s.audit, q.AfterSeq+1, func(r AuditRecord, seq int64) int { return cmp.Compare(r.Seq, seq) })
	var out []AuditRecord
	for i := start; i < len(s.audit); i++ {
		r := &s.audit[i]
		if !q.Match(r) {
			continue
		}
		c := *r
		c.AccessLevels = slices.Clone(r.AccessLevels)
		out = append(out, c)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// Scrub implements Store.
func (s *MemoryStore) Scrub(ctx context.Context, before time.Time) (ScrubCount, error) {
	if err := ctx.Err(); err != nil {
		return ScrubCount{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n ScrubCount
	for _, mv := range s.visits {
		if mv.v.State.Ended() && !mv.v.Scrubbed && mv.v.EndedAt.Before(before) {
			mv.v.Scrub()
			mv.v.Version++
			n.Visits++
		}
	}
	for i := range s.audit {
		if r := &s.audit[i]; !r.Scrubbed && r.Time.Before(before) {
			r.Scrub()
			n.Records++
		}
	}
	return n, nil
}

// Badges implements Store.
func (s *MemoryStore) Badges() badge.Store { return memBadges{memView{s: s}} }

// Cards implements Store.
func (s *MemoryStore) Cards() badge.AllocationStore { return memCards{memView{s: s}} }

// Tx implementation.

func (tx *memTx) Badges() badge.Store          { return memBadges{memView{tx.s, tx}} }
func (tx *memTx) Cards() badge.AllocationStore { return memCards{memView{tx.s, tx}} }

func (tx *memTx) Outbox() ([]OutboxItem, error) {
	ms := tx.s.byVisit[tx.visitID]
	out := make([]OutboxItem, len(ms))
	for i, m := range ms {
		out[i] = m.it.Clone()
	}
	return out, nil
}

func (tx *memTx) Enqueue(item OutboxItem) error {
	s := tx.s
	if item.ID == "" {
		return fmt.Errorf("visitor: outbox item has no ID")
	}
	if item.VisitID != tx.visitID {
		return fmt.Errorf("visitor: outbox item for visit %q enqueued in a transaction on visit %q", item.VisitID, tx.visitID)
	}
	if _, ok := s.items[item.ID]; ok {
		return fmt.Errorf("%w: outbox item %s", ErrExists, item.ID)
	}
	s.seq++
	item = item.Clone()
	item.Seq = s.seq
	m := &memItem{it: item}
	s.items[item.ID] = m
	s.queue = append(s.queue, m)
	old := s.byVisit[item.VisitID]
	s.byVisit[item.VisitID] = append(slices.Clip(old), m)
	tx.onUndo(func() {
		m.removed = true
		s.dead++
		delete(s.items, item.ID)
		tx.restoreQueue(item.VisitID, old)
	})
	return nil
}

func (tx *memTx) restoreQueue(visitID string, q []*memItem) {
	if len(q) == 0 {
		delete(tx.s.byVisit, visitID)
	} else {
		tx.s.byVisit[visitID] = q
	}
}

// remove takes an unfinished item of the visit out of the outbox.
func (tx *memTx) remove(m *memItem) {
	s := tx.s
	old := s.byVisit[m.it.VisitID]
	q := make([]*memItem, 0, len(old))
	for _, o := range old {
		if o != m {
			q = append(q, o)
		}
	}
	tx.restoreQueue(m.it.VisitID, q)
	delete(s.items, m.it.ID)
	m.removed = true
	s.dead++
	tx.onUndo(func() {
		m.removed = false
		s.dead--
		s.items[m.it.ID] = m
		tx.restoreQueue(m.it.VisitID, old)
	})
}

func (tx *memTx) item(id string) (*memItem, error) {
	m, ok := tx.s.items[id]
	if !ok || m.it.VisitID != tx.visitID {
		return nil, fmt.Errorf("%w: outbox item %s of visit %s", ErrNotFound, id, tx.visitID)
	}
	return m, nil
}

func (tx *memTx) leased(owner, id string) (*memItem, error) {
	m, err := tx.item(id)
	if err != nil {
		return nil, err
	}
	if m.it.LeaseOwner != owner {
		return nil, fmt.Errorf("%w: outbox item %s is leased by %q, not %q", ErrLeaseLost, id, m.it.LeaseOwner, owner)
	}
	return m, nil
}

func (tx *memTx) Cancel(id string) error {
	m, err := tx.item(id)
	if err != nil {
		return err
	}
	tx.remove(m)
	return nil
}

func (tx *memTx) Complete(owner, id string) error {
	m, err := tx.leased(owner, id)
	if err != nil {
		return err
	}
	tx.remove(m)
	return nil
}

func (tx *memTx) Retry(owner, id string, next time.Time, lastError string) error {
	m, err := tx.leased(owner, id)
	if err != nil {
		return err
	}
	old := m.it
	m.it.LeaseOwner, m.it.LeaseUntil, m.it.NextAttempt, m.it.LastError = "", time.Time{}, next, lastError
	tx.onUndo(func() { m.it = old })
	return nil
}

func (tx *memTx) Audit(rec AuditRecord) error {
	tx.s.appendAudit(tx, rec)
	return nil
}
