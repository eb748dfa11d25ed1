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
	// What the credential issuers (Origo) hold, summed over their sites:
	// users, open invitations, credentials issued to a phone and not
	// revoked.
	IssuerUsers       int
	IssuerInvitations int
	IssuerCredentials int
	AuditRecords      int
	// TimeReorders counts audit records of a visit stamped earlier than
	// the record before them (by Seq).
	TimeReorders int
	// Escalations counts the ACS operations reported stuck (ActStuck): not
	// a violation, since the work is still retried until the ACS confirms,
	// but a sign of how hard the faults hit.
	Escalations int

	// Violations.
	LiveNotSignedIn      int // a live ACS credential of a visit not signed in or not holding it
	ActiveMissing        int // the Engine says Active, the ACS (or the issuer) has nothing live
	DuplicateCardholders int // at an ACS, or users of one visit at an issuer
	DuplicateCredentials int
	StaleCardholders     int // a cardholder of a removed visit, or of no visit
	BadgesAssignedTwice  int
	BadgeViolations      int // a badge or number held by nobody, or not returned after the visit
	Unsettled            int // credentials Pending or Revoking
	PendingOutbox        int
	AuditViolations      int
	IssuerLeftovers      int // an issuer's user of no visit of its location, or (settled) of an ended visit
	CardsWithoutIssuer   int // a card live at an issuer's door that the issuer did not issue to that visit

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
		r.StaleCardholders + r.BadgesAssignedTwice + r.BadgeViolations + r.Unsettled + r.PendingOutbox + r.AuditViolations +
		r.IssuerLeftovers + r.CardsWithoutIssuer
}

// String summarises the report on a few lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "visits=%d states=%v credentials=%d active=%d\n", r.Visits, r.States, r.Credentials, r.ActiveVisits)
	fmt.Fprintf(&b, "ACS: cardholders=%d (visits explain %d–%d) credentials=%d live=%d unassigned=%d anonymous=%d; badges assigned=%d numbers assigned=%d; audit records=%d (%d stamped earlier than their predecessor, %d escalations of stuck work)\n",
		r.ACSCardholders, r.ExpectedCardholdersMin, r.ExpectedCardholdersMax, r.ACSCredentials, r.ACSLive, r.ACSUnassigned, r.ACSAnonymous, r.BadgesAssigned, r.NumbersAssigned, r.AuditRecords, r.TimeReorders, r.Escalations)
	fmt.Fprintf(&b, "issuers: users=%d open invitations=%d issued credentials=%d\n", r.IssuerUsers, r.IssuerInvitations, r.IssuerCredentials)
	fmt.Fprintf(&b, "violations: live-not-signed-in=%d active-missing=%d duplicate-cardholders=%d duplicate-credentials=%d stale-cardholders=%d badges-assigned-twice=%d badge=%d unsettled=%d outbox=%d audit=%d issuer-leftovers=%d cards-without-issuer=%d",
		r.LiveNotSignedIn, r.ActiveMissing, r.DuplicateCardholders, r.DuplicateCredentials, r.StaleCardholders,
		r.BadgesAssignedTwice, r.BadgeViolations, r.Unsettled, r.PendingOutbox, r.AuditViolations, r.IssuerLeftovers, r.CardsWithoutIssuer)
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
	visits, err := store.Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		return nil, err
	}
	c := newChecker(visits, o)
	for _, site := range sites {
		c.site(site, site.Snapshot(now, c.idsAt[site.Location]))
	}
	items, err := store.Outbox(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	if o.Settled {
		for _, it := range items {
			c.r.violate(&c.r.PendingOutbox, "outbox item %s (%s of visit %s) still pending after %d attempts: %s", it.ID, it.Op, it.VisitID, it.Attempts, it.LastError)
		}
	}
	if err := checkBadges(ctx, store, sites, visits, c.r, o); err != nil {
		return nil, err
	}
	recs, err := store.Audit(ctx, visitor.AuditQuery{})
	if err != nil {
		return nil, err
	}
	c.r.AuditRecords = len(recs)
	checkAudit(recs, visits, c.r)
	return c.r, nil
}

// checker holds the visits of one Check by ID and by location.
type checker struct {
	r     *Report
	o     CheckOptions
	byID  map[string]*visitor.Visit
	idsAt map[string][]string // visit IDs per location
}

// newChecker indexes the visits and counts their states and credentials.
func newChecker(visits []visitor.Visit, o CheckOptions) *checker {
	c := &checker{r: &Report{States: map[visitor.State]int{}}, o: o,
		byID: make(map[string]*visitor.Visit, len(visits)), idsAt: map[string][]string{}}
	for i := range visits {
		v := &visits[i]
		c.byID[v.ID] = v
		c.idsAt[v.Location] = append(c.idsAt[v.Location], v.ID)
		c.r.Visits++
		c.r.States[v.State]++
		c.r.Credentials += len(v.Credentials)
		for _, cr := range v.Credentials {
			if o.Settled && (cr.Status == visitor.CredPending || cr.Status == visitor.CredRevoking) {
				c.r.violate(&c.r.Unsettled, "visit %s (%s): credential %s still %s after the drain", v.ID, v.State, cr.Card, cr.Status)
			}
		}
		if cur := v.Current(); cur != nil && cur.Status == visitor.CredActive {
			c.r.ActiveVisits++
		}
	}
	return c
}

// site checks one ACS's true state against the visits of its location.
func (c *checker) site(site *Site, snap Snapshot) {
	c.r.ACSUnassigned += snap.Unassigned
	c.r.ACSAnonymous += snap.Anonymous
	if snap.Anonymous > 0 {
		c.r.violate(&c.r.StaleCardholders, "%s: %d cardholders without an external ID", site.Kind, snap.Anonymous)
	}
	c.census(site, snap)
	c.holders(site, snap)
	live := c.credentials(site, snap)
	for _, id := range c.idsAt[site.Location] {
		v := c.byID[id]
		if cur := v.Current(); cur != nil && cur.Status == visitor.CredActive && !v.State.Ended() && live[id] == 0 {
			c.r.violate(&c.r.ActiveMissing, "%s: visit %s (%s) has credential %s active, the ACS has nothing live", site.Kind, id, v.State, cur.Card)
		}
	}
	if snap.Issuer != nil {
		c.issuer(site, snap)
	}
}

// issuer checks what a credential issuer (Origo) holds against the visits
// of its location and against its door ACS:
//   - at most one issuer user per visit (DuplicateCardholders);
//   - no user of a visit that is not of this location and, once settled,
//     none of an ended visit, nor anything it holds: a user goes with its
//     invitations and credentials (IssuerLeftovers);
//   - every card live at the door is backed by a credential that the
//     issuer lists as issued to a phone and not revoked, to a user with
//     the card holder's external ID, for the same card (CardsWithoutIssuer);
//   - every visit holding an active credential holds it at the issuer too:
//     issued, for the card its reference names (ActiveMissing).
func (c *checker) issuer(site *Site, snap Snapshot) {
	is := snap.Issuer
	issued := map[string]int{} // holder|card
	perHolder := map[string]int{}
	for _, cr := range is.Credentials {
		issued[cr.Holder+"|"+cr.Card]++
		perHolder[cr.Holder]++
	}
	c.r.IssuerCredentials += len(is.Credentials)
	for _, n := range is.Invitations {
		c.r.IssuerInvitations += n
	}
	for ext, n := range is.Users {
		c.r.IssuerUsers += n
		if n > 1 {
			c.r.violate(&c.r.DuplicateCardholders, "%s: %d users with external ID %s", site.Kind, n, ext)
		}
		v := c.byID[ext]
		switch {
		case v == nil || v.Location != site.Location:
			c.r.violate(&c.r.IssuerLeftovers, "%s: %d users with external ID %q, which matches no visit of %s", site.Kind, n, ext, site.Location)
		case v.State.Ended() && c.o.Settled:
			c.r.violate(&c.r.IssuerLeftovers, "%s: visit %s is %s and still has %d users, %d open invitations and %d issued credentials",
				site.Kind, ext, v.State, n, is.Invitations[ext], perHolder[ext])
		}
	}
	for _, cr := range snap.Credentials {
		if cr.Live && issued[cr.Holder+"|"+cr.Card] == 0 {
			c.r.violate(&c.r.CardsWithoutIssuer, "%s: card %s (door credential %s) opens at the door for %q, but the issuer issued no such card to that visit", site.Kind, cr.Card, cr.ID, cr.Holder)
		}
	}
	for _, id := range c.idsAt[site.Location] {
		v := c.byID[id]
		cur := v.Current()
		if cur == nil || cur.Status != visitor.CredActive || v.State.Ended() {
			continue
		}
		if card := site.heldCard(*cur); issued[id+"|"+card] == 0 {
			c.r.violate(&c.r.ActiveMissing, "%s: visit %s (%s) has credential %s active, the issuer has issued it no card %s", site.Kind, id, v.State, cur.Card, card)
		}
	}
}

// census checks the number of cardholders against what the visits
// explain: every visit whose provision the ACS confirmed is a cardholder
// there (unless removed); no visit without a credential is.
func (c *checker) census(site *Site, snap Snapshot) {
	lo, hi := 0, 0
	for _, id := range c.idsAt[site.Location] {
		v := c.byID[id]
		if v.State == visitor.Removed || len(v.Credentials) == 0 {
			continue
		}
		hi++
		if slices.ContainsFunc(v.Credentials, func(cr visitor.Credential) bool { return !cr.ActiveAt.IsZero() }) {
			lo++
		}
	}
	if n := len(snap.Holders); n < lo || n > hi {
		c.r.violate(&c.r.StaleCardholders, "%s: %d cardholders; the visits explain %d to %d", site.Kind, n, lo, hi)
	}
	c.r.ExpectedCardholdersMin += lo
	c.r.ExpectedCardholdersMax += hi
}

// holders checks each cardholder at the ACS: one per external ID, each of
// a visit of this location, none of a removed visit once settled.
func (c *checker) holders(site *Site, snap Snapshot) {
	for ext, n := range snap.Holders {
		c.r.ACSCardholders += n
		if n > 1 {
			c.r.violate(&c.r.DuplicateCardholders, "%s: %d cardholders with external ID %s", site.Kind, n, ext)
		}
		v := c.byID[ext]
		switch {
		case v == nil || v.Location != site.Location:
			c.r.violate(&c.r.StaleCardholders, "%s: cardholder %s matches no visit of %s", site.Kind, ext, site.Location)
		case v.State == visitor.Removed && c.o.Settled:
			c.r.violate(&c.r.StaleCardholders, "%s: cardholder of removed visit %s still exists", site.Kind, ext)
		}
	}
}

// credentials checks each credential at the ACS: no duplicate, and a live
// one only for a visit that is signed in and holds that card active. It
// returns the number of live credentials per holder.
func (c *checker) credentials(site *Site, snap Snapshot) map[string]int {
	perCard := map[string]int{}
	live := map[string]int{}
	for _, cr := range snap.Credentials {
		c.r.ACSCredentials++
		perCard[cr.Holder+"|"+cr.Card]++
		if !cr.Live {
			continue
		}
		c.r.ACSLive++
		live[cr.Holder]++
		c.liveCredential(site, cr)
	}
	for k, n := range perCard {
		if n > 1 {
			c.r.violate(&c.r.DuplicateCredentials, "%s: %d credentials for holder|card %s", site.Kind, n, k)
		}
	}
	for holder, n := range live {
		if n > 1 {
			c.r.violate(&c.r.DuplicateCredentials, "%s: %d live credentials for visit %s", site.Kind, n, holder)
		}
	}
	return live
}

// liveCredential checks that a credential live at the ACS belongs to a
// visit that is not over and holds that card active.
func (c *checker) liveCredential(site *Site, cr ACSCredential) {
	v := c.byID[cr.Holder]
	switch {
	case v == nil:
		c.r.violate(&c.r.LiveNotSignedIn, "%s: live credential %s (%s) of unknown holder %q", site.Kind, cr.ID, cr.Card, cr.Holder)
	case v.State.Ended():
		c.r.violate(&c.r.LiveNotSignedIn, "%s: live credential %s (%s) of visit %s, which is %s", site.Kind, cr.ID, cr.Card, v.ID, v.State)
	default:
		cur := v.Current()
		if cur == nil || cur.Status != visitor.CredActive || site.heldCard(*cur) != cr.Card {
			what := "no credential"
			if cur != nil {
				what = fmt.Sprintf("credential %s %s", cur.Card, cur.Status)
			}
			c.r.violate(&c.r.LiveNotSignedIn, "%s: live credential %s (%s) of visit %s (%s), which holds %s", site.Kind, cr.ID, cr.Card, v.ID, v.State, what)
		}
	}
}

// badgeKey names a badge or a card number at a location.
type badgeKey struct{ loc, id string }

// checkBadges checks the badge pools and card-number ranges against the
// visits: nothing held twice, each assignment and allocation held by its
// visit, no overlapping assignments in a badge's history.
func checkBadges(ctx context.Context, store visitor.Store, sites []*Site, visits []visitor.Visit, r *Report, o CheckOptions) error {
	badgeHolders, numberHolders := heldBadges(visits, r, o)
	for _, site := range sites {
		if err := checkPool(ctx, store, site, badgeHolders, r); err != nil {
			return err
		}
		if err := checkAllocations(ctx, store, site, numberHolders, r); err != nil {
			return err
		}
	}
	return nil
}

// heldBadges returns which visits hold each badge and each card number,
// and reports what is held twice or held by a visit that ended.
func heldBadges(visits []visitor.Visit, r *Report, o CheckOptions) (badgeHolders, numberHolders map[badgeKey][]string) {
	badgeHolders = map[badgeKey][]string{}
	numberHolders = map[badgeKey][]string{}
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
				k := badgeKey{v.Location, c.BadgeID}
				badgeHolders[k] = append(badgeHolders[k], v.ID)
			case visitor.FromRange:
				k := badgeKey{v.Location, fmt.Sprint(c.Card.Number)}
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
	return badgeHolders, numberHolders
}

// checkPool checks a location's badge pool against the holders: an
// assigned badge is held by its visit, any other is held by none, and a
// badge's assignments never overlap.
func checkPool(ctx context.Context, store visitor.Store, site *Site, holders map[badgeKey][]string, r *Report) error {
	pool, err := badge.NewPool(store.Badges(), site.Location)
	if err != nil {
		return err
	}
	bs, err := pool.List(ctx, badge.Filter{})
	if err != nil {
		return err
	}
	for _, b := range bs {
		hs := holders[badgeKey{site.Location, b.ID}]
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
	return nil
}

// checkAllocations checks a location's card-number allocations: each
// number allocated once, to a visit that holds it.
func checkAllocations(ctx context.Context, store visitor.Store, site *Site, holders map[badgeKey][]string, r *Report) error {
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
		if hs := holders[badgeKey{site.Location, fmt.Sprint(a.Card.Number)}]; !slices.Contains(hs, a.VisitID) {
			r.violate(&r.BadgeViolations, "card number %d at %s is allocated to %s, which does not hold it (holders %v)", a.Card.Number, site.Location, a.VisitID, hs)
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

// checkVisitAudit checks one visit's trail: the chain of states, the
// records its end needs, and each credential's records.
func checkVisitAudit(v *visitor.Visit, recs []visitor.AuditRecord, r *Report) {
	a := &visitAudit{v: v, recs: recs, r: r}
	count := a.chain()
	a.ending(count)
	if n := count[visitor.ActProvision]; n != len(v.Credentials) {
		a.bad("%d credentials but %d provision records", len(v.Credentials), n)
	}
	var cursor int64
	for ci, c := range v.Credentials {
		cursor = a.credential(ci, c, cursor)
	}
}

// visitAudit is the audit trail of one visit under check.
type visitAudit struct {
	v    *visitor.Visit
	recs []visitor.AuditRecord
	r    *Report
}

func (a *visitAudit) bad(format string, args ...any) {
	a.r.violate(&a.r.AuditViolations, "audit of visit %s: "+format, append([]any{a.v.ID}, args...)...)
}

// chain walks the records in order: sequence numbers increase, each
// transition starts where the previous one ended, and the trail ends in
// the visit's state. It returns how many successful (or queued) records
// each action has.
func (a *visitAudit) chain() map[visitor.Action]int {
	var state visitor.State
	var last time.Time
	count := map[visitor.Action]int{}
	for i, rec := range a.recs {
		if i > 0 && rec.Seq <= a.recs[i-1].Seq {
			a.bad("records out of order (seq %d after %d)", rec.Seq, a.recs[i-1].Seq)
		}
		if rec.Time.Before(last) {
			// Not counted as a violation: a record carries the time its
			// operation started, and operations on one visit may commit
			// in another order (see TestAuditTimeOrder).
			a.r.TimeReorders++
		}
		last = rec.Time
		if rec.Action == visitor.ActStuck {
			// A report about the outbox, not a transition of the visit.
			a.r.Escalations++
			continue
		}
		if rec.Outcome == visitor.OutcomeRefused {
			continue
		}
		if rec.From != state {
			a.bad("record %d (%s) starts from %q, the visit was %q", rec.Seq, rec.Action, rec.From, state)
		}
		state = rec.To
		if rec.Outcome == visitor.OutcomeOK || rec.Outcome == visitor.OutcomeQueued {
			count[rec.Action]++
		}
	}
	if state != a.v.State {
		a.bad("the trail ends in %q, the visit is %q", state, a.v.State)
	}
	return count
}

// ending checks the records the visit's sign-in and final state need.
func (a *visitAudit) ending(count map[visitor.Action]int) {
	v := a.v
	if signedIn := !v.SignedInAt.IsZero(); signedIn != (count[visitor.ActSignIn] == 1) {
		a.bad("signed in at %v but %d sign-in records", v.SignedInAt, count[visitor.ActSignIn])
	}
	switch v.State {
	case visitor.SignedOut:
		if count[visitor.ActSignOut] != 1 {
			a.bad("signed out with %d sign-out records", count[visitor.ActSignOut])
		}
	case visitor.Removed:
		if count[visitor.ActRemove]+count[visitor.ActWatchlist] == 0 {
			a.bad("removed without a removal record")
		}
	case visitor.Expired:
		if count[visitor.ActExpire] != 1 {
			a.bad("expired with %d expiry records", count[visitor.ActExpire])
		}
	}
}

// find returns the Seq of the first record after seq matching ok, or 0.
func (a *visitAudit) find(after int64, ok func(rec *visitor.AuditRecord) bool) int64 {
	for i := range a.recs {
		if a.recs[i].Seq > after && ok(&a.recs[i]) {
			return a.recs[i].Seq
		}
	}
	return 0
}

// credential checks credential ci's records after cursor: queued, then
// confirmed if it was active, revoked or failed as its status says, and
// released when it was. It returns the cursor for the next credential.
func (a *visitAudit) credential(ci int, c visitor.Credential, cursor int64) int64 {
	card := c.Card.String()
	is := func(action visitor.Action, outcome visitor.Outcome) func(rec *visitor.AuditRecord) bool {
		return func(rec *visitor.AuditRecord) bool {
			return rec.Action == action && rec.Outcome == outcome && rec.Card == card
		}
	}
	queued := a.find(cursor, func(rec *visitor.AuditRecord) bool {
		return is(visitor.ActProvision, visitor.OutcomeQueued)(rec) && rec.BadgeID == c.BadgeID
	})
	if queued == 0 {
		a.bad("credential %d (%s, badge %q) has no provision record", ci, card, c.BadgeID)
		return cursor
	}
	confirmed := int64(0)
	if !c.ActiveAt.IsZero() {
		if confirmed = a.find(queued, is(visitor.ActACSProvision, visitor.OutcomeOK)); confirmed == 0 {
			a.bad("credential %d (%s) was confirmed active at %s without an acs_provision ok record", ci, card, c.ActiveAt.Format(time.RFC3339))
		}
	}
	switch c.Status {
	case visitor.CredRevoked:
		if !c.ActiveAt.IsZero() && a.find(confirmed, func(rec *visitor.AuditRecord) bool {
			return is(visitor.ActACSRevoke, visitor.OutcomeOK)(rec) || rec.Action == visitor.ActACSRemove && rec.Outcome == visitor.OutcomeOK
		}) == 0 {
			a.bad("credential %d (%s) is revoked without an ACS revocation record after its confirmation", ci, card)
		}
	case visitor.CredFailed:
		if a.find(queued, is(visitor.ActACSProvision, visitor.OutcomeFailed)) == 0 {
			a.bad("credential %d (%s) failed without a failed acs_provision record", ci, card)
		}
	}
	if c.Released {
		action := visitor.ActBadgeRelease
		if c.Source == visitor.FromRange {
			action = visitor.ActCardFree
		}
		if a.find(queued, is(action, visitor.OutcomeOK)) == 0 {
			a.bad("credential %d (%s) was released without a %s record", ci, card, action)
		}
	}
	return queued
}
