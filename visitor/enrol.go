package visitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
)

// DefaultEnrolmentTimeout is how long StartEnrolment waits for a card when
// EnrolmentReader.Timeout is zero.
const DefaultEnrolmentTimeout = 2 * time.Minute

// FromTap is the Source of a credential whose card was captured at the
// location's enrolment reader (StartEnrolment): a blank card handed over
// at the desk. It belongs to no pool or range; when the credential ends
// the card simply leaves the visit.
const FromTap Source = "tap"

// ByEnrolment says a door event was the card presented for a waiting
// enrolment (DoorResult.LinkedBy).
const ByEnrolment LinkedBy = "enrolment"

// EnrolmentReader names a location's enrolment reader (Location.Enrolment):
// a reader at the desk, attached to no door a visitor may open, where
// blank, unnumbered cards are presented once to be captured.
type EnrolmentReader struct {
	// Reader is the reader's door ID as the ACS's door events name it
	// (acs.DoorEvent.DoorID). Empty: no tap to enrol at the location.
	Reader string
	// Timeout is how long an enrolment waits for a card (default
	// DefaultEnrolmentTimeout).
	Timeout time.Duration
	// CredentialType is the ACS credential type of captured cards
	// (acs.Grant.CredentialType); empty means the ACS default.
	CredentialType string
}

func (r *EnrolmentReader) validate() error {
	if r.Timeout < 0 {
		return errors.New("visitor: negative enrolment timeout")
	}
	if r.Reader == "" && (r.Timeout != 0 || r.CredentialType != "") {
		return errors.New("visitor: the enrolment reader sets a timeout or credential type but names no reader")
	}
	return nil
}

func (r *EnrolmentReader) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultEnrolmentTimeout
}

// EnrolmentStatus is where an enrolment is (Enrolment.Status).
type EnrolmentStatus string

// Enrolment statuses.
const (
	EnrolWaiting   EnrolmentStatus = "waiting"   // waiting for a card at the reader
	EnrolCaptured  EnrolmentStatus = "captured"  // a card was captured and its provision queued (see the visit's credential)
	EnrolTimedOut  EnrolmentStatus = "timed_out" // no card was presented in time
	EnrolCardHeld  EnrolmentStatus = "card_held" // the card presented is someone else's: a pool badge, a number of the range, another visit's or cardholder's card
	EnrolCancelled EnrolmentStatus = "cancelled" // cancelled, or the visit ended or got a credential meanwhile
)

// Enrolment is a visit's tap-to-enrol request (Visit.Enrolment): the
// reader it waits at, until when, the access levels the captured card
// gets, and how it ended.
type Enrolment struct {
	Reader       string          `json:"reader"`
	Status       EnrolmentStatus `json:"status"`
	RequestedBy  string          `json:"requested_by"`
	RequestedAt  time.Time       `json:"requested_at"`
	Until        time.Time       `json:"until"`
	AccessLevels []string        `json:"access_levels"`
	// Card is the card captured (EnrolCaptured) or refused (EnrolCardHeld).
	Card acs.Card `json:"card,omitzero"`
	// At is when the card was presented (the door event's time).
	At time.Time `json:"at,omitzero"`
	// Event identifies the door event of the card (its location and
	// cursor), so that the event delivered again changes nothing.
	Event string `json:"event,omitempty"`
	// Reason says why the enrolment did not capture a card.
	Reason string `json:"reason,omitempty"`
}

// Audit actions of tap to enrol.
const (
	ActEnrolStart   Action = "enrol_start"   // an enrolment waits for a card (Outcome Queued)
	ActEnrolCapture Action = "enrol_capture" // a card presented at the reader: captured (OK) or refused (Refused, Reason)
	ActEnrolEnd     Action = "enrol_end"     // an enrolment ended without a card: timed out or cancelled (Failed, Reason)
)

// EnrolRequest says what the card captured for a visit gets.
type EnrolRequest struct {
	// AccessLevels are the access level IDs to grant; empty means the
	// visitor type's defaults. Checked as for Provision.
	AccessLevels []string
}

// StartEnrolment makes the location's enrolment reader (Location.Enrolment)
// wait for the next card presented there, for the visit: the card is
// captured from the refused door event that carries its data (the card is
// blank, so the ACS refuses it) and provisioned for the visit as
// Provision would provision a pool badge (with Source FromTap), within the
// window of the visit. The operator's permission to grant the levels, the
// watchlist and the visitor type are checked now, as by Provision; a visit
// that still holds a credential is a Conflict, and so is another visit
// waiting at the same reader.
//
// The outcome is recorded on the visit (Visit.Enrolment) and audited: the
// card captured (its provision follows, attempted at once), a card someone
// else holds (a pool badge, a number of the range, another visit's card,
// or a card the ACS refuses as held by another cardholder), or no card
// within the timeout (the sweeper ends the enrolment). RunDoorEvents must
// run for the location. It needs an ACS whose door events carry the data
// of unknown cards (acs.UnknownCardEvents: brivo, verkada; lenel with
// WithCardFunc; not genetec, alta or netbox); others are refused as
// Unsupported.
func (e *Engine) StartEnrolment(ctx context.Context, op Operator, visitID string, req EnrolRequest) (Visit, error) {
	const opName = "enrol_start"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActEnrolStart, VisitID: visitID, AccessLevels: req.AccessLevels}
	err := validateOperator(opName, op)
	var v Visit
	if err == nil {
		v, err = e.Visit(ctx, visitID)
	}
	if err == nil {
		base.Location = v.Location
		err = e.checkEnrolReader(opName, e.locs[v.Location])
	}
	if err == nil {
		err = e.readerFree(ctx, opName, e.locs[v.Location], visitID)
	}
	if err != nil {
		if isRefusal(err) {
			e.refuse(r, base, err)
		}
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		return r.startEnrolment(tx, v, op, req)
	})
}

// checkEnrolReader refuses a location without an enrolment reader, or
// whose ACS cannot report unknown cards.
func (e *Engine) checkEnrolReader(op string, l *Location) error {
	if l == nil {
		return refusal(op, acs.InvalidArgument, "the visit's location is not configured on this engine")
	}
	if l.Enrolment.Reader == "" {
		return refusal(op, acs.Unsupported, "location %s names no enrolment reader (Location.Enrolment)", l.ID)
	}
	_, events := l.Provider.(acs.EventSource)
	u, ok := l.Provider.(acs.UnknownCardEvents)
	if !events || !ok || !u.ReportsUnknownCards() {
		return refusal(op, acs.Unsupported, "the door events of location %s's ACS (%s) do not carry the data of unknown cards: tap to enrol is not possible there", l.ID, l.Provider.Name())
	}
	return nil
}

// readerFree refuses an enrolment while another visit waits at the
// location's reader.
func (e *Engine) readerFree(ctx context.Context, op string, l *Location, visitID string) error {
	w, err := e.enrolScan(ctx, l, acs.Card{}, "")
	if err != nil {
		return err
	}
	if w.waiting != nil && w.waiting.ID != visitID {
		return refusal(op, acs.Conflict, "visit %s is waiting for a card at reader %s; one enrolment at a time", w.waiting.ID, l.Enrolment.Reader)
	}
	return nil
}

func (r *run) startEnrolment(tx Tx, v *Visit, op Operator, req EnrolRequest) error {
	const opName = "enrol_start"
	switch {
	case v.State != Invited && v.State != Expected && v.State != SignedIn:
		return refusal(opName, acs.Conflict, "visit %s is %s", v.ID, v.State)
	case v.Watchlist != nil:
		return refusal(opName, acs.PermissionDenied, "visit %s matched watchlist %q; no credential may be issued", v.ID, v.Watchlist.List)
	case current(v) >= 0:
		return refusal(opName, acs.Conflict, "visit %s still holds a credential; return it first", v.ID)
	}
	pol := &r.loc.Policy
	typeName, t, err := pol.visitorType(v.Type)
	if err != nil {
		return acs.Wrap(opName, "", acs.InvalidArgument, err)
	}
	if err := r.e.notSynced(v); err != nil {
		return err
	}
	levels, err := pol.checkGrant(op, typeName, t, req.AccessLevels)
	if err != nil {
		return err
	}
	rd := &r.loc.Enrolment
	v.Enrolment = &Enrolment{Reader: rd.Reader, Status: EnrolWaiting, RequestedBy: r.actor, RequestedAt: r.now,
		Until: r.now.Add(rd.timeout()), AccessLevels: levels}
	return r.audit(tx, v, AuditRecord{Action: ActEnrolStart, Outcome: OutcomeQueued, AccessLevels: levels,
		Reason: "waiting for a card at reader " + rd.Reader + " until " + v.Enrolment.Until.UTC().Format(time.RFC3339)})
}

// CancelEnrolment stops a visit's waiting enrolment. A visit that waits
// for no card is returned unchanged.
func (e *Engine) CancelEnrolment(ctx context.Context, op Operator, visitID string) (Visit, error) {
	const opName = "enrol_cancel"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActEnrolEnd, VisitID: visitID}
	if err := validateOperator(opName, op); err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		if v.Enrolment == nil || v.Enrolment.Status != EnrolWaiting {
			return errUnchanged
		}
		return r.endEnrolment(tx, v, EnrolCancelled, "cancelled by "+r.actor)
	})
}

// endEnrolment ends a waiting enrolment without a card.
func (r *run) endEnrolment(tx Tx, v *Visit, st EnrolmentStatus, reason string) error {
	v.Enrolment.Status, v.Enrolment.Reason = st, reason
	return r.audit(tx, v, AuditRecord{Action: ActEnrolEnd, Outcome: OutcomeFailed, Reason: reason, AccessLevels: v.Enrolment.AccessLevels})
}

// sweepEnrolment ends a waiting enrolment whose time is up, or whose
// visit ended.
func (r *run) sweepEnrolment(tx Tx, v *Visit) error {
	en := v.Enrolment
	switch {
	case en == nil || en.Status != EnrolWaiting:
		return nil
	case v.State.Ended():
		return r.endEnrolment(tx, v, EnrolCancelled, "the visit ended")
	case !r.now.Before(en.Until):
		return r.endEnrolment(tx, v, EnrolTimedOut, fmt.Sprintf("no card was presented at reader %s within %s", en.Reader, en.Until.Sub(en.RequestedAt)))
	}
	return nil
}

// enrolDue is when the sweeper must end a waiting enrolment.
func enrolDue(v *Visit) time.Time {
	if v.Enrolment != nil && v.Enrolment.Status == EnrolWaiting {
		return v.Enrolment.Until
	}
	return time.Time{}
}

// earliest returns the earlier of two due times, zero meaning never.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// enrolScanResult is what a location's active visits say about a reader
// and a card.
type enrolScanResult struct {
	// waiting is the visit waiting longest at the reader, if any.
	waiting *Visit
	// duplicate is the visit that captured the event already.
	duplicate *Visit
	// holder is another visit holding a live credential with the card.
	holder string
}

// enrolScan reads the location's active visits: the one waiting at the
// reader, the one that captured the event key, and the one holding card.
func (e *Engine) enrolScan(ctx context.Context, l *Location, card acs.Card, key string) (enrolScanResult, error) {
	var res enrolScanResult
	f := VisitFilter{Location: l.ID, States: []State{Invited, Expected, SignedIn}, Limit: 500}
	for {
		vs, err := e.store.Visits(ctx, f)
		if err != nil {
			return res, err
		}
		for i := range vs {
			v := &vs[i]
			en := v.Enrolment
			switch {
			case en == nil || en.Reader != l.Enrolment.Reader:
			case key != "" && en.Event == key:
				res.duplicate = v
			case en.Status == EnrolWaiting && (res.waiting == nil ||
				cmp.Or(en.RequestedAt.Compare(res.waiting.Enrolment.RequestedAt), cmp.Compare(v.ID, res.waiting.ID)) < 0):
				res.waiting = v
			}
			if c := credentialWithCard(v, card); c != nil && c.Status.Live() && res.holder == "" {
				res.holder = v.ID
			}
		}
		if len(vs) < f.Limit {
			return res, nil
		}
		f.AfterID = vs[len(vs)-1].ID
	}
}

// cardElsewhere says whether the card is the location's: a pool badge or
// a number of its range, which are handed out by badge ID or issued from
// the range, never captured.
func (e *Engine) cardElsewhere(ctx context.Context, l *Location, card acs.Card) (string, error) {
	badges, err := e.store.Badges().List(ctx, l.ID, badge.Filter{})
	if err != nil {
		return "", err
	}
	for _, b := range badges {
		if b.Card == card {
			return "the card is pool badge " + b.ID + "; hand it out by its badge ID", nil
		}
	}
	rng, err := e.store.Cards().Range(ctx, l.ID)
	if err != nil && !errors.Is(err, badge.ErrNoRange) {
		return "", err
	}
	if err == nil && rng.Contains(card.Number) && rng.Card(card.Number) == card {
		return "the card is a number of the location's range", nil
	}
	return "", nil
}

// enrolByTap handles a door event at the location's enrolment reader: a
// refused event carrying card data is the card of the visit waiting
// there, if any. ok reports that the event was the enrolment's (captured,
// refused, or delivered again); otherwise RecordDoorEvent goes on with it.
func (e *Engine) enrolByTap(ctx context.Context, l *Location, ev acs.DoorEvent) (DoorResult, bool, error) {
	if l.Enrolment.Reader == "" || ev.DoorID != l.Enrolment.Reader || ev.Granted || ev.Card.IsZero() {
		return DoorResult{}, false, nil
	}
	key := doorKey(l.ID, &ev)
	w, err := e.enrolScan(ctx, l, ev.Card, key)
	switch {
	case err != nil:
		return DoorResult{}, false, err
	case w.duplicate != nil:
		return DoorResult{VisitID: w.duplicate.ID, LinkedBy: ByEnrolment, Duplicate: true, Visit: *w.duplicate}, true, nil
	case w.waiting == nil || ev.Time.Before(w.waiting.Enrolment.RequestedAt.Add(-doorClockSkew)):
		return DoorResult{}, false, nil // nobody waits, or a tap from before the request
	}
	held := ""
	if w.holder != "" && w.holder != w.waiting.ID {
		held = "the card is held by visit " + w.holder
	} else if held, err = e.cardElsewhere(ctx, l, ev.Card); err != nil {
		return DoorResult{}, false, err
	}
	r := e.newRun(ctx, ActorACS, true)
	s := DoorSighting{Location: l.ID, DoorID: ev.DoorID, DoorName: ev.DoorName, Time: ev.Time,
		Granted: ev.Granted, Direction: ev.Direction, Card: ev.Card, Cursor: ev.Cursor}
	id := w.waiting.ID
	v, err := e.store.Update(ctx, id, r.txFunc(func(tx Tx, v *Visit) error {
		return r.capture(tx, v, ev, key, s, held)
	}))
	if errors.Is(err, errUnchanged) {
		return DoorResult{}, false, nil // no longer waiting: an ordinary event
	}
	if err != nil {
		return DoorResult{}, false, storeErr("enrol_capture", err)
	}
	v, refused := e.runNow(ctx, r.next, v)
	if refused != nil && acs.CodeOf(refused) == acs.Conflict {
		v, err = e.cardHeldAtACS(ctx, id, refused)
		if err != nil {
			return DoorResult{}, false, err
		}
	}
	return DoorResult{VisitID: id, LinkedBy: ByEnrolment, Visit: v}, true, nil
}

// capture records the card presented for v's waiting enrolment: refused
// when someone else holds it (held says who), else a credential with the
// card is provisioned as Provision would. The door event joins the visit's
// door timeline either way.
func (r *run) capture(tx Tx, v *Visit, ev acs.DoorEvent, key string, s DoorSighting, held string) error {
	en := v.Enrolment
	if en == nil || en.Status != EnrolWaiting || en.Reader != ev.DoorID || !ev.Time.Before(en.Until) {
		return errUnchanged
	}
	en.Card, en.At, en.Event = ev.Card, ev.Time, key
	if !v.Doors.seen(key, ev.Time) {
		v.Doors.add(key, s)
	}
	rec := AuditRecord{Action: ActEnrolCapture, Outcome: OutcomeRefused, Card: ev.Card.String(), Door: s, AccessLevels: en.AccessLevels}
	switch {
	case held != "":
		en.Status, en.Reason = EnrolCardHeld, held
	case v.State != Invited && v.State != Expected && v.State != SignedIn, v.Watchlist != nil, current(v) >= 0:
		en.Status, en.Reason = EnrolCancelled, "the visit can no longer be given a card (ended, flagged, or holding a credential)"
	}
	if en.Status != EnrolWaiting {
		rec.Reason = en.Reason
		return r.audit(tx, v, rec)
	}
	en.Status, rec.Outcome = EnrolCaptured, OutcomeOK
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.provisionTapped(tx, v, en)
}

// provisionTapped adds the captured card as v's credential and queues its
// provision, with the window Provision would give it.
func (r *run) provisionTapped(tx Tx, v *Visit, en *Enrolment) error {
	pol := &r.loc.Policy
	_, t, err := pol.visitorType(v.Type)
	if err != nil {
		return acs.Wrap("enrol_capture", "", acs.InvalidArgument, err)
	}
	from, until := v.AccessFrom, v.AccessUntil
	if v.State == SignedIn {
		from, until = r.now, r.now.Add(t.duration())
		if pol.AutoSignOut > 0 {
			until = minTime(until, v.SignedInAt.Add(pol.AutoSignOut))
		}
	}
	c := Credential{Source: FromTap, Card: en.Card, CredentialType: r.loc.Enrolment.CredentialType,
		AccessLevels: slices.Clone(en.AccessLevels), ValidFrom: from, ValidUntil: until, Status: CredPending,
		IssuedBy: en.RequestedBy, IssuedAt: r.now, Ref: acs.CredentialRef{CardholderExternalID: v.ID, Card: en.Card}}
	g := acs.Grant{
		Person: acs.Person{ExternalID: v.ID, FirstName: v.Visitor.FirstName, LastName: v.Visitor.LastName,
			Email: v.Visitor.Email, Company: v.Visitor.Company},
		Card: c.Card, CredentialType: c.CredentialType, AccessLevels: c.AccessLevels, ValidFrom: from, ValidUntil: until,
	}
	if err := acs.ValidateGrant(g, pol.Rules); err != nil || !until.After(r.now) {
		en.Status, en.Reason = EnrolCancelled, fmt.Sprintf("the card cannot be granted: %v", cmp.Or[error](err, errors.New("no access time left")))
		return r.audit(tx, v, AuditRecord{Action: ActEnrolEnd, Outcome: OutcomeFailed, Reason: en.Reason, Card: en.Card.String()})
	}
	v.Credentials = append(v.Credentials, c)
	i := len(v.Credentials) - 1
	if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActProvision, Outcome: OutcomeQueued}, &v.Credentials[i])); err != nil {
		return err
	}
	return r.enqueue(tx, v, OutboxItem{Op: OpProvision, Credential: i, Grant: &g})
}

// cardHeldAtACS records that the ACS refused the captured card as held by
// another cardholder.
func (e *Engine) cardHeldAtACS(ctx context.Context, id string, refused error) (Visit, error) {
	r := e.newRun(ctx, ActorACS, false)
	v, err := e.store.Update(ctx, id, r.txFunc(func(tx Tx, v *Visit) error {
		en := v.Enrolment
		if en == nil || en.Status != EnrolCaptured {
			return errUnchanged
		}
		en.Status, en.Reason = EnrolCardHeld, "the ACS refused the card as held by another cardholder: "+refused.Error()
		return r.audit(tx, v, AuditRecord{Action: ActEnrolCapture, Outcome: OutcomeRefused, Reason: en.Reason, Card: en.Card.String()})
	}))
	if errors.Is(err, errUnchanged) {
		return e.store.Visit(ctx, id)
	}
	return v, err
}
