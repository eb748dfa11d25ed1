package acshttp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestKeyedMutexSerialisesOneKey(t *testing.T) {
	var k KeyedMutex
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			unlock, err := k.Lock(t.Context(), "visit-1")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			inside.Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one key at once, want 1", most.Load())
	}
	if n := k.size(); n != 0 {
		t.Errorf("%d keys left after every unlock, want 0", n)
	}
}

// Keys given twice are locked once; a held key refuses a caller whose
// context has ended; released keys leave nothing behind.
func TestKeyedMutexDuplicatesAndLeaks(t *testing.T) {
	var k KeyedMutex
	ctx := t.Context()
	unlock, err := k.Lock(ctx, "b", "a", "a")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := k.Lock(cctx, "a"); err == nil {
		t.Fatal("locked a held key")
	}
	unlock()
	unlock2, err := k.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
	if n := k.size(); n != 0 {
		t.Fatalf("locks leak: %d keys", n)
	}
}

func TestKeyedMutexOtherKeysDoNotWait(t *testing.T) {
	var k KeyedMutex
	unlock, err := k.Lock(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	other, err := k.Lock(t.Context(), "b")
	if err != nil {
		t.Fatalf("a different key waited: %v", err)
	}
	other()
}

func TestKeyedMutexContextEndsWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var k KeyedMutex
		unlock, _ := k.Lock(t.Context(), "b")
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		// "a" is free and taken first (sorted order); "b" is held, so the
		// call gives up and must release "a" again.
		if _, err := k.Lock(ctx, "b", "a"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock of a held key = %v, want the context's error", err)
		}
		again, err := k.Lock(t.Context(), "a")
		if err != nil {
			t.Fatalf("a key taken by a call that gave up stays locked: %v", err)
		}
		again()
		unlock()
		unlock() // a second call releases nothing
		if n := k.size(); n != 0 {
			t.Errorf("%d keys left, want 0", n)
		}
	})
}

func TestKeyedMutexOverlappingSetsDoNotDeadlock(t *testing.T) {
	var k KeyedMutex
	var wg sync.WaitGroup
	for i := range 50 {
		keys := []string{"holder:x", "card:1"}
		if i%2 == 1 {
			slices.Reverse(keys)
		}
		wg.Go(func() {
			unlock, err := k.Lock(t.Context(), keys...)
			if err != nil {
				t.Error(err)
				return
			}
			unlock()
		})
	}
	wg.Wait()
}

func TestBackoffDoublesToMaxAndResets(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 5 * time.Second, Rand: func() float64 { return 0 }}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if b.Failures() != 5 {
		t.Errorf("Failures = %d, want 5", b.Failures())
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Errorf("after Reset: %v, want Min", d)
	}
}

func TestBackoffJitterStaysWithinAQuarter(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999, 1, -3, 7} {
		b := Backoff{Min: 100 * time.Millisecond, Max: time.Minute, Rand: func() float64 { return r }}
		for attempt := range 40 {
			nominal := min(100*time.Millisecond<<min(attempt, 20), time.Minute)
			d := b.Delay(attempt)
			if d > nominal || d < nominal*3/4 {
				t.Fatalf("rand %v, attempt %d: %v outside [%v, %v]", r, attempt, d, nominal*3/4, nominal)
			}
		}
	}
	// The default source spreads the waits.
	b := Backoff{Min: time.Second, Max: time.Second}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[b.Delay(0)] = true
	}
	if len(seen) < 2 {
		t.Error("50 waits without jitter: replicas would retry in step")
	}
}

func TestBackoffEdges(t *testing.T) {
	zero := func() float64 { return 0 }
	for _, c := range []struct {
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{Backoff{Min: 0, Max: time.Second, Rand: zero}, 1 << 30, 0},
		{Backoff{Min: time.Second, Max: 0, Rand: zero}, 3, time.Second},
		{Backoff{Min: time.Hour, Max: 1<<63 - 1, Rand: zero}, 1 << 30, 1<<63 - 1},
		{Backoff{Min: 3, Max: 1<<63 - 1, Rand: zero}, 61, 3 << 61},
		{Backoff{Min: 3, Max: 1<<63 - 1, Rand: zero}, 62, 1<<63 - 1},
		{Backoff{Min: time.Second, Max: time.Minute, Rand: zero}, -1, time.Second},
	} {
		if got := c.b.Delay(c.attempt); got != c.want {
			t.Errorf("%+v Delay(%d) = %v, want %v", c.b, c.attempt, got, c.want)
		}
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(t.Context(), time.Minute); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("slept %v on the bubble's clock, want 1m", d)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep past the deadline = %v", err)
		}
		if err := Sleep(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep(0) with an ended context = %v", err)
		}
		if err := Sleep(t.Context(), -time.Second); err != nil {
			t.Errorf("Sleep(<0) = %v", err)
		}
	})
}

func TestSharedLoginOneFetchForConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l SharedLogin[string]
		var fetches atomic.Int32
		release := make(chan struct{})
		fetch := func(ctx context.Context, prev string) (string, error) {
			fetches.Add(1)
			<-release
			return "token-1", nil
		}
		var wg sync.WaitGroup
		got := make([]string, 10)
		for i := range got {
			wg.Go(func() {
				v, err := l.Get(t.Context(), fetch)
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			})
		}
		synctest.Wait() // one fetching, nine waiting
		close(release)
		wg.Wait()
		if n := fetches.Load(); n != 1 {
			t.Errorf("%d fetches for 10 concurrent callers, want 1", n)
		}
		for _, v := range got {
			if v != "token-1" {
				t.Errorf("a caller got %q", v)
			}
		}
		if v, live := l.Held(); v != "token-1" || !live {
			t.Errorf("Held = %q, %v", v, live)
		}
	})
}

func TestSharedLoginSharesTheError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l SharedLogin[string]
		refused := errors.New("password refused")
		var fetches atomic.Int32
		release := make(chan struct{})
		fetch := func(ctx context.Context, _ string) (string, error) {
			fetches.Add(1)
			<-release
			return "", refused
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := l.Get(t.Context(), fetch); err != refused {
					t.Errorf("Get = %v, want the fetch's error", err)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if n := fetches.Load(); n != 1 {
			t.Errorf("%d fetches, want 1: a refused login is not repeated by every waiter", n)
		}
		if _, live := l.Held(); live {
			t.Error("a failed fetch left a live credential")
		}
	})
}

func TestSharedLoginWaitersRetryWhenTheLeaderGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l SharedLogin[string]
		var fetches atomic.Int32
		fetch := func(ctx context.Context, _ string) (string, error) {
			n := fetches.Add(1)
			if n == 1 {
				<-ctx.Done() // the first caller's context ends mid-login
				return "", ctx.Err()
			}
			return fmt.Sprint("token-", n), nil
		}
		leaderCtx, cancel := context.WithCancel(t.Context())
		leaderDone := make(chan error)
		go func() {
			_, err := l.Get(leaderCtx, fetch)
			leaderDone <- err
		}()
		synctest.Wait()
		waiterDone := make(chan string)
		go func() {
			v, err := l.Get(t.Context(), fetch)
			if err != nil {
				t.Errorf("waiter: %v, want a fetch of its own", err)
			}
			waiterDone <- v
		}()
		synctest.Wait()
		cancel()
		if err := <-leaderDone; !errors.Is(err, context.Canceled) {
			t.Errorf("leader: %v", err)
		}
		if v := <-waiterDone; v != "token-2" {
			t.Errorf("waiter got %q, want token-2", v)
		}
	})
}

func TestSharedLoginUsableExpireAndPrev(t *testing.T) {
	now := 0
	l := SharedLogin[[2]string]{Usable: func(v [2]string) bool { return now < 10 }}
	var prevs []string
	n := 0
	fetch := func(_ context.Context, prev [2]string) ([2]string, error) {
		n++
		prevs = append(prevs, prev[1])
		return [2]string{fmt.Sprint("access-", n), fmt.Sprint("refresh-", n)}, nil
	}
	ctx := t.Context()
	a, _ := l.Get(ctx, fetch)
	b, _ := l.Get(ctx, fetch)
	if a != b || n != 1 {
		t.Fatalf("a usable credential was fetched again: %v %v", a, b)
	}
	// A refused credential other than the held one changes nothing.
	l.Expire(func(v [2]string) bool { return v[0] == "access-0" })
	if c, _ := l.Get(ctx, fetch); c != a {
		t.Errorf("Expire of another credential dropped the held one")
	}
	l.Expire(func(v [2]string) bool { return v[0] == a[0] })
	if _, live := l.Held(); live {
		t.Error("expired credential is live")
	}
	c, _ := l.Get(ctx, fetch)
	now = 10 // near expiry
	d, _ := l.Get(ctx, fetch)
	if c[0] != "access-2" || d[0] != "access-3" {
		t.Errorf("got %v then %v", c, d)
	}
	if want := []string{"", "refresh-1", "refresh-2"}; !slices.Equal(prevs, want) {
		t.Errorf("fetch saw prev %v, want %v", prevs, want)
	}
}

func TestSharedLoginWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l SharedLogin[string]
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		go l.Get(t.Context(), func(context.Context, string) (string, error) {
			<-release
			return "late", nil
		})
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait with a login in flight past the deadline = %v", err)
		}
		close(release)
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if v, live := l.Held(); v != "late" || !live {
			t.Errorf("after Wait: Held = %q, %v", v, live)
		}
	})
}

// A released key's lock is reused for another key: the reused lock is
// free (a key locked while another, reusing a lock, is held does not
// wait), the free list stays bounded, and a lock and unlock of one key
// costs fewer allocations once locks are reused.
func TestKeyedMutexReusesReleasedLocks(t *testing.T) {
	var k KeyedMutex
	ctx := t.Context()
	var unlocks []func()
	for i := range 2 * maxFreeLocks {
		u, err := k.Lock(ctx, fmt.Sprint("warm-", i))
		if err != nil {
			t.Fatal(err)
		}
		unlocks = append(unlocks, u)
	}
	for _, u := range unlocks {
		u()
	}
	if len(k.free) != maxFreeLocks {
		t.Fatalf("%d free locks, want the bound %d", len(k.free), maxFreeLocks)
	}
	unlockB, err := k.Lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	unlockA, err := k.Lock(short, "a")
	if err != nil {
		t.Fatalf("a waited for b's reused lock: %v", err)
	}
	unlockA()
	unlockB()
	// With the map in place (a key held), a new key's lock is allocated
	// when the free list is empty and reused when it is not.
	var k2 KeyedMutex
	hold, _ := k2.Lock(ctx, "held")
	defer hold()
	fresh := testing.AllocsPerRun(100, func() {
		u, _ := k2.Lock(ctx, "visit-1")
		k2.free = k2.free[:0] // as if never released
		u()
		k2.free = k2.free[:0]
	})
	reused := testing.AllocsPerRun(100, func() {
		u, _ := k2.Lock(ctx, "visit-1")
		u()
	})
	t.Logf("allocations per lock and unlock: %v with a new lock, %v reusing one", fresh, reused)
	if reused > fresh-2 {
		t.Fatalf("%v allocations per lock with a reused lock, %v with a new one; want 2 fewer (the lock and its channel)", reused, fresh)
	}
}
