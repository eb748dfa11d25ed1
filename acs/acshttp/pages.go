package acshttp

import (
	"context"
	"sync"
)

// DefaultConcurrency is how many requests of one listing (the pages of
// an access-level refresh, the name reads that follow them) an adapter
// has in flight at once unless told otherwise. The rate limiter still
// paces every one of them.
const DefaultConcurrency = 8

// FetchPages calls fetch for the indices 0 to n−1, at most limit at once
// (limit < 1 means 1), and returns the results in index order, whatever
// order they arrived in.
//
// The first failure cancels the fetches in flight and starts no other;
// FetchPages then returns that failure and no result: a listing is
// complete or it is an error, never a part of it.
func FetchPages[T any](ctx context.Context, n, limit int, fetch func(ctx context.Context, i int) (T, error)) ([]T, error) {
	out := make([]T, max(n, 0))
	_, err := fetchOrdered(ctx, n, limit, false, fetch, func(i int, v T) (bool, error) {
		out[i] = v
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FetchOrdered reads a listing of up to max parts (pages, batches)
// concurrently and hands them over in order: it calls fetch for 0, 1, 2,
// … with at most limit calls in flight (limit < 1 means 1), and accept
// with each result in index order, one call at a time. accept returns
// whether the listing ends with that part (a page that says nothing
// follows, or one that repeats what came before); the parts after it are
// then not started, and those already in flight are cancelled and their
// results and errors ignored. A listing whose length is not known in
// advance therefore sends a few requests past its end: the parts started
// ahead of the last accepted one start at one and double with each part
// accepted, up to limit (TCP's slow start), so a listing of one part
// sends one request, and a long one at most limit − 1 past its end.
//
// Memory is bounded: a part is started only while fewer than limit parts
// are in flight or waiting for an earlier one to be accepted, so at most
// limit answers are held besides what accept keeps.
//
// ended reports whether accept ended the listing (false: max parts were
// accepted). A failure of fetch or accept at some index, unless the
// listing ended before it, cancels what is in flight and is returned:
// the listing is then incomplete and its caller must not use it.
func FetchOrdered[T any](ctx context.Context, max, limit int, fetch func(ctx context.Context, i int) (T, error),
	accept func(i int, v T) (last bool, err error)) (ended bool, err error) {
	return fetchOrdered(ctx, max, limit, true, fetch, accept)
}

func fetchOrdered[T any](ctx context.Context, max, limit int, ramp bool, fetch func(ctx context.Context, i int) (T, error),
	accept func(i int, v T) (last bool, err error)) (ended bool, err error) {
	if max <= 0 {
		return false, ctx.Err()
	}
	limit = min(limit, max)
	if limit < 1 {
		limit = 1
	}
	o := &ordered[T]{stopAt: max, errAt: max, pending: make(map[int]T, limit), inFlight: make(map[int]context.CancelFunc, limit)}
	o.cond.L = &o.mu
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() { o.work(ctx, limit, ramp, fetch, accept) })
	}
	wg.Wait()
	if o.ended {
		return true, nil
	}
	if o.errAt < max {
		return false, o.err
	}
	return false, nil
}

// ordered is the state of one FetchOrdered.
type ordered[T any] struct {
	mu       sync.Mutex
	cond     sync.Cond
	next     int // the next index to start
	head     int // the next index to accept
	stopAt   int // no index from here on is needed
	ended    bool
	errAt    int // the smallest index that failed
	err      error
	pending  map[int]T // fetched, waiting for the head
	inFlight map[int]context.CancelFunc
}

// stop records that no index from k on is needed (lock held).
func (o *ordered[T]) stop(k int) {
	if k < o.stopAt {
		o.stopAt = k
	}
	for j, cancel := range o.inFlight {
		if j >= o.stopAt {
			cancel()
		}
	}
	for j := range o.pending {
		if j >= o.stopAt {
			delete(o.pending, j)
		}
	}
}

func (o *ordered[T]) fail(i int, err error) {
	if i < o.errAt {
		o.errAt, o.err = i, err
	}
	o.stop(i)
}

func (o *ordered[T]) work(ctx context.Context, limit int, ramp bool, fetch func(context.Context, int) (T, error), accept func(int, T) (bool, error)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		if o.next >= o.stopAt {
			o.cond.Broadcast()
			return
		}
		ahead := limit
		if ramp && o.head < 30 {
			ahead = min(limit, 1<<o.head)
		}
		if o.next >= o.head+ahead { // bounded: wait for the head to move
			o.cond.Wait()
			continue
		}
		i := o.next
		o.next++
		fctx, cancel := context.WithCancel(ctx)
		o.inFlight[i] = cancel
		o.mu.Unlock()

		v, err := fetch(fctx, i)

		o.mu.Lock()
		delete(o.inFlight, i)
		cancel()
		if i < o.stopAt {
			if err != nil {
				o.fail(i, err)
			} else {
				o.pending[i] = v
			}
			for o.head < o.stopAt {
				v, ok := o.pending[o.head]
				if !ok {
					break
				}
				delete(o.pending, o.head)
				k := o.head
				o.head++
				last, err := accept(k, v)
				switch {
				case err != nil:
					o.fail(k, err)
				case last:
					o.ended = true
					o.stop(k + 1)
				}
			}
		}
		o.cond.Broadcast()
	}
}

// SetConcurrency is WithConcurrency: how many requests of one listing
// (the pages of an access-level refresh, the reads that complete them)
// the adapter sends at once (default DefaultConcurrency; 1: one after the
// other). n must be positive. The rate limit applies to each request as
// always.
func (o *ClientOptions) SetConcurrency(n int) {
	if n < 1 {
		o.invalid("WithConcurrency: %d is not positive", n)
	}
	o.concurrency = n
}

// Concurrency returns what SetConcurrency set, or DefaultConcurrency.
func (o *ClientOptions) Concurrency() int {
	if o.concurrency < 1 {
		return DefaultConcurrency
	}
	return o.concurrency
}
