package netbox

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Event polling defaults.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = time.Minute
	// DefaultLookBack is how far back Events starts with an empty cursor.
	DefaultLookBack = 24 * time.Hour
	// DefaultLookBackRecords bounds how many records before the newest an
	// empty cursor reads to find the look-back's start.
	DefaultLookBackRecords = 10000
)

// eventPage is the MAXRECORDS of one GetAccessHistory.
const eventPage = 500

// personCacheTTL is how long a person's card is reused for events.
const personCacheTTL = time.Minute

// EventOptions tune Events. Zero fields take the defaults.
type EventOptions struct {
	// Interval is how often Events asks for new records once it has
	// caught up (default DefaultPollInterval).
	Interval time.Duration
	// BackoffMin and BackoffMax bound the wait after a failed poll:
	// BackoffMin, doubling after each failure in a row up to BackoffMax,
	// less a random part of up to a quarter (defaults DefaultBackoffMin and
	// DefaultBackoffMax).
	BackoffMin, BackoffMax time.Duration
	// LookBack and LookBackRecords place an empty cursor: at most
	// LookBackRecords records before the newest, skipping records older
	// than LookBack (defaults DefaultLookBack and DefaultLookBackRecords).
	LookBack        time.Duration
	LookBackRecords int64
}

// withDefaults fills the zero fields and checks the others.
func (e EventOptions) withDefaults() (EventOptions, error) {
	if e.Interval < 0 || e.BackoffMin < 0 || e.BackoffMax < 0 || e.LookBack < 0 || e.LookBackRecords < 0 {
		return e, errors.New("values must not be negative")
	}
	e.Interval = cmp.Or(e.Interval, DefaultPollInterval)
	e.BackoffMin = cmp.Or(e.BackoffMin, DefaultBackoffMin)
	e.BackoffMax = cmp.Or(e.BackoffMax, DefaultBackoffMax)
	e.LookBack = cmp.Or(e.LookBack, DefaultLookBack)
	e.LookBackRecords = cmp.Or(e.LookBackRecords, DefaultLookBackRecords)
	if e.BackoffMax < e.BackoffMin {
		return e, errors.New("BackoffMax is below BackoffMin")
	}
	return e, nil
}

// WithEvents tunes Events, the polling source of door events (see
// EventOptions).
func WithEvents(e EventOptions) Option {
	return func(o *options) {
		var err error
		if o.events.EventOptions, err = e.withDefaults(); err != nil {
			o.invalid("WithEvents: %w", err)
		}
	}
}

// eventSettings configure Events: the options, the reader directions, and
// how it waits.
type eventSettings struct {
	EventOptions
	directions map[string]acs.Direction
	// ticks, when set, makes Events poll on each value received instead
	// of on a ticker (tests step it).
	ticks  <-chan time.Time
	sleep  func(ctx context.Context, d time.Duration) error // the back-off wait
	jitter func() float64                                   // the back-off's jitter source; nil: random
}

func defaultEventSettings() eventSettings {
	e, _ := EventOptions{}.withDefaults()
	return eventSettings{EventOptions: e, sleep: acshttp.Sleep}
}

// WithDoorDirection marks a reader (its READERKEY, as GetAccessHistory
// names it) as an entry (acs.DirectionIn) or exit (acs.DirectionOut)
// reader. Access records carry no direction, so door events carry the
// direction configured for their reader, or acs.DirectionUnknown.
func WithDoorDirection(readerKey string, d acs.Direction) Option {
	return func(o *options) {
		if readerKey == "" || xmlText(readerKey) != nil || strings.TrimSpace(readerKey) != readerKey {
			o.invalid("WithDoorDirection: reader key %q is empty or not XML text", truncate(readerKey))
		}
		if d != acs.DirectionIn && d != acs.DirectionOut && d != acs.DirectionUnknown {
			o.invalid("WithDoorDirection: unknown direction %d", int(d))
		}
		if o.events.directions == nil {
			o.events.directions = map[string]acs.Direction{}
		}
		o.events.directions[readerKey] = d
	}
}

// Events implements acs.EventSource by polling the access log,
// GetAccessHistory with AFTERLOGID, and delivers each access record to
// fn, oldest first, one at a time (a slow fn slows the polling; at most
// one page of 500 records is held). It returns when ctx ends (Canceled),
// fn fails (its error, unchanged), the provider is closed (Unavailable),
// or the controller refuses the poll for good (the error's code says
// why). Transport failures and unclassified answers are retried after a
// back-off (EventOptions), resuming after the last record read, so no
// record is delivered twice within one call.
//
// The cursor is the record's LOGID in decimal. The controller's log IDs
// grow one by one (NEXTLOGID is the last LOGID plus one in a live 6.2.0
// walk); whether AFTERLOGID is inclusive is not documented, so each poll
// sends AFTERLOGID set to the last LOGID read and drops records at or
// before it, which is right either way. With an empty cursor, the newest
// LOGID is read first (GetAccessHistory without AFTERLOGID answers newest
// first) and delivery starts at most EventOptions.LookBackRecords before
// it, skipping records older than EventOptions.LookBack (24 hours by
// default): the
// live controller was seen not to filter by date while paging by LOGID,
// so dates are not sent.
//
// Mapping of an ACCESS record: Cursor is LOGID; Time is DTTM (NODEDTTM
// when DTTM is empty) read in the controller's time zone; DoorID is
// PORTALKEY (or "reader:" + READERKEY when the record has none) and
// DoorName is READER; Granted is true when the record carries no REASON
// code (REASON empty or 0): an invalid access carries one, and the TYPE
// values are not public; Cardholder.ID is PERSONID and, when it has
// Config.PersonIDPrefix, Cardholder.ExternalID the rest. ACCESS records
// name no card: the card (and the Credential ID) is the person's only
// credential whose format Config.Layouts maps, read with GetPerson
// (cached for a minute) for people this SDK created; for others, or a
// person holding several such credentials, the event carries no card.
// Direction comes from WithDoorDirection.
func (p *Provider) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "nil event function")
	}
	pos, err := parseCursor(cursor)
	if err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-pctx.Done():
		}
	}()
	return p.eventLoop(ctx, pctx, op, &pos, fn)
}

// eventLoop polls until ctx or pctx (which also ends on Close) ends.
func (p *Provider) eventLoop(ctx, pctx context.Context, op string, pos *position, fn func(acs.DoorEvent) error) error {
	ended := func() error {
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		return errClosed(op)
	}
	ticks := p.ev.ticks
	if ticks == nil {
		t := time.NewTicker(p.ev.Interval)
		defer t.Stop()
		ticks = t.C
	}
	backoff := acshttp.Backoff{Min: p.ev.BackoffMin, Max: p.ev.BackoffMax, Rand: p.ev.jitter}
	for {
		err := p.poll(pctx, op, pos, fn)
		var fe fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case pctx.Err() != nil:
			return ended()
		case err == nil:
			backoff.Reset()
			select {
			case <-pctx.Done():
				return ended()
			case <-ticks:
			}
			continue
		case acs.CodeOf(err) != acs.Unknown && !acs.IsRetryable(err):
			return err
		}
		delay := backoff.Next()
		p.log.LogAttrs(ctx, slog.LevelWarn, "netbox event poll failed; retrying", slog.String("error", err.Error()), slog.Duration("backoff", delay))
		if err := p.ev.sleep(pctx, delay); err != nil || pctx.Err() != nil {
			return ended()
		}
	}
}

// fnError carries the error of the caller's function out of a poll.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// position is where Events is in the log: after LOGID last; floor, when
// set, skips older records (the look-back of an empty cursor).
type position struct {
	last    int64
	started bool
	floor   time.Time
}

func parseCursor(s string) (position, error) {
	if s == "" {
		return position{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return position{}, errors.New("cursor is not a NetBox LOGID (a decimal number)")
	}
	return position{last: n, started: true}, nil
}

// start places an empty cursor: at most lookBackRecords before the newest
// record, skipping records older than the look-back.
func (p *Provider) start(ctx context.Context, op string, pos *position) error {
	a, err := p.do(ctx, request{op: op, command: "GetAccessHistory", params: []param{pv("MAXRECORDS", "1")}, idempotent: true})
	if err != nil && !absent(err) {
		return err
	}
	var newest int64
	for _, r := range a.details.child("ACCESSES").children("ACCESS") {
		if n, err := strconv.ParseInt(r.str("LOGID"), 10, 64); err == nil && n > newest {
			newest = n
		}
	}
	pos.last = max(newest-p.ev.LookBackRecords, 0)
	pos.floor = p.now().Add(-p.ev.LookBack)
	pos.started = true
	return nil
}

// poll reads and delivers every record after pos.
func (p *Provider) poll(ctx context.Context, op string, pos *position, fn func(acs.DoorEvent) error) error {
	if !pos.started {
		if err := p.start(ctx, op, pos); err != nil {
			return err
		}
	}
	for {
		a, err := p.do(ctx, request{op: op, command: "GetAccessHistory", idempotent: true,
			params: []param{pv("AFTERLOGID", strconv.FormatInt(pos.last, 10)), pv("MAXRECORDS", strconv.Itoa(eventPage))}})
		if absent(err) {
			return nil // nothing new: 6.2.0 answers an empty log so
		}
		if err != nil {
			return err
		}
		recs := a.details.child("ACCESSES").children("ACCESS")
		before := pos.last
		if err := p.deliver(ctx, op, pos, recs, fn); err != nil {
			return err
		}
		if len(recs) < eventPage || pos.last == before {
			return nil
		}
	}
}

// deliver hands the records after pos to fn in LOGID order.
func (p *Provider) deliver(ctx context.Context, op string, pos *position, recs []*xnode, fn func(acs.DoorEvent) error) error {
	type rec struct {
		id int64
		n  *xnode
	}
	var fresh []rec
	for _, r := range recs {
		if id, err := strconv.ParseInt(r.str("LOGID"), 10, 64); err == nil && id > pos.last {
			fresh = append(fresh, rec{id, r})
		}
	}
	slices.SortFunc(fresh, func(a, b rec) int { return int(min(max(a.id-b.id, -1), 1)) })
	for i, r := range fresh {
		if i > 0 && r.id == fresh[i-1].id {
			continue
		}
		ev, err := p.doorEvent(ctx, op, r.id, r.n)
		if err != nil {
			return err
		}
		pos.last = r.id
		if !pos.floor.IsZero() && ev.Time.Before(pos.floor) {
			continue
		}
		if err := fn(ev); err != nil {
			return fnError{err}
		}
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
	return nil
}

// doorEvent maps one ACCESS record.
func (p *Provider) doorEvent(ctx context.Context, op string, id int64, r *xnode) (acs.DoorEvent, error) {
	ev := acs.DoorEvent{Cursor: strconv.FormatInt(id, 10), DoorName: r.raw("READER")}
	stamp := r.str("DTTM")
	if stamp == "" {
		stamp = r.str("NODEDTTM")
	}
	ev.Time, _ = p.parseTime(stamp)
	ev.DoorID = r.str("PORTALKEY")
	if ev.DoorID == "" {
		ev.DoorID = "reader:" + r.str("READERKEY")
	}
	reason := r.str("REASON")
	ev.Granted = reason == "" || reason == "0"
	ev.Direction = p.ev.directions[r.str("READERKEY")]
	pid := r.str("PERSONID")
	ev.Cardholder.ID = pid
	if ext, ok := strings.CutPrefix(pid, p.cfg.PersonIDPrefix); ok && pid != "" && acs.ValidateExternalID(ext) == nil {
		ev.Cardholder.ExternalID = ext
		pc, err := p.personCard(ctx, op, pid)
		if err != nil {
			return ev, err
		}
		ev.Card, ev.Credential = pc.card, pc.credID
	}
	return ev, nil
}

// personCards caches the card of a person for events.
type personCards struct {
	at     time.Time
	card   acs.Card
	credID string
}

type peopleCache struct {
	mu sync.Mutex
	m  map[string]personCards
}

// personCard returns the person's only credential that a Layout maps (a
// zero card when there is none or several).
func (p *Provider) personCard(ctx context.Context, op, id string) (personCards, error) {
	now := p.now()
	p.evPeople.mu.Lock()
	pc, ok := p.evPeople.m[id]
	p.evPeople.mu.Unlock()
	if ok && now.Sub(pc.at) < personCacheTTL {
		return pc, nil
	}
	r, err := p.getPerson(ctx, op, id)
	if err != nil {
		return personCards{}, err
	}
	pc = personCards{at: now}
	n := 0
	for _, c := range r.cardsOrNil() {
		if card, ok := p.cardOf(c.format, c.encoded); ok && card != pc.card {
			pc.card, pc.credID = card, c.id
			n++
		}
	}
	if n != 1 {
		pc.card, pc.credID = acs.Card{}, ""
	}
	p.evPeople.mu.Lock()
	if len(p.evPeople.m) >= 10000 {
		clear(p.evPeople.m)
	}
	p.evPeople.m[id] = pc
	p.evPeople.mu.Unlock()
	return pc, nil
}

func (r *personRec) cardsOrNil() []cardRec {
	if r == nil {
		return nil
	}
	return r.cards
}
