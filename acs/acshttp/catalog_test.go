package acshttp_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acsbridge/acsbridge/acs/acshttp"
)

func TestCatalogOneLoadForConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c acshttp.Catalog[int]
		var loads atomic.Int32
		load := func(ctx context.Context) (int, error) {
			n := loads.Add(1)
			time.Sleep(10 * time.Millisecond)
			return int(n), nil
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				v, gen, err := c.Get(context.Background(), load)
				if err != nil || v != 1 || gen != 1 {
					t.Errorf("got %d (generation %d), %v; want the first load's 1", v, gen, err)
				}
			})
		}
		wg.Wait()
		if n := loads.Load(); n != 1 {
			t.Fatalf("%d loads, want 1", n)
		}
		// Fresh for the TTL, loaded again after it.
		time.Sleep(acshttp.DefaultCatalogTTL - time.Second)
		if v, _, _ := c.Get(context.Background(), load); v != 1 {
			t.Fatalf("within the TTL: %d, want 1", v)
		}
		time.Sleep(time.Second)
		if v, _, _ := c.Get(context.Background(), load); v != 2 {
			t.Fatalf("after the TTL: %d, want 2", v)
		}
	})
}

func TestCatalogReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := acshttp.Catalog[int]{TTL: time.Hour}
		var loads atomic.Int32
		load := func(ctx context.Context) (int, error) {
			n := loads.Add(1)
			time.Sleep(10 * time.Millisecond)
			return int(n), nil
		}
		_, gen, _ := c.Get(context.Background(), load)
		// Many callers find an ID unknown in generation 1: one load.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				v, g, err := c.Reload(context.Background(), gen, load)
				if err != nil || v != 2 || g != 2 {
					t.Errorf("reload: %d (generation %d), %v; want 2", v, g, err)
				}
			})
		}
		wg.Wait()
		// A caller still holding generation 1 gets generation 2 without
		// a load; one holding generation 2 causes a load.
		if v, _, _ := c.Reload(context.Background(), gen, load); v != 2 {
			t.Fatalf("stale reload: %d, want 2", v)
		}
		if v, _, _ := c.Reload(context.Background(), 2, load); v != 3 {
			t.Fatalf("reload of 2: %d, want 3", v)
		}
		if n := loads.Load(); n != 3 {
			t.Fatalf("%d loads, want 3", n)
		}
	})
}

func TestCatalogFailureShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c acshttp.Catalog[int]
		boom := errors.New("refused")
		var loads atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_, _, err := c.Get(context.Background(), func(ctx context.Context) (int, error) {
					loads.Add(1)
					time.Sleep(time.Millisecond)
					return 0, boom
				})
				if !errors.Is(err, boom) {
					t.Errorf("err %v, want the load's", err)
				}
			})
		}
		wg.Wait()
		if loads.Load() != 1 {
			t.Fatalf("%d loads, want 1", loads.Load())
		}
		// The leader's context ends: the waiters load again themselves.
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		go func() {
			_, _, _ = c.Get(ctx, func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				return 0, ctx.Err()
			})
		}()
		<-started
		done := make(chan int)
		go func() {
			v, _, _ := c.Get(context.Background(), func(context.Context) (int, error) { return 7, nil })
			done <- v
		}()
		synctest.Wait()
		cancel()
		if v := <-done; v != 7 {
			t.Fatalf("waiter got %d, want its own load's 7", v)
		}
	})
}

func TestCheckedSharedAndTrusted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c acshttp.Checked[int]
		exists := map[int]bool{1: true, 2: true}
		var checks atomic.Int32
		check := func(ctx context.Context, ids []int) ([]int, error) {
			checks.Add(1)
			time.Sleep(5 * time.Millisecond)
			var found []int
			for _, id := range ids {
				if exists[id] {
					found = append(found, id)
				}
			}
			return found, nil
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if _, ok, err := c.Check(context.Background(), []int{1, 2}, check); !ok || err != nil {
					t.Errorf("ok %v, err %v", ok, err)
				}
			})
		}
		wg.Wait()
		if checks.Load() != 1 {
			t.Fatalf("%d checks by 16 callers, want 1", checks.Load())
		}
		if missing, ok, _ := c.Check(context.Background(), []int{1, 3}, check); ok || missing != 3 {
			t.Fatalf("missing %d, ok %v; want 3 missing", missing, ok)
		}
		if checks.Load() != 2 {
			t.Fatalf("%d checks, want 2 (only 3 asked)", checks.Load())
		}
		// Forgotten (the ACS refused it), or older than the TTL: checked again.
		c.Forget(1)
		_, _, _ = c.Check(context.Background(), []int{1}, check)
		time.Sleep(acshttp.DefaultCatalogTTL)
		delete(exists, 2)
		if missing, ok, _ := c.Check(context.Background(), []int{2}, check); ok || missing != 2 {
			t.Fatalf("after the TTL: missing %d, ok %v; want 2 missing", missing, ok)
		}
		if checks.Load() != 4 {
			t.Fatalf("%d checks, want 4", checks.Load())
		}
	})
}
