package brivo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Defaults of the webhook handler.
const (
	DefaultWebhookMaxBody       = 64 << 10
	DefaultWebhookDedup         = 4096
	DefaultWebhookQueue         = 64
	DefaultWebhookLookupTimeout = 5 * time.Second
)

// WebhookOption configures a WebhookHandler.
type WebhookOption func(*webhookOptions)

type webhookOptions struct {
	provider      *Provider
	maxBody       int64
	dedup         int
	concurrency   int
	queue         int
	authorize     func(*http.Request) bool
	lookupTimeout time.Duration
	logger        *slog.Logger
}

// WithWebhookProvider resolves each event's card and cardholder external
// ID through p (cached lookups, as Events does) and applies p's door
// directions. Without it, events carry the door, the decision, the
// credential and user IDs and the card of an unknown Wiegand frame only.
// After a lookup refusal that cannot pass by itself (refused credentials),
// events go without lookups for five minutes (on p's clock) rather than
// repeat a failed login at every notification.
func WithWebhookProvider(p *Provider) WebhookOption {
	return func(o *webhookOptions) { o.provider = p }
}

// WithWebhookMaxBody bounds the request body (default
// DefaultWebhookMaxBody); larger requests are answered 413.
func WithWebhookMaxBody(n int64) WebhookOption { return func(o *webhookOptions) { o.maxBody = n } }

// WithWebhookDedup sets how many delivered event IDs are remembered to
// drop repeated deliveries (default DefaultWebhookDedup).
func WithWebhookDedup(n int) WebhookOption { return func(o *webhookOptions) { o.dedup = n } }

// WithWebhookConcurrency sets how many calls of fn may run at once
// (default 1: fn is never called concurrently) and how many requests may
// wait for one (default DefaultWebhookQueue); beyond that, requests are
// answered 503 with Retry-After.
func WithWebhookConcurrency(n, queue int) WebhookOption {
	return func(o *webhookOptions) { o.concurrency, o.queue = n, queue }
}

// WithWebhookAuthorizer refuses (403) requests for which allow returns
// false, before reading their body. Brivo documents no signature on its
// notifications, so this is where a deployment checks what its network
// provides: a client certificate verified by a TLS-terminating proxy, a
// header that proxy sets, or a source address allow-list.
func WithWebhookAuthorizer(allow func(*http.Request) bool) WebhookOption {
	return func(o *webhookOptions) { o.authorize = allow }
}

// WithWebhookLookupTimeout bounds the credential and user lookups of one
// notification (default DefaultWebhookLookupTimeout); when they do not
// finish in time the event is delivered without what they would add.
func WithWebhookLookupTimeout(d time.Duration) WebhookOption {
	return func(o *webhookOptions) { o.lookupTimeout = d }
}

// WithWebhookLogger logs refused and failed notifications (never their
// content).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(o *webhookOptions) { o.logger = l }
}

// WebhookStats counts what a WebhookHandler did.
type WebhookStats struct {
	Delivered  int64 // door events fn accepted
	Duplicates int64 // repeated deliveries answered without calling fn
	Ignored    int64 // events that are not door events (answered 200)
	Refused    int64 // requests answered 4xx (method, authorization, type, size, JSON)
	Busy       int64 // requests answered 503 because the queue was full
	Failed     int64 // door events fn returned an error for (answered 500)
}

// WebhookHandler receives the notifications of a Brivo event subscription
// (see CreateEventSubscription) and passes each door event to a function.
// Create it with NewWebhookHandler and mount it on the URL registered with
// Brivo; it is safe for concurrent use.
type WebhookHandler struct {
	fn   func(acs.DoorEvent) error
	o    webhookOptions
	log  *slog.Logger
	sem  chan struct{} // a slot per concurrent fn call
	room chan struct{} // a slot per request admitted (running or waiting)

	mu    sync.Mutex
	pause time.Time // lookups are skipped until then (provider's clock)
	seen  map[string]*claim
	ring  []ringEntry // delivered IDs, a circular buffer
	next  int
	stats WebhookStats
}

type ringEntry struct {
	id string
	c  *claim
}

// claim is an event ID being handled or already delivered.
type claim struct {
	done bool
	wait chan struct{} // closed when the handling ends
}

// NewWebhookHandler returns an http.Handler for Brivo's event
// notifications. Each notification is one event in Brivo's event JSON
// (uuid, securityAction, actor, eventObject, site, occurred, eventData
// with actionAllowed, credentials and unknownWeigand); door events
// (credential decisions at a door) are mapped as Events maps them and
// passed to fn, other events (administrator actions, panels, cameras) are
// acknowledged and dropped.
//
// The handler answers 200 once fn has accepted the event (Brivo's peers
// report that it expects 200, not 202), and 200 at once for an event ID
// it has already delivered (repeats are dropped; the last
// WithWebhookDedup IDs are remembered). When fn returns an error it
// answers 500 and forgets the ID, so a repeat is handled again. Brivo
// documents no retry of failed notifications (it e-mails the
// subscription's errorEmail), so a VMS should also run Events, which
// delivers from Brivo's own record what a lost or refused notification
// missed. fn runs on the request's goroutine, at most
// WithWebhookConcurrency at a time, so a slow fn slows the answers; when
// too many notifications wait, the handler answers 503 with Retry-After
// rather than queue without bound. Requests other than a POST of a JSON
// object within the size limit are refused with 4xx.
//
// A notification's DoorEvent.Cursor names the event's place in Events'
// order. Notifications arrive in any order, so resume Events from the last
// cursor Events itself delivered, not from a notification's.
//
// Brivo documents no signature for notifications. Protect the endpoint:
// serve it over TLS only, on an unguessable path, and restrict who may
// reach it (WithWebhookAuthorizer, a proxy or a firewall). The handler
// trusts nothing in the body beyond what it reports, and with
// WithWebhookProvider it resolves cardholders through the API, not from
// the notification.
func NewWebhookHandler(fn func(acs.DoorEvent) error, opts ...WebhookOption) (*WebhookHandler, error) {
	o := webhookOptions{maxBody: DefaultWebhookMaxBody, dedup: DefaultWebhookDedup, concurrency: 1,
		queue: DefaultWebhookQueue, lookupTimeout: DefaultWebhookLookupTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	fail := func(msg string) (*WebhookHandler, error) {
		return nil, acs.Errorf("new_webhook_handler", Name, acs.InvalidArgument, "%s", msg)
	}
	switch {
	case fn == nil:
		return fail("fn is nil")
	case o.maxBody <= 0:
		return fail("the body limit must be positive")
	case o.dedup <= 0:
		return fail("the dedup capacity must be positive")
	case o.concurrency <= 0 || o.queue < 0:
		return fail("the concurrency must be positive and the queue not negative")
	case o.lookupTimeout <= 0:
		return fail("the lookup timeout must be positive")
	}
	h := &WebhookHandler{fn: fn, o: o, log: o.logger, sem: make(chan struct{}, o.concurrency),
		room: make(chan struct{}, o.concurrency+o.queue), seen: map[string]*claim{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Stats returns the handler's counters.
func (h *WebhookHandler) Stats() WebhookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

func (h *WebhookHandler) count(f func(*WebhookStats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

func (h *WebhookHandler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.count(func(s *WebhookStats) { s.Refused++ })
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "brivo: webhook request refused",
		slog.String("provider", Name), slog.Int("status", status), slog.String("reason", msg))
	http.Error(w, msg, status)
}

func (h *WebhookHandler) busy(w http.ResponseWriter) {
	h.count(func(s *WebhookStats) { s.Busy++ })
	w.Header().Set("Retry-After", "1")
	http.Error(w, "busy", http.StatusServiceUnavailable)
}

func ok200(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK\n")
}

// ServeHTTP handles one notification.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, rf := h.readEvent(w, r)
	switch {
	case rf != nil:
		if rf.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		h.refuse(w, r, rf.status, rf.reason)
	case !ev.ev.isDoorEvent():
		h.count(func(s *WebhookStats) { s.Ignored++ })
		ok200(w)
	default:
		h.handle(w, r, &ev)
	}
}

// refusal is why a request was refused, with its status.
type refusal struct {
	status int
	reason string
}

// readEvent checks the request (method, authorization, content type,
// size) and reads its body, which must be one Brivo event.
func (h *WebhookHandler) readEvent(w http.ResponseWriter, r *http.Request) (rawEvent, *refusal) {
	if r.Method != http.MethodPost {
		return rawEvent{}, &refusal{http.StatusMethodNotAllowed, "method not allowed"}
	}
	if h.o.authorize != nil && !h.o.authorize(r) {
		return rawEvent{}, &refusal{http.StatusForbidden, "forbidden"}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return rawEvent{}, &refusal{http.StatusUnsupportedMediaType, "content type must be application/json"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return rawEvent{}, &refusal{http.StatusRequestEntityTooLarge, "body too large"}
		}
		return rawEvent{}, &refusal{http.StatusBadRequest, "unreadable body"}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return rawEvent{}, &refusal{http.StatusBadRequest, "body is not a JSON object"}
	}
	ev, err := parseEvent(body)
	if err != nil {
		return rawEvent{}, &refusal{http.StatusBadRequest, "body is not a Brivo event"}
	}
	return ev, nil
}

// handle delivers a door event once: a bounded number of requests run or
// wait (others are answered busy), an event ID already delivered or being
// delivered is not delivered again, and fn runs for a bounded number of
// requests at a time.
func (h *WebhookHandler) handle(w http.ResponseWriter, r *http.Request, ev *rawEvent) {
	select {
	case h.room <- struct{}{}:
	default:
		h.busy(w)
		return
	}
	defer func() { <-h.room }()

	c, dup, err := h.claim(r.Context(), ev.id)
	if err != nil {
		h.busy(w)
		return
	}
	if dup {
		h.count(func(s *WebhookStats) { s.Duplicates++ })
		ok200(w)
		return
	}
	select {
	case h.sem <- struct{}{}:
	case <-r.Context().Done():
		h.release(ev.id, c, false)
		h.busy(w)
		return
	}
	err = h.deliver(r.Context(), ev)
	<-h.sem
	h.release(ev.id, c, err == nil)
	if err != nil {
		h.count(func(s *WebhookStats) { s.Failed++ })
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "brivo: webhook event not accepted",
			slog.String("provider", Name), slog.String("event", ev.id))
		http.Error(w, "event not accepted", http.StatusInternalServerError)
		return
	}
	h.count(func(s *WebhookStats) { s.Delivered++ })
	ok200(w)
}

// claim takes the event ID for this request. dup reports an ID already
// delivered; an ID being handled by another request is waited for (until
// ctx ends, an error), then claimed again if that handling failed.
func (h *WebhookHandler) claim(ctx context.Context, id string) (*claim, bool, error) {
	for {
		h.mu.Lock()
		c := h.seen[id]
		if c == nil {
			c = &claim{wait: make(chan struct{})}
			h.seen[id] = c
			h.mu.Unlock()
			return c, false, nil
		}
		if c.done {
			h.mu.Unlock()
			return nil, true, nil
		}
		wait := c.wait
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// release ends the handling of an ID: remembered as delivered, or
// forgotten so that a repeat is handled again.
func (h *WebhookHandler) release(id string, c *claim, delivered bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if delivered {
		c.done = true
		if len(h.ring) < h.o.dedup {
			h.ring = append(h.ring, ringEntry{id, c})
		} else {
			old := h.ring[h.next]
			if h.seen[old.id] == old.c {
				delete(h.seen, old.id)
			}
			h.ring[h.next] = ringEntry{id, c}
			h.next = (h.next + 1) % len(h.ring)
		}
	} else {
		delete(h.seen, id)
	}
	close(c.wait)
}

// deliver maps the event (with lookups when a provider is set) and calls
// fn. A lookup that fails or times out leaves its fields empty: the
// notification is answered rather than held while Brivo's API is slow.
func (h *WebhookHandler) deliver(ctx context.Context, ev *rawEvent) error {
	p := h.o.provider
	var de acs.DoorEvent
	if p == nil {
		de, _, _ = mapDoorEvent(ev, nil)
	} else {
		var credID, userID int64
		de, credID, userID = mapDoorEvent(ev, p.directions)
		if !h.lookupsPaused(p.now()) {
			de = h.enrich(ctx, p, ev, de, credID, userID)
		}
	}
	return h.fn(de)
}

// lookupPause is how long a handler skips lookups after a refusal that
// cannot pass by itself (refused credentials): trying again at every
// notification would only repeat a failed login, which can lock the
// Brivo admin account.
const lookupPause = 5 * time.Minute

func (h *WebhookHandler) lookupsPaused(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return now.Before(h.pause)
}

// enrich adds the lookups' card and external ID to de, or returns de as it
// is when they fail (pausing them after a lasting refusal).
func (h *WebhookHandler) enrich(ctx context.Context, p *Provider, ev *rawEvent, de acs.DoorEvent, credID, userID int64) acs.DoorEvent {
	lctx, cancel := context.WithTimeout(ctx, h.o.lookupTimeout)
	full := de
	err := p.enrich(lctx, "webhook", &full, credID, userID)
	cancel()
	if err == nil {
		return full
	}
	level, msg := slog.LevelInfo, "brivo: webhook event delivered without lookups"
	if c := acs.CodeOf(err); !acs.IsRetryable(err) && c != acs.Canceled && c != acs.Unknown {
		h.mu.Lock()
		h.pause = p.now().Add(lookupPause)
		h.mu.Unlock()
		level, msg = slog.LevelWarn, "brivo: webhook lookups refused; events go without them for a while"
	}
	h.log.LogAttrs(ctx, level, msg,
		slog.String("provider", Name), slog.String("event", ev.id), slog.String("error", p.redact(err.Error())))
	return de
}
