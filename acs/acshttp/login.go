package acshttp

import (
	"context"
	"sync"
)

// SharedLogin holds one credential of type T (a session token, an OAuth
// access token with its refresh token) that concurrent callers share, and
// obtains a new one with a single fetch however many callers need it at
// once: the first caller to find no usable credential fetches, and every
// caller arriving meanwhile waits for that fetch and shares its result,
// success or error. An ACS that locks an account after a few failed
// logins therefore sees one attempt, not one per caller.
//
// A fetch runs with the context of the caller that started it. When that
// context ends and the fetch fails, the waiters whose own contexts are
// still live do not share that failure: one of them fetches again.
//
// The zero value is ready to use and holds nothing; set Usable before
// first use. A SharedLogin must not be copied after first use.
type SharedLogin[T any] struct {
	// Usable reports whether a held credential may still be sent (it is
	// not about to expire). nil means a credential stays usable until
	// Expire.
	Usable func(T) bool

	mu      sync.Mutex
	cur     T
	has     bool // cur was fetched
	expired bool // cur was expired by Expire
	flight  *loginFlight[T]
}

// loginFlight is one fetch in progress that callers wait for.
type loginFlight[T any] struct {
	done chan struct{}
	v    T
	err  error
	// abandoned: the fetch failed after its caller's context ended, so
	// its error is that caller's, not the others'.
	abandoned bool
}

// Get returns the held credential while it is usable. Otherwise it calls
// fetch, or waits for the fetch another caller started, and returns the
// new credential, which is then held. prev, given to fetch, is the
// credential held until now (the zero T when there is none), for a
// refresh that needs it. An error from fetch is returned as is, to every
// caller that waited for it; the previous credential stays held. When ctx
// ends first, Get returns ctx's error.
func (s *SharedLogin[T]) Get(ctx context.Context, fetch func(ctx context.Context, prev T) (T, error)) (T, error) {
	var zero T
	for {
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		s.mu.Lock()
		if s.has && !s.expired && (s.Usable == nil || s.Usable(s.cur)) {
			v := s.cur
			s.mu.Unlock()
			return v, nil
		}
		if f := s.flight; f != nil {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
			if f.abandoned {
				continue // the fetch ended with its caller's context, not ours
			}
			return f.v, f.err
		}
		f := &loginFlight[T]{done: make(chan struct{})}
		s.flight = f
		prev := s.cur
		s.mu.Unlock()
		return s.lead(ctx, f, prev, fetch)
	}
}

// lead runs the fetch of flight f and publishes its outcome.
func (s *SharedLogin[T]) lead(ctx context.Context, f *loginFlight[T], prev T, fetch func(context.Context, T) (T, error)) (v T, err error) {
	finished := false
	defer func() {
		if !finished { // fetch panicked: let the waiters try again
			f.abandoned = true
			s.mu.Lock()
			s.flight = nil
			s.mu.Unlock()
			close(f.done)
		}
	}()
	v, err = fetch(ctx, prev)
	finished = true
	s.mu.Lock()
	if err == nil {
		s.cur, s.has, s.expired = v, true, false
	}
	f.v, f.err, f.abandoned = v, err, err != nil && ctx.Err() != nil
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
	return v, err
}

// Expire makes the held credential unusable when match reports true for
// it (the ACS refused it), so that the next Get fetches again; a newer
// credential, for which match is false, is kept. fetch still receives
// the expired credential as prev, to refresh it.
func (s *SharedLogin[T]) Expire(match func(T) bool) {
	s.mu.Lock()
	if s.has && match(s.cur) {
		s.expired = true
	}
	s.mu.Unlock()
}

// Held returns the credential fetched last (the zero T when none was)
// and whether it is live: fetched and not expired with Expire. It never
// fetches, and does not consult Usable.
func (s *SharedLogin[T]) Held() (v T, live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.has && !s.expired
}

// Wait waits until no fetch is in progress (for a Close that must see
// the credential a login in flight is about to bring), or until ctx ends
// and then returns ctx's error.
func (s *SharedLogin[T]) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		f := s.flight
		s.mu.Unlock()
		if f == nil {
			return nil
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
