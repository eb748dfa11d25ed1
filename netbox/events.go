package netbox

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Event polling defaults.
const (
	DefaultEventPollInterval = 5 * time.Second
	DefaultEventBackoffMin   = time.Second
	DefaultEventBackoffMax   = time.Minute
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

type eventSettings struct {
	every, backoffMin, backoffMax time.Duration
	ticks                         <-chan time.Time
	sleep                         func(ctx context.Context, d time.Duration) error
	lookBack                      time.Duration
	lookBackRecords               int64
	directions                    map[string]acs.Direction
}

func defaultEventSettings() eventSettings {
	return eventSettings{every: DefaultEventPollInterval, backoffMin: DefaultEventBackoffMin, backoffMax: DefaultEventBackoffMax,
		sleep: sleepCtx, lookBack: DefaultLookBack, lookBackRecords: DefaultLookBackRecords}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithEventPolling sets how often Events asks for new records once it has
// caught up (default DefaultEventPollInterval).
func WithEventPolling(interval time.Duration) Option {
	return func(s *settings) error {
		if interval <= 0 {
			return errors.New("WithEventPolling: interval must be positive")
		}
		s.events.every = interval
		return nil
	}
}

// WithEventTicks makes Events poll on each value received from ch instead
// of on a ticker, so that tests can step it.
func WithEventTicks(ch <-chan time.Time) Option {
	return func(s *settings) error {
		if ch == nil {
			return errors.New("WithEventTicks: nil channel")
		}
		s.events.ticks = ch
		return nil
	}
}

// WithEventBackoff sets how long Events waits after a failed poll: min,
// doubling up to max. sleep, when not nil, does the waiting (it must
// return early with ctx's error when ctx ends).
func WithEventBackoff(min, max time.Duration, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *settings) error {
		if min <= 0 || max < min {
			return errors.New("WithEventBackoff: need 0 < min ≤ max")
		}
		s.events.backoffMin, s.events.backoffMax = min, max
		if sleep != nil {
			s.events.sleep = sleep
		}
		return nil
	}
}

// WithEventLookBack sets where Events starts with an empty cursor: at
// most records records before the newest, skipping those older than d
// (defaults DefaultLookBackRecords and DefaultLookBack).
func WithEventLookBack(d time.Duration, records int64) Option {
	return func(s *settings) error {
		if d <= 0 || records <= 0 {
			return errors.New("WithEventLookBack: duration and records must be positive")
		}
		s.events.lookBack, s.events.lookBackRecords = d, records
		return nil
	}
}

// WithReaderDirections marks readers (by READERKEY) as entry or exit
// readers; door events at other readers have DirectionUnknown.
func WithReaderDirections(m map[string]acs.Direction) Option {
	return func(s *settings) error {
		s.events.directions = make(map[string]acs.Direction, len(m))
		for k, v := range m {
			s.events.directions[k] = v
		}
		return nil
	}
}

// Events implements acs.EventSource by polling the access log,
// GetAccessHistory with AFTERLOGID, and delivers each access record to
// fn, oldest first, one at a time (a slow fn slows the polling; at most
// one page of 500 records is held). It returns when ctx ends (Canceled),
// fn fails (its error, unchanged), the provider is closed (Unavailable),
// or the controller refuses the poll for good (the error's code says
// why). Transport failures and unclassified answers are retried after a
// back-off (WithEventBackoff), resuming after the last record read, so no
// record is delivered twice within one call.
//
// The cursor is the record's LOGID in decimal. The controller's log IDs
// grow one by one (NEXTLOGID is the last LOGID plus one in a live 6.2.0
// walk); whether AFTERLOGID is inclusive is not documented, so each poll
// sends AFTERLOGID set to the last LOGID read and drops records at or
// before it, which is right either way. With an empty cursor, the newest
// LOGID is read first (GetAccessHistory without AFTERLOGID answers newest
// first) and delivery starts at most WithEventLookBack's records before
// it, skipping records older than its duration (24 hours by default): the
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
// Direction comes from WithReaderDirections.
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
		t := time.NewTicker(p.ev.every)
		defer t.Stop()
		ticks = t.C
	}
	var delay time.Duration
	for {
		err := p.poll(pctx, op, pos, fn)
		var fe fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case pctx.Err() != nil:
			return ended()
		case err == nil:
			delay = 0
			select {
			case <-pctx.Done():
				return ended()
			case <-ticks:
			}
			continue
		case acs.CodeOf(err) != acs.Unknown && !acs.IsRetryable(err):
			return err
		}
		delay = min(max(2*delay, p.ev.backoffMin), p.ev.backoffMax)
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
	pos.last = max(newest-p.ev.lookBackRecords, 0)
	pos.floor = p.now().Add(-p.ev.lookBack)
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
