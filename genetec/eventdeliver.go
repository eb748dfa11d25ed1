package genetec

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

const (
	// maxReportDoors is how many doors one DoorActivity request names.
	maxReportDoors = 50
	// cacheTTL bounds how stale a cached credential, cardholder or door
	// list may be.
	cacheTTL = 15 * time.Minute
	// doorRefresh is the least time between two door listings caused by
	// events naming a door the adapter does not know.
	doorRefresh = time.Minute
	// maxCached bounds each cache.
	maxCached = 8192
)

// deliver hands events to the caller's function in the given order,
// skipping those already delivered: any event seen in this call, and,
// for report rows, what the position counts as delivered. Card, door and
// cardholder data are resolved for the whole batch first.
func (r *eventRun) deliver(ctx context.Context, evs []rawEvent, fromReport bool) error {
	todo := evs[:0:0]
	for _, e := range evs {
		if r.seen.has(e.key) || fromReport && r.pos.delivered(e.sec, e.key) {
			continue
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return nil
	}
	if err := r.p.resolve(ctx, todo); err != nil {
		return err
	}
	for _, e := range todo {
		if r.seen.has(e.key) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		de := r.p.doorEvent(e)
		r.seen.add(e.key)
		r.pos.add(e.sec, e.key)
		de.Cursor = r.pos.encode()
		if err := r.fn(de); err != nil {
			return &fnError{err}
		}
	}
	return nil
}

// catchUp delivers, from report/DoorActivity, the events since the
// position that the stream did not carry: those that happened before the
// subscription. The range runs to the adapter's clock plus reportSlack, in
// windows of at most ReportWindow.
func (r *eventRun) catchUp(ctx context.Context) error {
	doors, err := r.p.doorIDs(ctx)
	if err != nil || len(doors) == 0 {
		return err
	}
	now := r.p.now()
	start := time.Unix(r.pos.lo, 0).UTC()
	end := now.Add(reportSlack).Truncate(time.Second)
	for start.Before(end) {
		stop := start.Add(r.p.events.ReportWindow)
		if stop.After(end) {
			stop = end
		}
		if err := r.catchUpWindow(ctx, doors, start, stop); err != nil {
			return err
		}
		start = stop
	}
	// The report had everything up to now; keep the margin of the cursor
	// window for events the server records late, and start the next
	// catch-up of this call from there rather than from the old position.
	r.pos.advance(now.Unix() - cursorWindow)
	return nil
}

// catchUpWindow reads one window for every door and delivers it in time
// order. A window the server answers with TooManyResults is split in
// two (each half read and delivered on its own), down to one second.
func (r *eventRun) catchUpWindow(ctx context.Context, doors []guid, from, to time.Time) error {
	const op = "events"
	var rows []rawEvent
	for i := 0; i < len(doors); i += maxReportDoors {
		batch := doors[i:min(i+maxReportDoors, len(doors))]
		res, status, err := r.p.doorActivity(ctx, batch, from, to)
		if err != nil {
			return err
		}
		if strings.EqualFold(status, statusTooManyResults) {
			if span := to.Sub(from); span > time.Second {
				mid := from.Add(span / 2).Truncate(time.Second)
				if err := r.catchUpWindow(ctx, doors, from, mid); err != nil {
					return err
				}
				return r.catchUpWindow(ctx, doors, mid, to)
			}
			r.p.log.WarnContext(ctx, "genetec: the DoorActivity report truncated one second of events; some may be missing",
				"from", from, "rows", len(res))
		} else if !isOk(status) {
			r.p.log.WarnContext(ctx, "genetec: the DoorActivity report answered "+status+"; some events may be missing", "from", from)
		}
		rows = append(rows, res...)
	}
	slices.SortFunc(rows, func(a, b rawEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	if len(rows) > 0 {
		r.p.log.DebugContext(ctx, "genetec: catching up door events", "op", op, "from", from, "to", to, "rows", len(rows))
	}
	return r.deliver(ctx, rows, true)
}

// doorActivity runs report/DoorActivity for some doors over [from, to].
func (p *Provider) doorActivity(ctx context.Context, doors []guid, from, to time.Time) ([]rawEvent, string, error) {
	const op = "events"
	var q qBuilder
	q.item("Doors")
	for _, d := range doors {
		q.b.WriteString("@" + d.Hex())
	}
	q.item("TimeRange.SetTimeRange(", wireTime(from), ",", wireTime(to), ")")
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/DoorActivity", q: q.String()})
	if err != nil {
		return nil, "", err
	}
	var ws []wireEvent
	if r := bytes.TrimSpace(env.Result); len(r) > 0 && string(r) != "null" {
		if ws, err = decodeWireEvents(r); err != nil {
			return nil, "", acs.Wrap(op, Name, acs.Unknown, err)
		}
	}
	out := make([]rawEvent, 0, len(ws))
	skipped := 0
	for i := range ws {
		e, ok, err := ws[i].event()
		if err != nil {
			skipped++
		}
		if ok {
			out = append(out, e)
		}
	}
	if skipped > 0 {
		p.log.WarnContext(ctx, "genetec: skipped DoorActivity rows the adapter could not read", "rows", skipped)
	}
	return out, env.Status, nil
}

// entityCache holds what events need from Security Center: door names,
// and the card and cardholder of credentials, and the external ID of
// cardholders. Entries expire after cacheTTL. Safe for concurrent use.
type entityCache struct {
	mu         sync.Mutex
	creds      map[guid]credMeta
	holders    map[guid]holderMeta
	doors      map[guid]string
	doorIDs    []guid
	doorsAt    time.Time // when doors and doorIDs were listed
	doorsTried time.Time // when a listing was last attempted
}

type credMeta struct {
	at     time.Time
	card   acs.Card
	holder guid
}

type holderMeta struct {
	at  time.Time
	ext string
}

func fresh(at, now time.Time) bool { return !at.IsZero() && now.Sub(at) < cacheTTL }

// trim keeps a cache map within maxCached entries, dropping expired ones
// first and then arbitrary ones.
func trim[V any](m map[guid]V, now time.Time, at func(V) time.Time) {
	if len(m) < maxCached {
		return
	}
	for k, v := range m {
		if !fresh(at(v), now) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxCached/2 {
			break
		}
		delete(m, k)
	}
}

// doorIDs returns every door, listing them when the list is older than
// cacheTTL.
func (p *Provider) doorIDs(ctx context.Context) ([]guid, error) {
	now := p.now()
	p.cache.mu.Lock()
	if fresh(p.cache.doorsAt, now) {
		ids := p.cache.doorIDs
		p.cache.mu.Unlock()
		return ids, nil
	}
	p.cache.mu.Unlock()
	return p.listDoors(ctx, now)
}

func (p *Provider) listDoors(ctx context.Context, now time.Time) ([]guid, error) {
	p.cache.mu.Lock()
	p.cache.doorsTried = now
	p.cache.mu.Unlock()
	ids, names, err := p.listNamed(ctx, "events", "Door", "door")
	if err != nil {
		return nil, err
	}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	p.cache.doorIDs, p.cache.doors, p.cache.doorsAt = ids, names, now
	return ids, nil
}

// resolve makes sure the cache knows the doors, credentials and
// cardholders of the events, with at most one door listing and two
// batched entity reads. Transient failures are returned (the events are
// then caught up after reconnecting); other failures leave the events
// without that data and are cached as unknown for cacheTTL.
func (p *Provider) resolve(ctx context.Context, evs []rawEvent) error {
	now := p.now()
	relist, creds, holders := p.cache.missing(evs, now)
	if relist {
		if _, err := p.listDoors(ctx, now); err != nil {
			if acs.IsRetryable(err) || ctx.Err() != nil {
				return err
			}
			p.log.WarnContext(ctx, "genetec: listing doors failed; events go without door names", "error", err)
		}
	}
	if len(creds)+len(holders) == 0 {
		return nil
	}
	more, err := p.readCredentials(ctx, creds, holders, now)
	if err != nil || len(more) == 0 {
		return err
	}
	return p.readHolders(ctx, more, now)
}

// missing returns what the cache lacks for evs: whether the doors should
// be listed again (an unknown door, and no listing for doorRefresh), and
// the credentials and cardholders not known or not fresh, each once.
func (c *entityCache) missing(evs []rawEvent, now time.Time) (relist bool, creds, holders []guid) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil {
		c.creds, c.holders = map[guid]credMeta{}, map[guid]holderMeta{}
	}
	unknownDoor := false
	for _, e := range evs {
		if _, ok := c.doors[e.door]; !ok {
			unknownDoor = true
		}
		if e.cred != zeroGUID && !fresh(c.creds[e.cred].at, now) && !slices.Contains(creds, e.cred) {
			creds = append(creds, e.cred)
		}
		if e.holder != zeroGUID && !fresh(c.holders[e.holder].at, now) && !slices.Contains(holders, e.holder) {
			holders = append(holders, e.holder)
		}
	}
	relist = unknownDoor && (c.doorsTried.IsZero() || now.Sub(c.doorsTried) >= doorRefresh)
	return relist, creds, holders
}

// readCredentials reads creds and holders in one batched read and caches
// them. It returns the cardholders of those credentials that are neither
// cached nor among holders: the second read.
func (p *Provider) readCredentials(ctx context.Context, creds, holders []guid, now time.Time) (more []guid, err error) {
	const op = "events"
	segs := make([]readSeg, 0, len(creds)+len(holders))
	for _, c := range creds {
		segs = append(segs, readSeg{c, []string{"Guid", "Name", "CardholderGuid"}})
	}
	for _, h := range holders {
		segs = append(segs, readSeg{h, []string{"Guid", "Name"}})
	}
	objs, err := p.readSome(ctx, op, segs)
	if err != nil {
		return nil, p.lookupFailed(ctx, err, creds, holders, now)
	}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	for _, c := range creds {
		m := credMeta{at: now}
		if o, ok := objs[c]; ok {
			m.card, _ = cardFromName(o.str("Name"))
			m.holder, _ = o.guid("CardholderGuid")
			if m.holder != zeroGUID && !fresh(p.cache.holders[m.holder].at, now) && !slices.Contains(holders, m.holder) && !slices.Contains(more, m.holder) {
				more = append(more, m.holder)
			}
		}
		p.cache.creds[c] = m
	}
	p.storeHolders(holders, objs, now)
	trim(p.cache.creds, now, func(m credMeta) time.Time { return m.at })
	return more, nil
}

// readHolders reads the cardholders in one batched read and caches them.
func (p *Provider) readHolders(ctx context.Context, holders []guid, now time.Time) error {
	const op = "events"
	segs := make([]readSeg, 0, len(holders))
	for _, h := range holders {
		segs = append(segs, readSeg{h, []string{"Guid", "Name"}})
	}
	objs, err := p.readSome(ctx, op, segs)
	if err != nil {
		return p.lookupFailed(ctx, err, nil, holders, now)
	}
	p.cache.mu.Lock()
	p.storeHolders(holders, objs, now)
	p.cache.mu.Unlock()
	return nil
}

// storeHolders caches the external IDs read; the caller holds the lock.
func (p *Provider) storeHolders(ids []guid, objs map[guid]object, now time.Time) {
	for _, h := range ids {
		m := holderMeta{at: now}
		if o, ok := objs[h]; ok {
			m.ext, _ = externalIDFromName(o.str("Name"))
		}
		p.cache.holders[h] = m
	}
	trim(p.cache.holders, now, func(m holderMeta) time.Time { return m.at })
}

func (p *Provider) lookupFailed(ctx context.Context, err error, creds, holders []guid, now time.Time) error {
	if acs.IsRetryable(err) || ctx.Err() != nil {
		return err
	}
	p.log.WarnContext(ctx, "genetec: reading credentials or cardholders for door events failed; those events go without card or external ID",
		"error", err, "credentials", len(creds), "cardholders", len(holders))
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	for _, c := range creds {
		p.cache.creds[c] = credMeta{at: now}
	}
	for _, h := range holders {
		p.cache.holders[h] = holderMeta{at: now}
	}
	return nil
}

// readSome is read that tolerates deleted entities: those the Web SDK
// confirms absent are simply left out of the result (see readPresent).
func (p *Provider) readSome(ctx context.Context, op string, segs []readSeg) (map[guid]object, error) {
	objs, _, err := p.readPresent(ctx, op, segs)
	return objs, err
}

// doorEvent builds the caller's event from the cache.
func (p *Provider) doorEvent(e rawEvent) acs.DoorEvent {
	de := acs.DoorEvent{Time: e.at, DoorID: e.door.String(), Granted: e.granted, Direction: acs.DirectionUnknown}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	de.DoorName = p.cache.doors[e.door]
	holder := e.holder
	if e.cred != zeroGUID {
		de.Credential = e.cred.String()
		m := p.cache.creds[e.cred]
		de.Card = m.card
		if holder == zeroGUID {
			holder = m.holder
		}
	}
	if holder != zeroGUID {
		de.Cardholder = acs.CardholderRef{ID: holder.String(), ExternalID: p.cache.holders[holder].ext}
	}
	return de
}
