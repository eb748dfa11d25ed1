package badge

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store kept in memory, for tests, examples and single
// process deployments that accept losing state on restart. It is safe for
// concurrent use; one mutex serialises all operations, each of which is
// O(1) apart from List (O(n log n) in the location's badges) and History and
// HolderAt (O(h) in the badge's assignments).
//
// The zero MemoryStore is ready to use.
type MemoryStore struct {
	mu   sync.Mutex
	locs map[string]*memLoc
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

type memLoc struct {
	badges  map[string]*memBadge
	byVisit map[string]*memBadge // assigned badges by visit
	// Available badges in a doubly linked list, oldest Since first.
	head, tail *memBadge
}

type memBadge struct {
	b          Badge
	prev, next *memBadge
	listed     bool
	hist       []memAssign
}

// memAssign is an Assignment without the fields its badge already knows,
// kept small because histories only grow.
type memAssign struct {
	visit    string
	from, to int64 // Unix nanoseconds; noTime for the zero time
	reason   uint8 // index into reasons; 0 while held
}

var reasons = [...]string{"", ReasonReleased, ReasonLost}

const (
	reasonReleased = 1
	reasonLost     = 2
	noTime         = math.MinInt64
)

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (m *memBadge) assignment(i int) Assignment {
	h := m.hist[i]
	return Assignment{Location: m.b.Location, BadgeID: m.b.ID, VisitID: h.visit,
		From: fromNanos(h.from), To: fromNanos(h.to), Reason: reasons[h.reason]}
}

var _ Store = (*MemoryStore)(nil)

func (l *memLoc) pushAvailable(m *memBadge) {
	// Insert after the last badge whose Since is not later than m's; with a
	// monotonic clock that is the tail.
	p := l.tail
	for p != nil && p.b.Since.After(m.b.Since) {
		p = p.prev
	}
	m.prev = p
	if p == nil {
		m.next = l.head
		l.head = m
	} else {
		m.next = p.next
		p.next = m
	}
	if m.next == nil {
		l.tail = m
	} else {
		m.next.prev = m
	}
	m.listed = true
}

func (l *memLoc) removeAvailable(m *memBadge) {
	if !m.listed {
		return
	}
	if m.prev == nil {
		l.head = m.next
	} else {
		m.prev.next = m.next
	}
	if m.next == nil {
		l.tail = m.prev
	} else {
		m.next.prev = m.prev
	}
	m.prev, m.next, m.listed = nil, nil, false
}

// badge returns the badge or ErrNotFound. s.mu is held.
func (s *MemoryStore) badge(location, id string) (*memLoc, *memBadge, error) {
	if l := s.locs[location]; l != nil {
		if m := l.badges[id]; m != nil {
			return l, m, nil
		}
	}
	return nil, nil, errNotFound(location, id)
}

func errNotFound(location, id string) error {
	return fmt.Errorf("%w: no badge %s at location %s", ErrNotFound, id, location)
}

// Add implements Store.
func (s *MemoryStore) Add(ctx context.Context, b Badge) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locs == nil {
		s.locs = make(map[string]*memLoc)
	}
	l := s.locs[b.Location]
	if l == nil {
		l = &memLoc{badges: make(map[string]*memBadge), byVisit: make(map[string]*memBadge)}
		s.locs[b.Location] = l
	}
	if _, ok := l.badges[b.ID]; ok {
		return fmt.Errorf("%w: badge %s at location %s", ErrExists, b.ID, b.Location)
	}
	m := &memBadge{b: b}
	l.badges[b.ID] = m
	if b.State == Available {
		l.pushAvailable(m)
	}
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, location, id string) (Badge, error) {
	if err := ctx.Err(); err != nil {
		return Badge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, err := s.badge(location, id)
	if err != nil {
		return Badge{}, err
	}
	return m.b, nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, location string, f Filter) ([]Badge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []Badge
	if l := s.locs[location]; l != nil {
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
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Badge) int { return CompareIDs(a.ID, b.ID) })
	return out, nil
}

// CompareIDs orders badge IDs by length and then lexically, which is
// numeric order for IDs without leading zeros. It returns -1, 0 or +1.
func CompareIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// Acquire implements Store.
func (s *MemoryStore) Acquire(ctx context.Context, location, id, visitID string, at time.Time) (Badge, error) {
	if err := ctx.Err(); err != nil {
		return Badge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[location]
	if l != nil {
		if m := l.byVisit[visitID]; m != nil {
			if id == "" || id == m.b.ID {
				return m.b, nil
			}
			return Badge{}, fmt.Errorf("%w: visit %s holds badge %s at location %s", ErrVisitHasBadge, visitID, m.b.ID, location)
		}
	}
	var m *memBadge
	if id != "" {
		var err error
		if l, m, err = s.badge(location, id); err != nil {
			return Badge{}, err
		}
		if m.b.State != Available {
			return Badge{}, fmt.Errorf("%w: badge %s at location %s is %s", ErrNotAvailable, id, location, m.b.State)
		}
	} else {
		if l == nil || l.head == nil {
			return Badge{}, fmt.Errorf("%w: no badge is available at location %s", ErrNotAvailable, location)
		}
		m = l.head
	}
	l.removeAvailable(m)
	m.b.State, m.b.VisitID, m.b.Since = Assigned, visitID, at
	l.byVisit[visitID] = m
	m.hist = append(m.hist, memAssign{visit: visitID, from: toNanos(at), to: noTime})
	return m.b, nil
}

// closeAssignment ends m's open assignment. s.mu is held.
func (l *memLoc) closeAssignment(m *memBadge, at time.Time, reason uint8) {
	delete(l.byVisit, m.b.VisitID)
	if n := len(m.hist); n > 0 && m.hist[n-1].reason == 0 {
		m.hist[n-1].to, m.hist[n-1].reason = toNanos(at), reason
	}
	m.b.VisitID = ""
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, location, id, visitID string, at time.Time) (Badge, error) {
	if err := ctx.Err(); err != nil {
		return Badge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.badge(location, id)
	if err != nil {
		return Badge{}, err
	}
	if m.b.State != Assigned || m.b.VisitID != visitID {
		return m.b, nil
	}
	l.closeAssignment(m, at, reasonReleased)
	m.b.State, m.b.Since = Available, at
	l.pushAvailable(m)
	return m.b, nil
}

// SetState implements Store.
func (s *MemoryStore) SetState(ctx context.Context, location, id string, to State, at time.Time) (Badge, error) {
	if err := ctx.Err(); err != nil {
		return Badge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.badge(location, id)
	if err != nil {
		return Badge{}, err
	}
	from := m.b.State
	if err := CheckTransition(from, to); err != nil {
		return Badge{}, fmt.Errorf("badge %s at location %s: %w", id, location, err)
	}
	if from == to {
		return m.b, nil
	}
	if from == Assigned {
		l.closeAssignment(m, at, reasonLost)
	}
	l.removeAvailable(m)
	m.b.State, m.b.Since = to, at
	if to == Available {
		l.pushAvailable(m)
	}
	return m.b, nil
}

// History implements Store.
func (s *MemoryStore) History(ctx context.Context, location, id string) ([]Assignment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, err := s.badge(location, id)
	if err != nil {
		return nil, err
	}
	out := make([]Assignment, len(m.hist))
	for i := range m.hist {
		out[i] = m.assignment(i)
	}
	return out, nil
}

// HolderAt implements Store.
func (s *MemoryStore) HolderAt(ctx context.Context, location, id string, t time.Time) (Assignment, error) {
	if err := ctx.Err(); err != nil {
		return Assignment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, err := s.badge(location, id)
	if err != nil {
		return Assignment{}, err
	}
	var best Assignment
	found := false
	for i := len(m.hist) - 1; i >= 0; i-- {
		a := m.assignment(i)
		if a.Covers(t) && (!found || a.From.After(best.From)) {
			best, found = a, true
		}
	}
	if !found {
		return Assignment{}, fmt.Errorf("%w: no visit held badge %s at location %s at %s", ErrNotFound, id, location, t.Format(time.RFC3339))
	}
	return best, nil
}
