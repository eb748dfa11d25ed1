package visitor

import (
	"context"
	"errors"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// run carries one operation through its store transaction: the time, the
// actor, the location, and the outbox items to attempt after the commit.
// Its fields that a TxFunc fills are reset at the start of every call,
// since a store may call the TxFunc more than once.
type run struct {
	e     *Engine
	ctx   context.Context
	now   time.Time
	actor string
	// fast leases new items to this run when they are the head of their
	// visit's queue, so they are attempted right after the commit.
	fast  bool
	owner string

	loc  *Location
	next []OutboxItem
	// stuck collects the items an outcome found stuck, reported after
	// the commit.
	stuck []StuckItem
	// attempted is the outcome of the ACS attempt this run recorded, for
	// the operations metric.
	attempted Outcome
}

func (e *Engine) newRun(ctx context.Context, actor string, fast bool) *run {
	r := &run{e: e, ctx: ctx, now: e.clock.Now(), actor: actor, fast: fast}
	if fast {
		r.owner = e.leaseOwner()
	}
	return r
}

// errUnchanged makes a TxFunc roll back when nothing needs to change;
// apply then returns the visit as stored.
var errUnchanged = errors.New("visitor: unchanged")

// txFunc adapts fn to a Store TxFunc: it resets the run, resolves the
// location, and sets DueAt after fn.
func (r *run) txFunc(fn func(tx Tx, v *Visit) error) TxFunc {
	return func(tx Tx, v *Visit) error {
		// Read the clock once the store holds the visit, so that records
		// of one visit never go back in time: a transaction that waited
		// for another commits after it and is stamped after it.
		if now := r.e.clock.Now(); now.After(r.now) {
			r.now = now
		}
		r.next, r.stuck = r.next[:0], r.stuck[:0]
		r.loc = r.e.locs[v.Location]
		if r.loc == nil {
			return refusal("update", acs.Unsupported, "location %q of visit %s is not configured on this engine", v.Location, v.ID)
		}
		if err := fn(tx, v); err != nil {
			return err
		}
		v.DueAt = dueAt(v, &r.loc.Policy, r.e.acsRetention)
		return nil
	}
}

// dueAt is when the sweeper must next look at v.
func dueAt(v *Visit, p *Policy, acsRetention time.Duration) time.Time {
	if v.Employee != nil {
		return employeeDue(v)
	}
	return earliest(visitDue(v, p, acsRetention), enrolDue(v))
}

// visitDue is when the sweeper must next look at v for its state and
// credentials.
func visitDue(v *Visit, p *Policy, acsRetention time.Duration) time.Time {
	if v.State.Ended() {
		if acsRetention > 0 && !v.CardholderRemoval && len(v.Credentials) > 0 {
			return v.EndedAt.Add(acsRetention)
		}
		return time.Time{}
	}
	switch v.State {
	case Invited:
		return v.AccessFrom
	case Expected:
		return v.AccessUntil
	case SignedIn:
		var d time.Time
		if p.AutoSignOut > 0 {
			d = v.SignedInAt.Add(p.AutoSignOut)
		}
		for i := range v.Credentials {
			if c := &v.Credentials[i]; c.Status.Live() && (d.IsZero() || c.ValidUntil.Before(d)) {
				d = c.ValidUntil
			}
		}
		return d
	}
	return time.Time{}
}

// apply runs fn on the visit in one transaction (creating it first when
// create is set), audits a refusal, and then attempts the outbox items the
// transaction leased to this run. base describes the operation for the
// refusal record.
func (e *Engine) apply(r *run, op string, base AuditRecord, id string, create *Visit, fn func(tx Tx, v *Visit) error) (Visit, error) {
	var v Visit
	var err error
	fn = guardVisitOp(op, fn)
	if create != nil {
		v, err = e.store.Create(r.ctx, *create, r.txFunc(fn))
	} else {
		v, err = e.store.Update(r.ctx, id, r.txFunc(fn))
	}
	if errors.Is(err, errUnchanged) {
		v, err = e.store.Visit(r.ctx, id)
		return v, storeErr(op, err)
	}
	if err != nil {
		err = storeErr(op, err)
		if create != nil && errors.Is(err, ErrExists) {
			return Visit{}, err // the caller decides: a retry, or a refusal
		}
		if isRefusal(err) {
			base.VisitID = id
			if r.loc != nil {
				base.Location = r.loc.ID
			}
			if create != nil {
				base.VisitID, base.Location = create.ID, create.Location
			}
			e.refuse(r, base, err)
		}
		return Visit{}, err
	}
	return e.runNow(r.ctx, r.next, v)
}

// refuse appends the audit record of a refused operation.
func (e *Engine) refuse(r *run, rec AuditRecord, err error) {
	rec.Time, rec.Outcome, rec.Error = r.now, OutcomeRefused, err.Error()
	if rec.Actor == "" {
		rec.Actor = r.actor
	}
	if aerr := e.store.AppendAudit(context.WithoutCancel(r.ctx), rec); aerr != nil {
		e.log.ErrorContext(r.ctx, "visitor: cannot audit a refusal", "visit", rec.VisitID, "action", rec.Action, "err", aerr)
	}
}

// audit appends a record about v in the transaction.
func (r *run) audit(tx Tx, v *Visit, rec AuditRecord) error {
	if rec.Time.IsZero() { // door events carry the time the ACS reported
		rec.Time = r.now
	}
	rec.VisitID, rec.Location = v.ID, v.Location
	switch rec.Action {
	case ActACSProvision, ActACSReprovision, ActACSRevoke, ActACSRemove:
		r.attempted = rec.Outcome
	}
	if rec.Actor == "" {
		rec.Actor = r.actor
	}
	if rec.From == "" && v.Version > 0 { // a visit being created comes from no state
		rec.From = v.State
	}
	if rec.To == "" {
		rec.To = v.State
	}
	if !v.Scrubbed {
		rec.Subject = v.Visitor.Name()
	}
	return tx.Audit(rec)
}

// credAudit fills the credential fields of an audit record.
func credAudit(rec AuditRecord, c *Credential) AuditRecord {
	rec.BadgeID, rec.AccessLevels = c.BadgeID, c.AccessLevels
	if !c.Card.IsZero() {
		rec.Card = c.Card.String()
	}
	if c.Source == FromPIN {
		rec.Card = "PIN" // never its digits
	}
	return rec
}

// enqueue adds an ACS operation to v's queue, leased to this run when the
// run is fast and the queue was empty.
func (r *run) enqueue(tx Tx, v *Visit, it OutboxItem) error {
	it.ID = r.e.newID()
	it.VisitID, it.Location = v.ID, v.Location
	it.CreatedAt, it.NextAttempt = r.now, r.now
	if r.fast {
		queued, err := tx.Outbox()
		if err != nil {
			return err
		}
		if len(queued) == 0 {
			it.Attempts, it.LeaseOwner, it.LeaseUntil = 1, r.owner, r.now.Add(r.e.lease)
		}
	}
	if err := tx.Enqueue(it); err != nil {
		return err
	}
	if it.LeaseOwner != "" {
		r.next = append(r.next, it)
	}
	return nil
}

func (r *run) enqueueRevoke(tx Tx, v *Visit, i int) error {
	c := &v.Credentials[i]
	ref := c.Ref
	ref.CardholderExternalID, ref.Card = v.ID, c.Card
	op := OpRevoke
	if c.Source == FromPIN {
		op = OpRevokePIN
	}
	return r.enqueue(tx, v, OutboxItem{Op: op, Credential: i, Ref: &ref})
}

// endCredential stops credential i of v: a revocation is queued unless the
// credential never reached the ACS. With release, its badge or card number
// goes back once the revocation is confirmed (at once when it already is).
// A pending provision nobody is executing is cancelled; one being executed
// is left to finish, and the revocation queued behind it wins.
func (r *run) endCredential(tx Tx, v *Visit, i int, release bool) error {
	c := &v.Credentials[i]
	if release {
		c.Release = true
	}
	switch c.Status {
	case CredActive:
		c.Status = CredRevoking
		return r.enqueueRevoke(tx, v, i)
	case CredPending:
		queued, err := tx.Outbox()
		if err != nil {
			return err
		}
		for _, it := range queued {
			if it.Op != OpProvision && it.Op != OpProvisionPIN || it.Credential != i || it.Leased(r.now) {
				continue
			}
			if err := tx.Cancel(it.ID); err != nil {
				return err
			}
			if it.Attempts == 0 {
				// It never reached the ACS: nothing to revoke.
				c.Status, c.RevokedAt = CredRevoked, r.now
				if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActProvisionCancel, Outcome: OutcomeOK}, c)); err != nil {
					return err
				}
				return r.release(tx, v, i)
			}
		}
		// Attempted (perhaps created, its response lost) or being
		// attempted: revoke by external ID and card, after it.
		c.Status = CredRevoking
		return r.enqueueRevoke(tx, v, i)
	case CredRevoked, CredFailed:
		return r.release(tx, v, i)
	}
	return nil // CredRevoking: already queued
}

// release returns credential i's badge to the pool or its number to the
// range, if the credential is done, marked for release and still held.
func (r *run) release(tx Tx, v *Visit, i int) error {
	c := &v.Credentials[i]
	if !c.Release || !c.Holding() || !c.Status.Done() {
		return nil
	}
	action := ActBadgeRelease
	switch c.Source {
	case FromPIN:
		return r.releasePIN(tx, v, i)
	case FromPool:
		if _, err := tx.Badges().Release(r.ctx, v.Location, c.BadgeID, v.ID, r.now); err != nil {
			return badgeErr("release", err)
		}
	case FromRange:
		action = ActCardFree
		if err := tx.Cards().Free(r.ctx, v.Location, c.Card.Number, v.ID); err != nil {
			return badgeErr("release", err)
		}
	}
	c.Released = true
	return r.audit(tx, v, credAudit(AuditRecord{Action: action, Outcome: OutcomeOK}, c))
}

// end moves v to a final state, recording rec as the transition, stopping
// every credential and releasing what it holds once the ACS confirms.
func (r *run) end(tx Tx, v *Visit, to State, reason string, rec AuditRecord) error {
	rec.From, rec.To = v.State, to
	v.State, v.EndedAt, v.EndedBy, v.EndReason = to, r.now, r.actor, reason
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	for i := range v.Credentials {
		if c := &v.Credentials[i]; !c.Status.Done() || c.Holding() {
			if err := r.endCredential(tx, v, i, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove ends v as Removed with everything revoked at once: queued
// provisions nobody executes are cancelled and the cardholder (every
// credential the visit ever had) is removed at the ACS (removeAtACS).
func (r *run) remove(tx Tx, v *Visit, reason string) error {
	out := OutcomeOK
	if len(v.Credentials) > 0 {
		out = OutcomeQueued
	}
	rec := AuditRecord{Action: ActRemove, From: v.State, To: Removed, Outcome: out, Reason: reason}
	v.State, v.EndedAt, v.EndedBy, v.EndReason = Removed, r.now, r.actor, reason
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.removeAtACS(tx, v)
}

// removeAtACS stops everything v holds at the ACS in one operation:
// queued provisions nobody executes are cancelled, every credential not
// yet done becomes Revoking (its badge or number goes back once the ACS
// confirms), and the removal of the cardholder is queued behind whatever
// is being executed.
func (r *run) removeAtACS(tx Tx, v *Visit) error {
	queued, err := tx.Outbox()
	if err != nil {
		return err
	}
	for _, it := range queued {
		if (it.Op == OpProvision || it.Op == OpProvisionPIN) && !it.Leased(r.now) {
			if err := tx.Cancel(it.ID); err != nil {
				return err
			}
		}
	}
	var holder acs.CardholderRef
	for i := range v.Credentials {
		c := &v.Credentials[i]
		c.Release = true
		if c.Status.Done() {
			if err := r.release(tx, v, i); err != nil {
				return err
			}
			continue
		}
		c.Status = CredRevoking
		if c.Ref.CardholderID != "" {
			holder.ID = c.Ref.CardholderID
		}
	}
	if len(v.Credentials) == 0 {
		return nil
	}
	holder.ExternalID = v.ID
	v.CardholderRemoval = true
	return r.enqueue(tx, v, OutboxItem{Op: OpRemoveCardholder, Credential: -1, Cardholder: &holder})
}
