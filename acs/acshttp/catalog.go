package acshttp

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultCatalogTTL is how long an adapter keeps a catalogue (credential
// formats, badge statuses, settings, the access levels it has checked)
// unless told otherwise: long enough that a surge of sign-ins loads it
// once, short enough that a change made by an operator is seen within
// minutes even when no request reveals it.
const DefaultCatalogTTL = 10 * time.Minute

// Catalog holds one value read from the ACS that every caller of an
// adapter shares — a catalogue of credential formats or badge statuses,
// a settings record, a set of checked access levels — and loads it once
// for many callers: the first caller to find no fresh value loads it,
// and every caller arriving meanwhile waits for that load and shares its
// outcome, success or error. A surge of first provisions after start-up
// therefore sends one catalogue request, not one per caller.
//
// A value is fresh for TTL after it was loaded (0: DefaultCatalogTTL).
// When the ACS says that an ID taken from the value is unknown, or the
// value lacks an ID a caller needs, the caller calls Reload with the
// generation it saw: the value then comes from a load started after that
// call, which the callers needing the same are sharing.
//
// A load runs with the context of the caller that started it. When that
// context ends and the load fails, the waiters whose own contexts are
// still live do not share that failure: one of them loads again.
//
// The zero value is ready to use. A Catalog must not be copied after
// first use.
type Catalog[T any] struct {
	// TTL is how long a loaded value stays fresh (0: DefaultCatalogTTL).
	TTL time.Duration
	// Now is the clock that ages values (nil: time.Now).
	Now func() time.Time

	mu      sync.Mutex
	v       T
	has     bool
	at      time.Time // when v was loaded
	gen     uint64    // the load that produced v (0: none)
	started uint64    // loads started so far
	flight  *catalogFlight[T]
}

// catalogFlight is one load in progress.
type catalogFlight[T any] struct {
	seq       uint64 // its number among the loads started
	done      chan struct{}
	v         T
	err       error
	abandoned bool // failed after its caller's context ended
}

func (c *Catalog[T]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Catalog[T]) fresh() bool {
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultCatalogTTL
	}
	return c.has && c.now().Sub(c.at) < ttl
}

// Get returns the value while it is fresh, else the value of a load: the
// one in progress, or one it starts with load. gen identifies the value
// for Reload. An error of load is returned to every caller that waited
// for it, and the previous value is dropped from use (it was stale).
func (c *Catalog[T]) Get(ctx context.Context, load func(context.Context) (T, error)) (v T, gen uint64, err error) {
	return c.get(ctx, 0, false, load)
}

// Reload returns a value newer than the one of generation gen: the value
// held if another caller has reloaded since, else the value of a load
// started after gen's, joined or started here. Callers reloading the
// same generation at the same time therefore share one load.
func (c *Catalog[T]) Reload(ctx context.Context, gen uint64, load func(context.Context) (T, error)) (T, uint64, error) {
	return c.get(ctx, gen, true, load)
}

// Fresh returns the value held while it is fresh (ok false otherwise),
// without loading: the fast path before Get, which spares a caller
// building its load function when there is nothing to load.
func (c *Catalog[T]) Fresh() (v T, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh() {
		return c.v, c.gen, true
	}
	return v, 0, false
}

// Peek returns the value held, whether fresh or not, and whether there is
// one; it never loads.
func (c *Catalog[T]) Peek() (v T, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v, c.gen, c.has
}

// Set stores a value the caller read in full anyway (an access-level
// listing that is also the group catalogue), as a new generation.
func (c *Catalog[T]) Set(v T) {
	c.mu.Lock()
	c.started++
	c.v, c.has, c.at, c.gen = v, true, c.now(), c.started
	c.mu.Unlock()
}

// Invalidate makes the next Get load again.
func (c *Catalog[T]) Invalidate() {
	c.mu.Lock()
	c.has = false
	c.mu.Unlock()
}

// get returns a fresh value produced by a load numbered above mark (any
// load when newer is false), joining or starting one.
func (c *Catalog[T]) get(ctx context.Context, mark uint64, newer bool, load func(context.Context) (T, error)) (T, uint64, error) {
	var zero T
	for {
		if err := ctx.Err(); err != nil {
			return zero, 0, err
		}
		c.mu.Lock()
		if c.fresh() && (!newer || c.gen > mark) {
			v, gen := c.v, c.gen
			c.mu.Unlock()
			return v, gen, nil
		}
		if f := c.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return zero, 0, ctx.Err()
			}
			if f.abandoned || newer && f.seq <= mark {
				continue // not ours to share: look again
			}
			return f.v, f.seq, f.err
		}
		c.started++
		f := &catalogFlight[T]{seq: c.started, done: make(chan struct{})}
		c.flight = f
		c.mu.Unlock()
		return c.lead(ctx, f, load)
	}
}

// lead runs load for flight f and publishes its outcome.
func (c *Catalog[T]) lead(ctx context.Context, f *catalogFlight[T], load func(context.Context) (T, error)) (v T, gen uint64, err error) {
	finished := false
	defer func() {
		if !finished { // load panicked: let the waiters try again
			f.abandoned = true
			c.mu.Lock()
			c.flight = nil
			c.mu.Unlock()
			close(f.done)
		}
	}()
	v, err = load(ctx)
	finished = true
	c.mu.Lock()
	switch {
	case err == nil && f.seq > c.gen: // not older than a value Set meanwhile
		c.v, c.has, c.at, c.gen = v, true, c.now(), f.seq
	case err != nil:
		c.has = false
	}
	f.v, f.err, f.abandoned = v, err, err != nil && ctx.Err() != nil
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
	return v, f.seq, err
}

// Checked remembers the IDs the ACS confirmed to exist — the access
// levels a provision must check before writing anything — for TTL after
// the confirmation (0: DefaultCatalogTTL), so that a provision naming
// levels confirmed recently sends no check, and concurrent provisions
// naming the same unconfirmed levels share one check.
//
// An adapter that trusts a confirmation must Forget the IDs when the ACS
// later refuses one of them as unknown, so that the next caller checks
// again.
//
// The zero value is ready to use. A Checked must not be copied after
// first use.
type Checked[K comparable] struct {
	// TTL is how long a confirmation is trusted (0: DefaultCatalogTTL).
	TTL time.Duration
	// Now is the clock that ages confirmations (nil: time.Now).
	Now func() time.Time

	mu      sync.Mutex
	seen    map[K]time.Time
	flights map[K]*checkFlight
}

type checkFlight struct {
	done chan struct{}
	err  error
}

func (c *Checked[K]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check makes sure every one of ids exists: those confirmed within TTL
// are trusted; the others are given to check, which asks the ACS and
// returns those it found. IDs another caller is checking at the moment
// are waited for instead. Check returns the first ID found missing (ok
// false), or an error of check.
func (c *Checked[K]) Check(ctx context.Context, ids []K, check func(ctx context.Context, ids []K) (found []K, err error)) (missing K, ok bool, err error) {
	for {
		ask, own, wait := c.plan(ids)
		switch {
		case own != nil:
			if err := c.run(ctx, ask, own, check); err != nil {
				return missing, false, err
			}
			if m, ok := c.unconfirmed(ask); !ok {
				return m, false, nil
			}
			// Look again at what others were checking, now done.
		case wait != nil:
			// Only IDs others are checking: wait for them, look again.
			if err := c.await(ctx, wait); err != nil {
				return missing, false, err
			}
			if m, ok := c.unconfirmed(ids); !ok {
				return m, false, nil
			}
		default:
			return missing, true, nil
		}
	}
}

// plan sorts ids: confirmed within TTL (trusted), being checked by
// another caller (wait is one such check), or to ask. For those to ask it
// registers own, this caller's check, in the same critical section, so
// that no other caller asks for them meanwhile.
func (c *Checked[K]) plan(ids []K) (ask []K, own, wait *checkFlight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultCatalogTTL
	}
	now := c.now()
	for _, id := range ids {
		if at, ok := c.seen[id]; ok && now.Sub(at) < ttl {
			continue
		}
		if f := c.flights[id]; f != nil {
			wait = f
			continue
		}
		ask = append(ask, id)
	}
	if len(ask) == 0 {
		return nil, nil, wait
	}
	own = &checkFlight{done: make(chan struct{})}
	if c.flights == nil {
		c.flights = map[K]*checkFlight{}
	}
	for _, id := range ask {
		c.flights[id] = own
	}
	return ask, own, wait
}

// await waits for another caller's check. Its error is returned unless
// it was that caller's context ending, after which the IDs are looked at
// again.
func (c *Checked[K]) await(ctx context.Context, wait *checkFlight) error {
	select {
	case <-wait.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if wait.err != nil && !errors.Is(wait.err, context.Canceled) && !errors.Is(wait.err, context.DeadlineExceeded) {
		return wait.err
	}
	return nil
}

// run asks the ACS about ask, records what it found (after a failure,
// nothing) and ends own, waking the callers waiting for it.
func (c *Checked[K]) run(ctx context.Context, ask []K, own *checkFlight, check func(ctx context.Context, ids []K) ([]K, error)) error {
	found, err := check(ctx, ask)
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[K]time.Time{}
	}
	if err == nil {
		at := c.now()
		for _, id := range ask {
			delete(c.seen, id)
		}
		for _, id := range found {
			c.seen[id] = at
		}
	}
	for _, id := range ask {
		delete(c.flights, id)
	}
	own.err = err
	c.mu.Unlock()
	close(own.done)
	return err
}

// unconfirmed returns the first of ids not confirmed (false), if any.
func (c *Checked[K]) unconfirmed(ids []K) (K, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if _, ok := c.seen[id]; !ok {
			return id, false
		}
	}
	var zero K
	return zero, true
}

// Forget drops the confirmations of ids (the ACS refused one as unknown).
func (c *Checked[K]) Forget(ids ...K) {
	c.mu.Lock()
	for _, id := range ids {
		delete(c.seen, id)
	}
	c.mu.Unlock()
}

// Unconfirmed returns those of ids not confirmed within TTL, for a
// caller that checks them in a request it sends anyway (and then calls
// Confirm).
func (c *Checked[K]) Unconfirmed(ids []K) []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultCatalogTTL
	}
	now := c.now()
	var out []K
	for _, id := range ids {
		if at, ok := c.seen[id]; !ok || now.Sub(at) >= ttl {
			out = append(out, id)
		}
	}
	return out
}

// Confirm records that the ACS has just confirmed ids.
func (c *Checked[K]) Confirm(ids ...K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[K]time.Time{}
	}
	at := c.now()
	for _, id := range ids {
		c.seen[id] = at
	}
}
