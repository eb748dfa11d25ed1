package brivo

import (
	"container/list"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// lookupCacheSize bounds each lookup cache (credentials and users).
const lookupCacheSize = 10000

// lookups caches what door events need from the API: the card of a
// credential (which never changes, so it is kept until evicted) and the
// external ID of a user (kept for the catalogue TTL). Answers that found
// nothing are cached too, for the TTL, so a deleted credential costs one
// request, not one per event.
type lookups struct {
	ttl   time.Duration
	creds lru[int64, cachedCard]
	users lru[int64, string]
	// requests counts the lookup requests sent (for tests and benchmarks).
	mu       sync.Mutex
	requests int
}

type cachedCard struct {
	card  acs.Card
	found bool
}

func (l *lookups) init(ttl time.Duration) {
	l.ttl = ttl
	l.creds.init(lookupCacheSize)
	l.users.init(lookupCacheSize)
}

func (l *lookups) count() {
	l.mu.Lock()
	l.requests++
	l.mu.Unlock()
}

// lookupFailed reports whether err should fail the event rather than
// leave the field empty: it may pass later, or it is about the session
// (refused credentials), not about the record looked up.
func lookupFailed(err error) bool {
	switch acs.CodeOf(err) {
	case acs.Unavailable, acs.RateLimited, acs.Canceled, acs.Unknown, acs.Unauthenticated:
		return true
	}
	return false
}

// credential returns the card of a credential, or the zero Card when Brivo
// has none (deleted, a mobile pass, an unknown format).
func (l *lookups) credential(ctx context.Context, p *Provider, op string, id int64) (acs.Card, error) {
	now := p.now()
	if c, at, ok := l.creds.get(id); ok && (c.found || now.Sub(at) < l.ttl) {
		return c.card, nil
	}
	l.count()
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/credentials/", id, ""), idempotent: true})
	if err == nil && !ok2xx(resp) && !brivoNotFound(resp) {
		err = p.statusError(op, resp)
	}
	if err != nil {
		if lookupFailed(err) {
			return acs.Card{}, err
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: credential lookup refused; events carry no card for it",
			slog.String("provider", Name), slog.Int64("credential", id), slog.String("error", p.redact(err.Error())))
		l.creds.put(id, cachedCard{}, now)
		return acs.Card{}, nil
	}
	if brivoNotFound(resp) {
		l.creds.put(id, cachedCard{}, now)
		return acs.Card{}, nil
	}
	var c credentialJSON
	if err := p.decode(op, resp, &c); err != nil {
		return acs.Card{}, err
	}
	card, ok := p.cardOf(c)
	l.creds.put(id, cachedCard{card: card, found: ok}, now)
	return card, nil
}

// cardOf reads the card data of a credential: the field values of a
// format mapped to a card format, else its encodedCredential decoded.
func (p *Provider) cardOf(c credentialJSON) (acs.Card, bool) {
	f := p.cat.cachedFormat(c.CredentialFormat.ID)
	format := cardFormatOf(c.CredentialFormat.Name)
	if format == 0 && f != nil {
		format = f.card
	}
	if format == 0 {
		if c.EncodedCredential == "" {
			return acs.Card{}, false
		}
		return decodeUnknown(c.EncodedCredential, c.Size)
	}
	card := acs.Card{Format: format}
	hasNumber := false
	for _, fv := range c.FieldValues {
		id := fv.ID
		if id == 0 {
			id = fv.CredentialFieldID
		}
		kind := fieldKind(fv.Name)
		if kind == "" && f != nil {
			switch id {
			case f.cardField:
				kind = "card_number"
			case f.facilityField:
				kind = "facility_code"
			}
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(fv.Value)), 10, 64)
		if err != nil {
			continue
		}
		switch kind {
		case "card_number":
			card.Number, hasNumber = n, true
		case "facility_code":
			card.Facility = n
		}
	}
	if hasNumber && acs.ValidateCard(card) == nil {
		return card, true
	}
	if c.EncodedCredential != "" {
		if fr, err := wiegand.ParseHex(c.EncodedCredential, format.Bits()); err == nil {
			if wc, err := format.Decode(fr); err == nil {
				return wc, true
			}
		}
	}
	return acs.Card{}, false
}

// decodeUnknown decodes a Wiegand frame given in hexadecimal when exactly
// one known format fits it: of the given bit length when known, else of a
// length whose hex width matches the text (a 37-bit frame is valid as both
// H10302 and H10304 and so stays undecoded).
func decodeUnknown(h string, bits int) (acs.Card, bool) {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "0x"), "0X")
	if h == "" || len(h) > 16 {
		return acs.Card{}, false
	}
	var exact, loose []wiegand.Card
	for _, f := range wiegand.Formats() {
		if bits > 0 && f.Bits() != bits {
			continue
		}
		fr, err := wiegand.ParseHex(h, f.Bits())
		if err != nil {
			continue
		}
		c, err := f.Decode(fr)
		if err != nil {
			continue
		}
		if bits > 0 || len(h) == (f.Bits()+3)/4 {
			exact = append(exact, c)
		} else {
			loose = append(loose, c)
		}
	}
	pick := exact
	if len(pick) == 0 {
		pick = loose
	}
	if len(pick) != 1 {
		return acs.Card{}, false
	}
	return pick[0], true
}

// user returns the external ID of a user, or "" when the user has none or
// no longer exists.
func (l *lookups) user(ctx context.Context, p *Provider, op string, id int64) (string, error) {
	now := p.now()
	if ext, at, ok := l.users.get(id); ok && now.Sub(at) < l.ttl {
		return ext, nil
	}
	l.count()
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/users/", id, ""), idempotent: true})
	if err == nil && !ok2xx(resp) && !brivoNotFound(resp) {
		err = p.statusError(op, resp)
	}
	if err != nil {
		if lookupFailed(err) {
			return "", err
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: user lookup refused; events carry no external ID for it",
			slog.String("provider", Name), slog.Int64("user", id), slog.String("error", p.redact(err.Error())))
		l.users.put(id, "", now)
		return "", nil
	}
	var ext string
	if !brivoNotFound(resp) {
		var u userJSON
		if err := p.decode(op, resp, &u); err != nil {
			return "", err
		}
		ext = string(u.ExternalID)
	}
	l.users.put(id, ext, now)
	return ext, nil
}

// lookupRequests returns how many credential and user lookups door events
// have cost so far.
func (p *Provider) lookupRequests() int {
	p.lookups.mu.Lock()
	defer p.lookups.mu.Unlock()
	return p.lookups.requests
}

// ---- a small LRU cache ----

// lru is a bounded least-recently-used cache, safe for concurrent use.
type lru[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	k  K
	v  V
	at time.Time
}

func (c *lru[K, V]) init(n int) {
	c.max, c.ll, c.m = n, list.New(), make(map[K]*list.Element)
}

// get returns the value stored for k and when it was stored.
func (c *lru[K, V]) get(k K) (V, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		var zero V
		return zero, time.Time{}, false
	}
	e := el.Value.(*lruEntry[K, V])
	c.ll.MoveToFront(el)
	return e.v, e.at, true
}

func (c *lru[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		e := el.Value.(*lruEntry[K, V])
		e.v, e.at = v, now
		c.ll.MoveToFront(el)
		return
	}
	c.m[k] = c.ll.PushFront(&lruEntry[K, V]{k: k, v: v, at: now})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*lruEntry[K, V]).k)
	}
}
