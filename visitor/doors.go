package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
)

// ActorACS is the actor of what the access control system reported: door
// events and the arrivals they mark.
const ActorACS = "acs"

// DefaultLinkAfterRelease is how long after a pool badge went back to the
// pool a swipe of it still links to the visit that held it, when
// DoorPolicy.LinkAfterRelease is zero.
const DefaultLinkAfterRelease = time.Hour

// doorClockSkew is how far a door event's time may precede the assignment
// of the pool badge it names and still link to that assignment: the ACS
// clock and the VMS clock differ.
const doorClockSkew = 5 * time.Minute

// recentDoorKeys is how many of a visit's latest door events are
// remembered (DoorActivity.Recent) so that re-delivered events are
// recognised.
const recentDoorKeys = 16

// DoorPolicy says what door events do at a location (Policy.Doors).
type DoorPolicy struct {
	// MarkArrival signs in an invited or expected visit at its first
	// granted entry: a granted door event that is not an exit (DirectionIn
	// or DirectionUnknown). The sign-in is a transition like any other,
	// audited as ActSignIn by ActorACS with the door, and SignedInAt is
	// the event's time (no later than now).
	MarkArrival bool `json:"mark_arrival,omitempty"`
	// ArrivalDoors limits the doors (acs.DoorEvent.DoorID) whose granted
	// entries mark arrival, such as the lobby turnstiles; empty means
	// every door.
	ArrivalDoors []string `json:"arrival_doors,omitempty"`
	// LinkAfterRelease is how long after a pool badge went back to the
	// pool (its revocation was confirmed) a swipe of it still links to the
	// visit that held it, so that "denied after sign-out" shows in that
	// visit's timeline. Zero means DefaultLinkAfterRelease.
	LinkAfterRelease time.Duration `json:"link_after_release,omitempty"`
}

func (p *DoorPolicy) validate() error {
	if p.LinkAfterRelease < 0 {
		return errors.New("visitor: negative door link-after-release period")
	}
	if slices.Contains(p.ArrivalDoors, "") {
		return errors.New("visitor: door policy lists an empty arrival door")
	}
	return nil
}

func (p *DoorPolicy) linkAfterRelease() time.Duration {
	if p.LinkAfterRelease > 0 {
		return p.LinkAfterRelease
	}
	return DefaultLinkAfterRelease
}

// marksArrival reports whether ev is an entry that signs in an invited or
// expected visit under p.
func (p *DoorPolicy) marksArrival(ev *acs.DoorEvent) bool {
	return p.MarkArrival && ev.Granted && ev.Direction != acs.DirectionOut &&
		(len(p.ArrivalDoors) == 0 || slices.Contains(p.ArrivalDoors, ev.DoorID))
}

// DoorSighting is one door event as recorded on a visit and in its audit
// trail: where and when the visitor's credential was presented, whether the
// door opened and which way.
type DoorSighting struct {
	// Location is the location whose ACS reported the event.
	Location string `json:"location"`
	DoorID   string `json:"door_id"`
	DoorName string `json:"door_name,omitempty"`
	// Time is the event's time as the ACS reported it.
	Time      time.Time     `json:"time"`
	Granted   bool          `json:"granted"`
	Direction acs.Direction `json:"direction"`
	// Card is the card data presented, when the ACS reported it.
	Card acs.Card `json:"card,omitzero"`
	// Cursor is the event's position in the ACS's event stream.
	Cursor string `json:"cursor,omitempty"`
}

// IsZero reports whether s is the zero DoorSighting (no event).
func (s DoorSighting) IsZero() bool { return s.Time.IsZero() && s.DoorID == "" }

// String formats s as "granted in at door D1 (Lobby) 09:05:00Z".
func (s DoorSighting) String() string {
	if s.IsZero() {
		return "never seen"
	}
	what := "denied"
	if s.Granted {
		what = "granted"
	}
	door := s.DoorID
	if s.DoorName != "" {
		door += " (" + s.DoorName + ")"
	}
	return what + " " + s.Direction.String() + " at door " + door + " " + s.Time.UTC().Format(time.RFC3339)
}

// doorSightingJSON is DoorSighting with the direction spelled out.
type doorSightingJSON struct {
	Location  string    `json:"location"`
	DoorID    string    `json:"door_id"`
	DoorName  string    `json:"door_name,omitempty"`
	Time      time.Time `json:"time"`
	Granted   bool      `json:"granted"`
	Direction string    `json:"direction"`
	Card      acs.Card  `json:"card,omitzero"`
	Cursor    string    `json:"cursor,omitempty"`
}

// MarshalJSON writes the direction as "in", "out" or "unknown".
func (s DoorSighting) MarshalJSON() ([]byte, error) {
	return json.Marshal(doorSightingJSON{
		Location: s.Location, DoorID: s.DoorID, DoorName: s.DoorName, Time: s.Time,
		Granted: s.Granted, Direction: s.Direction.String(), Card: s.Card, Cursor: s.Cursor,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *DoorSighting) UnmarshalJSON(b []byte) error {
	var j doorSightingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = DoorSighting{
		Location: j.Location, DoorID: j.DoorID, DoorName: j.DoorName, Time: j.Time,
		Granted: j.Granted, Direction: parseDirection(j.Direction), Card: j.Card, Cursor: j.Cursor,
	}
	return nil
}

func parseDirection(s string) acs.Direction {
	switch s {
	case "in":
		return acs.DirectionIn
	case "out":
		return acs.DirectionOut
	}
	return acs.DirectionUnknown
}

// DoorActivity is what door events told about a visit (Visit.Doors).
type DoorActivity struct {
	// Last is the latest door event by time, granted or denied.
	Last DoorSighting `json:"last,omitzero"`
	// LastGranted is the latest granted door event by time; zero when no
	// door ever opened for the visit. Muster decides with it.
	LastGranted DoorSighting `json:"last_granted,omitzero"`
	// Events counts the door events linked to the visit.
	Events int `json:"events,omitempty"`
	// Recent identifies the visit's latest door events (at most 16), so
	// that an event delivered again changes nothing. Once 16 are held, an
	// event older than all of them is taken as delivered before (a replay
	// from an old or lost cursor) and ignored; an offline controller's
	// backlog older than the visit's 16 latest events is therefore not
	// recorded.
	Recent []DoorMark `json:"recent,omitempty"`
}

// DoorMark identifies a door event already recorded on a visit.
type DoorMark struct {
	// Key is the location and the event's cursor (or, for an event
	// without a cursor, its time, door, card and outcome).
	Key  string    `json:"key"`
	Time time.Time `json:"time"`
}

// IsZero reports whether no door event was recorded.
func (a DoorActivity) IsZero() bool { return a.Events == 0 && a.Last.IsZero() && len(a.Recent) == 0 }

// seen reports whether the event with key and time t was recorded already:
// its key is among the recent ones, or the list is full and t precedes all
// of them (an old event replayed from an earlier cursor).
func (a *DoorActivity) seen(key string, t time.Time) bool {
	oldest := time.Time{}
	for _, m := range a.Recent {
		if m.Key == key {
			return true
		}
		if oldest.IsZero() || m.Time.Before(oldest) {
			oldest = m.Time
		}
	}
	return len(a.Recent) >= recentDoorKeys && t.Before(oldest)
}

// add records s under key: Last and LastGranted move only forward in time,
// so a late event (an offline controller's backlog) joins the timeline
// without hiding a newer one.
func (a *DoorActivity) add(key string, s DoorSighting) {
	a.Events++
	if a.Last.IsZero() || !s.Time.Before(a.Last.Time) {
		a.Last = s
	}
	if s.Granted && (a.LastGranted.IsZero() || !s.Time.Before(a.LastGranted.Time)) {
		a.LastGranted = s
	}
	if len(a.Recent) >= recentDoorKeys {
		a.Recent = slices.Delete(a.Recent, 0, len(a.Recent)-recentDoorKeys+1)
	}
	a.Recent = append(a.Recent, DoorMark{Key: key, Time: s.Time})
}

// Inside reports whether the latest granted door event says the visitor
// is inside: one exists and it is not an exit.
func (a DoorActivity) Inside() bool {
	return !a.LastGranted.IsZero() && a.LastGranted.Direction != acs.DirectionOut
}

// doorKey identifies an event for deduplication: the location, a space and
// the cursor; or, without a cursor, the location, a tab and the event's
// content. Locations hold neither spaces nor tabs, so keys never collide.
func doorKey(location string, ev *acs.DoorEvent) string {
	if ev.Cursor != "" {
		return location + " " + ev.Cursor
	}
	return location + "\t" + strconv.FormatInt(ev.Time.UnixNano(), 10) + " " + ev.DoorID + " " +
		ev.Card.String() + " " + strconv.FormatBool(ev.Granted) + " " + ev.Direction.String()
}

// LinkedBy says how a door event was linked to a visit.
type LinkedBy string

// How door events are linked to visits.
const (
	// ByExternalID: the event's cardholder external ID is the visit ID.
	ByExternalID LinkedBy = "external_id"
	// ByCard: the event's card data is that of a credential the visit
	// holds or held (a pool badge, or a number of the location's range).
	ByCard LinkedBy = "card"
)

// DoorResult says what RecordDoorEvent did with an event.
type DoorResult struct {
	// VisitID is the visit the event was linked to; empty when it matched
	// none (it then went to the unmatched handler, if any).
	VisitID  string   `json:"visit_id,omitempty"`
	LinkedBy LinkedBy `json:"linked_by,omitempty"`
	// Duplicate is set when the visit had recorded the event already;
	// nothing changed.
	Duplicate bool `json:"duplicate,omitempty"`
	// Arrived is set when the event signed the visit in (DoorPolicy.MarkArrival).
	Arrived bool `json:"arrived,omitempty"`
	// Visit is the visit after the event (zero when unmatched).
	Visit Visit `json:"-"`
}

// UnmatchedDoorFunc receives the door events of a location that match no
// visit: employees' and contractors' badges, unknown cards. A VMS uses it
// to check employees in by badge swipe. It runs inside the event consumer,
// one event at a time, and may block (slowing the stream, never buffering
// it). An error stops the consumer, which resumes from the last saved
// cursor after a backoff and delivers the event again: delivery is at
// least once, and the event's Cursor identifies it.
type UnmatchedDoorFunc func(ctx context.Context, location string, ev acs.DoorEvent) error

// WithUnmatchedDoorEvents sets the handler of door events that match no
// visit (default: none; they are dropped).
func WithUnmatchedDoorEvents(fn UnmatchedDoorFunc) Option {
	return func(e *Engine) { e.unmatched = fn }
}

// validateDoorEvent checks what linking and recording need.
func validateDoorEvent(op string, ev *acs.DoorEvent) error {
	switch {
	case ev.DoorID == "":
		return refusal(op, acs.InvalidArgument, "door event has no door ID")
	case ev.Time.IsZero():
		return refusal(op, acs.InvalidArgument, "door event at door %s has no time", ev.DoorID)
	case ev.Direction < acs.DirectionUnknown || ev.Direction > acs.DirectionOut:
		return refusal(op, acs.InvalidArgument, "door event at door %s has an unknown direction %d", ev.DoorID, int(ev.Direction))
	}
	return nil
}

// RecordDoorEvent links one door event reported by the ACS of a location
// to a visit and records it; RunDoorEvents calls it for every event, and a
// VMS that receives events by other means (a webhook) may call it itself.
//
// Linking: the event's Cardholder.ExternalID is tried first, since every
// visit is the cardholder with the visit ID as external ID; when it names
// no visit, the event's card data is looked up among the location's pool
// badges (the visit holding the badge at the event's time, or the last one
// to hold it within DoorPolicy.LinkAfterRelease) and among the numbers its
// range has issued, and the visit must have held a credential with that
// card. An event that matches no visit goes to the WithUnmatchedDoorEvents
// handler, whose error RecordDoorEvent returns.
//
// A linked event, in one transaction: becomes an audit record (ActDoor by
// ActorACS, Outcome OK when granted and Denied otherwise, with the
// DoorSighting in AuditRecord.Door and the event's time as Time), updates
// Visit.Doors (last door seen, last granted), and, under
// DoorPolicy.MarkArrival, signs an invited or expected visit in at its
// first granted entry. Recording is idempotent: an event the visit has
// recorded already (same location and cursor) changes nothing and is
// reported as a Duplicate.
//
// An event without a door ID or time, or with an unknown direction, is
// refused as InvalidArgument.
func (e *Engine) RecordDoorEvent(ctx context.Context, location string, ev acs.DoorEvent) (DoorResult, error) {
	const opName = "door_event"
	l := e.locs[location]
	if l == nil {
		return DoorResult{}, refusal(opName, acs.InvalidArgument, "location %q is not configured", location)
	}
	if err := validateDoorEvent(opName, &ev); err != nil {
		return DoorResult{}, err
	}
	v, by, err := e.linkDoorEvent(ctx, l, &ev)
	if err != nil {
		return DoorResult{}, err
	}
	if v.ID == "" {
		if e.unmatched != nil {
			if err := e.unmatched(ctx, location, ev); err != nil {
				return DoorResult{}, fmt.Errorf("visitor: unmatched door event handler: %w", err)
			}
		}
		return DoorResult{}, nil
	}
	key := doorKey(location, &ev)
	res := DoorResult{VisitID: v.ID, LinkedBy: by}
	if v.Doors.seen(key, ev.Time) {
		res.Duplicate, res.Visit = true, v
		return res, nil
	}
	arrive, match := e.arrivalScreen(ctx, opName, v, &ev)
	r := e.newRun(ctx, ActorACS, false)
	out, err := e.store.Update(ctx, v.ID, r.txFunc(func(tx Tx, v *Visit) error {
		res.Arrived = false
		if v.Doors.seen(key, ev.Time) {
			return errUnchanged
		}
		s := DoorSighting{
			Location: location, DoorID: ev.DoorID, DoorName: ev.DoorName, Time: ev.Time,
			Granted: ev.Granted, Direction: ev.Direction, Card: ev.Card, Cursor: ev.Cursor,
		}
		v.Doors.add(key, s)
		if err := r.auditDoor(tx, v, ev, s); err != nil {
			return err
		}
		if !arrive || (v.State != Invited && v.State != Expected) {
			return nil
		}
		res.Arrived = true
		return r.arriveByDoor(tx, v, ev, s, match)
	}))
	if errors.Is(err, errUnchanged) {
		res.Duplicate = true
		out, err = e.store.Visit(ctx, v.ID)
	}
	if err != nil {
		return DoorResult{}, storeErr(opName, err)
	}
	res.Visit = out
	return res, nil
}

// arrivalScreen decides whether the event would mark v's arrival, and
// screens the watchlist for it as a sign-in would, outside the
// transaction since it may call out. An unavailable watchlist fails closed
// for the arrival only: the event is still recorded, and the next granted
// entry tries again.
func (e *Engine) arrivalScreen(ctx context.Context, opName string, v Visit, ev *acs.DoorEvent) (bool, *WatchlistMatch) {
	if v.State != Invited && v.State != Expected || !e.locs[v.Location].Policy.Doors.marksArrival(ev) {
		return false, nil
	}
	if v.Watchlist != nil {
		return true, nil
	}
	match, err := e.screen(ctx, opName, v)
	if err != nil {
		e.log.ErrorContext(ctx, "visitor: watchlist unavailable; arrival by door not marked", "visit", v.ID, "err", err)
		return false, nil
	}
	return true, match
}

// auditDoor records the door event in v's audit trail.
func (r *run) auditDoor(tx Tx, v *Visit, ev acs.DoorEvent, s DoorSighting) error {
	rec := AuditRecord{Time: ev.Time, Action: ActDoor, Outcome: OutcomeDenied, Door: s}
	if ev.Granted {
		rec.Outcome = OutcomeOK
	}
	if c := credentialWithCard(v, ev.Card); c != nil {
		rec.BadgeID = c.BadgeID
	}
	if !ev.Card.IsZero() {
		rec.Card = ev.Card.String()
	}
	return r.audit(tx, v, rec)
}

// arriveByDoor signs v in on its first granted entry, flagging it when the
// watchlist matched.
func (r *run) arriveByDoor(tx Tx, v *Visit, ev acs.DoorEvent, s DoorSighting, match *WatchlistMatch) error {
	from := v.State
	v.State, v.SignedInAt = SignedIn, minTime(ev.Time, r.now)
	if err := r.audit(tx, v, AuditRecord{Action: ActSignIn, From: from, Outcome: OutcomeOK, Door: s}); err != nil {
		return err
	}
	if match != nil {
		mm := *match
		return r.flag(tx, v, &mm)
	}
	return nil
}

// credentialWithCard returns v's latest credential with the card, or nil.
func credentialWithCard(v *Visit, c acs.Card) *Credential {
	if c.IsZero() {
		return nil
	}
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if v.Credentials[i].Card == c {
			return &v.Credentials[i]
		}
	}
	return nil
}

// linkDoorEvent finds the visit of an event: by cardholder external ID, or
// else by card at the event's location. It returns the zero Visit when
// none matches.
func (e *Engine) linkDoorEvent(ctx context.Context, l *Location, ev *acs.DoorEvent) (Visit, LinkedBy, error) {
	if id := ev.Cardholder.ExternalID; id != "" && acs.ValidateExternalID(id) == nil {
		v, err := e.store.Visit(ctx, id)
		switch {
		case err == nil && e.locs[v.Location] != nil:
			return v, ByExternalID, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return Visit{}, "", err
		}
	}
	if ev.Card.IsZero() {
		return Visit{}, "", nil
	}
	id, err := e.cardHolder(ctx, l, ev)
	if err != nil || id == "" {
		return Visit{}, "", err
	}
	v, err := e.store.Visit(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Visit{}, "", nil
	}
	if err != nil {
		return Visit{}, "", err
	}
	if v.Location != l.ID || credentialWithCard(&v, ev.Card) == nil {
		return Visit{}, "", nil
	}
	return v, ByCard, nil
}

// cardHolder returns the ID of the visit that held the event's card at the
// location at the event's time: a pool badge's holder (or its last holder
// within the link-after-release period), or the visit a number of the
// range is allocated to. Cards that are neither are no visitor's.
func (e *Engine) cardHolder(ctx context.Context, l *Location, ev *acs.DoorEvent) (string, error) {
	bs := e.store.Badges()
	badges, err := bs.List(ctx, l.ID, badge.Filter{})
	if err != nil {
		return "", err
	}
	for _, b := range badges {
		if b.Card.IsZero() || b.Card != ev.Card {
			continue
		}
		a, err := bs.HolderAt(ctx, l.ID, b.ID, ev.Time)
		if err == nil {
			return a.VisitID, nil
		}
		if !errors.Is(err, badge.ErrNotFound) {
			return "", err
		}
		hist, err := bs.History(ctx, l.ID, b.ID)
		if err != nil {
			return "", err
		}
		grace := l.Policy.Doors.linkAfterRelease()
		for i := len(hist) - 1; i >= 0; i-- {
			a := hist[i]
			if ev.Time.Add(doorClockSkew).Before(a.From) {
				continue // assigned after the event
			}
			if a.To.IsZero() || ev.Time.Before(a.To.Add(grace)) {
				return a.VisitID, nil
			}
			break // the latest assignment before the event ended too long ago
		}
		return "", nil
	}
	rng, err := e.store.Cards().Range(ctx, l.ID)
	if errors.Is(err, badge.ErrNoRange) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !rng.Contains(ev.Card.Number) || rng.Card(ev.Card.Number) != ev.Card {
		return "", nil
	}
	allocs, err := e.store.Cards().Allocations(ctx, l.ID)
	if err != nil {
		return "", err
	}
	for _, a := range allocs {
		if a.Card.Number == ev.Card.Number {
			return a.VisitID, nil
		}
	}
	return "", nil
}

// DoorTimeline returns the door events recorded for a visit, in the order
// they were recorded: the AuditRecord.Door of its ActDoor records.
func (e *Engine) DoorTimeline(ctx context.Context, visitID string) ([]DoorSighting, error) {
	recs, err := e.store.Audit(ctx, AuditQuery{VisitID: visitID})
	if err != nil {
		return nil, err
	}
	var out []DoorSighting
	for _, r := range recs {
		if r.Action == ActDoor {
			out = append(out, r.Door)
		}
	}
	return out, nil
}
