package origo

import (
	"context"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// maxWaits bounds the waitBook; the entries used least recently go first.
const maxWaits = 10000

// waitBook remembers, per external ID, the Origo user found or created
// (saving a search on the next call) and, while its invitation waits for
// the phone, when Origo was last asked and whether a callback said that
// something changed. It is memory only, an accelerator: after a restart
// the next call searches and asks again, and every decision to provision
// rests on what Origo answers, never on the book or on a callback alone.
type waitBook struct {
	mu     sync.Mutex
	byExt  map[string]*waitEntry
	byUser map[string]string // Origo user ID → external ID
}

type waitEntry struct {
	userID string
	// since is when the invitation was created (Origo's createdDate, or
	// when it was first seen pending); zero when nothing is pending.
	since    time.Time
	lastPoll time.Time
	// hinted is set by a callback about the user: ask Origo at once.
	hinted bool
	used   time.Time
}

func (b *waitBook) init() {
	b.byExt = map[string]*waitEntry{}
	b.byUser = map[string]string{}
}

// spacing is how long to wait before asking Origo again about an
// invitation of the given age: an eighth of the age, within the polling
// bounds.
func (i *Issuer) spacing(age time.Duration) time.Duration {
	return min(max(age/8, i.pollMin), i.pollMax)
}

// skip reports whether asking Origo about ext's pending invitation now
// would be too soon, and how long until it is not.
func (i *Issuer) skip(ext string, now time.Time) (time.Duration, bool) {
	b := &i.waits
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.byExt[ext]
	if e == nil || e.since.IsZero() || e.hinted {
		return 0, false
	}
	e.used = now
	next := e.lastPoll.Add(i.spacing(now.Sub(e.since)))
	if !now.Before(next) {
		return 0, false
	}
	return next.Sub(now), true
}

// userOf returns the Origo user ID remembered for ext.
func (b *waitBook) userOf(ext string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byExt[ext]; e != nil && e.userID != "" {
		return e.userID, true
	}
	return "", false
}

// entry returns ext's entry, creating it. b.mu is held.
func (b *waitBook) entry(ext string, now time.Time) *waitEntry {
	e := b.byExt[ext]
	if e == nil {
		if len(b.byExt) >= maxWaits {
			b.evict()
		}
		e = &waitEntry{}
		b.byExt[ext] = e
	}
	e.used = now
	return e
}

// evict drops the entry used least recently. b.mu is held.
func (b *waitBook) evict() {
	var oldest string
	var at time.Time
	for ext, e := range b.byExt {
		if oldest == "" || e.used.Before(at) {
			oldest, at = ext, e.used
		}
	}
	b.dropLocked(oldest)
}

// remember records ext's Origo user.
func (b *waitBook) remember(ext, userID string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ext, now)
	if e.userID != userID {
		delete(b.byUser, e.userID)
		e.userID = userID
		b.byUser[userID] = ext
	}
}

// polled records that Origo was just asked and the invitation, created at
// invited (zero when unknown), still waits. It returns since when the
// invitation waits.
func (b *waitBook) polled(ext string, invited, now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ext, now)
	switch {
	case !invited.IsZero() && !invited.After(now):
		e.since = invited
	case e.since.IsZero():
		e.since = now
	}
	e.lastPoll, e.hinted = now, false
	return e.since
}

// settled records that nothing is pending for ext any more.
func (b *waitBook) settled(ext string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byExt[ext]; e != nil {
		e.since, e.lastPoll, e.hinted = time.Time{}, time.Time{}, false
	}
}

// forget drops everything remembered about ext.
func (b *waitBook) forget(ext string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(ext)
}

func (b *waitBook) dropLocked(ext string) {
	if e := b.byExt[ext]; e != nil {
		delete(b.byUser, e.userID)
		delete(b.byExt, ext)
	}
}

// hint marks the entry of an Origo user (or an external ID) so that the
// next call asks Origo at once. It reports whether an entry was waiting.
func (b *waitBook) hint(userID, ext string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ext == "" {
		ext = b.byUser[userID]
	}
	e := b.byExt[ext]
	if e == nil || e.since.IsZero() {
		return false
	}
	e.hinted = true
	return true
}

// levelCache holds the door ACS's access level IDs, checked before a new
// Origo user is created so that an unknown level changes nothing.
type levelCache struct {
	ttl time.Duration
	mu  sync.Mutex
	ids map[string]bool
	at  time.Time
}

func (c *levelCache) put(ls []acs.AccessLevel, now time.Time) {
	ids := make(map[string]bool, len(ls))
	for _, l := range ls {
		ids[l.ID] = true
	}
	c.mu.Lock()
	c.ids, c.at = ids, now
	c.mu.Unlock()
}

// has reports whether every level is known and the cache is fresh.
func (c *levelCache) has(levels []string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || now.Sub(c.at) >= c.ttl {
		return false
	}
	for _, l := range levels {
		if !c.ids[l] {
			return false
		}
	}
	return true
}

// checkLevels refuses, before anything is created, a grant for an access
// level the door ACS does not have (NotFound, as the Provider contract
// says). A level missing from the cache is looked up afresh.
func (i *Issuer) checkLevels(ctx context.Context, op string, levels []string) error {
	now := i.now()
	if i.levels.has(levels, now) {
		return nil
	}
	ls, err := i.door.AccessLevels(ctx)
	if err != nil {
		return err
	}
	i.levels.put(ls, now)
	if i.levels.has(levels, now) {
		return nil
	}
	for _, l := range levels {
		if !i.levels.has([]string{l}, now) {
			return acs.Errorf(op, Name, acs.NotFound, "access level %.80q does not exist at the door ACS (%s)", l, i.door.Name())
		}
	}
	return nil
}
