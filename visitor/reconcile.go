package visitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// ReconcileReport says what one Reconcile found at a location's ACS and
// what it did. Every finding is also an audit record (ActReconcile).
type ReconcileReport struct {
	Location string `json:"location"`
	// Cardholders and Credentials count what the ACS listed.
	Cardholders int `json:"cardholders"`
	Credentials int `json:"credentials"`
	// Orphans counts credentials that open doors at the ACS for no
	// active credential of a visit: their revocation was queued (or, for
	// a visit the store does not know, made at once).
	Orphans int `json:"orphans"`
	// Repairs counts active credentials the ACS lost, disabled or holds
	// with other access levels or another window: their re-provision was
	// queued.
	Repairs int `json:"repairs"`
	// Failed counts findings that could not be acted on (see the audit
	// trail and the returned error).
	Failed int `json:"failed"`
}

// WithReconcile makes Run reconcile every location whose ACS implements
// acs.Inventory every d (default 0: never; Reconcile can always be called
// directly). With several replicas, each reconciles on its own schedule:
// findings are queued once, but each inventory is a full listing at the
// ACS, so set it on one replica or choose d with the ACS's rate limit in
// mind.
func WithReconcile(d time.Duration) Option { return func(e *Engine) { e.reconcileEvery = d } }

// Reconcile compares what the location's ACS holds (acs.Inventory) with the
// store and repairs the differences, so that whatever happened behind the
// Engine's back (a lost state, a restored backup, an edit at the ACS, a
// bug) no credential opens doors for a visit that should not have one and
// every active visit credential opens what it should:
//
//   - a credential live at the ACS that belongs to no active credential of
//     a visit is revoked through the outbox (a cardholder whose visit the
//     store does not know at all is removed at once, since there is no
//     visit to queue it under);
//   - an active credential missing or disabled at the ACS, or held there
//     with other access levels or a window that differs by a minute or
//     more, is provisioned again through the outbox (OpReprovision);
//   - credentials whose provision or revocation is still queued are left
//     to the outbox.
//
// Each finding is audited (ActReconcile) with what was found and done. A
// provider without acs.Inventory is Unsupported. Visits of other locations
// sharing the ACS are left alone.
func (e *Engine) Reconcile(ctx context.Context, location string) (ReconcileReport, error) {
	ctx, span := e.startSpan(ctx, "visitor.reconcile", attrLocation.String(location))
	rep, err := e.reconcile(ctx, location)
	e.countFindings(ctx, rep)
	return rep, span.end("", err)
}

// reconcile is Reconcile without its span and metrics.
func (e *Engine) reconcile(ctx context.Context, location string) (ReconcileReport, error) {
	const opName = "reconcile"
	rep := ReconcileReport{Location: location}
	l := e.locs[location]
	if l == nil {
		return rep, refusal(opName, acs.InvalidArgument, "location %q is not configured", location)
	}
	inv, ok := l.Provider.(acs.Inventory)
	if !ok {
		return rep, refusal(opName, acs.Unsupported, "the ACS of location %s (%s) cannot list its cardholders", location, l.Provider.Name())
	}
	started := e.clock.Now()
	seen := make(map[string]bool)
	var errs []error
	err := inv.Holdings(ctx, func(h acs.Holding) error {
		rep.Cardholders++
		rep.Credentials += len(h.Credentials)
		seen[h.Cardholder.ExternalID] = true
		err := e.reconcileHolding(ctx, l, h, started, &rep)
		if err != nil && !isACSError(err) {
			return err // the store failed: stop
		}
		errs = appendErr(errs, err, &rep)
		return nil
	})
	if err != nil {
		return rep, err
	}
	if err := e.reconcileMissing(ctx, l, seen, started, &rep); err != nil {
		return rep, err
	}
	return rep, errors.Join(errs...)
}

func appendErr(errs []error, err error, rep *ReconcileReport) []error {
	if err == nil {
		return errs
	}
	rep.Failed++
	return append(errs, err)
}

// reconcileHolding reconciles one cardholder listed by the ACS.
func (e *Engine) reconcileHolding(ctx context.Context, l *Location, h acs.Holding, now time.Time, rep *ReconcileReport) error {
	v, err := e.store.Visit(ctx, h.Cardholder.ExternalID)
	if errors.Is(err, ErrNotFound) {
		return e.revokeUnknown(ctx, l, h, now, rep)
	}
	if err != nil || v.Location != l.ID {
		return err
	}
	r := e.newRun(ctx, ActorSystem, false)
	var found reconcileCount
	_, err = e.store.Update(ctx, v.ID, r.txFunc(func(tx Tx, v *Visit) error {
		found = reconcileCount{}
		return r.reconcileVisit(tx, v, h.Credentials, now, &found)
	}))
	if errors.Is(err, errUnchanged) || errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil {
		rep.Orphans += found.orphans
		rep.Repairs += found.repairs
	}
	return err
}

type reconcileCount struct{ orphans, repairs int }

// reconcileVisit compares the credentials the ACS holds for v with v's own
// and queues what repairs them. Nothing to do rolls back (errUnchanged).
func (r *run) reconcileVisit(tx Tx, v *Visit, held []acs.HeldCredential, listed time.Time, n *reconcileCount) error {
	queued, err := tx.Outbox()
	if err != nil {
		return err
	}
	matched := make(map[int]bool)
	for _, hc := range held {
		i := matchCredential(v, hc)
		matched[i] = true
		if err := r.reconcileCredential(tx, v, i, hc, queued, n); err != nil {
			return err
		}
	}
	for i := range v.Credentials {
		c := &v.Credentials[i]
		if matched[i] || c.Status != CredActive || c.Source == FromPIN || c.ActiveAt.After(listed) || !r.now.Before(c.ValidUntil) {
			continue
		}
		if err := r.queueRepair(tx, v, i, queued, "the ACS holds no such credential for the visit", n); err != nil {
			return err
		}
	}
	if n.orphans+n.repairs == 0 {
		return errUnchanged
	}
	return nil
}

// reconcileCredential handles one credential the ACS holds for v; i is
// the matching credential of v, or -1.
func (r *run) reconcileCredential(tx Tx, v *Visit, i int, hc acs.HeldCredential, queued []OutboxItem, n *reconcileCount) error {
	c := credentialAt(v, i)
	switch {
	case c != nil && c.Source == FromPIN && c.Status.Live():
		return nil // a PIN cannot be sent again: it lives no longer than its window
	case c != nil && c.Status == CredActive:
		if d := drift(hc, c, r.now); d != "" {
			return r.queueRepair(tx, v, i, queued, d, n)
		}
		return nil
	case c != nil && c.Status == CredPending:
		return nil // its provision is queued or running
	case !hc.OpensAt(r.now) || revocationQueued(queued, i):
		return nil
	}
	n.orphans++
	ref := hc.Ref
	ref.CardholderExternalID = v.ID
	reason := fmt.Sprintf("credential %s opens doors at the ACS but the visit holds it as %s", hc.Ref.Card, credStatus(c))
	rec := AuditRecord{Action: ActReconcile, Outcome: OutcomeQueued, Reason: reason, Card: hc.Ref.Card.String(), AccessLevels: hc.AccessLevels}
	op := OpRevoke
	if c != nil {
		c.Status = CredRevoking
		rec = credAudit(rec, c)
		if c.Source == FromPIN {
			op = OpRevokePIN
		}
	}
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.enqueue(tx, v, OutboxItem{Op: op, Credential: i, Ref: &ref})
}

func credStatus(c *Credential) string {
	if c == nil {
		return "unknown (no such credential)"
	}
	return string(c.Status)
}

// matchCredential returns the index of v's credential that hc is, by ACS
// ID or else by card (the most recent), or -1.
func matchCredential(v *Visit, hc acs.HeldCredential) int {
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if c := &v.Credentials[i]; hc.Ref.ID != "" && c.Ref.ID == hc.Ref.ID {
			return i
		}
	}
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if v.Credentials[i].Card == hc.Ref.Card {
			return i
		}
	}
	return -1
}

// revocationQueued reports whether a revocation of credential i (or the
// removal of the cardholder) is queued and held by nobody (an item whose
// lease merely expired may be in flight): it will run after the listing
// and cover what the listing saw.
func revocationQueued(queued []OutboxItem, i int) bool {
	for _, q := range queued {
		if (q.Op == OpRemoveCardholder || (q.Op == OpRevoke || q.Op == OpRevokePIN) && q.Credential == i && i >= 0) && q.LeaseOwner == "" {
			return true
		}
	}
	return false
}

// drift says how the credential the ACS holds differs from active
// credential c, or "" when it does not.
func drift(hc acs.HeldCredential, c *Credential, now time.Time) string {
	switch {
	case !hc.OpensAt(now) && !now.Before(c.ValidFrom) && now.Before(c.ValidUntil):
		return fmt.Sprintf("credential %s does not open doors at the ACS (active %v, levels %v)", c.Card, hc.Active, hc.AccessLevels)
	case !sameSet(hc.AccessLevels, c.AccessLevels):
		return fmt.Sprintf("credential %s has access levels %v at the ACS, %v granted", c.Card, hc.AccessLevels, c.AccessLevels)
	case hc.ValidUntil.IsZero() || apart(hc.ValidUntil, c.ValidUntil) || !hc.ValidFrom.IsZero() && apart(hc.ValidFrom, c.ValidFrom):
		return fmt.Sprintf("credential %s is valid %s – %s at the ACS, %s – %s granted", c.Card,
			stamp(hc.ValidFrom), stamp(hc.ValidUntil), stamp(c.ValidFrom), stamp(c.ValidUntil))
	}
	return ""
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "unbounded"
	}
	return t.UTC().Format(time.RFC3339)
}

// apart reports whether a and b differ by a minute or more (ACSs store
// windows to the minute).
func apart(a, b time.Time) bool {
	d := a.Sub(b)
	return d >= time.Minute || d <= -time.Minute
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// queueRepair queues the re-provision of active credential i unless one is
// queued already, and audits the finding.
func (r *run) queueRepair(tx Tx, v *Visit, i int, queued []OutboxItem, reason string, n *reconcileCount) error {
	for _, q := range queued {
		if q.Op == OpReprovision && q.Credential == i {
			return nil
		}
	}
	n.repairs++
	c := &v.Credentials[i]
	if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActReconcile, Outcome: OutcomeQueued, Reason: reason}, c)); err != nil {
		return err
	}
	g := grantFor(v, c)
	return r.enqueue(tx, v, OutboxItem{Op: OpReprovision, Credential: i, Grant: &g})
}

// grantFor is the grant of credential c of v, as provisioned.
func grantFor(v *Visit, c *Credential) acs.Grant {
	return acs.Grant{
		Person: acs.Person{
			ExternalID: v.ID, FirstName: v.Visitor.FirstName, LastName: v.Visitor.LastName,
			Email: v.Visitor.Email, Company: v.Visitor.Company,
		},
		Card: c.Card, CredentialType: c.CredentialType, AccessLevels: slices.Clone(c.AccessLevels),
		ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
	}
}

// revokeUnknown removes, at once, a marked cardholder whose visit the store
// does not know when any of its credentials opens doors: there is no visit
// to queue the removal under, and nobody the VMS knows for it to serve (a
// restored backup, a lost database, another system writing the marker).
// Cardholders of unknown visits that open nothing, or that Location.Owns
// disowns, are left alone. A
// failure is audited and returned; the next Reconcile tries again.
func (e *Engine) revokeUnknown(ctx context.Context, l *Location, h acs.Holding, now time.Time, rep *ReconcileReport) error {
	if l.Owns != nil && !l.Owns(h) {
		return nil
	}
	var live []string
	for _, hc := range h.Credentials {
		if hc.OpensAt(now) {
			live = append(live, hc.Ref.Card.String())
		}
	}
	if len(live) == 0 {
		return nil
	}
	rep.Orphans += len(live)
	cctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	err := l.Provider.RemoveCardholder(cctx, h.Cardholder)
	cancel()
	if err != nil && !isACSError(err) {
		err = acs.Wrap("remove_cardholder", l.Provider.Name(), acs.Unknown, err)
	}
	rec := AuditRecord{Time: e.clock.Now(), Actor: ActorSystem, Action: ActReconcile, VisitID: h.Cardholder.ExternalID,
		Location: l.ID, Card: strings.Join(live, ", "), Outcome: OutcomeOK,
		Reason: fmt.Sprintf("%d credential(s) open doors at the ACS for a cardholder whose visit the store does not know: cardholder removed", len(live))}
	if err != nil {
		rec.Outcome, rec.Error = OutcomeFailed, err.Error()
	}
	if aerr := e.store.AppendAudit(context.WithoutCancel(ctx), rec); aerr != nil {
		return aerr
	}
	return err
}

// reconcileMissing repairs the active credentials of visits at l whose
// cardholder the ACS did not list at all (deleted there).
func (e *Engine) reconcileMissing(ctx context.Context, l *Location, seen map[string]bool, listed time.Time, rep *ReconcileReport) error {
	f := VisitFilter{Location: l.ID, States: []State{Invited, Expected, SignedIn}, Limit: 500}
	for {
		vs, err := e.store.Visits(ctx, f)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if seen[v.ID] || !hasActive(&v) {
				continue
			}
			if err := e.reconcileHolding(ctx, l, acs.Holding{Cardholder: acs.CardholderRef{ExternalID: v.ID}}, listed, rep); err != nil {
				return err
			}
		}
		if len(vs) < f.Limit {
			return nil
		}
		f.AfterID = vs[len(vs)-1].ID
	}
}

func hasActive(v *Visit) bool {
	for i := range v.Credentials {
		if v.Credentials[i].Status == CredActive {
			return true
		}
	}
	return false
}
