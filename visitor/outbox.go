package visitor

import (
	"cmp"
	"context"
	"errors"
	"sync"

	"github.com/acsbridge/acsbridge/acs"
)

// RunOutboxOnce claims one batch of due outbox items (at most one per
// visit: the head of its queue) and executes them, a few at a time. It
// returns how many it claimed; call it until it returns less than
// ClaimLimit to drain what is due now. ACS failures are not errors here:
// the item is rescheduled with backoff (provisions until their window ends,
// revocations forever, reported once stuck: see WithStuck). The error
// reports a store failure.
//
// A claim is fenced: no ACS call starts on an item whose lease has less
// than the call timeout left (the item goes back to the queue instead), so
// a call never outlives the lease that protects it; and an outcome that
// arrives after the lease was lost anyway (a paused process, a provider
// that ignores its context) is reconciled, never dropped: a provision
// that landed for a credential no longer wanted is revoked again.
func (e *Engine) RunOutboxOnce(ctx context.Context) (int, error) {
	owner := e.leaseOwner()
	items, err := e.store.ClaimOutbox(ctx, owner, e.clock.Now(), e.lease, e.ClaimLimit())
	if err != nil || len(items) == 0 {
		return 0, err
	}
	work := make(chan OutboxItem)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(e.workers, len(items)) {
		wg.Go(func() {
			for it := range work {
				if err := e.executeChain(ctx, it); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return len(items), firstErr
}

// ClaimLimit is how many outbox items RunOutboxOnce claims at most: the
// batch size (WithBatch), capped so that the workers can finish every
// claimed item within its lease even when each call takes the whole call
// timeout: workers × (lease ÷ call timeout − 1), the −1 leaving each
// worker's last call time to record its outcome.
func (e *Engine) ClaimLimit() int {
	perWorker := max(1, int(e.lease/e.callTimeout)-1)
	return min(e.batch, e.workers*perWorker)
}

// executeChain executes it and then whatever its outcome queued and leased
// to this worker, in order. It returns the first store failure.
func (e *Engine) executeChain(ctx context.Context, it OutboxItem) error {
	var first error
	pending := []OutboxItem{it}
	for len(pending) > 0 {
		_, next, err := e.execute(ctx, pending[0])
		pending = append(pending[1:], next...)
		if err != nil && !isACSError(err) {
			first = cmp.Or(first, err)
		}
	}
	return first
}

// isACSError reports whether err came from the ACS (as opposed to the
// store). Provider errors are always *acs.Error by the time they get here
// (see callACS).
func isACSError(err error) bool {
	var ae *acs.Error
	return errors.As(err, &ae)
}

// runNow attempts items leased by an operation right after its commit, and
// whatever their outcome queues next, returning the visit as it is after
// the last one. The error is the ACS's refusal of a provision, if any.
func (e *Engine) runNow(ctx context.Context, items []OutboxItem, v Visit) (Visit, error) {
	var refused error
	for len(items) > 0 {
		it := items[0]
		nv, next, err := e.execute(ctx, it)
		items = append(items[1:], next...)
		if nv.ID != "" {
			v = nv
		}
		if err != nil && refused == nil {
			refused = err
		}
	}
	if refused != nil && !isACSError(refused) {
		// A store failure while recording the outcome: the item stays
		// leased and the worker takes it over when the lease expires.
		e.log.WarnContext(ctx, "visitor: outcome of an ACS operation not recorded", "visit", v.ID, "err", refused)
		refused = nil
	}
	return v, refused
}

// attempt is the result of one ACS call for an outbox item.
type attempt struct {
	p   acs.Provisioned
	err error
	// skipped: no call was made because the item is no longer wanted.
	skipped bool
}

// execute performs one claimed item at the ACS and records the outcome.
// It returns the visit afterwards, the items the outcome queued and leased
// to the caller, and an error: the ACS's refusal of a provision (final), or
// a store failure.
func (e *Engine) execute(ctx context.Context, it OutboxItem) (Visit, []OutboxItem, error) {
	if left := it.LeaseUntil.Sub(e.clock.Now()); left < e.callTimeout {
		// Too little lease left for a call: give the item back at once
		// rather than call the ACS on work another engine may take over.
		return Visit{}, nil, e.yield(ctx, it)
	}
	ctx, span := e.startSpan(ctx, "acs "+string(it.Op), attrLocation.String(it.Location),
		attrProvider.String(e.providerName(it.Location)), attrItem.String(it.ID), attrAttempt.Int(it.Attempts))
	a, err := e.prepare(ctx, it)
	if err != nil {
		return Visit{}, nil, span.end(it.VisitID, err)
	}
	if !a.skipped {
		a.p, a.err = e.callACS(ctx, it)
	}
	v, next, err := e.record(ctx, it, a)
	if a.err != nil {
		_ = span.end(it.VisitID, a.err)
		return v, next, err
	}
	return v, next, span.end(it.VisitID, err)
}

// yield ends this engine's lease on it without counting an attempt
// against the ACS, so that any engine may claim it again now.
func (e *Engine) yield(ctx context.Context, it OutboxItem) error {
	_, err := e.store.Update(context.WithoutCancel(ctx), it.VisitID, func(tx Tx, v *Visit) error {
		return tx.Retry(it.LeaseOwner, it.ID, e.clock.Now(), it.LastError)
	})
	if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// prepare decides whether the call is still wanted: a provision runs only
// while its credential waits for it (its visit may have ended while the
// item was leased to a worker that then stopped), a re-provision only while
// its credential is active.
func (e *Engine) prepare(ctx context.Context, it OutboxItem) (attempt, error) {
	want := CredPending
	switch it.Op {
	case OpProvision, OpProvisionPIN:
	case OpReprovision:
		want = CredActive
	case OpEmployeeEnable:
		return e.prepareEmployee(ctx, it)
	default:
		return attempt{}, nil
	}
	v, err := e.store.Visit(ctx, it.VisitID)
	if err != nil {
		return attempt{}, err
	}
	c := credentialAt(&v, it.Credential)
	return attempt{skipped: c == nil || c.Status != want || it.Grant == nil && it.PINGrant == nil}, nil
}

// callACS makes the item's call at the location's ACS under the call
// timeout. Whatever the provider returns, the error is an *acs.Error: a
// provider that breaks that contract is classified Unknown here rather
// than mistaken for a store failure.
func (e *Engine) callACS(ctx context.Context, it OutboxItem) (acs.Provisioned, error) {
	l := e.locs[it.Location]
	if l == nil {
		return acs.Provisioned{}, acs.Errorf(string(it.Op), "", acs.Unavailable, "location %q is not configured on this engine", it.Location)
	}
	cctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	defer cancel()
	var p acs.Provisioned
	var err error
	switch it.Op {
	case OpProvision, OpReprovision:
		p, err = l.Provider.Provision(cctx, *it.Grant)
	case OpRevoke:
		err = l.Provider.Revoke(cctx, *it.Ref)
	case OpRemoveCardholder:
		err = l.Provider.RemoveCardholder(cctx, *it.Cardholder)
	case OpEmployeeEnable, OpEmployeeDisable:
		err = callEmployee(cctx, l.Provider, it)
	case OpProvisionPIN, OpRevokePIN:
		p, err = e.callPIN(cctx, l, it)
	default:
		err = acs.Errorf(string(it.Op), "", acs.Unsupported, "unknown outbox operation %q", it.Op)
	}
	if err != nil && !isACSError(err) {
		err = acs.Wrap(string(it.Op), l.Provider.Name(), acs.Unknown, err)
	}
	return p, err
}

// record stores the outcome of an attempt. When the lease was lost
// meanwhile, the outcome is reconciled instead (see lateOutcome).
func (e *Engine) record(ctx context.Context, it OutboxItem, a attempt) (Visit, []OutboxItem, error) {
	// Record the outcome even if the caller's context ended meanwhile.
	r := e.newRun(context.WithoutCancel(ctx), ActorSystem, true)
	var refused error
	v, err := e.store.Update(r.ctx, it.VisitID, r.txFunc(func(tx Tx, v *Visit) error {
		var err error
		refused, err = r.settle(tx, v, it, a)
		return err
	}))
	if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound) {
		return e.lateOutcome(ctx, it, a)
	}
	if err != nil {
		return Visit{}, nil, err
	}
	e.countAttempt(ctx, it, a, r.attempted)
	e.escalate(ctx, r.stuck)
	return v, r.next, refused
}

// settle records the outcome of one attempt of it. It returns the ACS's
// final refusal of a provision, and an error that rolls the transaction
// back.
func (r *run) settle(tx Tx, v *Visit, it OutboxItem, a attempt) (refused, err error) {
	r.stuck = r.stuck[:0]
	switch it.Op {
	case OpProvision, OpProvisionPIN:
		return r.settleProvision(tx, v, it, a)
	case OpReprovision:
		return nil, r.settleReprovision(tx, v, it, a)
	case OpRevoke, OpRevokePIN:
		return nil, r.settleRevoke(tx, v, it, a.err)
	case OpRemoveCardholder:
		return nil, r.settleRemove(tx, v, it, a.err)
	case OpEmployeeEnable, OpEmployeeDisable:
		return r.settleEmployee(tx, v, it, a)
	}
	return nil, acs.Errorf(string(it.Op), "", acs.Unsupported, "unknown outbox operation %q", it.Op)
}

// credentialAt returns credential i of v, or nil when i is out of range
// (-1 for items about the whole cardholder).
func credentialAt(v *Visit, i int) *Credential {
	if i < 0 || i >= len(v.Credentials) {
		return nil
	}
	return &v.Credentials[i]
}

// attemptAudit starts the audit record of an attempt of it.
func attemptAudit(v *Visit, it OutboxItem, action Action, callErr error) AuditRecord {
	rec := AuditRecord{Actor: ActorSystem, Action: action, Attempt: it.Attempts, Outcome: OutcomeOK}
	if c := credentialAt(v, it.Credential); c != nil {
		rec = credAudit(rec, c)
	}
	if callErr != nil {
		rec.Error = callErr.Error()
	}
	return rec
}

// retry reschedules it after a failed attempt and notes the outcome in rec:
// with backoff (the longest at once after a definite refusal, which
// retrying soon will not change), escalated once the item is stuck (see
// WithStuck).
func (r *run) retry(tx Tx, it OutboxItem, callErr error, rec *AuditRecord) error {
	delay := r.e.backoff(&it, callErr)
	if definite(callErr) {
		delay = max(delay, r.e.maxBackoff)
	}
	reason := r.e.stuckReason(it, callErr, r.now)
	if err := tx.Retry(it.LeaseOwner, it.ID, r.now.Add(delay), callErr.Error()); err != nil {
		return err
	}
	rec.Outcome = OutcomeRetry
	r.e.log.WarnContext(r.ctx, "visitor: ACS operation failed; will retry", "op", it.Op, "visit", it.VisitID, "attempt", it.Attempts, "err", callErr)
	if reason == "" {
		return nil
	}
	it.LastError, it.NextAttempt, it.LeaseOwner = callErr.Error(), r.now.Add(delay), ""
	r.stuck = append(r.stuck, StuckItem{Item: it, Reason: reason, Err: callErr})
	return tx.Audit(AuditRecord{Time: r.now, Actor: ActorSystem, Action: ActStuck, VisitID: it.VisitID,
		Location: it.Location, BadgeID: rec.BadgeID, Card: rec.Card, Attempt: it.Attempts,
		Outcome: OutcomeEscalated, Reason: reason, Error: callErr.Error()})
}

// settleProvision records an attempt of a provision.
func (r *run) settleProvision(tx Tx, v *Visit, it OutboxItem, a attempt) (refused, err error) {
	rec := attemptAudit(v, it, ActACSProvision, a.err)
	c := credentialAt(v, it.Credential)
	switch {
	case c == nil:
		rec.Outcome = OutcomeFailed
		err = tx.Complete(it.LeaseOwner, it.ID)
	case a.skipped:
		rec.Action = ActProvisionCancel
		err = tx.Complete(it.LeaseOwner, it.ID)
	case a.err == nil:
		err = r.provisioned(tx, v, it, a.p)
	case c.Status != CredPending:
		// The visit ended or the credential was returned while this
		// attempt ran; the revocation queued behind it covers a
		// credential the attempt may have created.
		c.Error, rec.Outcome = a.err.Error(), OutcomeFailed
		err = tx.Complete(it.LeaseOwner, it.ID)
	case !definite(a.err) && r.now.Before(c.ValidUntil):
		c.Error = a.err.Error()
		err = r.retry(tx, it, a.err, &rec)
	default:
		refused = a.err
		if !definite(a.err) {
			refused = &acs.Error{Op: "provision", Code: acs.Unavailable, Err: a.err,
				Message: "the credential's window ended before the ACS confirmed it"}
		}
		rec.Outcome, rec.Error = OutcomeFailed, refused.Error()
		err = r.provisionRefused(tx, v, it, refused)
	}
	if err != nil {
		return nil, err
	}
	return refused, r.audit(tx, v, rec)
}

// provisioned records the ACS's confirmation of a provision.
func (r *run) provisioned(tx Tx, v *Visit, it OutboxItem, p acs.Provisioned) error {
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return err
	}
	c := &v.Credentials[it.Credential]
	c.Ref, c.ActiveAt, c.Error = p.Credential, r.now, ""
	c.Ref.CardholderExternalID, c.Ref.Card = v.ID, c.Card
	switch c.Status {
	case CredPending:
		c.Status = CredActive
	case CredRevoked, CredFailed:
		// Revoked before this late provision landed: revoke again.
		c.Status = CredRevoking
		return r.enqueueRevoke(tx, v, it.Credential)
	}
	// CredRevoking: the revocation queued behind this item follows.
	return nil
}

// provisionRefused records the end of a provision the ACS refused for good
// (or whose window ended first).
func (r *run) provisionRefused(tx Tx, v *Visit, it OutboxItem, refused error) error {
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return err
	}
	if err := r.endCompanionPIN(tx, v, it.Credential); err != nil {
		return err // a refused card takes the PIN queued with it along
	}
	c := &v.Credentials[it.Credential]
	c.Error, c.Release = refused.Error(), true
	if it.Attempts <= 1 && definite(refused) {
		// Refused at the first attempt: nothing exists at the ACS.
		c.Status = CredFailed
		return r.release(tx, v, it.Credential)
	}
	// An earlier attempt may have created it: revoke to be sure.
	c.Status = CredRevoking
	return r.enqueueRevoke(tx, v, it.Credential)
}

// settleReprovision records an attempt to repair an active credential at
// the ACS (queued by Reconcile).
func (r *run) settleReprovision(tx Tx, v *Visit, it OutboxItem, a attempt) error {
	rec := attemptAudit(v, it, ActACSReprovision, a.err)
	c := credentialAt(v, it.Credential)
	var err error
	switch {
	case a.skipped || c == nil:
		rec.Outcome, rec.Reason = OutcomeOK, "no longer needed: the credential is not active"
		err = tx.Complete(it.LeaseOwner, it.ID)
	case a.err == nil:
		c.Ref, c.Error = a.p.Credential, ""
		c.Ref.CardholderExternalID, c.Ref.Card = v.ID, c.Card
		err = tx.Complete(it.LeaseOwner, it.ID)
	case definite(a.err) || !r.now.Before(c.ValidUntil):
		c.Error, rec.Outcome = a.err.Error(), OutcomeFailed
		err = tx.Complete(it.LeaseOwner, it.ID)
	default:
		c.Error = a.err.Error()
		err = r.retry(tx, it, a.err, &rec)
	}
	if err != nil {
		return err
	}
	return r.audit(tx, v, rec)
}

// settleRevoke records an attempt of a revocation: confirmed, or retried
// (forever: a revocation is never given up; a stuck one is escalated).
func (r *run) settleRevoke(tx Tx, v *Visit, it OutboxItem, callErr error) error {
	rec := attemptAudit(v, it, ActACSRevoke, callErr)
	if callErr != nil {
		if c := credentialAt(v, it.Credential); c != nil {
			c.Error = callErr.Error()
		}
		if err := r.retry(tx, it, callErr, &rec); err != nil {
			return err
		}
		return r.audit(tx, v, rec)
	}
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return err
	}
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.revoked(tx, v, it.Credential)
}

// settleRemove records an attempt to remove the visit's cardholder at the
// ACS, which revokes every credential it held.
func (r *run) settleRemove(tx Tx, v *Visit, it OutboxItem, callErr error) error {
	rec := attemptAudit(v, it, ActACSRemove, callErr)
	if callErr != nil {
		if err := r.retry(tx, it, callErr, &rec); err != nil {
			return err
		}
		return r.audit(tx, v, rec)
	}
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return err
	}
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	v.CardholderRemovedAt = r.now
	for i := range v.Credentials {
		if err := r.revoked(tx, v, i); err != nil {
			return err
		}
	}
	return nil
}

// revoked records the ACS's confirmation that credential i is revoked and
// releases its badge or number if it is to go back.
func (r *run) revoked(tx Tx, v *Visit, i int) error {
	c := credentialAt(v, i)
	if c == nil || c.Status != CredRevoking {
		return nil
	}
	c.Status, c.RevokedAt, c.Error = CredRevoked, r.now, ""
	return r.release(tx, v, i)
}

// definite reports whether err is the ACS's definite refusal of a request,
// which changed nothing there and will not succeed if repeated. Anything
// else (unavailable, rate limited, cancelled, unauthenticated, unclassified)
// is retried, and a provision that failed so may have taken effect.
func definite(err error) bool {
	switch acs.CodeOf(err) {
	case acs.InvalidArgument, acs.NotFound, acs.AlreadyExists, acs.PermissionDenied, acs.Unsupported, acs.Conflict:
		return true
	}
	return false
}
