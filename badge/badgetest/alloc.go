package badgetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

// RunAllocationStore runs the AllocationStore contract tests. newStore must
// return an empty store and arrange its cleanup with t.Cleanup.
func RunAllocationStore(t *testing.T, newStore func(t *testing.T) badge.AllocationStore) {
	ctx := context.Background()
	rng := badge.Range{Location: loc, Format: wiegand.H10301, Facility: 12, Min: 10, Max: 14}
	run := func(name string, f func(t *testing.T, s badge.AllocationStore)) {
		t.Run(name, func(t *testing.T) { f(t, newStore(t)) })
	}
	allocate := func(t *testing.T, s badge.AllocationStore, visit string) badge.Allocation {
		t.Helper()
		a, err := s.Allocate(ctx, loc, visit, at(1))
		noErr(t, "Allocate "+visit, err)
		return a
	}

	run("NoRange", func(t *testing.T, s badge.AllocationStore) {
		_, err := s.Range(ctx, loc)
		wantErr(t, "Range", err, badge.ErrNoRange)
		_, err = s.Allocate(ctx, loc, "v", at(1))
		wantErr(t, "Allocate", err, badge.ErrNoRange)
		noErr(t, "Free", s.Free(ctx, loc, 3, "v"))
		got, err := s.Allocations(ctx, loc)
		noErr(t, "Allocations", err)
		if len(got) != 0 {
			t.Fatalf("Allocations = %v", got)
		}
	})

	run("AllocateWholeRange", func(t *testing.T, s badge.AllocationStore) {
		noErr(t, "SetRange", s.SetRange(ctx, rng))
		got, err := s.Range(ctx, loc)
		noErr(t, "Range", err)
		if got != rng {
			t.Fatalf("Range = %+v, want %+v", got, rng)
		}
		seen := make(map[uint64]string)
		for i := range 5 {
			v := fmt.Sprintf("v%d", i)
			a := allocate(t, s, v)
			if a.Location != loc || a.VisitID != v || !a.At.Equal(at(1)) {
				t.Fatalf("Allocate = %+v", a)
			}
			if a.Card.Format != rng.Format || a.Card.Facility != rng.Facility || !rng.Contains(a.Card.Number) {
				t.Fatalf("Allocate card %s outside %s", a.Card, rng)
			}
			if prev, dup := seen[a.Card.Number]; dup {
				t.Fatalf("number %d allocated to %s and %s", a.Card.Number, prev, v)
			}
			seen[a.Card.Number] = v
		}
		_, err = s.Allocate(ctx, loc, "v9", at(2))
		wantErr(t, "Allocate from a full range", err, badge.ErrRangeFull)
		again := allocate(t, s, "v3")
		if seen[again.Card.Number] != "v3" {
			t.Fatalf("repeated Allocate for v3 returned %d, which belongs to %s", again.Card.Number, seen[again.Card.Number])
		}
		noErr(t, "Free", s.Free(ctx, loc, again.Card.Number, "v3"))
		a := allocate(t, s, "v9")
		if a.Card.Number != again.Card.Number {
			t.Fatalf("Allocate after Free = %d, want the only free number %d", a.Card.Number, again.Card.Number)
		}
		list, err := s.Allocations(ctx, loc)
		noErr(t, "Allocations", err)
		if len(list) != 5 {
			t.Fatalf("Allocations has %d entries, want 5", len(list))
		}
		for i := 1; i < len(list); i++ {
			if list[i-1].Card.Number >= list[i].Card.Number {
				t.Fatalf("Allocations not ordered by number: %v", list)
			}
		}
	})

	run("Free", func(t *testing.T, s badge.AllocationStore) {
		noErr(t, "SetRange", s.SetRange(ctx, rng))
		a := allocate(t, s, "v1")
		n := a.Card.Number
		noErr(t, "Free by another visit", s.Free(ctx, loc, n, "v2"))
		noErr(t, "Free unallocated number", s.Free(ctx, loc, n+1, "v1"))
		if list, _ := s.Allocations(ctx, loc); len(list) != 1 {
			t.Fatalf("Free by another visit changed allocations: %v", list)
		}
		noErr(t, "Free", s.Free(ctx, loc, n, "v1"))
		noErr(t, "repeated Free", s.Free(ctx, loc, n, "v1"))
		if list, _ := s.Allocations(ctx, loc); len(list) != 0 {
			t.Fatalf("allocations after Free: %v", list)
		}
		allocate(t, s, "v1") // the visit may take a number again
	})

	run("SetRangeRefusesOrphans", func(t *testing.T, s badge.AllocationStore) {
		noErr(t, "SetRange", s.SetRange(ctx, rng))
		a := allocate(t, s, "v1")
		b := allocate(t, s, "v2")
		lo, hi := min(a.Card.Number, b.Card.Number), max(a.Card.Number, b.Card.Number)
		refused := []struct {
			name string
			r    badge.Range
		}{
			{"format", badge.Range{Location: loc, Format: wiegand.H10306, Facility: 12, Min: 10, Max: 14}},
			{"facility", badge.Range{Location: loc, Format: wiegand.H10301, Facility: 13, Min: 10, Max: 14}},
			{"min above issued", badge.Range{Location: loc, Format: wiegand.H10301, Facility: 12, Min: lo + 1, Max: 100}},
			{"max below issued", badge.Range{Location: loc, Format: wiegand.H10301, Facility: 12, Min: 0, Max: hi - 1}},
		}
		for _, c := range refused {
			wantErr(t, "SetRange "+c.name, s.SetRange(ctx, c.r), badge.ErrRangeInUse)
			if got, _ := s.Range(ctx, loc); got != rng {
				t.Fatalf("refused SetRange %s changed the range to %+v", c.name, got)
			}
		}
		// Shrinking to exactly the issued numbers, then growing, is fine.
		tight := badge.Range{Location: loc, Format: wiegand.H10301, Facility: 12, Min: lo, Max: hi}
		noErr(t, "SetRange tight", s.SetRange(ctx, tight))
		wide := badge.Range{Location: loc, Format: wiegand.H10301, Facility: 12, Min: 0, Max: 1000}
		noErr(t, "SetRange wide", s.SetRange(ctx, wide))
		seen := map[uint64]bool{lo: true, hi: true}
		for i := range 50 {
			c := allocate(t, s, fmt.Sprintf("w%d", i))
			if !wide.Contains(c.Card.Number) || seen[c.Card.Number] {
				t.Fatalf("after widening, Allocate returned %d (outside %s or already issued)", c.Card.Number, wide)
			}
			seen[c.Card.Number] = true
		}
		// Once everything is freed any range is accepted.
		list, err := s.Allocations(ctx, loc)
		noErr(t, "Allocations", err)
		for _, x := range list {
			noErr(t, "Free", s.Free(ctx, loc, x.Card.Number, x.VisitID))
		}
		other := badge.Range{Location: loc, Format: wiegand.H10304, Facility: 7, Min: 500000, Max: 500001}
		noErr(t, "SetRange with nothing issued", s.SetRange(ctx, other))
		c := allocate(t, s, "x")
		if c.Card.Format != wiegand.H10304 || c.Card.Facility != 7 || !other.Contains(c.Card.Number) {
			t.Fatalf("Allocate after range change = %s", c.Card)
		}
	})

	run("LocationsIndependent", func(t *testing.T, s badge.AllocationStore) {
		noErr(t, "SetRange", s.SetRange(ctx, rng))
		r2 := rng
		r2.Location = "dock"
		noErr(t, "SetRange dock", s.SetRange(ctx, r2))
		a := allocate(t, s, "v1")
		b, err := s.Allocate(ctx, "dock", "v1", at(1))
		noErr(t, "Allocate dock", err)
		if a.Card.Number != b.Card.Number || b.Location != "dock" {
			t.Fatalf("locations share numbers: lobby %s, dock %s", a.Card, b.Card)
		}
	})

	run("ConcurrentAllocate", func(t *testing.T, s badge.AllocationStore) {
		r := badge.Range{Location: loc, Format: wiegand.H10301, Facility: 1, Min: 1000, Max: 1029}
		noErr(t, "SetRange", s.SetRange(ctx, r))
		const visits = 80
		got := make([]int64, visits)
		var wg sync.WaitGroup
		for v := range visits {
			got[v] = -1
			wg.Go(func() {
				a, err := s.Allocate(ctx, loc, fmt.Sprintf("visit-%d", v), at(1))
				if err == nil {
					got[v] = int64(a.Card.Number)
				} else if !errors.Is(err, badge.ErrRangeFull) {
					t.Errorf("concurrent Allocate: %v", err)
				}
			})
		}
		wg.Wait()
		seen := make(map[int64]int)
		for v, n := range got {
			if n < 0 {
				continue
			}
			if prev, dup := seen[n]; dup {
				t.Fatalf("number %d allocated to visit-%d and visit-%d", n, prev, v)
			}
			seen[n] = v
		}
		if len(seen) != int(r.Size()) {
			t.Fatalf("%d allocations succeeded, want %d", len(seen), r.Size())
		}
	})
}
