package genetec

import (
	"context"
	"slices"
	"sync"
)

// keyedLocks serialises work on the same external ID or card within one
// Provider, so that two concurrent provisions of one visit cannot both
// find nothing and create twice. The zero value is ready to use.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token while locked
	refs int
}

// lock acquires every key (in sorted order, so that two callers never
// deadlock) and returns the function releasing them. It gives up when ctx
// ends.
func (k *keyedLocks) lock(ctx context.Context, keys ...string) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	held := make([]*keyLock, 0, len(keys))
	release := func() {
		for i, l := range held {
			<-l.ch
			k.put(keys[i], l)
		}
	}
	for _, key := range keys {
		l := k.get(key)
		select {
		case l.ch <- struct{}{}:
			held = append(held, l)
		case <-ctx.Done():
			k.put(key, l)
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

func (k *keyedLocks) get(key string) *keyLock {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	return l
}

func (k *keyedLocks) put(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
}
