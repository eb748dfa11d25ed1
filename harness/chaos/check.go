package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

// Report is what Check found: counts of what exists, and of every
// violated invariant with the first messages.
type Report struct {
	Visits      int
	States      map[visitor.State]int
	Credentials int // credentials issued over all visits
	// ActiveVisits counts visits whose current credential is Active.
	ActiveVisits int

	// What the ACSs hold, summed over the sites, and the range of
	// cardholders the visits explain (confirmed provisions … any
	// credential, removed visits excluded).
	ExpectedCardholdersMin int
	ExpectedCardholdersMax int
	ACSCardholders         int
	ACSCredentials         int
	ACSLive                int
	ACSUnassigned          int
	ACSAnonymous           int
	BadgesAssigned         int
	NumbersAssigned        int
	AuditRecords           int
	// TimeReorders counts audit records of a visit stamped earlier than
	// the record before them (by Seq).
	TimeReorders int
	// Escalations counts the ACS operations reported stuck (ActStuck): not
	// a violation, since the work is still retried until the ACS confirms,
	// but a sign of how hard the faults hit.
	Escalations int

	// Violations.
	LiveNotSignedIn      int // a live ACS credential of a visit not signed in or not holding it
	ActiveMissing        int // the Engine says Active, the ACS has no live credential
	DuplicateCardholders int
	DuplicateCredentials int
	StaleCardholders     int // a cardholder of a removed visit, or of no visit
	BadgesAssignedTwice  int
	BadgeViolations      int // a badge or number held by nobody, or not returned after the visit
	Unsettled            int // credentials Pending or Revoking
	PendingOutbox        int
	AuditViolations      int

	Messages []string
}

// maxMessages bounds Report.Messages.
const maxMessages = 40

func (r *Report) violate(n *int, format string, args ...any) {
	*n++
	if len(r.Messages) < maxMessages {
		r.Messages = append(r.Messages, fmt.Sprintf(format, args...))
	}
}

// Violations returns the number of violated invariants.
func (r *Report) Violations() int {
	return r.LiveNotSignedIn + r.ActiveMissing + r.DuplicateCardholders + r.DuplicateCredentials +
		r.StaleCardholders + r.BadgesAssignedTwice + r.BadgeViolations + r.Unsettled + r.PendingOutbox + r.AuditViolations
}

// String summarises the report on a few lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "visits=%d states=%v credentials=%d active=%d\n", r.Visits, r.States, r.Credentials, r.ActiveVisits)
	fmt.Fprintf(&b, "ACS: cardholders=%d (visits explain %d–%d) credentials=%d live=%d unassigned=%d anonymous=%d; badges assigned=%d numbers assigned=%d; audit records=%d (%d stamped earlier than their predecessor, %d escalations of stuck work)\n",
		r.ACSCardholders, r.ExpectedCardholdersMin, r.ExpectedCardholdersMax, r.ACSCredentials, r.ACSLive, r.ACSUnassigned, r.ACSAnonymous, r.BadgesAssigned, r.NumbersAssigned, r.AuditRecords, r.TimeReorders, r.Escalations)
	fmt.Fprintf(&b, "violations: live-not-signed-in=%d active-missing=%d duplicate-cardholders=%d duplicate-credentials=%d stale-cardholders=%d badges-assigned-twice=%d badge=%d unsettled=%d outbox=%d audit=%d",
		r.LiveNotSignedIn, r.ActiveMissing, r.DuplicateCardholders, r.DuplicateCredentials, r.StaleCardholders,
		r.BadgesAssignedTwice, r.BadgeViolations, r.Unsettled, r.PendingOutbox, r.AuditViolations)
	for _, m := range r.Messages {
		b.WriteString("\n  ")
		b.WriteString(m)
	}
	return b.String()
}

// CheckOptions tune Check.
type CheckOptions struct {
	// Settled requires a drained outbox: no pending item, no credential
	// Pending or Revoking, every badge of an ended visit returned.
	Settled bool
}

// Check compares the store with the simulators' oracles at time now and
// returns what it found. The sites must be the Engine's locations.
func Check(ctx context.Context, store visitor.Store, sites []*Site, now time.Time, o CheckOptions) (*Report, error) {
	r := &Report{States: map[visitor.State]int{}}
	visits, err := store.Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*visitor.Visit, len(visits))
	idsAt := map[string][]string{}
	for i := range visits {
		v := &visits[i]
		byID[v.ID] = v
		idsAt[v.Location] = append(idsAt[v.Location], v.ID)
		r.Visits++
		r.States[v.State]++
		r.Credentials += len(v.Credentials)
		for _, c := range v.Credentials {
			if c.Status == visitor.CredPending || c.Status == visitor.CredRevoking {
				if o.Settled {
					r.violate(&r.Unsettled, "visit %s (%s): credential %s still %s after the drain", v.ID, v.State, c.Card, c.Status)
				}
			}
		}
		if c := v.Current(); c != nil && c.Status == visitor.CredActive {
			r.ActiveVisits++
		}
	}

	// The ACSs against the visits.
	for _, site := range sites {
		snap := site.Snapshot(now, idsAt[site.Location])
		r.ACSUnassigned += snap.Unassigned
		r.ACSAnonymous += snap.Anonymous
		if snap.Anonymous > 0 {
			r.violate(&r.StaleCardholders, "%s: %d cardholders without an external ID", site.Kind, snap.Anonymous)
		}
		// The census against what the visits explain: every visit whose
		// provision the ACS confirmed is a cardholder there (unless
		// removed); no visit without a credential is.
		lo, hi := 0, 0
		for _, id := range idsAt[site.Location] {
			v := byID[id]
			if v.State == visitor.Removed || len(v.Credentials) == 0 {
				continue
			}
			hi++
			for _, c := range v.Credentials {
				if !c.ActiveAt.IsZero() {
					lo++
					break
				}
			}
		}
		if n := len(snap.Holders); n < lo || n > hi {
			r.violate(&r.StaleCardholders, "%s: %d cardholders; the visits explain %d to %d", site.Kind, n, lo, hi)
		}
		r.ExpectedCardholdersMin += lo
		r.ExpectedCardholdersMax += hi
		for ext, n := range snap.Holders {
			r.ACSCardholders += n
			if n > 1 {
				r.violate(&r.DuplicateCardholders, "%s: %d cardholders with external ID %s", site.Kind, n, ext)
			}
			v := byID[ext]
			switch {
			case v == nil || v.Location != site.Location:
				r.violate(&r.StaleCardholders, "%s: cardholder %s matches no visit of %s", site.Kind, ext, site.Location)
			case v.State == visitor.Removed && o.Settled:
				r.violate(&r.StaleCardholders, "%s: cardholder of removed visit %s still exists", site.Kind, ext)
			}
		}
		perCard := map[string]int{}
		live := map[string]int{}
		for _, c := range snap.Credentials {
			r.ACSCredentials++
			perCard[c.Holder+"|"+c.Card]++
			if !c.Live {
				continue
			}
			r.ACSLive++
			live[c.Holder]++
			v := byID[c.Holder]
			switch {
			case v == nil:
				r.violate(&r.LiveNotSignedIn, "%s: live credential %s (%s) of unknown holder %q", site.Kind, c.ID, c.Card, c.Holder)
			case v.State.Ended():
				r.violate(&r.LiveNotSignedIn, "%s: live credential %s (%s) of visit %s, which is %s", site.Kind, c.ID, c.Card, v.ID, v.State)
			default:
				cur := v.Current()
				if cur == nil || cur.Status != visitor.CredActive || site.CardKey(cur.Card) != c.Card {
					what := "no credential"
					if cur != nil {
						what = fmt.Sprintf("credential %s %s", cur.Card, cur.Status)
					}
					r.violate(&r.LiveNotSignedIn, "%s: live credential %s (%s) of visit %s (%s), which holds %s", site.Kind, c.ID, c.Card, v.ID, v.State, what)
				}
			}
		}
		for k, n := range perCard {
			if n > 1 {
				r.violate(&r.DuplicateCredentials, "%s: %d credentials for holder|card %s", site.Kind, n, k)
			}
		}
		for holder, n := range live {
			if n > 1 {
				r.violate(&r.DuplicateCredentials, "%s: %d live credentials for visit %s", site.Kind, n, holder)
			}
		}
		for _, id := range idsAt[site.Location] {
			v := byID[id]
			if c := v.Current(); c != nil && c.Status == visitor.CredActive && !v.State.Ended() && live[id] == 0 {
				r.violate(&r.ActiveMissing, "%s: visit %s (%s) has credential %s active, the ACS has nothing live", site.Kind, id, v.State, c.Card)
			}
		}
	}

	items, err := store.Outbox(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	if o.Settled {
		for _, it := range items {
			r.violate(&r.PendingOutbox, "outbox item %s (%s of visit %s) still pending after %d attempts: %s", it.ID, it.Op, it.VisitID, it.Attempts, it.LastError)
		}
	}

	if err := checkBadges(ctx, store, sites, visits, r, o); err != nil {
		return nil, err
	}
	recs, err := store.Audit(ctx, visitor.AuditQuery{})
	if err != nil {
		return nil, err
	}
	r.AuditRecords = len(recs)
	checkAudit(recs, visits, r)
	return r, nil
}

func checkBadges(ctx context.Context, store visitor.Store, sites []*Site, visits []visitor.Visit, r *Report, o CheckOptions) error {
	type key struct{ loc, id string }
	badgeHolders := map[key][]string{}
	numberHolders := map[key][]string{}
	for i := range visits {
		v := &visits[i]
		for _, c := range v.Credentials {
			if !c.Holding() {
				continue
			}
			if o.Settled && v.State.Ended() {
				r.violate(&r.BadgeViolations, "visit %s ended (%s) and still holds %s %s (%s)", v.ID, v.State, c.Source, c.Card, c.Status)
			}
			switch c.Source {
			case visitor.FromPool:
				badgeHolders[key{v.Location, c.BadgeID}] = append(badgeHolders[key{v.Location, c.BadgeID}], v.ID)
			case visitor.FromRange:
				k := key{v.Location, fmt.Sprint(c.Card.Number)}
				numberHolders[k] = append(numberHolders[k], v.ID)
			}
		}
	}
	for k, hs := range badgeHolders {
		if len(hs) > 1 {
			r.violate(&r.BadgesAssignedTwice, "badge %s at %s held by %d visits: %v", k.id, k.loc, len(hs), hs)
		}
	}
	for k, hs := range numberHolders {
		if len(hs) > 1 {
			r.violate(&r.BadgesAssignedTwice, "card number %s at %s held by %d visits: %v", k.id, k.loc, len(hs), hs)
		}
	}
	for _, site := range sites {
		pool, err := badge.NewPool(store.Badges(), site.Location)
		if err != nil {
			return err
		}
		bs, err := pool.List(ctx, badge.Filter{})
		if err != nil {
			return err
		}
		for _, b := range bs {
			hs := badgeHolders[key{site.Location, b.ID}]
			switch b.State {
			case badge.Assigned:
				r.BadgesAssigned++
				if !slices.Contains(hs, b.VisitID) {
					r.violate(&r.BadgeViolations, "badge %s at %s is assigned to %s, which does not hold it (holders %v)", b.ID, site.Location, b.VisitID, hs)
				}
			default:
				if len(hs) > 0 {
					r.violate(&r.BadgeViolations, "badge %s at %s is %s but held by %v", b.ID, site.Location, b.State, hs)
				}
			}
			hist, err := pool.History(ctx, b.ID)
			if err != nil {
				return err
			}
			for i := 1; i < len(hist); i++ {
				prev, cur := hist[i-1], hist[i]
				if prev.To.IsZero() || prev.To.After(cur.From) {
					r.violate(&r.BadgesAssignedTwice, "badge %s at %s: assignment to %s (%s–%s) overlaps the one to %s from %s",
						b.ID, site.Location, prev.VisitID, prev.From.Format(time.RFC3339), prev.To.Format(time.RFC3339), cur.VisitID, cur.From.Format(time.RFC3339))
				}
			}
		}
		alloc, err := badge.NewAllocator(store.Cards(), site.Location)
		if err != nil {
			return err
		}
		as, err := alloc.Allocations(ctx)
		if err != nil {
			return err
		}
		seen := map[uint64]string{}
		for _, a := range as {
			r.NumbersAssigned++
			if prev, dup := seen[a.Card.Number]; dup {
				r.violate(&r.BadgesAssignedTwice, "card number %d at %s allocated to %s and %s", a.Card.Number, site.Location, prev, a.VisitID)
			}
			seen[a.Card.Number] = a.VisitID
			if hs := numberHolders[key{site.Location, fmt.Sprint(a.Card.Number)}]; !slices.Contains(hs, a.VisitID) {
				r.violate(&r.BadgeViolations, "card number %d at %s is allocated to %s, which does not hold it (holders %v)", a.Card.Number, site.Location, a.VisitID, hs)
			}
		}
	}
	return nil
}

// checkAudit checks every visit's audit trail against the visit: the state
// transitions chain from creation to the visit's state, each credential's
// provision, confirmation, revocation and release are recorded, and times
// never go back.
func checkAudit(recs []visitor.AuditRecord, visits []visitor.Visit, r *Report) {
	by := map[string][]visitor.AuditRecord{}
	for _, rec := range recs {
		if rec.VisitID != "" {
			by[rec.VisitID] = append(by[rec.VisitID], rec)
		}
	}
	for i := range visits {
		v := &visits[i]
		checkVisitAudit(v, by[v.ID], r)
	}
}

func checkVisitAudit(v *visitor.Visit, recs []visitor.AuditRecord, r *Report) {
	bad := func(format string, args ...any) {
		r.violate(&r.AuditViolations, "audit of visit %s: "+format, append([]any{v.ID}, args...)...)
	}
	var state visitor.State
	var last time.Time
	count := map[visitor.Action]int{}
	for i, rec := range recs {
		if i > 0 && rec.Seq <= recs[i-1].Seq {
			bad("records out of order (seq %d after %d)", rec.Seq, recs[i-1].Seq)
		}
		if rec.Time.Before(last) {
			// Not counted as a violation: a record carries the time its
			// operation started, and operations on one visit may commit
			// in another order (see TestAuditTimeOrder).
			r.TimeReorders++
		}
		last = rec.Time
		if rec.Action == visitor.ActStuck {
			// A report about the outbox, not a transition of the visit.
			r.Escalations++
			continue
		}
		if rec.Outcome == visitor.OutcomeRefused {
			continue
		}
		if rec.From != state {
			bad("record %d (%s) starts from %q, the visit was %q", rec.Seq, rec.Action, rec.From, state)
		}
		state = rec.To
		if rec.Outcome == visitor.OutcomeOK || rec.Outcome == visitor.OutcomeQueued {
			count[rec.Action]++
		}
	}
	if state != v.State {
		bad("the trail ends in %q, the visit is %q", state, v.State)
	}
	if signedIn := !v.SignedInAt.IsZero(); signedIn != (count[visitor.ActSignIn] == 1) {
		bad("signed in at %v but %d sign-in records", v.SignedInAt, count[visitor.ActSignIn])
	}
	switch v.State {
	case visitor.SignedOut:
		if count[visitor.ActSignOut] != 1 {
			bad("signed out with %d sign-out records", count[visitor.ActSignOut])
		}
	case visitor.Removed:
		if count[visitor.ActRemove]+count[visitor.ActWatchlist] == 0 {
			bad("removed without a removal record")
		}
	case visitor.Expired:
		if count[visitor.ActExpire] != 1 {
			bad("expired with %d expiry records", count[visitor.ActExpire])
		}
	}
	if n := count[visitor.ActProvision]; n != len(v.Credentials) {
		bad("%d credentials but %d provision records", len(v.Credentials), n)
	}
	// find returns the Seq of the first record after seq matching ok, or 0.
	find := func(after int64, ok func(rec *visitor.AuditRecord) bool) int64 {
		for i := range recs {
			if recs[i].Seq > after && ok(&recs[i]) {
				return recs[i].Seq
			}
		}
		return 0
	}
	var cursor int64
	for ci, c := range v.Credentials {
		card := c.Card.String()
		queued := find(cursor, func(rec *visitor.AuditRecord) bool {
			return rec.Action == visitor.ActProvision && rec.Outcome == visitor.OutcomeQueued && rec.Card == card && rec.BadgeID == c.BadgeID
		})
		if queued == 0 {
			bad("credential %d (%s, badge %q) has no provision record", ci, card, c.BadgeID)
			continue
		}
		cursor = queued
		confirmed := int64(0)
		if !c.ActiveAt.IsZero() {
			confirmed = find(queued, func(rec *visitor.AuditRecord) bool {
				return rec.Action == visitor.ActACSProvision && rec.Outcome == visitor.OutcomeOK && rec.Card == card
			})
			if confirmed == 0 {
				bad("credential %d (%s) was confirmed active at %s without an acs_provision ok record", ci, card, c.ActiveAt.Format(time.RFC3339))
			}
		}
		switch c.Status {
		case visitor.CredRevoked:
			if !c.ActiveAt.IsZero() && find(confirmed, func(rec *visitor.AuditRecord) bool {
				return rec.Outcome == visitor.OutcomeOK && (rec.Action == visitor.ActACSRevoke && rec.Card == card || rec.Action == visitor.ActACSRemove)
			}) == 0 {
				bad("credential %d (%s) is revoked without an ACS revocation record after its confirmation", ci, card)
			}
		case visitor.CredFailed:
			if find(queued, func(rec *visitor.AuditRecord) bool {
				return rec.Action == visitor.ActACSProvision && rec.Outcome == visitor.OutcomeFailed && rec.Card == card
			}) == 0 {
				bad("credential %d (%s) failed without a failed acs_provision record", ci, card)
			}
		}
		if c.Released {
			action := visitor.ActBadgeRelease
			if c.Source == visitor.FromRange {
				action = visitor.ActCardFree
			}
			if find(queued, func(rec *visitor.AuditRecord) bool {
				return rec.Action == action && rec.Outcome == visitor.OutcomeOK && rec.Card == card
			}) == 0 {
				bad("credential %d (%s) was released without a %s record", ci, card, action)
			}
		}
	}
}
