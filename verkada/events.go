package verkada

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Defaults of EventOptions.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultEventSettle  = 10 * time.Second
	DefaultEventHistory = 24 * time.Hour
	DefaultEventSpan    = time.Hour
	DefaultEventBatch   = 2000
)

// EventOptions tunes Events. Zero fields take the defaults.
type EventOptions struct {
	// Interval is the wait between polls once every event has been
	// delivered (default DefaultPollInterval).
	Interval time.Duration
	// Settle is how old an event must be before it is delivered (default
	// DefaultEventSettle, on the provider's clock). An event Verkada stores
	// later than Settle after its timestamp, once younger events were
	// delivered, is not delivered by polling.
	Settle time.Duration
	// History is how far back an empty cursor starts (default
	// DefaultEventHistory).
	History time.Duration
	// Span is the longest time range one poll reads (default
	// DefaultEventSpan).
	Span time.Duration
	// Batch bounds how many events a poll holds: a range holding more is
	// split in half and read again (down to one second).
	Batch int
	// BackoffMin and BackoffMax bound the wait after a failed poll
	// (defaults 1 s and 1 min; doubled after each failure in a row, each
	// wait less a random part of up to a quarter). A Retry-After from
	// Verkada is honoured when longer.
	BackoffMin, BackoffMax time.Duration
}

func (e EventOptions) withDefaults() (EventOptions, error) {
	if e.Interval < 0 || e.Settle < 0 || e.History < 0 || e.Span < 0 || e.Batch < 0 || e.BackoffMin < 0 || e.BackoffMax < 0 {
		return e, errors.New("durations and the batch must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&e.Interval, DefaultPollInterval)
	def(&e.Settle, DefaultEventSettle)
	def(&e.History, DefaultEventHistory)
	def(&e.Span, DefaultEventSpan)
	def(&e.BackoffMin, time.Second)
	def(&e.BackoffMax, time.Minute)
	if e.Batch == 0 {
		e.Batch = DefaultEventBatch
	}
	if e.Span < time.Second {
		return e, errors.New("the span is shorter than a second")
	}
	if e.BackoffMax < e.BackoffMin {
		return e, errors.New("BackoffMax is shorter than BackoffMin")
	}
	return e, nil
}

// ---- the event JSON (§2.5) ----

type eventWire struct {
	EventID   flexString      `json:"event_id"`
	EventType string          `json:"event_type"`
	Timestamp json.RawMessage `json:"timestamp"`
	DeviceID  flexString      `json:"device_id"`
	SiteID    flexString      `json:"site_id"`
	Info      struct {
		UserID    flexString `json:"userId"`
		DoorID    flexString `json:"doorId"`
		Accepted  *bool      `json:"accepted"`
		RawCard   flexString `json:"rawCard"`
		Direction string     `json:"direction"`
		DoorInfo  struct {
			Name string `json:"name"`
		} `json:"doorInfo"`
	} `json:"event_info"`
}

// rawEvent is a parsed event with its place in the stream.
type rawEvent struct {
	at time.Time
	id string
	ev eventWire
}

// eventTime reads a timestamp: RFC 3339, or Unix seconds or milliseconds
// as a number or a string (the notes do not show the format).
func eventTime(raw json.RawMessage) (time.Time, bool) {
	var s flexString
	if s.UnmarshalJSON(raw) != nil || s == "" {
		return time.Time{}, false
	}
	v := string(s)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), true
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	if n > 1e11 { // milliseconds
		return time.UnixMilli(int64(n)).UTC(), true
	}
	return time.UnixMilli(int64(n * 1000)).UTC(), true
}

// parseEvent reads one event. The ID is event_id, or a digest of the JSON
// when it is missing or unusable in a cursor.
func parseEvent(b []byte) (rawEvent, error) {
	var r rawEvent
	if err := json.Unmarshal(b, &r.ev); err != nil {
		return r, err
	}
	t, ok := eventTime(r.ev.Timestamp)
	if !ok {
		return r, errors.New("event without a valid timestamp")
	}
	r.at, r.id = t, string(r.ev.EventID)
	if r.id == "" || len(r.id) > 100 || strings.ContainsFunc(r.id, func(c rune) bool { return c == '/' || unicode.IsControl(c) || unicode.IsSpace(c) }) {
		sum := sha256.Sum256(bytes.TrimSpace(b))
		r.id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return r, nil
}

// doorDecision reports whether an event is an access decision at a door
// and whether access was granted: a door_* type (door_granted,
// door_keycard_entered_accepted, door_code_entered_rejected, …) naming a
// door, decided by event_info.accepted or else by the type's ending.
func (e *eventWire) doorDecision() (door, granted bool) {
	t := strings.ToLower(e.EventType)
	if !strings.HasPrefix(t, "door_") || (e.Info.DoorID == "" && e.DeviceID == "") {
		return false, false
	}
	accepted := strings.HasSuffix(t, "_accepted") || strings.HasSuffix(t, "_granted")
	rejected := strings.HasSuffix(t, "_rejected") || strings.HasSuffix(t, "_denied")
	switch {
	case e.Info.Accepted != nil:
		return true, *e.Info.Accepted
	case accepted || rejected:
		return true, accepted
	}
	return false, false
}

// ---- cursors ----

// position is a place in the event stream: events are ordered by time,
// then by ID.
type position struct {
	at time.Time
	id string
}

func (p position) before(r rawEvent) bool {
	if c := p.at.Compare(r.at); c != 0 {
		return c < 0
	}
	return p.id < r.id
}

// formatCursor renders a position as "<time, RFC 3339 UTC>/<event ID>".
func formatCursor(at time.Time, id string) string {
	return at.UTC().Format(time.RFC3339Nano) + "/" + id
}

func parseCursor(op, s string) (position, error) {
	ts, id, ok := strings.Cut(s, "/")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || len(s) > 200 {
		return position{}, acs.Errorf(op, Name, acs.InvalidArgument, "cursor %q is not a Verkada event cursor", truncate(s))
	}
	return position{at: t.UTC(), id: id}, nil
}

// ---- polling ----

// Events delivers door events after cursor, oldest first (acs.EventSource).
// It polls GET /events/v1/access with start_time and end_time (Unix
// seconds) and page_size 200, following next_page_token (§2.5), over
// ranges of at most EventOptions.Span that end EventOptions.Settle before
// now, and sorts each range by timestamp and event ID itself (the listing
// order is not documented). A range starts at the second of the last
// event delivered, so whether Verkada's bounds are inclusive or exclusive,
// nothing is skipped, and events at or before the cursor are not delivered
// again. An empty cursor starts EventOptions.History back.
//
// Door events are the door_* decisions naming a door: Granted from
// event_info.accepted (else the type's _accepted/_granted or
// _rejected/_denied ending), the door from event_info.doorId (else
// device_id) and doorInfo.name, the cardholder from event_info.userId
// with its external ID read from the access-user object (cached), the
// card from event_info.rawCard when it is a Wiegand frame in hexadecimal
// that exactly one known format decodes, and the direction from
// event_info.direction ("entry"/"in", "exit"/"out") or WithDoorDirection.
//
// Failed polls (no answer, 5xx, throttling) are retried after a backoff;
// a refusal (bad key, missing permission) ends Events with its error.
func (p *Provider) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "fn is nil")
	}
	pos := position{at: p.now().UTC().Add(-p.events.History)}
	if cursor != "" {
		var err error
		if pos, err = parseCursor(op, cursor); err != nil {
			return err
		}
	}
	backoff := acshttp.Backoff{Min: p.events.BackoffMin, Max: p.events.BackoffMax}
	for {
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		more, err := p.poll(ctx, op, &pos, fn)
		var fe *fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case err != nil:
			if err := p.pollFailed(ctx, op, err, &backoff); err != nil {
				return err
			}
		case more:
			backoff.Reset()
		default:
			backoff.Reset()
			if err := p.sleep(ctx, p.events.Interval); err != nil {
				return acs.Wrap(op, Name, acs.Canceled, err)
			}
		}
	}
}

// fnError carries the callback's error out of a poll unchanged.
type fnError struct{ err error }

// Error returns the callback's error text.
func (e *fnError) Error() string { return e.err.Error() }

// pollFailed waits out a transient failure (the next wait of b: doubling
// from BackoffMin up to BackoffMax, less a random part of up to a
// quarter, or Verkada's Retry-After when longer) and returns nil; a
// refusal, or an unclassified failure after five in a row, is returned.
func (p *Provider) pollFailed(ctx context.Context, op string, err error, b *acshttp.Backoff) error {
	if ctx.Err() != nil {
		return acs.Wrap(op, Name, acs.Canceled, ctx.Err())
	}
	switch acs.CodeOf(err) {
	case acs.Unavailable, acs.RateLimited:
	case acs.Unknown:
		if b.Failures() >= 4 {
			return err
		}
	default:
		return err
	}
	d := b.Next()
	if ra, ok := acs.RetryAfterOf(err); ok && ra > d {
		d = ra
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "verkada: event poll failed, retrying",
		slog.String("provider", Name), slog.Int("failures", b.Failures()), slog.Duration("wait", d),
		slog.String("error", p.redact(err.Error())))
	if err := p.sleep(ctx, d); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	return nil
}

// poll reads one range after pos and delivers its door events. more
// reports that the range did not reach the settled present.
func (p *Provider) poll(ctx context.Context, op string, pos *position, fn func(acs.DoorEvent) error) (more bool, err error) {
	upper := p.now().UTC().Add(-p.events.Settle).Truncate(time.Second)
	from := pos.at.Truncate(time.Second)
	if !upper.After(from) {
		return false, nil
	}
	to := from.Add(p.events.Span)
	if upper.Before(to) {
		to = upper
	}
	var evs []rawEvent
	for {
		var full bool
		if evs, full, err = p.readRange(ctx, op, from, to); err != nil {
			return false, err
		}
		if !full || to.Sub(from) <= time.Second {
			break
		}
		to = from.Add(to.Sub(from) / 2).Truncate(time.Second)
		if !to.After(from) {
			to = from.Add(time.Second)
		}
	}
	slices.SortFunc(evs, func(a, b rawEvent) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.id, b.id))
	})
	for i := range evs {
		r := &evs[i]
		if !pos.before(*r) {
			continue
		}
		if door, granted := r.ev.doorDecision(); door {
			de, err := p.doorEvent(ctx, op, r, granted)
			if err != nil {
				return false, err
			}
			if err := fn(de); err != nil {
				return false, &fnError{err}
			}
		}
		*pos = position{at: r.at, id: r.id}
	}
	if to.After(pos.at) {
		*pos = position{at: to}
	}
	return to.Before(upper), nil
}

// readRange reads every event from one range; full reports that it held
// more than Batch events (and reading stopped).
func (p *Provider) readRange(ctx context.Context, op string, from, to time.Time) (evs []rawEvent, full bool, err error) {
	q := url.Values{"start_time": {strconv.FormatInt(from.Unix(), 10)},
		"end_time": {strconv.FormatInt(to.Unix(), 10)}, "page_size": {"200"}}
	stop := errors.New("batch full")
	err = p.pages(ctx, op, "/events/v1/access", q, func(body []byte) error {
		var pg struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return acs.Errorf(op, Name, acs.Unknown, "unreadable event listing")
		}
		for _, b := range pg.Events {
			r, err := parseEvent(b)
			if err != nil {
				p.log.LogAttrs(ctx, slog.LevelWarn, "verkada: unreadable event skipped",
					slog.String("provider", Name), slog.String("error", err.Error()))
				continue
			}
			evs = append(evs, r)
		}
		if len(evs) > p.events.Batch {
			return stop
		}
		return nil
	})
	if err == stop {
		return nil, true, nil
	}
	return evs, false, err
}

// doorEvent maps a door decision and looks the cardholder's external ID
// up (see externalIDOf).
func (p *Provider) doorEvent(ctx context.Context, op string, r *rawEvent, granted bool) (acs.DoorEvent, error) {
	e := &r.ev
	de := acs.DoorEvent{Cursor: formatCursor(r.at, r.id), Time: r.at, DoorID: string(e.Info.DoorID),
		DoorName: e.Info.DoorInfo.Name, Granted: granted, Card: decodeRawCard(string(e.Info.RawCard))}
	if de.DoorID == "" {
		de.DoorID = string(e.DeviceID)
	}
	switch strings.ToLower(strings.TrimSpace(e.Info.Direction)) {
	case "entry", "in", "ingress", "entrance":
		de.Direction = acs.DirectionIn
	case "exit", "out", "egress":
		de.Direction = acs.DirectionOut
	default:
		de.Direction = p.directions[de.DoorID]
	}
	if uid := string(e.Info.UserID); uid != "" && checkID(op, "user ID", uid) == nil {
		de.Cardholder.ID = uid
		ext, err := p.externalIDOf(ctx, op, uid)
		if err != nil {
			return de, err
		}
		de.Cardholder.ExternalID = ext
	}
	return de, nil
}

// decodeRawCard decodes a Wiegand frame in hexadecimal when exactly one of
// the known formats of its width validates it (a 37-bit frame is valid as
// both H10302 and H10304, so it stays undecoded).
func decodeRawCard(raw string) acs.Card {
	raw = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(raw)), "0x")
	if raw == "" || len(raw) > 16 {
		return acs.Card{}
	}
	var found []acs.Card
	for _, f := range wiegand.Formats() {
		if (f.Bits()+3)/4 != len(raw) {
			continue
		}
		fr, err := wiegand.ParseHex(raw, f.Bits())
		if err != nil {
			continue
		}
		if c, err := f.Decode(fr); err == nil {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return acs.Card{}
	}
	return found[0]
}

// ---- user ID → external ID ----

// holderCache remembers the external ID of the users events name.
type holderCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]holderEntry
}

type holderEntry struct {
	ext string
	at  time.Time
}

const maxHolders = 10000

func (c *holderCache) init(ttl time.Duration) { c.ttl, c.m = ttl, map[string]holderEntry{} }

// externalIDOf returns the external ID of a user ("" when it has none or
// is gone). A transient failure of the lookup fails the poll (it is
// retried, and the event delivered with its cardholder); a refusal of the
// key ends Events; any other failure leaves the external ID empty rather
// than hold the stream.
func (p *Provider) externalIDOf(ctx context.Context, op, uid string) (string, error) {
	c := &p.holders
	c.mu.Lock()
	e, ok := c.m[uid]
	c.mu.Unlock()
	if ok && p.now().Sub(e.at) < c.ttl {
		return e.ext, nil
	}
	au, found, err := p.findAccessUser(ctx, op, "user_id", uid)
	switch code := acs.CodeOf(err); {
	case err == nil:
	case acs.IsRetryable(err), code == acs.Canceled, code == acs.Unauthenticated, code == acs.PermissionDenied:
		return "", err
	default:
		p.log.LogAttrs(ctx, slog.LevelWarn, "verkada: cardholder of a door event not read",
			slog.String("provider", Name), slog.String("user_id", uid), slog.String("error", p.redact(err.Error())))
		return "", nil
	}
	ext := ""
	if found {
		ext = string(au.ExternalID)
	}
	c.mu.Lock()
	if len(c.m) >= maxHolders {
		clear(c.m)
	}
	c.m[uid] = holderEntry{ext: ext, at: p.now()}
	c.mu.Unlock()
	return ext, nil
}
