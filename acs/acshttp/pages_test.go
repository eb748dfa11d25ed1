package acshttp_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// delay is a fixed, uneven latency per index, so that answers arrive out
// of order.
func delay(i int) time.Duration { return time.Duration((i*7919)%13+1) * time.Millisecond }

func TestFetchPagesOrderAndBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, limit = 50, 6
		var mu sync.Mutex
		started, inFlight, maxInFlight := 0, 0, 0
		got, err := acshttp.FetchPages(context.Background(), n, limit, func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			started++
			inFlight++
			maxInFlight = max(maxInFlight, inFlight)
			mu.Unlock()
			time.Sleep(delay(i))
			mu.Lock()
			inFlight--
			mu.Unlock()
			return i * i, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i*i {
				t.Fatalf("result %d is %d, want %d", i, v, i*i)
			}
		}
		if started != n || maxInFlight != limit {
			t.Fatalf("%d fetches, at most %d at once; want %d and %d", started, maxInFlight, n, limit)
		}
	})
}

// TestFetchOrderedBounded: a fetch starts only while fewer than limit
// parts are in flight or waiting for an earlier one, so a slow head does
// not let answers pile up.
func TestFetchOrderedBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 4
		var mu sync.Mutex
		started, accepted := 0, 0
		next := 0
		_, err := acshttp.FetchOrdered(context.Background(), 40, limit, func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			started++
			if held := started - accepted; held > limit {
				t.Errorf("%d parts held (in flight or waiting), limit %d", held, limit)
			}
			mu.Unlock()
			d := time.Millisecond
			if i%10 == 0 {
				d = 50 * time.Millisecond // a slow head
			}
			time.Sleep(d)
			return i, nil
		}, func(i, v int) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if i != next || v != i {
				t.Errorf("accepted %d (%d), want %d", i, v, next)
			}
			next++
			accepted++
			return false, nil
		})
		if err != nil || next != 40 {
			t.Fatalf("accepted %d, err %v", next, err)
		}
	})
}

// TestFetchPagesFailure: a failure of any part fails the listing, with
// that part's error and no result; the parts after it are not started.
func TestFetchPagesFailure(t *testing.T) {
	const n, limit = 30, 5
	for bad := range n {
		synctest.Test(t, func(t *testing.T) {
			boom := fmt.Errorf("page %d refused", bad)
			var mu sync.Mutex
			maxStarted := -1
			got, err := acshttp.FetchPages(context.Background(), n, limit, func(ctx context.Context, i int) (int, error) {
				mu.Lock()
				maxStarted = max(maxStarted, i)
				mu.Unlock()
				if i == bad {
					time.Sleep(delay(i))
					return 0, boom
				}
				select {
				case <-time.After(delay(i)):
					return i, nil
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			})
			if !errors.Is(err, boom) || got != nil {
				t.Fatalf("page %d failing: result %v, err %v; want no result and its error", bad, got, err)
			}
			if maxStarted >= bad+limit {
				t.Fatalf("page %d failing: page %d was started", bad, maxStarted)
			}
		})
	}
}

// TestFetchOrderedEnd: the part that ends the listing stops it; parts
// asked for past it are cancelled and their failures ignored; a failure
// before the end is returned.
func TestFetchOrderedEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const last = 9
		var mu sync.Mutex
		var got []int
		cancelled := 0
		ended, err := acshttp.FetchOrdered(context.Background(), 1000, 5, func(ctx context.Context, i int) (int, error) {
			d := delay(i)
			if i > last {
				d = time.Hour // past the end: only cancellation ends it
			}
			select {
			case <-time.After(d):
				return i, nil
			case <-ctx.Done():
				mu.Lock()
				cancelled++
				mu.Unlock()
				return 0, errors.New("cancelled past the end")
			}
		}, func(i, v int) (bool, error) {
			got = append(got, v)
			return i == last, nil
		})
		if err != nil || !ended || len(got) != last+1 {
			t.Fatalf("ended %v, %d parts, err %v", ended, len(got), err)
		}
		if cancelled == 0 || cancelled > 4 {
			t.Fatalf("%d parts past the end cancelled, want 1–4", cancelled)
		}

		boom := errors.New("refused")
		ended, err = acshttp.FetchOrdered(context.Background(), 1000, 5, func(ctx context.Context, i int) (int, error) {
			time.Sleep(delay(i))
			if i == 3 {
				return 0, boom
			}
			return i, nil
		}, func(i, v int) (bool, error) { return i == last, nil })
		if !errors.Is(err, boom) || ended {
			t.Fatalf("ended %v, err %v; want the failure of part 3", ended, err)
		}
	})
}
