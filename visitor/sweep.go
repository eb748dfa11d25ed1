package visitor

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// SweepResult counts what one Sweep did.
type SweepResult struct {
	// Visits is how many due visits were examined.
	Visits int `json:"visits"`
	// Scrubbed is what the retention scrub erased (see WithRetention).
	Scrubbed ScrubCount `json:"scrubbed"`
}

// Sweep examines every visit that is due: invited visits whose access
// window opened become Expected; invited and expected visits whose window
// ended become Expired; signed-in visits are signed out Policy.AutoSignOut
// after sign-in; credentials whose window ended while the visitor is still
// signed in are revoked (a pool badge stays with the visitor until
// returned). Visits are claimed with a lease, so replicas sweeping one
// Store share the work. The revocations are queued; RunOutboxOnce (or Run)
// carries them out. With WithRetention, Sweep then scrubs old personal
// data.
func (e *Engine) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var errs []error
	owner := e.leaseOwner()
	now := e.clock.Now()
	for {
		ids, err := e.store.ClaimDue(ctx, owner, now, e.lease, e.batch)
		if err != nil {
			return res, err
		}
		for _, id := range ids {
			if err := e.sweepVisit(ctx, id); err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				e.log.ErrorContext(ctx, "visitor: sweeping a visit failed", "visit", id, "err", err)
				errs = append(errs, err)
			}
			res.Visits++
		}
		if len(ids) < e.batch {
			break
		}
	}
	if e.retention > 0 {
		n, err := e.store.Scrub(ctx, now.Add(-e.retention))
		res.Scrubbed = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func (e *Engine) sweepVisit(ctx context.Context, id string) error {
	r := e.newRun(ctx, ActorSystem, false)
	_, err := e.store.Update(ctx, id, r.txFunc(func(tx Tx, v *Visit) error {
		now := r.now
		if v.Employee != nil {
			return r.sweepEmployee(tx, v)
		}
		if err := r.sweepEnrolment(tx, v); err != nil {
			return err
		}
		switch v.State {
		case Invited, Expected:
			if !now.Before(v.AccessUntil) {
				return r.end(tx, v, Expired, "access window ended", AuditRecord{Action: ActExpire, Outcome: OutcomeOK})
			}
			if v.State == Invited && !now.Before(v.AccessFrom) {
				v.State = Expected
				return r.audit(tx, v, AuditRecord{Action: ActExpect, From: Invited, Outcome: OutcomeOK})
			}
		case SignedOut, Expired, Removed:
			if r.e.acsRetention > 0 && !v.CardholderRemoval && len(v.Credentials) > 0 && !now.Before(v.EndedAt.Add(r.e.acsRetention)) {
				return r.removeCardholder(tx, v, "the ACS retention period after the visit ended is over")
			}
		case SignedIn:
			if p := r.loc.Policy.AutoSignOut; p > 0 && !now.Before(v.SignedInAt.Add(p)) {
				return r.signOut(tx, v, ViaAuto)
			}
			for i := range v.Credentials {
				c := &v.Credentials[i]
				if !c.Status.Live() || now.Before(c.ValidUntil) {
					continue
				}
				// A card number has nothing to hand back: it returns to
				// the range (a PIN is freed). A badge stays with the
				// visitor.
				if err := r.endCredential(tx, v, i, c.Source != FromPool); err != nil {
					return err
				}
				if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActCredentialEnd, Outcome: OutcomeQueued}, c)); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return err
}

// removeCardholder queues the removal of v's cardholder at the ACS, after
// whatever is queued for the visit already.
func (r *run) removeCardholder(tx Tx, v *Visit, reason string) error {
	holder := acs.CardholderRef{ExternalID: v.ID}
	for i := range v.Credentials {
		if id := v.Credentials[i].Ref.CardholderID; id != "" {
			holder.ID = id
		}
	}
	v.CardholderRemoval = true
	if err := r.audit(tx, v, AuditRecord{Action: ActACSRemove, Outcome: OutcomeQueued, Reason: reason}); err != nil {
		return err
	}
	return r.enqueue(tx, v, OutboxItem{Op: OpRemoveCardholder, Credential: -1, Cardholder: &holder})
}

// Scrub erases the personal data of visits that ended, and of audit
// records written, before before; see Store.Scrub.
func (e *Engine) Scrub(ctx context.Context, before time.Time) (ScrubCount, error) {
	return e.store.Scrub(ctx, before)
}

// Run sweeps and drains the outbox now and then at every tick of the
// Engine's clock (WithInterval) until ctx ends, logging failures; it then
// returns nil. Run is optional: a VMS may call Sweep and RunOutboxOnce from
// its own scheduler instead. Several replicas may Run over one Store.
func (e *Engine) Run(ctx context.Context) error {
	t := e.clock.NewTicker(e.interval)
	defer t.Stop()
	for {
		e.cycle(ctx)
		if e.cycled != nil {
			e.cycled()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// cycle is one round of Run: sweep, reconcile the locations that are due
// (WithReconcile), then drain the outbox of what is due.
func (e *Engine) cycle(ctx context.Context) {
	if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
		e.log.ErrorContext(ctx, "visitor: sweep failed", "err", err)
	}
	e.reconcileDue(ctx)
	for ctx.Err() == nil {
		n, err := e.RunOutboxOnce(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "visitor: outbox run failed", "err", err)
		}
		if n < e.ClaimLimit() || err != nil {
			return
		}
	}
}

// reconcileDue reconciles every location with an inventory whose last
// reconciliation by this Engine is WithReconcile ago or more.
func (e *Engine) reconcileDue(ctx context.Context) {
	if e.reconcileEvery <= 0 {
		return
	}
	now := e.clock.Now()
	for _, id := range slices.Sorted(maps.Keys(e.locs)) {
		if _, ok := e.locs[id].Provider.(acs.Inventory); !ok || ctx.Err() != nil {
			continue
		}
		e.mu.Lock()
		last, done := e.reconciled[id]
		due := !done || !now.Before(last.Add(e.reconcileEvery))
		if due {
			e.reconciled[id] = now
		}
		e.mu.Unlock()
		if !due {
			continue
		}
		rep, err := e.Reconcile(ctx, id)
		if err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "visitor: reconcile failed", "location", id, "err", err)
		}
		if rep.Orphans+rep.Repairs > 0 {
			e.log.WarnContext(ctx, "visitor: reconcile found differences at the ACS", "location", id, "orphans", rep.Orphans, "repairs", rep.Repairs)
		}
	}
}
