package visitor

import (
	"context"
	"errors"
	"time"
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
				e.log.Error("visitor: sweeping a visit failed", "visit", id, "err", err)
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
		switch v.State {
		case Invited, Expected:
			if !now.Before(v.AccessUntil) {
				return r.end(tx, v, Expired, "access window ended", AuditRecord{Action: ActExpire, Outcome: OK})
			}
			if v.State == Invited && !now.Before(v.AccessFrom) {
				v.State = Expected
				return r.audit(tx, v, AuditRecord{Action: ActExpect, From: Invited, Outcome: OK})
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
				// the range. A badge stays with the visitor.
				if err := r.endCredential(tx, v, i, c.Source == FromRange); err != nil {
					return err
				}
				if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActCredentialEnd, Outcome: Queued}, c)); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return err
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

// cycle is one round of Run: sweep, then drain the outbox of what is due.
func (e *Engine) cycle(ctx context.Context) {
	if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("visitor: sweep failed", "err", err)
	}
	for ctx.Err() == nil {
		n, err := e.RunOutboxOnce(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("visitor: outbox run failed", "err", err)
		}
		if n < e.batch || err != nil {
			return
		}
	}
}
