package alta

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	DefaultEventWindow  = time.Hour
)

// EventOptions tunes Events. Zero fields take the defaults.
type EventOptions struct {
	// Interval is the wait between polls once every event has been
	// delivered (default DefaultPollInterval).
	Interval time.Duration
	// Settle is how old an event must be before it is delivered (default
	// DefaultEventSettle, on the provider's clock). An event Alta stores
	// later than Settle after its time, once younger events were
	// delivered, is not delivered.
	Settle time.Duration
	// History is how far back an empty cursor starts (default
	// DefaultEventHistory, Alta's own default span, §1.7).
	History time.Duration
	// Window is the longest time range one query covers (default
	// DefaultEventWindow). Alta treats limit as a suggestion and may
	// answer far more rows than asked (§1.7), so the window is what bounds
	// the events held in memory at once.
	Window time.Duration
	// BackoffMin and BackoffMax bound the wait after a failed poll
	// (defaults 1 s and 1 min; doubled after each failure in a row, each
	// wait less a random part of up to a quarter). A Retry-After from Alta
	// is honoured when longer.
	BackoffMin, BackoffMax time.Duration
}

func (e EventOptions) withDefaults() (EventOptions, error) {
	if e.Interval < 0 || e.Settle < 0 || e.History < 0 || e.Window < 0 || e.BackoffMin < 0 || e.BackoffMax < 0 {
		return e, errors.New("durations must not be negative")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&e.Interval, DefaultPollInterval)
	def(&e.Settle, DefaultEventSettle)
	def(&e.History, DefaultEventHistory)
	def(&e.Window, DefaultEventWindow)
	def(&e.BackoffMin, time.Second)
	def(&e.BackoffMax, time.Minute)
	if e.Window < time.Second {
		return e, errors.New("the window must be at least a second")
	}
	if e.BackoffMax < e.BackoffMin {
		return e, errors.New("BackoffMax is shorter than BackoffMin")
	}
	return e, nil
}

// activityJSON is the part of an activity row the adapter reads (§1.7).
type activityJSON struct {
	UIData struct {
		Time                    json.Number `json:"time"`
		TimeIsoString           string      `json:"timeIsoString"`
		UserID                  altaID      `json:"userId"`
		UserExternalID          flexString  `json:"userExternalId"`
		CredentialTypeModelName flexString  `json:"credentialTypeModelName"`
		EntryID                 altaID      `json:"entryId"`
		EntryName               string      `json:"entryName"`
		Result                  string      `json:"result"`
		ResultDescription       string      `json:"resultDescription"`
		DeniedReason            flexString  `json:"deniedReason"`
	} `json:"uiData"`
}

// rawEvent is a parsed row with its position in the stream.
type rawEvent struct {
	at time.Time
	id string
	a  activityJSON
}

// parseActivity reads one row. Its time is uiData.time in epoch seconds
// (milliseconds when the number is too large for seconds), else
// timeIsoString. Rows carry no ID the notes record, so the ID is a digest
// of the fields that identify the decision.
func parseActivity(b []byte) (rawEvent, error) {
	var r rawEvent
	if err := json.Unmarshal(b, &r.a); err != nil {
		return r, err
	}
	u := &r.a.UIData
	if f, err := u.Time.Float64(); err == nil && f > 0 && !math.IsInf(f, 0) {
		if f > 1e11 {
			f /= 1000
		}
		sec, frac := math.Modf(f)
		r.at = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
	} else if t, ok := parseWireTime(u.TimeIsoString); ok {
		r.at = t
	} else {
		return r, errors.New("activity row without a readable time")
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{r.at.Format(time.RFC3339Nano), idSegment(u.EntryID), idSegment(u.UserID),
		string(u.UserExternalID), string(u.CredentialTypeModelName), u.Result, string(u.DeniedReason)}, "\x00")))
	r.id = hex.EncodeToString(sum[:12])
	return r, nil
}

// isDoorEvent reports whether a row is a credential decision at an entry.
func (a *activityJSON) isDoorEvent() bool {
	u := &a.UIData
	return u.EntryID > 0 && (u.CredentialTypeModelName != "" || u.UserID > 0)
}

// granted reads the decision. Alta's result values are not documented
// (§1.7): a deniedReason, or a result or description speaking of denial
// or failure, is a denial; one speaking of a grant or success is a grant;
// anything else is treated as not granted.
func (a *activityJSON) granted() bool {
	u := &a.UIData
	if strings.TrimSpace(string(u.DeniedReason)) != "" {
		return false
	}
	text := strings.ToLower(u.Result + " " + u.ResultDescription)
	for _, w := range []string{"den", "fail", "reject", "invalid", "refus"} {
		if strings.Contains(text, w) {
			return false
		}
	}
	for _, w := range []string{"grant", "success", "allow", "approv"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// position is a place in the event stream: time, then ID.
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

func formatCursor(at time.Time, id string) string {
	return at.UTC().Format(time.RFC3339Nano) + "/" + id
}

func parseCursor(op, s string) (position, error) {
	bad := acs.Errorf(op, Name, acs.InvalidArgument, "cursor %q is not an Alta event cursor", truncate(s))
	ts, id, ok := strings.Cut(s, "/")
	if len(s) > 200 || !ok || id == "" || strings.ContainsFunc(id, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) }) {
		return position{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return position{}, bad
	}
	return position{at: t.UTC(), id: id}, nil
}

// fnError carries the caller's error out of a poll.
type fnError struct{ err error }

// Error returns the caller's error text.
func (e *fnError) Error() string { return e.err.Error() }

// Events polls GET /orgs/{orgId}/reports/activity/events and delivers door
// events after cursor (from EventOptions.History ago when cursor is empty)
// to fn, one at a time, oldest first, until ctx ends (a Canceled error),
// fn returns an error (returned as is), or Alta refuses for good. It
// implements acs.EventSource.
//
// Each query covers whole seconds from the cursor's second, at most
// EventOptions.Window long and ending EventOptions.Settle before now, with
// filter uiData.time:(from-to); its pages are read with the cursor Alta
// returns, sending the same filter on every call as Alta requires (§1.7),
// and a searchId option for Alta's support. The rows are ordered by time,
// then by a digest of the row, and each DoorEvent.Cursor names that
// position, so several events of one instant resume correctly. A door
// event is a row naming an entry and a credential type or user. The
// cardholder is the row's userId and userExternalId; the rows the notes
// record carry no card number, so the card and credential of a card
// decision are the user's only card credential, looked up (GET
// /users/{id}/credentials, cached a minute): empty when the user holds
// none or several, or was removed since.
//
// Failed polls (no answer, 5xx, throttling) are retried after a backoff
// that grows to EventOptions.BackoffMax, forever; other errors end the call.
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
	s := &poller{p: p, op: op, pos: pos, fn: fn}
	backoff := acshttp.Backoff{Min: p.events.BackoffMin, Max: p.events.BackoffMax, Rand: p.jitter}
	for {
		more, err := s.pass(ctx)
		var fe *fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		if err == nil {
			backoff.Reset()
			wait := time.Duration(0)
			if !more {
				wait = p.events.Interval
			}
			if err := p.sleep(ctx, wait); err != nil {
				return acs.Wrap(op, Name, acs.Canceled, err)
			}
			continue
		}
		if ctx.Err() != nil {
			return acs.Wrap(op, Name, acs.Canceled, ctx.Err())
		}
		if c := acs.CodeOf(err); c != acs.Unavailable && c != acs.RateLimited && c != acs.Unknown {
			return err
		}
		if err := p.afterFailedPoll(ctx, err, &backoff); err != nil {
			return err
		}
	}
}

// afterFailedPoll waits after a failed poll: the next wait of b
// (doubling up to BackoffMax, less a random part of up to a quarter), or
// Alta's Retry-After when longer.
func (p *Provider) afterFailedPoll(ctx context.Context, cause error, b *acshttp.Backoff) error {
	d := b.Next()
	if ra, ok := acs.RetryAfterOf(cause); ok && ra > d {
		d = ra
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "alta: event poll failed, retrying", slog.String("provider", Name),
		slog.Int("failures", b.Failures()), slog.Duration("wait", d), slog.String("error", p.redact(cause.Error())))
	if err := p.sleep(ctx, d); err != nil {
		return acs.Wrap("events", Name, acs.Canceled, err)
	}
	return nil
}

// poller is the state of one Events call.
type poller struct {
	p   *Provider
	op  string
	pos position  // the last event delivered
	low time.Time // windows before this were read in full
	fn  func(acs.DoorEvent) error
}

// pass reads one window above the cursor and delivers its door events.
// more reports that a later window is ready now.
func (s *poller) pass(ctx context.Context) (more bool, err error) {
	p := s.p
	upper := p.now().UTC().Add(-p.events.Settle).Truncate(time.Second)
	from := s.pos.at.Truncate(time.Second)
	if s.low.After(from) {
		from = s.low
	}
	if upper.Before(from) {
		return false, nil
	}
	to := from.Add(p.events.Window)
	if to.After(upper) {
		to = upper
	}
	held, err := s.read(ctx, "uiData.time:("+strconv.FormatInt(from.Unix(), 10)+"-"+strconv.FormatInt(to.Unix(), 10)+")")
	if err != nil {
		return false, err
	}
	for i := range held {
		r := &held[i]
		if !s.pos.before(r.at, r.id) {
			continue
		}
		de, err := s.doorEvent(ctx, r)
		if err != nil {
			return false, err
		}
		if err := s.fn(de); err != nil {
			return false, &fnError{err}
		}
		s.pos = position{at: r.at, id: r.id}
	}
	s.low = to // the next window starts at this one's last second again
	return to.Before(upper), nil
}

// activityPage is the events listing envelope (§1.7).
type activityPage struct {
	Data    []json.RawMessage `json:"data"`
	Cursors struct {
		NextCursor  flexString `json:"nextCursor"`
		HasNextPage bool       `json:"hasNextPage"`
	} `json:"cursors"`
}

// read reads every page of one query and returns its door events after
// the cursor, in order.
func (s *poller) read(ctx context.Context, filter string) ([]rawEvent, error) {
	p := s.p
	var held []rawEvent
	next := ""
	// The searchId Alta asks for (§1.7): purpose, org, the query's start
	// in milliseconds, and the call number within the query.
	search := "searchId:acsbridge-" + idSegment(p.cfg.OrgID) + "-" + strconv.FormatInt(p.now().UnixMilli(), 10) + "-"
	for call := range maxPages {
		q := url.Values{"filter": {filter}, "limit": {strconv.Itoa(pageSize)}, "options": {search + strconv.Itoa(call)}}
		if next != "" {
			q.Set("cursor", next)
		}
		resp, err := p.call(ctx, s.op, request{method: http.MethodGet, path: p.org("/reports/activity/events"), query: q, idempotent: true})
		if err != nil {
			return nil, err
		}
		if !ok2xx(resp) {
			return nil, p.statusError(s.op, resp)
		}
		var pg activityPage
		if err := p.decode(s.op, resp, &pg); err != nil {
			return nil, err
		}
		for _, b := range pg.Data {
			r, err := parseActivity(b)
			if err != nil {
				p.log.LogAttrs(ctx, slog.LevelWarn, "alta: unreadable activity row skipped",
					slog.String("provider", Name), slog.String("error", p.clean(err.Error())))
				continue
			}
			if r.a.isDoorEvent() && s.pos.before(r.at, r.id) {
				held = append(held, r)
			}
		}
		next = string(pg.Cursors.NextCursor)
		if !pg.Cursors.HasNextPage || next == "" {
			return sortEvents(held), nil
		}
	}
	return nil, acs.Errorf(s.op, Name, acs.Unknown, "event listing did not end after %d pages", maxPages)
}

// sortEvents orders events by position and drops repeats.
func sortEvents(evs []rawEvent) []rawEvent {
	slices.SortFunc(evs, func(a, b rawEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return slices.CompactFunc(evs, func(a, b rawEvent) bool { return a.id == b.id && a.at.Equal(b.at) })
}

// doorEvent maps a row and, for a card decision by a known user, fills in
// the card and credential from the user's card credential (see userCard).
func (s *poller) doorEvent(ctx context.Context, r *rawEvent) (acs.DoorEvent, error) {
	u := &r.a.UIData
	de := acs.DoorEvent{
		Cursor:   formatCursor(r.at, r.id),
		Time:     r.at,
		DoorID:   idSegment(u.EntryID),
		DoorName: u.EntryName,
		Granted:  r.a.granted(),
	}
	de.Direction = s.p.directions[de.DoorID]
	de.Cardholder.ExternalID = string(u.UserExternalID)
	if u.UserID <= 0 {
		return de, nil
	}
	de.Cardholder.ID = idSegment(u.UserID)
	if !strings.EqualFold(string(u.CredentialTypeModelName), "card") {
		return de, nil
	}
	held, err := s.p.userCard(ctx, s.op, int64(u.UserID))
	if err != nil {
		return acs.DoorEvent{}, err
	}
	if held.id > 0 {
		de.Card, de.Credential = held.card, idSegment(held.id)
	}
	return de, nil
}

// eventCardTTL is how long the card of a user seen in events is cached.
const eventCardTTL = time.Minute

// userCards caches the card credential of users seen in events.
type userCards struct {
	mu sync.Mutex
	m  map[int64]heldCard
}

// heldCard is a user's only card credential (id 0: none, or several).
type heldCard struct {
	id   int64
	card acs.Card
	at   time.Time
}

// userCard returns the card credential of a user: the activity rows the
// notes record carry no card number (§1.7), so the card of a card decision
// is the user's card credential when the user holds exactly one (visitors
// hold one) in a recognised format. A user or credential deleted since
// (a revoked visit) leaves the event without a card. Cached for a minute.
func (p *Provider) userCard(ctx context.Context, op string, uid int64) (heldCard, error) {
	now := p.now()
	p.evCards.mu.Lock()
	h, ok := p.evCards.m[uid]
	p.evCards.mu.Unlock()
	if ok && now.Sub(h.at) < eventCardTTL {
		return h, nil
	}
	if err := p.ensureFormats(ctx, op); err != nil {
		return heldCard{}, err
	}
	creds, _, err := p.userCredentials(ctx, op, uid)
	if err != nil {
		return heldCard{}, err
	}
	h = heldCard{at: now}
	n := 0
	for _, c := range creds {
		if card, ok := p.cardOf(c.Card); ok {
			h.id, h.card = int64(c.ID), card
			n++
		}
	}
	if n != 1 {
		h.id, h.card = 0, acs.Card{}
	}
	p.evCards.mu.Lock()
	if p.evCards.m == nil || len(p.evCards.m) > 10000 {
		p.evCards.m = map[int64]heldCard{}
	}
	p.evCards.m[uid] = h
	p.evCards.mu.Unlock()
	return h, nil
}
