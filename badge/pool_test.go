package badge

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestPool(t *testing.T, ids ...string) (*Pool, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	p, err := NewPool(NewMemoryStore(), "hq-lobby", WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := p.Add(context.Background(), Badge{ID: id, Name: "Visitor " + id, CredentialType: "1"}); err != nil {
			t.Fatalf("Add(%s): %v", id, err)
		}
		clk.Advance(time.Second)
	}
	return p, clk
}

func TestNewPoolValidates(t *testing.T) {
	t.Parallel()
	if _, err := NewPool(nil, "lobby"); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewPool(nil) = %v, want ErrInvalid", err)
	}
	for _, loc := range []string{"", "main lobby", "lobby\n", strings.Repeat("x", MaxLocationLen+1)} {
		if _, err := NewPool(NewMemoryStore(), loc); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewPool(%q) = %v, want ErrInvalid", loc, err)
		}
	}
	p, err := NewPool(NewMemoryStore(), "lobby", WithClock(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Add(context.Background(), Badge{ID: "1", Name: "One"})
	if err != nil || b.Since.IsZero() || p.Location() != "lobby" {
		t.Fatalf("Add with nil clock = %+v, %v", b, err)
	}
}

func TestPoolAdd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, clk := newTestPool(t)
	b, err := p.Add(ctx, Badge{ID: "0042\r\n", Name: "Visitor 42", CredentialType: "H10301-temp",
		Card: Card{Format: wiegand.H10301, Facility: 12, Number: 42}})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "0042" || b.Location != "hq-lobby" || b.State != Available || !b.Since.Equal(clk.Now()) || b.VisitID != "" {
		t.Fatalf("Add = %+v", b)
	}
	if _, err := p.Add(ctx, Badge{ID: "42", Name: "Visitor 42 again"}); err != nil {
		t.Fatalf("Add 42 next to 0042: %v (leading zeros make a different badge)", err)
	}
	if _, err := p.Add(ctx, Badge{ID: "0042", Name: "dup"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate Add = %v, want ErrExists", err)
	}
	// State and visit supplied by the caller are ignored.
	b, err = p.Add(ctx, Badge{ID: "43", Name: "x", State: Assigned, VisitID: "v"})
	if err != nil || b.State != Available || b.VisitID != "" {
		t.Fatalf("Add with state = %+v, %v", b, err)
	}

	bad := []struct {
		name string
		b    Badge
		want error
		msg  string
	}{
		{"letters in ID", Badge{ID: "B-12", Name: "x"}, ErrInvalidID, "'B' at position 1"},
		{"empty ID", Badge{Name: "x"}, ErrInvalidID, "empty"},
		{"no name", Badge{ID: "50"}, ErrInvalid, "badge name is empty"},
		{"name with newline", Badge{ID: "50", Name: "a\nb"}, ErrInvalid, "control character"},
		{"name with spaces around", Badge{ID: "50", Name: " Visitor "}, ErrInvalid, "leading or trailing"},
		{"name too long", Badge{ID: "50", Name: strings.Repeat("é", MaxNameLen+1)}, ErrInvalid, "101 characters"},
		{"type too long", Badge{ID: "50", Name: "x", CredentialType: strings.Repeat("t", MaxTypeLen+1)}, ErrInvalid, "badge type"},
		{"type invalid UTF-8", Badge{ID: "50", Name: "x", CredentialType: "\xff"}, ErrInvalid, "UTF-8"},
		{"other location", Badge{Location: "dock", ID: "50", Name: "x"}, ErrInvalid, "not the pool's location"},
		{"card facility too big", Badge{ID: "50", Name: "x", Card: Card{Format: wiegand.H10301, Facility: 256, Number: 1}}, ErrInvalid, "facility code 256"},
		{"card number too big", Badge{ID: "50", Name: "x", Card: Card{Format: wiegand.H10301, Facility: 1, Number: 65536}}, ErrInvalid, "card number 65536"},
		{"card unknown format", Badge{ID: "50", Name: "x", Card: Card{Number: 5}}, ErrInvalid, "not supported"},
		{"card facility without field", Badge{ID: "50", Name: "x", Card: Card{Format: wiegand.H10302, Facility: 1, Number: 5}}, ErrInvalid, "has no facility"},
	}
	for _, tc := range bad {
		_, err := p.Add(ctx, tc.b)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Add = %v, want %v containing %q", tc.name, err, tc.want, tc.msg)
		}
	}
	if _, err := p.Get(ctx, "50"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused badge was stored: Get = %v", err)
	}
}

func TestPoolStateTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, clk := newTestPool(t, "1", "2", "3")

	b, err := p.Acquire(ctx, "2\r\n", "visit-a")
	if err != nil || b.State != Assigned || b.VisitID != "visit-a" {
		t.Fatalf("Acquire = %+v, %v", b, err)
	}
	_, err = p.Acquire(ctx, "2", "visit-b")
	if !errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), "is assigned") {
		t.Fatalf("Acquire assigned badge = %v", err)
	}
	if _, err := p.Retire(ctx, "2"); !errors.Is(err, ErrInvalidTransition) || !strings.Contains(err.Error(), "release it or mark it lost") {
		t.Fatalf("Retire assigned badge = %v", err)
	}
	if _, err := p.MarkFound(ctx, "2"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("MarkFound assigned badge = %v", err)
	}

	clk.Advance(time.Hour)
	if b, err = p.MarkLost(ctx, "2"); err != nil || b.State != Lost || b.VisitID != "" {
		t.Fatalf("MarkLost = %+v, %v", b, err)
	}
	if _, err := p.Acquire(ctx, "2", "visit-b"); !errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), "is lost") {
		t.Fatalf("Acquire lost badge = %v", err)
	}
	if b, err = p.Release(ctx, "2", "visit-a"); err != nil || b.State != Lost {
		t.Fatalf("Release of a lost badge = %+v, %v; want no change", b, err)
	}
	if b, err = p.MarkFound(ctx, "2"); err != nil || b.State != Available {
		t.Fatalf("MarkFound = %+v, %v", b, err)
	}
	if b, err = p.Retire(ctx, "2"); err != nil || b.State != Retired {
		t.Fatalf("Retire = %+v, %v", b, err)
	}
	if _, err := p.Acquire(ctx, "2", "visit-b"); !errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), "is retired") {
		t.Fatalf("Acquire retired badge = %v", err)
	}
	for _, f := range []func(context.Context, string) (Badge, error){p.MarkLost, p.MarkFound} {
		if _, err := f(ctx, "2"); !errors.Is(err, ErrInvalidTransition) || !strings.Contains(err.Error(), "retired badges stay retired") {
			t.Fatalf("changing a retired badge = %v", err)
		}
	}
	if _, err := p.Acquire(ctx, "9", "visit-b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Acquire unknown = %v", err)
	}
	if _, err := p.Acquire(ctx, "1", "visit b"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Acquire with bad visit ID = %v", err)
	}
	if _, err := p.Acquire(ctx, "x1", "visit-b"); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Acquire with bad badge ID = %v", err)
	}

	// Next available: 1 then 3, then none.
	got := []string{}
	for _, v := range []string{"v1", "v3"} {
		b, err := p.AcquireNext(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.ID)
	}
	if fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("AcquireNext order = %v", got)
	}
	if _, err := p.AcquireNext(ctx, "v4"); !errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), "no badge is available") {
		t.Fatalf("AcquireNext on an empty pool = %v", err)
	}
	list, err := p.List(ctx, Filter{State: Assigned})
	if err != nil || len(list) != 2 {
		t.Fatalf("List assigned = %v, %v", list, err)
	}
	if _, err := p.List(ctx, Filter{State: State(9)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("List with bad state = %v", err)
	}
}

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]State]bool{
		{Available, Lost}: true, {Assigned, Lost}: true, {Lost, Available}: true,
		{Available, Retired}: true, {Lost, Retired}: true,
		{Available, Available}: true, {Assigned, Assigned}: true, {Lost, Lost}: true, {Retired, Retired}: true,
	}
	states := []State{0, Available, Assigned, Lost, Retired, 7}
	for _, from := range states {
		for _, to := range states {
			err := CheckTransition(from, to)
			if want := allowed[[2]State{from, to}]; (err == nil) != want {
				t.Errorf("CheckTransition(%s, %s) = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("CheckTransition(%s, %s) error does not wrap ErrInvalidTransition", from, to)
			}
		}
	}
}

func TestStateNames(t *testing.T) {
	t.Parallel()
	for _, s := range []State{Available, Assigned, Lost, Retired} {
		got, err := ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseState("Available"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseState is case-sensitive; got %v", err)
	}
	if got := State(0).String(); got != "State(0)" {
		t.Errorf("State(0).String() = %q", got)
	}
}

// TestWhoHeldBadgeLastTuesday replays a week at the front desk and asks who
// held badge 1042 at 14:00 last Tuesday.
func TestWhoHeldBadgeLastTuesday(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, clk := newTestPool(t, "1042", "1043")
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) } // March 2026: Mon 2, Tue 3, …
	visits := []struct {
		visit    string
		in, out  time.Time
		returned bool
	}{
		{"mon-am", day(2, 9, 0), day(2, 12, 0), true},
		{"tue-am", day(3, 9, 30), day(3, 13, 59), true},
		{"tue-pm", day(3, 13, 59), day(3, 17, 0), true},
		{"wed", day(4, 10, 0), time.Time{}, false},
	}
	for _, v := range visits {
		clk.Set(v.in)
		if _, err := p.Acquire(ctx, "1042", v.visit); err != nil {
			t.Fatalf("%s: %v", v.visit, err)
		}
		if v.returned {
			clk.Set(v.out)
			if _, err := p.Release(ctx, "1042", v.visit); err != nil {
				t.Fatalf("%s: %v", v.visit, err)
			}
		}
	}
	clk.Set(day(9, 8, 0)) // the following Monday
	now := clk.Now()
	back := (int(now.Weekday()) - int(time.Tuesday) + 7) % 7
	if back == 0 {
		back = 7
	}
	lastTuesday := now.AddDate(0, 0, -back)
	at := time.Date(lastTuesday.Year(), lastTuesday.Month(), lastTuesday.Day(), 14, 0, 0, 0, time.UTC)
	if !at.Equal(day(3, 14, 0)) {
		t.Fatalf("last Tuesday 14:00 computed as %s", at)
	}
	a, err := p.HolderAt(ctx, "1042", at)
	if err != nil || a.VisitID != "tue-pm" || !a.From.Equal(day(3, 13, 59)) || !a.To.Equal(day(3, 17, 0)) || a.Reason != ReasonReleased {
		t.Fatalf("HolderAt(last Tuesday 14:00) = %+v, %v; want tue-pm", a, err)
	}
	if a, err := p.HolderAt(ctx, "1042", day(3, 13, 59)); err != nil || a.VisitID != "tue-pm" {
		t.Fatalf("HolderAt at the hand-over minute = %+v, %v; want the new holder", a, err)
	}
	if _, err := p.HolderAt(ctx, "1042", day(3, 8, 0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("HolderAt while in the pool = %v, want ErrNotFound", err)
	}
	if a, err := p.HolderAt(ctx, "1042", now); err != nil || a.VisitID != "wed" || !a.Active() {
		t.Fatalf("HolderAt now = %+v, %v; want the unreturned wed visit", a, err)
	}
	if _, err := p.HolderAt(ctx, "1043", at); !errors.Is(err, ErrNotFound) {
		t.Fatalf("HolderAt of a never-used badge = %v", err)
	}
	if _, err := p.HolderAt(ctx, "1042", time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("HolderAt zero time = %v", err)
	}
	h, err := p.History(ctx, "1042")
	if err != nil || len(h) != 4 {
		t.Fatalf("History = %v, %v", h, err)
	}
}

// TestPoolNoDoubleAssignment hammers one pool from many goroutines, each
// taking a badge (scanned or next available), checking that no one else
// holds it, and giving it back.
func TestPoolNoDoubleAssignment(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"specific", "next"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			const badges, workers, rounds = 8, 32, 200
			ids := make([]string, badges)
			for i := range ids {
				ids[i] = fmt.Sprint(500 + i)
			}
			p, err := NewPool(NewMemoryStore(), "lobby")
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, id := range ids {
				if _, err := p.Add(ctx, Badge{ID: id, Name: "B" + id}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			holder := make(map[string]string)
			acquired := 0
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for r := range rounds {
						visit := fmt.Sprintf("w%d-r%d", w, r)
						var b Badge
						var err error
						if mode == "specific" {
							b, err = p.Acquire(ctx, ids[(w+r)%badges], visit)
						} else {
							b, err = p.AcquireNext(ctx, visit)
						}
						if errors.Is(err, ErrNotAvailable) {
							continue
						}
						if err != nil {
							t.Errorf("acquire: %v", err)
							return
						}
						mu.Lock()
						if other, busy := holder[b.ID]; busy {
							mu.Unlock()
							t.Errorf("badge %s handed to %s while %s holds it", b.ID, visit, other)
							return
						}
						holder[b.ID] = visit
						acquired++
						mu.Unlock()
						runtime.Gosched() // hold the badge a moment

						mu.Lock()
						delete(holder, b.ID)
						mu.Unlock()
						if _, err := p.Release(ctx, b.ID, visit); err != nil {
							t.Errorf("release: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			if acquired == 0 {
				t.Fatal("no acquisition succeeded")
			}
			// Every badge is back and its history has as many closed
			// assignments as acquisitions, none overlapping.
			total := 0
			for _, id := range ids {
				h, err := p.History(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				total += len(h)
				for _, a := range h {
					if a.Active() || a.Reason != ReasonReleased {
						t.Fatalf("badge %s has open assignment %+v", id, a)
					}
				}
			}
			if total != acquired {
				t.Fatalf("history holds %d assignments, %d acquisitions succeeded", total, acquired)
			}
			avail, _ := p.List(ctx, Filter{State: Available})
			if len(avail) != badges {
				t.Fatalf("%d badges available after the run, want %d", len(avail), badges)
			}
		})
	}
}
