package brivo

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Defaults of EventOptions.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultEventSettle  = 5 * time.Second
	DefaultEventHistory = 24 * time.Hour
	DefaultEventBatch   = 2000
)

// EventOptions tunes Events. Zero fields keep their defaults.
type EventOptions struct {
	// Interval is the wait between polls once every event has been
	// delivered (default DefaultPollInterval).
	Interval time.Duration
	// Settle is how old an event must be before it is delivered (default
	// DefaultEventSettle, on the provider's clock). Brivo stores an event a
	// little after it occurred; an event that appears later than Settle
	// after its time, and after younger events were delivered, is not
	// delivered by polling.
	Settle time.Duration
	// History is how far back an empty cursor starts (default
	// DefaultEventHistory). Brivo does not document how long it retains
	// events.
	History time.Duration
	// Batch bounds how many events Events holds in memory at once (default
	// DefaultEventBatch; at most Batch plus one page of 100 are held).
	// Brivo lists events newest first, so reading them oldest first means
	// reading a range down to the cursor; a range holding more than Batch
	// door events is delivered in several passes, each reading the range
	// again.
	Batch int
	// BackoffMin and BackoffMax bound the wait after a failed poll
	// (defaults 1 s and 1 min; doubled after each failure in a row, each
	// wait less a random part of up to a quarter). A Retry-After from
	// Brivo is honoured when longer.
	BackoffMin, BackoffMax time.Duration
}

func (e EventOptions) withDefaults() (EventOptions, error) {
	if e.Interval < 0 || e.Settle < 0 || e.History < 0 || e.Batch < 0 || e.BackoffMin < 0 || e.BackoffMax < 0 {
		return e, errors.New("durations and the batch must not be negative")
	}
	if e.Interval == 0 {
		e.Interval = DefaultPollInterval
	}
	if e.Settle == 0 {
		e.Settle = DefaultEventSettle
	}
	if e.History == 0 {
		e.History = DefaultEventHistory
	}
	if e.Batch == 0 {
		e.Batch = DefaultEventBatch
	}
	if e.BackoffMin == 0 {
		e.BackoffMin = time.Second
	}
	if e.BackoffMax == 0 {
		e.BackoffMax = time.Minute
	}
	if e.BackoffMax < e.BackoffMin {
		return e, errors.New("BackoffMax is shorter than BackoffMin")
	}
	return e, nil
}

var _ acs.EventSource = (*Provider)(nil)

// ---- the event JSON ----

// flexID reads a Brivo ID sent as a number or a numeric string; anything
// else reads as 0 rather than failing the whole event.
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		n = 0
	}
	*f = flexID(n)
	return nil
}

// eventWire is the part of Brivo's event JSON ("Event json structure")
// the adapter reads. Unknown fields are ignored.
type eventWire struct {
	UUID           string `json:"uuid"`
	SecurityAction struct {
		ID        flexID `json:"securityActionId"`
		Action    string `json:"action"`
		Exception bool   `json:"exception"`
	} `json:"securityAction"`
	Actor *struct {
		ID         flexID `json:"id"`
		Name       string `json:"name"`
		ObjectType string `json:"objectType"`
	} `json:"actor"`
	EventObject *struct {
		ID   flexID `json:"id"`
		Name string `json:"name"`
	} `json:"eventObject"`
	Occurred  string `json:"occurred"`
	EventData struct {
		ObjectName          string `json:"objectName"`
		ActionAllowed       *bool  `json:"actionAllowed"`
		UnknownWeigand      string `json:"unknownWeigand"`
		CredentialBitLength flexID `json:"credentialBitLength"`
		CredentialLabel     string `json:"credentialLabel"`
		Credentials         []struct {
			ID          flexID     `json:"id"`
			ReferenceID flexString `json:"reference_id"`
		} `json:"credentials"`
	} `json:"eventData"`
}

// rawEvent is a parsed event with its position in the stream.
type rawEvent struct {
	at  time.Time
	raw string // occurred as Brivo wrote it
	id  string
	ev  eventWire
}

// parseEvent reads one event. The ID is the uuid, or a digest of the JSON
// when Brivo sent none.
func parseEvent(b []byte) (rawEvent, error) {
	var r rawEvent
	if err := json.Unmarshal(b, &r.ev); err != nil {
		return r, err
	}
	t, ok := parseWireTime(r.ev.Occurred)
	if !ok {
		return r, errors.New("event without a valid occurred time")
	}
	r.at, r.raw = t.UTC(), r.ev.Occurred
	r.id = r.ev.UUID
	if r.id == "" || len(r.id) > 100 || strings.ContainsFunc(r.id, func(c rune) bool { return c == '/' || unicode.IsControl(c) || unicode.IsSpace(c) }) {
		sum := sha256.Sum256(bytes.TrimSpace(b))
		r.id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return r, nil
}

// isDoorEvent reports whether an event is a credential decision at a door:
// it names a door (eventObject) and a credential (eventData.credentials,
// unknownWeigand or credentialLabel). Administrator actions, panel, camera
// and audit events are not.
func (e *eventWire) isDoorEvent() bool {
	if e.EventObject == nil || e.EventObject.ID <= 0 {
		return false
	}
	return len(e.EventData.Credentials) > 0 || e.EventData.UnknownWeigand != "" || e.EventData.CredentialLabel != ""
}

// ---- cursors ----

// position is a place in the event stream: events are ordered by occurred
// time, then by ID, so several events of the same instant have a stable
// order.
type position struct {
	at time.Time
	id string
}

func (p position) before(at time.Time, id string) bool {
	if c := p.at.Compare(at); c != 0 {
		return c < 0
	}
	return p.id < id
}

// formatCursor renders a position as "<occurred, RFC 3339 UTC>/<event ID>".
func formatCursor(at time.Time, id string) string {
	return at.UTC().Format(time.RFC3339Nano) + "/" + id
}

func parseCursor(op, s string) (position, error) {
	bad := func() (position, error) {
		return position{}, acs.Errorf(op, Name, acs.InvalidArgument, "cursor %q is not a Brivo event cursor", truncate(s))
	}
	if len(s) > 200 {
		return bad()
	}
	ts, id, ok := strings.Cut(s, "/")
	if !ok || id == "" || strings.ContainsFunc(id, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) }) {
		return bad()
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return bad()
	}
	return position{at: t.UTC(), id: id}, nil
}

// ---- Events ----

// fnError carries the caller's error out of a poll.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// Events polls GET /events/access and delivers door events after cursor
// (from EventOptions.History ago when cursor is empty) to fn, one at a
// time, oldest first, until ctx ends (a Canceled error) or fn returns an
// error (returned as is). It implements acs.EventSource; webhooks
// (NewWebhookHandler) are the real-time path, Events the reliable one.
//
// Events are ordered by occurred time, then by event ID (uuid), and each
// DoorEvent.Cursor names that position, so several events of the same
// instant resume correctly. Brivo lists events newest first within an
// occurred window of at most 24 hours (the filter bounds are truncated to
// the hour) and pages by date: each page after the first is requested with
// offset = the minimum occurred of the page before, whose events are read
// again and skipped by ID. Events reads the range above the cursor down to
// it, holding at most EventOptions.Batch events, then delivers them in
// order; a range older than the current window is read one 24-hour window
// at a time.
//
// Failed polls (no answer, 5xx, throttling) are retried after a backoff
// that grows to EventOptions.BackoffMax, forever; an answer nobody can
// classify (an unexpected status, an unreadable page) is retried too, but
// ends the call when it persists for 5 polls in a row; other errors
// (refused credentials or API key, a missing permission, a 400) end the
// call at once with a non-retryable *acs.Error, as do refused credentials
// during the card and cardholder lookups. Nothing is delivered twice within a
// call, and the card (from the credential's field values, or the unknown
// Wiegand frame) and the cardholder's external ID are filled in with cached
// lookups (GET /credentials/{id}, GET /users/{id}): a credential or user
// deleted since (a revoked visit) leaves them empty.
func (p *Provider) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "fn is nil")
	}
	var pos position
	if cursor != "" {
		var err error
		if pos, err = parseCursor(op, cursor); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if cursor == "" {
		pos.at = p.now().UTC().Add(-p.events.History)
	}
	s := &poller{p: p, op: op, pos: pos, fn: fn,
		backoff: acshttp.Backoff{Min: p.events.BackoffMin, Max: p.events.BackoffMax, Rand: p.jitter}}
	for {
		more, err := s.pass(ctx)
		var fe *fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case err != nil:
			if err := s.failed(ctx, err); err != nil {
				return err
			}
		case more:
			s.backoff.Reset()
			s.unclassified = 0
		default:
			s.backoff.Reset()
			s.unclassified = 0
			if err := p.sleep(ctx, p.events.Interval); err != nil {
				return acs.Wrap(op, Name, acs.Canceled, err)
			}
		}
	}
}

// maxUnclassified is how many polls in a row may fail with an error
// nobody classified (acs.Unknown: an unexpected status, an unreadable
// answer) before Events gives up on it: once may be a glitch, every time
// is a change at Brivo that waiting will not cure.
const maxUnclassified = 5

// failed handles a failed poll: a transient failure is waited out (the
// wait doubles up to BackoffMax, less a random part of up to a quarter,
// or Brivo's Retry-After when longer) and nil returned;
// anything else, and an unclassified failure that persists, is returned
// for Events to end with.
func (s *poller) failed(ctx context.Context, err error) error {
	p := s.p
	if ctx.Err() != nil {
		return acs.Wrap(s.op, Name, acs.Canceled, ctx.Err())
	}
	switch acs.CodeOf(err) {
	case acs.Unavailable, acs.RateLimited:
		s.unclassified = 0
	case acs.Unknown:
		if s.unclassified++; s.unclassified >= maxUnclassified {
			return err
		}
	default:
		return err
	}
	d := s.backoff.Next()
	if ra, ok := acs.RetryAfterOf(err); ok && ra > d {
		d = ra
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "brivo: event poll failed, retrying",
		slog.String("provider", Name), slog.Int("failures", s.backoff.Failures()), slog.Duration("wait", d),
		slog.String("error", p.redact(err.Error())))
	if err := p.sleep(ctx, d); err != nil {
		return acs.Wrap(s.op, Name, acs.Canceled, err)
	}
	return nil
}

// poller is the state of one Events call.
type poller struct {
	p   *Provider
	op  string
	pos position  // the last event delivered (or skipped)
	low time.Time // windows wholly read without reaching pos start here
	top pageMin   // where the next pass starts reading, when set
	fn  func(acs.DoorEvent) error
	// backoff is the wait after failed polls in a row; unclassified
	// counts those with an unclassified error.
	backoff      acshttp.Backoff
	unclassified int
}

// pageMin is the oldest event time of a page, parsed and as Brivo wrote it.
type pageMin struct {
	at  time.Time
	raw string
}

// firstPageSize is the size of the first page of a poll.
const firstPageSize = 20

// eventPageWire is the listing envelope: data and pageSize, no count.
type eventPageWire struct {
	Data []json.RawMessage `json:"data"`
}

// pass reads the events above the cursor in one window (at most Batch of
// them, the oldest) and delivers them. more reports that more events are
// ready now.
func (s *poller) pass(ctx context.Context) (more bool, err error) {
	w, ok := s.window()
	if !ok {
		return false, nil
	}
	pp, err := s.readPages(ctx, w)
	if err != nil {
		return false, err
	}
	if err := s.deliver(ctx, pp.held); err != nil {
		return false, err
	}
	return s.after(w, pp), nil
}

// passWindow is the range one pass reads: the events from from (the
// cursor, or the start of a window not yet read) up to upper (Settle ago),
// within Brivo's filter window, which ends at lt.
type passWindow struct {
	from, upper, lt time.Time
	filter          string
}

// window returns the range of the next pass; false when no event above
// the cursor is old enough to deliver yet.
func (s *poller) window() (passWindow, bool) {
	p := s.p
	upper := p.now().UTC().Add(-p.events.Settle).Truncate(time.Second)
	from := s.pos.at
	if s.low.After(from) {
		from = s.low
	}
	if upper.Before(from) {
		return passWindow{}, false
	}
	// The filter bounds are exclusive and Brivo truncates them to the
	// hour; sending whole hours makes that a no-op. gt lies strictly before
	// from, so an event at from itself is listed.
	gt := from.Add(-time.Millisecond).Truncate(time.Hour)
	lt := gt.Add(24 * time.Hour)
	return passWindow{from: from, upper: upper, lt: lt,
		filter: "occurred__gt:" + gt.Format(wireTime) + ";occurred__lt:" + lt.Format(wireTime)}, true
}

// passPages is what the pages of one pass hold.
type passPages struct {
	held    []rawEvent // door events above the cursor: the oldest Batch seen
	trimmed bool       // more than Batch were seen; the pass delivers part
	mins    []pageMin  // the oldest event time of each page, newest first
	capped  bool       // the pass started below the top of the range
}

// pageCursor is where a page of the listing starts. Brivo pages by date:
// each page after the first is asked with offset = the oldest occurred
// time of the page before, whose events at that instant (boundary) come
// again and are skipped.
type pageCursor struct {
	size     int
	offset   string
	offsetAt time.Time
	boundary map[string]bool
}

// eventPage is one page of the listing, parsed.
type eventPage struct {
	events []rawEvent
	n      int       // items on the page, readable or not
	minAt  time.Time // the oldest occurred time on the page
	minRaw string    // the same as Brivo wrote it ("" for no event)
	atMin  []string  // the IDs of the events at minAt
}

// readPages reads the listing of w newest first, page by page, down to
// the cursor, holding at most Batch events.
func (s *poller) readPages(ctx context.Context, w passWindow) (passPages, error) {
	var pp passPages
	cur := pageCursor{size: firstPageSize, offset: w.upper.Format(wireTime), offsetAt: w.upper}
	// After a pass that held more than Batch events, the next one starts
	// lower: where the pages it read show about Batch events above the
	// cursor. The events above that start are all younger than those
	// below, so they wait for a later pass without breaking the order.
	if t := s.top; t.raw != "" && t.at.After(w.from) && t.at.Before(w.upper) {
		cur.offset, cur.offsetAt, pp.capped = t.raw, t.at, true
	}
	s.top = pageMin{}
	for range maxPages {
		pg, err := s.fetchPage(ctx, w.filter, cur)
		if err != nil {
			return pp, err
		}
		s.gather(&pp, pg, w, cur)
		if pg.n < cur.size || pg.minRaw == "" || pg.minAt.Before(w.from) {
			return pp, nil
		}
		cur = s.nextCursor(ctx, cur, pg)
	}
	return pp, acs.Errorf(s.op, Name, acs.Unknown, "event listing did not end after %d pages", maxPages)
}

// fetchPage asks for the page at cur and parses it; unreadable events are
// logged and skipped. The first page of a pass is small: once caught up,
// most polls find a few new events above ones already delivered.
func (s *poller) fetchPage(ctx context.Context, filter string, cur pageCursor) (eventPage, error) {
	p := s.p
	q := url.Values{"filter": {filter}, "pageSize": {strconv.Itoa(cur.size)}, "offset": {cur.offset}}
	resp, err := p.call(ctx, s.op, request{method: http.MethodGet, path: "/events/access", query: q, idempotent: true})
	if err != nil {
		return eventPage{}, err
	}
	if !ok2xx(resp) {
		return eventPage{}, p.statusError(s.op, resp)
	}
	var wire eventPageWire
	if err := p.decode(s.op, resp, &wire); err != nil {
		return eventPage{}, err
	}
	pg := eventPage{n: len(wire.Data)}
	for _, b := range wire.Data {
		r, err := parseEvent(b)
		if err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "brivo: unreadable event skipped",
				slog.String("provider", Name), slog.String("error", p.clean(err.Error())))
			continue
		}
		switch {
		case pg.minRaw == "" || r.at.Before(pg.minAt):
			pg.minAt, pg.minRaw, pg.atMin = r.at, r.raw, append(pg.atMin[:0], r.id)
		case r.at.Equal(pg.minAt):
			pg.atMin = append(pg.atMin, r.id)
		}
		pg.events = append(pg.events, r)
	}
	return pg, nil
}

// gather holds the door events of pg that lie above the cursor and not
// above w.upper, skipping those the page before showed already, and keeps
// the oldest Batch of all held.
func (s *poller) gather(pp *passPages, pg eventPage, w passWindow, cur pageCursor) {
	for _, r := range pg.events {
		if r.at.After(w.upper) || cur.boundary[r.id] || !s.pos.before(r.at, r.id) || !r.ev.isDoorEvent() {
			continue
		}
		pp.held = append(pp.held, r)
	}
	if pg.minRaw != "" {
		pp.mins = append(pp.mins, pageMin{pg.minAt, pg.minRaw})
	}
	if s.p.observeHeld != nil {
		s.p.observeHeld(len(pp.held))
	}
	if batch := s.p.events.Batch; len(pp.held) > batch {
		pp.held = oldest(pp.held, batch)
		pp.trimmed = true
	}
}

// nextCursor returns where the page after pg (read at cur) starts.
func (s *poller) nextCursor(ctx context.Context, cur pageCursor, pg eventPage) pageCursor {
	next := pageCursor{size: pageSize, offset: pg.minRaw, offsetAt: pg.minAt, boundary: make(map[string]bool, len(pg.atMin))}
	for _, id := range pg.atMin {
		next.boundary[id] = true
	}
	switch {
	case pg.minAt.Equal(cur.offsetAt) && cur.size < pageSize:
		// A small first page of one instant: read it again in full.
		next.offset, next.offsetAt = cur.offset, cur.offsetAt
	case pg.minAt.Equal(cur.offsetAt):
		// A full page of one instant: paging by date cannot get past
		// it. Step one millisecond back; events of that instant beyond
		// this page are not seen.
		s.p.log.LogAttrs(ctx, slog.LevelWarn, "brivo: more than a page of events share one occurred time; some are skipped",
			slog.String("provider", Name), slog.String("occurred", pg.minRaw))
		next.offsetAt = pg.minAt.Add(-time.Millisecond)
		next.offset, next.boundary = next.offsetAt.Format("2006-01-02T15:04:05.000Z"), nil
	}
	return next
}

// deliver hands the held events to fn, oldest first, moving the cursor
// over each.
func (s *poller) deliver(ctx context.Context, held []rawEvent) error {
	held = oldest(held, s.p.events.Batch)
	for i := range held {
		r := &held[i]
		if !s.pos.before(r.at, r.id) {
			continue // a repeat within this pass
		}
		de, err := s.p.doorEvent(ctx, s.op, r)
		if err != nil {
			return err
		}
		if err := s.fn(de); err != nil {
			return &fnError{err}
		}
		s.pos = position{at: r.at, id: r.id}
	}
	return nil
}

// after records where the next pass starts and reports whether it may
// start at once: more events were seen than delivered, or the window was
// read to its end and the next window starts.
func (s *poller) after(w passWindow, pp passPages) bool {
	if pp.trimmed {
		// Start the next pass about Batch events above the new cursor.
		j := len(pp.mins) - 1
		for j >= 0 && !pp.mins[j].at.After(s.pos.at) {
			j--
		}
		if k := j - (s.p.events.Batch+pageSize-1)/pageSize; k >= 0 {
			s.top = pp.mins[k]
		}
		return true
	}
	if pp.capped {
		return true
	}
	if !w.lt.After(w.upper) {
		// This window is read; the next one starts where it ends.
		s.low = w.lt
		return true
	}
	return false
}

// oldest sorts events by position and keeps the first n.
func oldest(evs []rawEvent, n int) []rawEvent {
	slices.SortFunc(evs, func(a, b rawEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	evs = slices.CompactFunc(evs, func(a, b rawEvent) bool { return a.id == b.id && a.at.Equal(b.at) })
	if len(evs) > n {
		clear(evs[n:])
		evs = evs[:n]
	}
	return evs
}

// doorEvent maps a door event and resolves its card and cardholder
// through the API (cached). A lookup that fails transiently is an error;
// one that finds nothing leaves the fields empty.
func (p *Provider) doorEvent(ctx context.Context, op string, r *rawEvent) (acs.DoorEvent, error) {
	de, credID, userID := mapDoorEvent(r, p.directions)
	if err := p.enrich(ctx, op, &de, credID, userID); err != nil {
		return acs.DoorEvent{}, err
	}
	return de, nil
}

// enrich fills the card of credential credID and the external ID of user
// userID (either may be 0: nothing to look up).
func (p *Provider) enrich(ctx context.Context, op string, de *acs.DoorEvent, credID, userID int64) error {
	if credID > 0 {
		card, err := p.lookups.credential(ctx, p, op, credID)
		if err != nil {
			return err
		}
		de.Card = card
	}
	if userID > 0 {
		ext, err := p.lookups.user(ctx, p, op, userID)
		if err != nil {
			return err
		}
		de.Cardholder.ExternalID = ext
	}
	return nil
}

// mapDoorEvent maps what the event itself says: the door, the decision,
// the credential ID, the card of an unknown Wiegand frame, the user ID.
// It returns the credential and user to look up.
func mapDoorEvent(r *rawEvent, directions map[string]acs.Direction) (de acs.DoorEvent, credID, userID int64) {
	e := &r.ev
	de = acs.DoorEvent{
		Cursor:   formatCursor(r.at, r.id),
		Time:     r.at,
		DoorID:   strconv.FormatInt(int64(e.EventObject.ID), 10),
		DoorName: e.EventObject.Name,
		Granted:  !e.SecurityAction.Exception,
	}
	if de.DoorName == "" {
		de.DoorName = e.EventData.ObjectName
	}
	if e.EventData.ActionAllowed != nil {
		de.Granted = *e.EventData.ActionAllowed
	}
	de.Direction = directions[de.DoorID]
	for _, c := range e.EventData.Credentials {
		if c.ID > 0 {
			credID = int64(c.ID)
			break
		}
	}
	if credID > 0 {
		de.Credential = strconv.FormatInt(credID, 10)
	} else if e.EventData.UnknownWeigand != "" {
		de.Card, _ = decodeUnknown(e.EventData.UnknownWeigand, int(e.EventData.CredentialBitLength))
	}
	if e.Actor != nil && e.Actor.ID > 0 && credID > 0 && (e.Actor.ObjectType == "" || strings.EqualFold(e.Actor.ObjectType, "user")) {
		userID = int64(e.Actor.ID)
		de.Cardholder.ID = strconv.FormatInt(userID, 10)
	}
	return de, credID, userID
}
