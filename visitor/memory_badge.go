package visitor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/acsbridge/acsbridge/badge"
)

// The MemoryStore keeps badges and card-number ranges itself, rather than in
// a badge.MemoryStore, so that a visit transaction can undo them exactly.
// Every mutation below runs under MemoryStore.mu and, inside a transaction,
// records its inverse with memTx.onUndo.

type mbLoc struct {
	badges  map[string]*mbBadge
	byVisit map[string]*mbBadge // Assigned badges by visit
	avail   []*mbBadge          // Available badges by (Since, order)
}

type mbBadge struct {
	b     badge.Badge
	hist  []badge.Assignment
	order uint64 // tie-break among equal Since values: first in, first out
}

func availLess(a, b *mbBadge) bool {
	if !a.b.Since.Equal(b.b.Since) {
		return a.b.Since.Before(b.b.Since)
	}
	return a.order < b.order
}

func (l *mbLoc) insertAvail(m *mbBadge) {
	i := sort.Search(len(l.avail), func(i int) bool { return !availLess(l.avail[i], m) })
	l.avail = slices.Insert(l.avail, i, m)
}

func (l *mbLoc) removeAvail(m *mbBadge) {
	i := sort.Search(len(l.avail), func(i int) bool { return !availLess(l.avail[i], m) })
	for ; i < len(l.avail); i++ {
		if l.avail[i] == m {
			l.avail = slices.Delete(l.avail, i, i+1)
			return
		}
	}
}

// memView is the store, or one of its transactions, as seen by the badge
// and card views. With tx nil each method locks the store itself; with tx
// set it runs inside tx, whose caller holds the lock.
type memView struct {
	s  *MemoryStore
	tx *memTx
}

// lock takes the store's lock unless a transaction already holds it, and
// returns the matching unlock.
func (v memView) lock() func() {
	if v.tx != nil {
		return func() {}
	}
	v.s.mu.Lock()
	return v.s.mu.Unlock
}

// memBadges implements badge.Store over a MemoryStore.
type memBadges struct{ memView }

var _ badge.Store = memBadges{}

func badgeNotFound(location, id string) error {
	return fmt.Errorf("%w: no badge %s at location %s", badge.ErrNotFound, id, location)
}

func (mb memBadges) find(location, id string) (*mbLoc, *mbBadge, error) {
	if l := mb.s.badges[location]; l != nil {
		if m := l.badges[id]; m != nil {
			return l, m, nil
		}
	}
	return nil, nil, badgeNotFound(location, id)
}

// Add implements badge.Store.
func (mb memBadges) Add(ctx context.Context, b badge.Badge) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer mb.lock()()
	s := mb.s
	l := s.badges[b.Location]
	if l == nil {
		l = &mbLoc{badges: make(map[string]*mbBadge), byVisit: make(map[string]*mbBadge)}
		s.badges[b.Location] = l
		mb.tx.onUndo(func() { delete(s.badges, b.Location) })
	}
	if _, ok := l.badges[b.ID]; ok {
		return fmt.Errorf("%w: badge %s at location %s", badge.ErrExists, b.ID, b.Location)
	}
	s.badgeOrder++
	m := &mbBadge{b: b, order: s.badgeOrder}
	l.badges[b.ID] = m
	if b.State == badge.Assigned && b.VisitID != "" {
		l.byVisit[b.VisitID] = m
	}
	if b.State == badge.Available {
		l.insertAvail(m)
	}
	mb.tx.onUndo(func() {
		l.removeAvail(m)
		if l.byVisit[b.VisitID] == m {
			delete(l.byVisit, b.VisitID)
		}
		delete(l.badges, b.ID)
	})
	return nil
}

// Get implements badge.Store.
func (mb memBadges) Get(ctx context.Context, location, id string) (badge.Badge, error) {
	if err := ctx.Err(); err != nil {
		return badge.Badge{}, err
	}
	defer mb.lock()()
	_, m, err := mb.find(location, id)
	if err != nil {
		return badge.Badge{}, err
	}
	return m.b, nil
}

// List implements badge.Store.
func (mb memBadges) List(ctx context.Context, location string, f badge.Filter) ([]badge.Badge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlock := mb.lock()
	var out []badge.Badge
	if l := mb.s.badges[location]; l != nil {
		if f.VisitID != "" {
			if m := l.byVisit[f.VisitID]; m != nil && f.Match(m.b) {
				out = append(out, m.b)
			}
		} else {
			for _, m := range l.badges {
				if f.Match(m.b) {
					out = append(out, m.b)
				}
			}
		}
	}
	unlock()
	slices.SortFunc(out, func(a, b badge.Badge) int { return badge.CompareIDs(a.ID, b.ID) })
	return out, nil
}

// Acquire implements badge.Store.
func (mb memBadges) Acquire(ctx context.Context, location, id, visitID string, at time.Time) (badge.Badge, error) {
	if err := ctx.Err(); err != nil {
		return badge.Badge{}, err
	}
	defer mb.lock()()
	l := mb.s.badges[location]
	if l != nil {
		if m := l.byVisit[visitID]; m != nil {
			if id == "" || id == m.b.ID {
				return m.b, nil
			}
			return badge.Badge{}, fmt.Errorf("%w: visit %s holds badge %s at location %s", badge.ErrVisitHasBadge, visitID, m.b.ID, location)
		}
	}
	var m *mbBadge
	if id != "" {
		var err error
		if l, m, err = mb.find(location, id); err != nil {
			return badge.Badge{}, err
		}
		if m.b.State != badge.Available {
			return badge.Badge{}, fmt.Errorf("%w: badge %s at location %s is %s", badge.ErrNotAvailable, id, location, m.b.State)
		}
	} else {
		if l == nil || len(l.avail) == 0 {
			return badge.Badge{}, fmt.Errorf("%w: no badge is available at location %s", badge.ErrNotAvailable, location)
		}
		m = l.avail[0]
	}
	old, n := m.b, len(m.hist)
	l.removeAvail(m)
	m.b.State, m.b.VisitID, m.b.Since = badge.Assigned, visitID, at
	m.hist = append(m.hist, badge.Assignment{Location: location, BadgeID: m.b.ID, VisitID: visitID, From: at})
	l.byVisit[visitID] = m
	mb.tx.onUndo(func() {
		delete(l.byVisit, visitID)
		m.b, m.hist = old, m.hist[:n]
		l.insertAvail(m)
	})
	return m.b, nil
}

// endAssignment closes m's open assignment with reason at at.
func (mb memBadges) endAssignment(l *mbLoc, m *mbBadge, at time.Time, reason string) {
	visit := m.b.VisitID
	delete(l.byVisit, visit)
	i := len(m.hist) - 1
	if i >= 0 && m.hist[i].To.IsZero() {
		prev := m.hist[i]
		m.hist[i].To, m.hist[i].Reason = at, reason
		mb.tx.onUndo(func() { m.hist[i] = prev })
	}
	mb.tx.onUndo(func() { l.byVisit[visit] = m })
}

// Release implements badge.Store.
func (mb memBadges) Release(ctx context.Context, location, id, visitID string, at time.Time) (badge.Badge, error) {
	if err := ctx.Err(); err != nil {
		return badge.Badge{}, err
	}
	defer mb.lock()()
	l, m, err := mb.find(location, id)
	if err != nil {
		return badge.Badge{}, err
	}
	if m.b.State != badge.Assigned || m.b.VisitID != visitID {
		return m.b, nil
	}
	old := m.b
	mb.endAssignment(l, m, at, badge.ReasonReleased)
	m.b.State, m.b.VisitID, m.b.Since = badge.Available, "", at
	l.insertAvail(m)
	mb.tx.onUndo(func() {
		l.removeAvail(m)
		m.b = old
	})
	return m.b, nil
}

// SetState implements badge.Store.
func (mb memBadges) SetState(ctx context.Context, location, id string, to badge.State, at time.Time) (badge.Badge, error) {
	if err := ctx.Err(); err != nil {
		return badge.Badge{}, err
	}
	defer mb.lock()()
	l, m, err := mb.find(location, id)
	if err != nil {
		return badge.Badge{}, err
	}
	from := m.b.State
	if err := badge.CheckTransition(from, to); err != nil {
		return badge.Badge{}, fmt.Errorf("badge %s at location %s: %w", id, location, err)
	}
	if from == to {
		return m.b, nil
	}
	old := m.b
	if from == badge.Assigned {
		mb.endAssignment(l, m, at, badge.ReasonLost)
	}
	if from == badge.Available {
		l.removeAvail(m)
	}
	m.b.State, m.b.VisitID, m.b.Since = to, "", at
	if to == badge.Available {
		l.insertAvail(m)
	}
	mb.tx.onUndo(func() {
		if to == badge.Available {
			l.removeAvail(m)
		}
		m.b = old
		if from == badge.Available {
			l.insertAvail(m)
		}
	})
	return m.b, nil
}

// History implements badge.Store.
func (mb memBadges) History(ctx context.Context, location, id string) ([]badge.Assignment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer mb.lock()()
	_, m, err := mb.find(location, id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.hist), nil
}

// HolderAt implements badge.Store.
func (mb memBadges) HolderAt(ctx context.Context, location, id string, t time.Time) (badge.Assignment, error) {
	if err := ctx.Err(); err != nil {
		return badge.Assignment{}, err
	}
	defer mb.lock()()
	_, m, err := mb.find(location, id)
	if err != nil {
		return badge.Assignment{}, err
	}
	best := -1
	for i, a := range m.hist {
		if a.Covers(t) && (best < 0 || !a.From.Before(m.hist[best].From)) {
			best = i
		}
	}
	if best < 0 {
		return badge.Assignment{}, fmt.Errorf("%w: no visit held badge %s at location %s at %s", badge.ErrNotFound, id, location, t.Format(time.RFC3339))
	}
	return m.hist[best], nil
}

// Card-number ranges.

type span struct{ lo, hi uint64 }

type maLoc struct {
	r        badge.Range
	byNumber map[uint64]string
	byVisit  map[string]badge.Allocation
	free     []span // queue of free numbers: never-used spans first, then freed numbers oldest first
	head     int
}

// memCards implements badge.AllocationStore over a MemoryStore.
type memCards struct{ memView }

var _ badge.AllocationStore = memCards{}

// Range implements badge.AllocationStore.
func (mc memCards) Range(ctx context.Context, location string) (badge.Range, error) {
	if err := ctx.Err(); err != nil {
		return badge.Range{}, err
	}
	defer mc.lock()()
	l := mc.s.ranges[location]
	if l == nil {
		return badge.Range{}, fmt.Errorf("%w: location %s", badge.ErrNoRange, location)
	}
	return l.r, nil
}

func (l *maLoc) issued() []uint64 {
	out := make([]uint64, 0, len(l.byNumber))
	for n := range l.byNumber {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// SetRange implements badge.AllocationStore.
func (mc memCards) SetRange(ctx context.Context, r badge.Range) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer mc.lock()()
	s := mc.s
	l := s.ranges[r.Location]
	if l == nil {
		s.ranges[r.Location] = &maLoc{
			r:        r,
			byNumber: make(map[uint64]string),
			byVisit:  make(map[string]badge.Allocation),
			free:     []span{{r.Min, r.Max}},
		}
		mc.tx.onUndo(func() { delete(s.ranges, r.Location) })
		return nil
	}
	if l.r == r {
		return nil
	}
	issued := l.issued()
	var lowest, highest uint64
	if len(issued) > 0 {
		lowest, highest = issued[0], issued[len(issued)-1]
	}
	if err := badge.CheckRangeChange(l.r, r, len(issued), lowest, highest); err != nil {
		return err
	}
	free := make([]span, 0, len(issued)+1)
	next := r.Min
	for _, n := range issued {
		if n > next {
			free = append(free, span{next, n - 1})
		}
		next = n + 1
	}
	if len(issued) == 0 || highest < r.Max {
		free = append(free, span{next, r.Max})
	}
	oldR, oldFree, oldHead := l.r, l.free, l.head
	l.r, l.free, l.head = r, free, 0
	mc.tx.onUndo(func() { l.r, l.free, l.head = oldR, oldFree, oldHead })
	return nil
}

// Allocate implements badge.AllocationStore.
func (mc memCards) Allocate(ctx context.Context, location, visitID string, at time.Time) (badge.Allocation, error) {
	if err := ctx.Err(); err != nil {
		return badge.Allocation{}, err
	}
	defer mc.lock()()
	l := mc.s.ranges[location]
	if l == nil {
		return badge.Allocation{}, fmt.Errorf("%w: location %s", badge.ErrNoRange, location)
	}
	if a, ok := l.byVisit[visitID]; ok {
		return a, nil
	}
	if l.head == len(l.free) {
		return badge.Allocation{}, fmt.Errorf("%w: all %d numbers of %s are allocated", badge.ErrRangeFull, l.r.Size(), l.r)
	}
	oldFree, oldHead, oldSpan := l.free, l.head, l.free[l.head]
	n := oldSpan.lo
	if oldSpan.lo == oldSpan.hi {
		l.head++
		switch {
		case l.head == len(l.free):
			l.free, l.head = nil, 0
		case l.head >= 64 && l.head*2 >= len(l.free):
			l.free, l.head = slices.Clone(l.free[l.head:]), 0
		}
	} else {
		l.free[l.head].lo++
	}
	a := badge.Allocation{Location: location, VisitID: visitID, Card: l.r.Card(n), At: at}
	l.byNumber[n] = visitID
	l.byVisit[visitID] = a
	mc.tx.onUndo(func() {
		delete(l.byNumber, n)
		delete(l.byVisit, visitID)
		oldFree[oldHead] = oldSpan
		l.free, l.head = oldFree, oldHead
	})
	return a, nil
}

// Free implements badge.AllocationStore.
func (mc memCards) Free(ctx context.Context, location string, number uint64, visitID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer mc.lock()()
	l := mc.s.ranges[location]
	if l == nil {
		return nil
	}
	if v, ok := l.byNumber[number]; !ok || v != visitID {
		return nil
	}
	a := l.byVisit[visitID]
	delete(l.byNumber, number)
	delete(l.byVisit, visitID)
	oldFree := l.free
	l.free = append(l.free, span{number, number})
	mc.tx.onUndo(func() {
		l.free = oldFree
		l.byNumber[number] = visitID
		l.byVisit[visitID] = a
	})
	return nil
}

// Allocations implements badge.AllocationStore.
func (mc memCards) Allocations(ctx context.Context, location string) ([]badge.Allocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer mc.lock()()
	l := mc.s.ranges[location]
	if l == nil {
		return nil, nil
	}
	out := make([]badge.Allocation, 0, len(l.byVisit))
	for _, a := range l.byVisit {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b badge.Allocation) int {
		switch {
		case a.Card.Number < b.Card.Number:
			return -1
		case a.Card.Number > b.Card.Number:
			return 1
		}
		return 0
	})
	return out, nil
}
