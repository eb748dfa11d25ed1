package acshttp

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// KeyedMutex serialises work on the same key (an external ID, a card
// number, a badge ID) within one process, so that two concurrent
// provisions of one visit cannot both find nothing at the ACS and both
// create it. Work on different keys runs in parallel. It does not reach
// across processes: an adapter still has to converge duplicates that
// several replicas create.
//
// The zero value is ready to use. A KeyedMutex must not be copied after
// first use.
type KeyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
	// free holds locks no key uses any more, for reuse: a lock is taken
	// and released for every operation, and its channel need not be
	// allocated each time.
	free []*keyLock
}

// maxFreeLocks bounds KeyedMutex.free.
const maxFreeLocks = 64

type keyLock struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters; the entry goes at 0
}

// Lock acquires every key and returns the function that releases them
// all. Keys are taken in sorted order (duplicates once), so two callers
// locking overlapping sets never deadlock. When ctx ends first, Lock
// releases what it took and returns ctx's error. The returned function
// may be called more than once; only the first call releases.
func (k *KeyedMutex) Lock(ctx context.Context, keys ...string) (unlock func(), err error) {
	h := &keyHold{k: k}
	if len(keys) == 1 { // the common case: nothing to sort, nothing to allocate
		h.oneKey[0] = keys[0]
		h.keys, h.held = h.oneKey[:], h.one[:0]
	} else {
		h.keys = slices.Compact(slices.Sorted(slices.Values(keys)))
		h.held = make([]*keyLock, 0, len(h.keys))
	}
	for _, key := range h.keys {
		l := k.get(key)
		select {
		case l.ch <- struct{}{}:
			h.held = append(h.held, l)
		case <-ctx.Done():
			k.put(key, l)
			h.release()
			return nil, ctx.Err()
		}
	}
	return h.release, nil
}

// keyHold is the keys one Lock took.
type keyHold struct {
	k    *KeyedMutex
	keys []string
	held []*keyLock // the locks of keys[:len(held)]
	done atomic.Bool
	// The storage of keys and held for a single key.
	oneKey [1]string
	one    [1]*keyLock
}

// release releases the keys held; only its first call does.
func (h *keyHold) release() {
	if h.done.Swap(true) {
		return
	}
	for i, l := range h.held {
		<-l.ch
		h.k.put(h.keys[i], l)
	}
}

// get returns the lock of key, counting the caller in.
func (k *KeyedMutex) get(key string) *keyLock {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		if n := len(k.free); n > 0 {
			l, k.free = k.free[n-1], k.free[:n-1]
		} else {
			l = &keyLock{ch: make(chan struct{}, 1)}
		}
		k.m[key] = l
	}
	l.refs++
	return l
}

// put counts the caller out; the last one out removes the entry and keeps
// the lock for reuse (no one holds or waits for it, so its channel is
// empty).
func (k *KeyedMutex) put(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
		if len(k.free) < maxFreeLocks {
			k.free = append(k.free, l)
		}
	}
}

// size is how many keys are held or waited for (tests check that
// released keys leave nothing behind).
func (k *KeyedMutex) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
