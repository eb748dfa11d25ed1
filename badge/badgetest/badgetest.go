// Package badgetest checks implementations of badge.Store and
// badge.AllocationStore against their documented contracts. A durable store
// calls RunStore and RunAllocationStore from its tests:
//
//	func TestStore(t *testing.T) {
//		badgetest.RunStore(t, func(t *testing.T) badge.Store { return openEmptyStore(t) })
//	}
//
// Each subtest gets a fresh, empty store. Timestamps are whole seconds in
// UTC and compared with time.Time.Equal, so a store may change their
// location or drop sub-microsecond precision.
package badgetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

// T0 is the first timestamp the kit uses.
var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

const loc = "lobby"

func newBadge(id string, since time.Time) badge.Badge {
	return badge.Badge{Location: loc, ID: id, Name: "Visitor " + id, CredentialType: "temp", State: badge.Available, Since: since}
}

func add(t *testing.T, s badge.Store, ids ...string) {
	t.Helper()
	for i, id := range ids {
		if err := s.Add(t.Context(), newBadge(id, at(i))); err != nil {
			t.Fatalf("Add(%s): %v", id, err)
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func checkBadge(t *testing.T, what string, got badge.Badge, state badge.State, visit string, since time.Time) {
	t.Helper()
	if got.State != state || got.VisitID != visit || !got.Since.Equal(since) {
		t.Fatalf("%s: got state %s, visit %q, since %s; want %s, %q, %s",
			what, got.State, got.VisitID, got.Since.UTC(), state, visit, since)
	}
}

// RunStore runs the Store contract tests, one subtest per check.
// newStore must return an empty store and arrange its cleanup with
// t.Cleanup.
func RunStore(t *testing.T, newStore func(t *testing.T) badge.Store) {
	for _, c := range storeChecks {
		t.Run(c.name, func(t *testing.T) { c.fn(t.Context(), t, newStore) })
	}
}

// storeCheck is one check of the Store contract on a fresh store.
type storeCheck struct {
	name string
	// fn gets newStore; most checks take one store, some one per subtest.
	fn func(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store)
}

var storeChecks = []storeCheck{
	{"AddGet", storeAddGet},
	{"ListOrderAndFilter", storeListOrderAndFilter},
	{"AcquireSpecific", storeAcquireSpecific},
	{"AcquireNextOldestFirst", storeAcquireNextOldestFirst},
	{"Release", storeRelease},
	{"SetState", storeSetState},
	{"LostWhileAssigned", storeLostWhileAssigned},
	{"HolderAt", storeHolderAt},
	{"CancelledContext", storeCancelledContext},
	{"ConcurrentAcquireNext", storeConcurrentAcquireNext},
	{"ConcurrentAcquireSpecific", storeConcurrentAcquireSpecific},
}

func storeAddGet(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	b := newBadge("0042", at(0))
	b.Card = badge.Card{Format: wiegand.H10301, Facility: 12, Number: 42}
	noErr(t, "Add", s.Add(ctx, b))
	got, err := s.Get(ctx, loc, "0042")
	noErr(t, "Get", err)
	if got.Location != b.Location || got.ID != b.ID || got.Name != b.Name || got.CredentialType != b.CredentialType || got.Card != b.Card {
		t.Fatalf("Get = %+v, want %+v", got, b)
	}
	checkBadge(t, "Get", got, badge.Available, "", at(0))
	wantErr(t, "second Add", s.Add(ctx, b), badge.ErrExists)
	_, err = s.Get(ctx, loc, "42")
	wantErr(t, "Get 42 (leading zeros are significant)", err, badge.ErrNotFound)
	other := b
	other.Location = "dock"
	noErr(t, "Add same ID at another location", s.Add(ctx, other))
	_, err = s.Get(ctx, "nowhere", "0042")
	wantErr(t, "Get at unknown location", err, badge.ErrNotFound)
}

func storeListOrderAndFilter(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "10", "9", "007", "7", "100")
	got, err := s.List(ctx, loc, badge.Filter{})
	noErr(t, "List", err)
	if ids := idsOf(got); !slices.Equal(ids, []string{"7", "9", "10", "007", "100"}) {
		t.Fatalf("List order = %v", ids)
	}
	_, err = s.Acquire(ctx, loc, "9", "visit-1", at(10))
	noErr(t, "Acquire", err)
	got, err = s.List(ctx, loc, badge.Filter{State: badge.Assigned})
	noErr(t, "List assigned", err)
	if ids := idsOf(got); !slices.Equal(ids, []string{"9"}) {
		t.Fatalf("List assigned = %v", ids)
	}
	got, err = s.List(ctx, loc, badge.Filter{VisitID: "visit-1"})
	noErr(t, "List by visit", err)
	if ids := idsOf(got); !slices.Equal(ids, []string{"9"}) {
		t.Fatalf("List by visit = %v", ids)
	}
	got, err = s.List(ctx, loc, badge.Filter{State: badge.Available})
	noErr(t, "List available", err)
	if ids := idsOf(got); !slices.Equal(ids, []string{"7", "10", "007", "100"}) {
		t.Fatalf("List available = %v", ids)
	}
	got, err = s.List(ctx, "nowhere", badge.Filter{})
	noErr(t, "List unknown location", err)
	if len(got) != 0 {
		t.Fatalf("List unknown location = %v", idsOf(got))
	}
}

func storeAcquireSpecific(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "1", "2")
	b, err := s.Acquire(ctx, loc, "2", "visit-a", at(10))
	noErr(t, "Acquire", err)
	checkBadge(t, "Acquire", b, badge.Assigned, "visit-a", at(10))
	got, err := s.Get(ctx, loc, "2")
	noErr(t, "Get", err)
	checkBadge(t, "Get after Acquire", got, badge.Assigned, "visit-a", at(10))

	_, err = s.Acquire(ctx, loc, "2", "visit-b", at(11))
	wantErr(t, "Acquire held badge by another visit", err, badge.ErrNotAvailable)
	_, err = s.Acquire(ctx, loc, "3", "visit-b", at(11))
	wantErr(t, "Acquire unknown badge", err, badge.ErrNotFound)

	b, err = s.Acquire(ctx, loc, "2", "visit-a", at(12))
	noErr(t, "Acquire again by the same visit", err)
	checkBadge(t, "repeat Acquire", b, badge.Assigned, "visit-a", at(10))
	_, err = s.Acquire(ctx, loc, "1", "visit-a", at(12))
	wantErr(t, "Acquire a second badge", err, badge.ErrVisitHasBadge)
	h, err := s.History(ctx, loc, "2")
	noErr(t, "History", err)
	if len(h) != 1 {
		t.Fatalf("History after repeated Acquire has %d entries, want 1", len(h))
	}
}

func storeAcquireNextOldestFirst(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	for _, b := range []struct {
		id  string
		min int
	}{{"1", 2}, {"2", 1}, {"3", 3}} {
		noErr(t, "Add", s.Add(ctx, newBadge(b.id, at(b.min))))
	}
	var got []string
	for i, v := range []string{"v1", "v2"} {
		b, err := s.Acquire(ctx, loc, "", v, at(10+i))
		noErr(t, "Acquire next", err)
		checkBadge(t, "Acquire next", b, badge.Assigned, v, at(10+i))
		got = append(got, b.ID)
	}
	if !slices.Equal(got, []string{"2", "1"}) {
		t.Fatalf("next available order = %v, want [2 1] (oldest Since first)", got)
	}
	b, err := s.Acquire(ctx, loc, "", "v1", at(12))
	noErr(t, "repeat Acquire next", err)
	if b.ID != "2" {
		t.Fatalf("repeat Acquire next by v1 returned badge %s, want its badge 2", b.ID)
	}
	_, err = s.Release(ctx, loc, "2", "v1", at(13))
	noErr(t, "Release", err)
	b, err = s.Acquire(ctx, loc, "", "v3", at(14))
	noErr(t, "Acquire next", err)
	if b.ID != "3" {
		t.Fatalf("Acquire next after release returned %s, want 3 (released badge goes last)", b.ID)
	}
	b, err = s.Acquire(ctx, loc, "", "v4", at(15))
	noErr(t, "Acquire next", err)
	if b.ID != "2" {
		t.Fatalf("Acquire next returned %s, want 2", b.ID)
	}
	_, err = s.Acquire(ctx, loc, "", "v5", at(16))
	wantErr(t, "Acquire next from empty pool", err, badge.ErrNotAvailable)
	_, err = s.Acquire(ctx, "nowhere", "", "v5", at(16))
	wantErr(t, "Acquire next at unknown location", err, badge.ErrNotAvailable)
}

func storeRelease(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "5")
	_, err := s.Acquire(ctx, loc, "5", "visit-a", at(10))
	noErr(t, "Acquire", err)
	b, err := s.Release(ctx, loc, "5", "visit-b", at(11))
	noErr(t, "Release by a visit that does not hold it", err)
	checkBadge(t, "Release by other visit", b, badge.Assigned, "visit-a", at(10))
	b, err = s.Release(ctx, loc, "5", "visit-a", at(20))
	noErr(t, "Release", err)
	checkBadge(t, "Release", b, badge.Available, "", at(20))
	b, err = s.Release(ctx, loc, "5", "visit-a", at(21))
	noErr(t, "repeated Release", err)
	checkBadge(t, "repeated Release", b, badge.Available, "", at(20))
	_, err = s.Release(ctx, loc, "6", "visit-a", at(21))
	wantErr(t, "Release unknown badge", err, badge.ErrNotFound)
	h, err := s.History(ctx, loc, "5")
	noErr(t, "History", err)
	want := []badge.Assignment{{Location: loc, BadgeID: "5", VisitID: "visit-a", From: at(10), To: at(20), Reason: badge.ReasonReleased}}
	checkHistory(t, h, want)
	// The visit may take a badge again after releasing it.
	_, err = s.Acquire(ctx, loc, "", "visit-a", at(30))
	noErr(t, "Acquire after Release", err)
}

func storeSetState(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	states := []badge.State{badge.Available, badge.Assigned, badge.Lost, badge.Retired}
	for _, from := range states {
		for _, to := range states {
			t.Run(fmt.Sprintf("%s-to-%s", from, to), func(t *testing.T) {
				s := newStore(t)
				add(t, s, "1")
				reach(t, s, "1", from)
				before, err := s.Get(ctx, loc, "1")
				noErr(t, "Get", err)
				b, err := s.SetState(ctx, loc, "1", to, at(50))
				if want := badge.CheckTransition(from, to); want != nil {
					wantErr(t, "SetState", err, badge.ErrInvalidTransition)
					got, gerr := s.Get(ctx, loc, "1")
					noErr(t, "Get", gerr)
					checkBadge(t, "refused SetState", got, before.State, before.VisitID, before.Since)
					return
				}
				noErr(t, "SetState", err)
				if from == to {
					checkBadge(t, "SetState to the same state", b, from, before.VisitID, before.Since)
					return
				}
				checkBadge(t, "SetState", b, to, "", at(50))
				got, err := s.Get(ctx, loc, "1")
				noErr(t, "Get", err)
				checkBadge(t, "Get after SetState", got, to, "", at(50))
			})
		}
	}
}

func storeLostWhileAssigned(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "8", "9")
	_, err := s.Acquire(ctx, loc, "8", "visit-a", at(10))
	noErr(t, "Acquire", err)
	_, err = s.SetState(ctx, loc, "8", badge.Lost, at(20))
	noErr(t, "SetState lost", err)
	h, err := s.History(ctx, loc, "8")
	noErr(t, "History", err)
	checkHistory(t, h, []badge.Assignment{{Location: loc, BadgeID: "8", VisitID: "visit-a", From: at(10), To: at(20), Reason: badge.ReasonLost}})
	b, err := s.Release(ctx, loc, "8", "visit-a", at(25))
	noErr(t, "Release after lost", err)
	checkBadge(t, "Release after lost", b, badge.Lost, "", at(20))
	_, err = s.Acquire(ctx, loc, "8", "visit-b", at(26))
	wantErr(t, "Acquire lost badge", err, badge.ErrNotAvailable)
	b, err = s.Acquire(ctx, loc, "", "visit-b", at(27))
	noErr(t, "Acquire next", err)
	if b.ID != "9" {
		t.Fatalf("Acquire next returned lost badge %s", b.ID)
	}
	// visit-a no longer holds a badge, so it may take another one.
	_, err = s.SetState(ctx, loc, "8", badge.Available, at(30))
	noErr(t, "found", err)
	b, err = s.Acquire(ctx, loc, "", "visit-a", at(31))
	noErr(t, "Acquire by visit-a after its badge was lost", err)
	if b.ID != "8" {
		t.Fatalf("Acquire next returned %s, want found badge 8", b.ID)
	}
}

func storeHolderAt(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "1042")
	steps := []struct {
		visit    string
		from, to int
	}{{"mon", 60, 120}, {"tue", 1500, 1800}, {"wed", 2900, 0}}
	for _, st := range steps {
		_, err := s.Acquire(ctx, loc, "1042", st.visit, at(st.from))
		noErr(t, "Acquire", err)
		if st.to != 0 {
			_, err = s.Release(ctx, loc, "1042", st.visit, at(st.to))
			noErr(t, "Release", err)
		}
	}
	for _, q := range []struct {
		min  int
		want string // "" = nobody
	}{{0, ""}, {60, "mon"}, {119, "mon"}, {120, ""}, {1499, ""}, {1500, "tue"}, {1650, "tue"}, {1800, ""}, {2900, "wed"}, {100000, "wed"}} {
		a, err := s.HolderAt(ctx, loc, "1042", at(q.min))
		if q.want == "" {
			wantErr(t, fmt.Sprintf("HolderAt(+%dm)", q.min), err, badge.ErrNotFound)
			continue
		}
		noErr(t, fmt.Sprintf("HolderAt(+%dm)", q.min), err)
		if a.VisitID != q.want || a.BadgeID != "1042" || a.Location != loc {
			t.Fatalf("HolderAt(+%dm) = %+v, want visit %s", q.min, a, q.want)
		}
	}
	h, err := s.History(ctx, loc, "1042")
	noErr(t, "History", err)
	checkHistory(t, h, []badge.Assignment{
		{Location: loc, BadgeID: "1042", VisitID: "mon", From: at(60), To: at(120), Reason: badge.ReasonReleased},
		{Location: loc, BadgeID: "1042", VisitID: "tue", From: at(1500), To: at(1800), Reason: badge.ReasonReleased},
		{Location: loc, BadgeID: "1042", VisitID: "wed", From: at(2900)},
	})
	_, err = s.HolderAt(ctx, loc, "999", at(60))
	wantErr(t, "HolderAt unknown badge", err, badge.ErrNotFound)
	_, err = s.History(ctx, loc, "999")
	wantErr(t, "History unknown badge", err, badge.ErrNotFound)
}

func storeCancelledContext(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	add(t, s, "1")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.Acquire(cctx, loc, "", "visit-a", at(10))
	wantErr(t, "Acquire with cancelled context", err, context.Canceled)
	b, err := s.Get(ctx, loc, "1")
	noErr(t, "Get", err)
	checkBadge(t, "after cancelled Acquire", b, badge.Available, "", at(0))
}

func storeConcurrentAcquireNext(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	const badges, visits = 20, 60
	for i := range badges {
		noErr(t, "Add", s.Add(ctx, newBadge(fmt.Sprint(100+i), at(0))))
	}
	got := make([]string, visits)
	var wg sync.WaitGroup
	errs := make(chan error, visits)
	for v := range visits {
		wg.Go(func() {
			b, err := s.Acquire(ctx, loc, "", fmt.Sprintf("visit-%d", v), at(10))
			switch {
			case err == nil:
				got[v] = b.ID
			case !errors.Is(err, badge.ErrNotAvailable):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Acquire: %v", err)
	}
	checkDistinct(t, got, badges)
	checkHolders(t, s, got)
}

func storeConcurrentAcquireSpecific(ctx context.Context, t *testing.T, newStore func(*testing.T) badge.Store) {
	s := newStore(t)
	const visits = 40
	add(t, s, "77", "78")
	got := make([]string, visits)
	var wg sync.WaitGroup
	for v := range visits {
		wg.Go(func() {
			id := []string{"77", "78"}[v%2]
			b, err := s.Acquire(ctx, loc, id, fmt.Sprintf("visit-%d", v), at(10))
			if err == nil {
				got[v] = b.ID
			} else if !errors.Is(err, badge.ErrNotAvailable) {
				t.Errorf("concurrent Acquire: %v", err)
			}
		})
	}
	wg.Wait()
	checkDistinct(t, got, 2)
	checkHolders(t, s, got)
}

func reach(t *testing.T, s badge.Store, id string, st badge.State) {
	t.Helper()
	ctx := t.Context()
	var err error
	switch st {
	case badge.Assigned:
		_, err = s.Acquire(ctx, loc, id, "holder", at(10))
	case badge.Lost:
		_, err = s.SetState(ctx, loc, id, badge.Lost, at(10))
	case badge.Retired:
		_, err = s.SetState(ctx, loc, id, badge.Retired, at(10))
	}
	noErr(t, "reach "+st.String(), err)
}

func idsOf(bs []badge.Badge) []string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return ids
}

func checkHistory(t *testing.T, got, want []badge.Assignment) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("History has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Location != w.Location || g.BadgeID != w.BadgeID || g.VisitID != w.VisitID ||
			!g.From.Equal(w.From) || !g.To.Equal(w.To) || g.Reason != w.Reason {
			t.Fatalf("History[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// checkDistinct checks that exactly n of got are set and that none repeats.
func checkDistinct(t *testing.T, got []string, n int) {
	t.Helper()
	seen := make(map[string]int)
	count := 0
	for v, id := range got {
		if id == "" {
			continue
		}
		count++
		if prev, dup := seen[id]; dup {
			t.Fatalf("badge %s was assigned to visit-%d and visit-%d", id, prev, v)
		}
		seen[id] = v
	}
	if count != n {
		t.Fatalf("%d acquisitions succeeded, want %d", count, n)
	}
}

// checkHolders checks that each acquired badge is held by its visit.
func checkHolders(t *testing.T, s badge.Store, got []string) {
	t.Helper()
	for v, id := range got {
		if id == "" {
			continue
		}
		b, err := s.Get(t.Context(), loc, id)
		noErr(t, "Get", err)
		if want := fmt.Sprintf("visit-%d", v); b.State != badge.Assigned || b.VisitID != want {
			t.Fatalf("badge %s is %s held by %q, want assigned to %s", id, b.State, b.VisitID, want)
		}
	}
}
