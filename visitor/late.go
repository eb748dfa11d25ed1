package visitor

import (
	"context"
	"errors"

	"github.com/acsbridge/acsbridge/acs"
)

// lateOutcome handles the outcome of a call whose item this engine no
// longer owned when it came to record it: the lease expired and another
// engine claimed the item (and perhaps finished it), or the item was
// cancelled. The other owner records its own attempt; what remains here
// is a provision that may have landed at the ACS for a credential that is
// no longer wanted (the visit ended meanwhile, and its revocation may
// already have run): that credential is revoked again, unless a revocation
// nobody has started yet is already queued for it.
func (e *Engine) lateOutcome(ctx context.Context, it OutboxItem, a attempt) (Visit, []OutboxItem, error) {
	if it.Op == OpEmployeeEnable {
		return e.lateEmployee(ctx, it, a)
	}
	landed := a.err == nil || !definite(a.err)
	if a.skipped || !landed || (it.Op != OpProvision && it.Op != OpReprovision && it.Op != OpProvisionPIN) {
		e.log.InfoContext(ctx, "visitor: outbox item taken over", "item", it.ID, "visit", it.VisitID)
		return Visit{}, nil, nil
	}
	r := e.newRun(context.WithoutCancel(ctx), ActorSystem, true)
	v, err := e.store.Update(r.ctx, it.VisitID, r.txFunc(func(tx Tx, v *Visit) error {
		return r.revokeLate(tx, v, it, a)
	}))
	switch {
	case errors.Is(err, errUnchanged):
		e.log.InfoContext(ctx, "visitor: outbox item taken over", "item", it.ID, "visit", it.VisitID)
		return Visit{}, nil, nil
	case err != nil:
		return Visit{}, nil, err
	}
	e.log.WarnContext(ctx, "visitor: a provision landed after its lease was lost; revoking it again", "item", it.ID, "visit", it.VisitID)
	return v, r.next, nil
}

// revokeLate queues the revocation of credential it.Credential when it is
// no longer wanted and no revocation that has not started yet covers it;
// otherwise it rolls back with errUnchanged.
func (r *run) revokeLate(tx Tx, v *Visit, it OutboxItem, a attempt) error {
	c := credentialAt(v, it.Credential)
	if c == nil || c.Status.Live() {
		// Still wanted: the engine that took the item over provisions it
		// again (idempotent by the visit) and records the result.
		return errUnchanged
	}
	queued, err := tx.Outbox()
	if err != nil {
		return err
	}
	for _, q := range queued {
		covers := q.Op == OpRemoveCardholder || ((q.Op == OpRevoke || q.Op == OpRevokePIN) && q.Credential == it.Credential)
		// Only an item nobody holds covers it: one whose lease merely
		// expired may be in flight, its call made before the provision
		// landed, and its owner may still record it as done.
		if covers && q.LeaseOwner == "" && q.ID != it.ID {
			return errUnchanged // it runs after the provision landed
		}
	}
	if a.err == nil {
		c.Ref = a.p.Credential
		c.Ref.CardholderExternalID, c.Ref.Card = v.ID, c.Card
	}
	c.Status = CredRevoking
	rec := credAudit(AuditRecord{Action: ActLateOutcome, Outcome: OutcomeQueued, Attempt: it.Attempts,
		Reason: "a provision reached the ACS after this engine lost its lease, for a credential no longer wanted: revoking it again"}, c)
	if a.err != nil {
		rec.Error = a.err.Error()
	}
	if v.CardholderRemoval {
		// The cardholder was removed (or its removal queued) before the
		// provision landed, which may have created it again: remove it
		// again rather than leave a record with the visitor's name.
		rec.Reason = "a provision reached the ACS after this engine lost its lease, for a visit whose cardholder was removed: removing it again"
		if err := r.audit(tx, v, rec); err != nil {
			return err
		}
		holder := acs.CardholderRef{ID: c.Ref.CardholderID, ExternalID: v.ID}
		return r.enqueue(tx, v, OutboxItem{Op: OpRemoveCardholder, Credential: -1, Cardholder: &holder})
	}
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.enqueueRevoke(tx, v, it.Credential)
}
