package badge

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryAllocationStore is an AllocationStore kept in memory. It is safe for
// concurrent use.
//
// Free numbers are kept as a first-in first-out queue of spans: a new range
// is one span, and every freed number joins the back of the queue. Allocate
// takes the lowest number of the front span, so never-used numbers go first
// and then the number freed longest ago. Allocate and Free are O(1)
// (amortised) however full the range is, and memory grows with the numbers
// allocated and freed, not with the size of the range. SetRange and
// Allocations are O(k log k) in the k allocated numbers; SetRange rebuilds
// the queue in ascending order.
//
// The zero MemoryAllocationStore is ready to use.
type MemoryAllocationStore struct {
	mu   sync.Mutex
	locs map[string]*allocLoc
}

// NewMemoryAllocationStore returns an empty MemoryAllocationStore.
func NewMemoryAllocationStore() *MemoryAllocationStore { return &MemoryAllocationStore{} }

var _ AllocationStore = (*MemoryAllocationStore)(nil)

type span struct{ lo, hi uint64 }

type allocLoc struct {
	r        Range
	byNumber map[uint64]string // number → visit
	byVisit  map[string]Allocation
	free     []span // queue; free[head:] are the free numbers
	head     int
}

// Range implements AllocationStore.
func (s *MemoryAllocationStore) Range(ctx context.Context, location string) (Range, error) {
	if err := ctx.Err(); err != nil {
		return Range{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[location]
	if l == nil {
		return Range{}, fmt.Errorf("%w: location %s", ErrNoRange, location)
	}
	return l.r, nil
}

// SetRange implements AllocationStore.
func (s *MemoryAllocationStore) SetRange(ctx context.Context, r Range) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locs == nil {
		s.locs = make(map[string]*allocLoc)
	}
	l := s.locs[r.Location]
	if l == nil {
		s.locs[r.Location] = &allocLoc{
			r:        r,
			byNumber: make(map[uint64]string),
			byVisit:  make(map[string]Allocation),
			free:     []span{{r.Min, r.Max}},
		}
		return nil
	}
	if l.r == r {
		return nil
	}
	lowest, highest := uint64(0), uint64(0)
	first := true
	for n := range l.byNumber {
		if first || n < lowest {
			lowest = n
		}
		if first || n > highest {
			highest = n
		}
		first = false
	}
	if err := CheckRangeChange(l.r, r, len(l.byNumber), lowest, highest); err != nil {
		return err
	}
	issued := l.sortedNumbers()
	// Rebuild the free queue: the gaps of the new range between issued
	// numbers, all of which lie inside it.
	free := make([]span, 0, len(issued)+1)
	next := r.Min
	for _, n := range issued {
		if n > next {
			free = append(free, span{next, n - 1})
		}
		next = n + 1
	}
	if len(issued) == 0 || issued[len(issued)-1] < r.Max {
		free = append(free, span{next, r.Max})
	}
	l.r, l.free, l.head = r, free, 0
	return nil
}

func (l *allocLoc) sortedNumbers() []uint64 {
	out := make([]uint64, 0, len(l.byNumber))
	for n := range l.byNumber {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Allocate implements AllocationStore.
func (s *MemoryAllocationStore) Allocate(ctx context.Context, location, visitID string, at time.Time) (Allocation, error) {
	if err := ctx.Err(); err != nil {
		return Allocation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[location]
	if l == nil {
		return Allocation{}, fmt.Errorf("%w: location %s", ErrNoRange, location)
	}
	if a, ok := l.byVisit[visitID]; ok {
		return a, nil
	}
	if l.head == len(l.free) {
		return Allocation{}, fmt.Errorf("%w: all %d numbers of %s are allocated", ErrRangeFull, l.r.Size(), l.r)
	}
	sp := &l.free[l.head]
	n := sp.lo
	if sp.lo == sp.hi {
		l.head++
		if l.head == len(l.free) {
			l.free, l.head = l.free[:0], 0
		} else if l.head >= 64 && l.head*2 >= len(l.free) {
			k := copy(l.free, l.free[l.head:])
			l.free, l.head = l.free[:k], 0
		}
	} else {
		sp.lo++
	}
	a := Allocation{Location: location, VisitID: visitID, Card: l.r.Card(n), At: at}
	l.byNumber[n] = visitID
	l.byVisit[visitID] = a
	return a, nil
}

// Free implements AllocationStore.
func (s *MemoryAllocationStore) Free(ctx context.Context, location string, number uint64, visitID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[location]
	if l == nil {
		return nil
	}
	if v, ok := l.byNumber[number]; !ok || v != visitID {
		return nil
	}
	delete(l.byNumber, number)
	delete(l.byVisit, visitID)
	l.free = append(l.free, span{number, number})
	return nil
}

// Allocations implements AllocationStore.
func (s *MemoryAllocationStore) Allocations(ctx context.Context, location string) ([]Allocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[location]
	if l == nil {
		return nil, nil
	}
	out := make([]Allocation, 0, len(l.byVisit))
	for _, a := range l.byVisit {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Allocation) int { return cmp.Compare(a.Card.Number, b.Card.Number) })
	return out, nil
}
