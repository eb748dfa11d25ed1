package badge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

func TestRangeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Range
		msg  string // "" = valid
	}{
		{"H10301 full", Range{"lobby", wiegand.H10301, 255, 0, 65535}, ""},
		{"H10301 single", Range{"lobby", wiegand.H10301, 0, 7, 7}, ""},
		{"H10302 no facility", Range{"lobby", wiegand.H10302, 0, 10_000_000, 99_999_999}, ""},
		{"H10304 8-digit tokens need 37 bits", Range{"lobby", wiegand.H10304, 65535, 0, 524287}, ""},
		{"C1000-48", Range{"lobby", wiegand.Corp1000_48, 4194303, 1, 8388607}, ""},
		{"H10301 facility 256", Range{"lobby", wiegand.H10301, 256, 0, 10}, "facility code 256 out of range for H10301 (0–255)"},
		{"H10301 card 65536", Range{"lobby", wiegand.H10301, 1, 0, 65536}, "range maximum 65536 out of range for H10301 (0–65535)"},
		{"8-digit tokens in 26 bits", Range{"lobby", wiegand.H10301, 1, 10_000_000, 99_999_999}, "out of range for H10301"},
		{"min above max", Range{"lobby", wiegand.H10301, 1, 200, 100}, "minimum 200 is above its maximum 100"},
		{"facility on H10302", Range{"lobby", wiegand.H10302, 3, 0, 10}, "has no facility code"},
		{"zero format", Range{"lobby", 0, 0, 0, 10}, "not supported"},
		{"unknown format", Range{"lobby", wiegand.Format(99), 0, 0, 10}, "not supported"},
		{"no location", Range{"", wiegand.H10301, 1, 0, 10}, "location is empty"},
	}
	for _, tc := range tests {
		err := tc.r.Validate()
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: Validate = %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Validate = %v, want ErrInvalid containing %q", tc.name, err, tc.msg)
		}
	}
	r := Range{"lobby", wiegand.H10301, 12, 100, 199}
	if r.Size() != 100 || !r.Contains(100) || !r.Contains(199) || r.Contains(99) || r.Contains(200) {
		t.Errorf("Size/Contains wrong for %s", r)
	}
	if got := r.String(); got != "lobby H10301 12/100–199" {
		t.Errorf("String = %q", got)
	}
}

func TestCheckRangeChange(t *testing.T) {
	t.Parallel()
	old := Range{"lobby", wiegand.H10301, 12, 100, 199}
	tests := []struct {
		name            string
		next            Range
		issued          int
		lowest, highest uint64
		ok              bool
	}{
		{"nothing issued, anything goes", Range{"lobby", wiegand.H10306, 9, 0, 5}, 0, 0, 0, true},
		{"grow", Range{"lobby", wiegand.H10301, 12, 0, 65535}, 3, 120, 150, true},
		{"shrink to issued", Range{"lobby", wiegand.H10301, 12, 120, 150}, 3, 120, 150, true},
		{"shrink past lowest", Range{"lobby", wiegand.H10301, 12, 121, 199}, 3, 120, 150, false},
		{"shrink past highest", Range{"lobby", wiegand.H10301, 12, 100, 149}, 3, 120, 150, false},
		{"move away", Range{"lobby", wiegand.H10301, 12, 1000, 2000}, 1, 120, 120, false},
		{"format change", Range{"lobby", wiegand.H10306, 12, 100, 199}, 1, 120, 120, false},
		{"facility change", Range{"lobby", wiegand.H10301, 13, 100, 199}, 1, 120, 120, false},
	}
	for _, tc := range tests {
		err := CheckRangeChange(old, tc.next, tc.issued, tc.lowest, tc.highest)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrRangeInUse)) {
			t.Errorf("%s: CheckRangeChange = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestAllocatorValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := NewAllocator(nil, "lobby"); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewAllocator(nil) = %v", err)
	}
	if _, err := NewAllocator(NewMemoryAllocationStore(), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewAllocator(empty location) = %v", err)
	}
	a, err := NewAllocator(NewMemoryAllocationStore(), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRange(ctx, Range{Location: "dock", Format: wiegand.H10301, Max: 9}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetRange for another location = %v", err)
	}
	if err := a.SetRange(ctx, Range{Format: wiegand.H10301, Facility: 300, Max: 9}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetRange invalid = %v", err)
	}
	if _, err := a.Range(ctx); !errors.Is(err, ErrNoRange) {
		t.Errorf("refused SetRange stored a range: %v", err)
	}
	if err := a.SetRange(ctx, Range{Format: wiegand.H10301, Facility: 1, Max: 9}); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Range(ctx); err != nil || r.Location != "lobby" {
		t.Errorf("Range = %+v, %v", r, err)
	}
	if _, err := a.Allocate(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Allocate with empty visit = %v", err)
	}
	if err := a.Free(ctx, 1, "bad visit"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Free with bad visit = %v", err)
	}
}

func TestAllocatorClockAndIdempotence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)}
	a, _ := NewAllocator(NewMemoryAllocationStore(), "lobby", WithClock(clk.Now))
	if err := a.SetRange(ctx, Range{Format: wiegand.H10301, Facility: 7, Min: 100, Max: 102}); err != nil {
		t.Fatal(err)
	}
	x, err := a.Allocate(ctx, "visit-1")
	if err != nil || x.Card != (Card{Format: wiegand.H10301, Facility: 7, Number: 100}) || !x.At.Equal(clk.Now()) {
		t.Fatalf("Allocate = %+v, %v", x, err)
	}
	clk.Advance(time.Minute)
	y, err := a.Allocate(ctx, "visit-1")
	if err != nil || y != x {
		t.Fatalf("repeated Allocate = %+v, %v; want %+v", y, err, x)
	}
	// Fresh numbers go first; a freed number waits behind them.
	if err := a.Free(ctx, x.Card.Number, "visit-1"); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for i := range 3 {
		z, err := a.Allocate(ctx, fmt.Sprintf("v%d", i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, z.Card.Number)
	}
	if fmt.Sprint(got) != "[101 102 100]" {
		t.Fatalf("allocation order = %v, want [101 102 100]", got)
	}
	list, _ := a.Allocations(ctx)
	if len(list) != 3 || list[0].Card.Number != 100 || list[0].VisitID != "v2" {
		t.Fatalf("Allocations = %+v", list)
	}
}

// TestAllocateChurnMatchesModel runs random allocate/free/set-range steps
// against a simple model and checks every answer.
func TestAllocateChurnMatchesModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	s := NewMemoryAllocationStore()
	r := Range{Location: "lobby", Format: wiegand.H10301, Facility: 1, Min: 1000, Max: 1199}
	if err := s.SetRange(ctx, r); err != nil {
		t.Fatal(err)
	}
	held := make(map[uint64]string) // model: number → visit
	visits := make(map[string]uint64)
	for step := range 10000 {
		switch op := rnd.IntN(10); {
		case op < 6: // allocate
			v := fmt.Sprintf("v%d", step)
			a, err := s.Allocate(ctx, "lobby", v, time.Time{})
			if uint64(len(held)) == r.Size() {
				if !errors.Is(err, ErrRangeFull) {
					t.Fatalf("step %d: full range gave %+v, %v", step, a, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			n := a.Card.Number
			if !r.Contains(n) {
				t.Fatalf("step %d: %d outside %s", step, n, r)
			}
			if other, dup := held[n]; dup {
				t.Fatalf("step %d: %d given to %s while %s holds it", step, n, v, other)
			}
			held[n], visits[v] = v, n
		case op < 9: // free a random held number
			for v, n := range visits {
				if err := s.Free(ctx, "lobby", n, v); err != nil {
					t.Fatal(err)
				}
				delete(held, n)
				delete(visits, v)
				break
			}
		default: // change the range around the issued numbers
			lo, hi := uint64(1000), uint64(1199)
			for n := range held {
				lo, hi = min(lo, n), max(hi, n)
			}
			next := r
			next.Min = lo - uint64(rnd.IntN(int(lo-900)+1))
			next.Max = max(hi, 1150+uint64(rnd.IntN(100)))
			if len(held) == 0 {
				next.Min, next.Max = 1000, 1199
			}
			if err := s.SetRange(ctx, next); err != nil {
				t.Fatalf("step %d: SetRange(%s): %v", step, next, err)
			}
			r = next
			// And a change that would orphan the lowest number is refused.
			if len(held) > 0 {
				bad := r
				bad.Min = hi + 1
				bad.Max = hi + 10
				if err := s.SetRange(ctx, bad); !errors.Is(err, ErrRangeInUse) {
					t.Fatalf("step %d: orphaning SetRange = %v", step, err)
				}
			}
		}
	}
	list, _ := s.Allocations(ctx, "lobby")
	if len(list) != len(held) {
		t.Fatalf("store holds %d allocations, model %d", len(list), len(held))
	}
}

// TestAllocateNearlyFullLargeRange fills a range high in the 35-bit H10302
// number space, frees a few numbers and checks that exactly those are found.
func TestAllocateNearlyFullLargeRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const size = 1 << 14
	s := NewMemoryAllocationStore()
	r := Range{Location: "lobby", Format: wiegand.H10302, Min: 1 << 34, Max: 1<<34 + size - 1}
	if err := s.SetRange(ctx, r); err != nil {
		t.Fatal(err)
	}
	for i := range size {
		if _, err := s.Allocate(ctx, "lobby", fmt.Sprint("v", i), time.Time{}); err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
	}
	if _, err := s.Allocate(ctx, "lobby", "extra", time.Time{}); !errors.Is(err, ErrRangeFull) {
		t.Fatalf("Allocate on a full range = %v", err)
	}
	// Free every 1000th number; exactly those come back.
	freed := map[uint64]bool{}
	for i := 0; i < size; i += 1000 {
		n := r.Min + uint64(i)
		if err := s.Free(ctx, "lobby", n, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		freed[n] = true
	}
	for i := range len(freed) {
		a, err := s.Allocate(ctx, "lobby", fmt.Sprint("w", i), time.Time{})
		if err != nil || !freed[a.Card.Number] {
			t.Fatalf("Allocate = %+v, %v; want a freed number", a, err)
		}
		delete(freed, a.Card.Number)
	}
	if _, err := s.Allocate(ctx, "lobby", "extra", time.Time{}); !errors.Is(err, ErrRangeFull) {
		t.Fatalf("Allocate on a full range = %v", err)
	}
}
