package visitor

import (
	"context"
	"errors"
	"sync"

	"github.com/acsbridge/acsbridge/acs"
)

// RunOutboxOnce claims one batch of due outbox items (at most one per
// visit: the head of its queue) and executes them, a few at a time. It
// returns how many it claimed; call it until it returns 0 to drain what is
// due now. ACS failures are not errors here: the item is rescheduled with
// backoff (provisions until their window ends, revocations forever). The
// error reports a store failure.
func (e *Engine) RunOutboxOnce(ctx context.Context) (int, error) {
	owner := e.leaseOwner()
	items, err := e.store.ClaimOutbox(ctx, owner, e.clock.Now(), e.lease, e.batch)
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
				pending := []OutboxItem{it}
				for len(pending) > 0 {
					_, next, err := e.execute(ctx, pending[0])
					pending = append(pending[1:], next...)
					if err != nil && !isACSError(err) {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
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

// isACSError reports whether err came from the ACS (as opposed to the
// store).
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
		e.log.Warn("visitor: outcome of an ACS operation not recorded", "visit", v.ID, "err", refused)
		refused = nil
	}
	return v, refused
}

// execute performs one claimed item at the ACS and records the outcome.
// It returns the visit afterwards, the items the outcome queued and leased
// to the caller, and an error: the ACS's refusal of a provision (final), or
// a store failure.
func (e *Engine) execute(ctx context.Context, it OutboxItem) (Visit, []OutboxItem, error) {
	owner := it.LeaseOwner
	l := e.locs[it.Location]
	var p acs.Provisioned
	var err error
	skip := false
	switch {
	case l == nil:
		err = acs.Errorf(string(it.Op), "", acs.Unavailable, "location %q is not configured on this engine", it.Location)
	case it.Op == OpProvision:
		// A provision runs only while still wanted: its visit may have
		// ended while the item was leased to a worker that then stopped.
		v, verr := e.store.Visit(ctx, it.VisitID)
		if verr != nil {
			return Visit{}, nil, verr
		}
		if it.Credential < 0 || it.Credential >= len(v.Credentials) || v.Credentials[it.Credential].Status != CredPending || it.Grant == nil {
			skip = true
			break
		}
		fallthrough
	default:
		cctx, cancel := context.WithTimeout(ctx, e.callTimeout)
		switch it.Op {
		case OpProvision:
			p, err = l.Provider.Provision(cctx, *it.Grant)
		case OpRevoke:
			err = l.Provider.Revoke(cctx, *it.Ref)
		case OpRemoveCardholder:
			err = l.Provider.RemoveCardholder(cctx, *it.Cardholder)
		default:
			err = acs.Errorf(string(it.Op), "", acs.Unsupported, "unknown outbox operation %q", it.Op)
		}
		cancel()
	}
	// Record the outcome even if the caller's context ended meanwhile.
	r := e.newRun(context.WithoutCancel(ctx), ActorSystem, true)
	var refused error
	v, uerr := e.store.Update(r.ctx, it.VisitID, r.txFunc(func(tx Tx, v *Visit) error {
		refused = nil
		var err2 error
		refused, err2 = r.settle(tx, v, owner, it, p, err, skip)
		return err2
	}))
	if uerr != nil {
		if errors.Is(uerr, ErrLeaseLost) || errors.Is(uerr, ErrNotFound) {
			// Another worker took the item over after our lease expired,
			// or it was cancelled: its outcome is theirs to record.
			e.log.Info("visitor: outbox item taken over", "item", it.ID, "visit", it.VisitID)
			return Visit{}, nil, nil
		}
		return Visit{}, nil, uerr
	}
	return v, r.next, refused
}

// settle records the outcome of one attempt of it. It returns the ACS's
// final refusal of a provision, and an error that rolls the transaction
// back.
func (r *run) settle(tx Tx, v *Visit, owner string, it OutboxItem, p acs.Provisioned, callErr error, skip bool) (refused, err error) {
	rec := AuditRecord{Actor: ActorSystem, Attempt: it.Attempts, Outcome: OK}
	var c *Credential
	if it.Credential >= 0 && it.Credential < len(v.Credentials) {
		c = &v.Credentials[it.Credential]
		rec = credAudit(rec, c)
	}
	if callErr != nil {
		rec.Error = callErr.Error()
	}
	retry := func() error {
		if err := tx.Retry(owner, it.ID, r.now.Add(r.e.backoff(&it, callErr)), callErr.Error()); err != nil {
			return err
		}
		rec.Outcome = Retry
		r.e.log.Warn("visitor: ACS operation failed; will retry", "op", it.Op, "visit", it.VisitID, "attempt", it.Attempts, "err", callErr)
		return nil
	}
	switch it.Op {
	case OpProvision:
		rec.Action = ActACSProvision
		switch {
		case c == nil:
			if err := tx.Complete(owner, it.ID); err != nil {
				return nil, err
			}
			rec.Outcome = Failed
		case skip:
			if err := tx.Complete(owner, it.ID); err != nil {
				return nil, err
			}
			rec.Action = ActProvisionCancel
		case callErr == nil:
			if err := tx.Complete(owner, it.ID); err != nil {
				return nil, err
			}
			c.Ref, c.ActiveAt, c.Error = p.Credential, r.now, ""
			c.Ref.CardholderExternalID, c.Ref.Card = v.ID, c.Card
			switch c.Status {
			case CredPending:
				c.Status = CredActive
			case CredRevoked:
				// Revoked before this late provision landed: revoke again.
				c.Status = CredRevoking
				if err := r.enqueueRevoke(tx, v, it.Credential); err != nil {
					return nil, err
				}
			}
			// CredRevoking: the revocation queued behind this item follows.
		case c.Status != CredPending:
			// The visit ended or the credential was returned while this
			// attempt ran; the revocation queued behind it covers a
			// credential the attempt may have created.
			if err := tx.Complete(owner, it.ID); err != nil {
				return nil, err
			}
			c.Error = callErr.Error()
			rec.Outcome = Failed
		case !definite(callErr):
			if r.now.Before(c.ValidUntil) {
				c.Error = callErr.Error()
				if err := retry(); err != nil {
					return nil, err
				}
				break
			}
			// The window is over: give up.
			callErr = &acs.Error{Op: "provision", Code: acs.Unavailable, Err: callErr,
				Message: "the credential's window ended before the ACS confirmed it"}
			fallthrough
		default:
			if err := tx.Complete(owner, it.ID); err != nil {
				return nil, err
			}
			c.Error, c.Release, rec.Outcome, rec.Error = callErr.Error(), true, Failed, callErr.Error()
			refused = callErr
			if it.Attempts <= 1 && definite(callErr) {
				// Refused at the first attempt: nothing exists at the ACS.
				c.Status = CredFailed
				if err := r.release(tx, v, it.Credential); err != nil {
					return nil, err
				}
				break
			}
			// An earlier attempt may have created it: revoke to be sure.
			c.Status = CredRevoking
			if err := r.enqueueRevoke(tx, v, it.Credential); err != nil {
				return nil, err
			}
		}
	case OpRevoke, OpRemoveCardholder:
		rec.Action = ActACSRevoke
		if it.Op == OpRemoveCardholder {
			rec.Action = ActACSRemove
		}
		if callErr != nil {
			if c != nil {
				c.Error = callErr.Error()
			}
			if err := retry(); err != nil {
				return nil, err
			}
			break
		}
		if err := tx.Complete(owner, it.ID); err != nil {
			return nil, err
		}
		if err := r.audit(tx, v, rec); err != nil {
			return nil, err
		}
		if it.Op == OpRevoke {
			return nil, r.revoked(tx, v, it.Credential)
		}
		for i := range v.Credentials {
			if v.Credentials[i].Status == CredRevoking {
				if err := r.revoked(tx, v, i); err != nil {
					return nil, err
				}
			}
		}
		return nil, nil
	default:
		return nil, acs.Errorf(string(it.Op), "", acs.Unsupported, "unknown outbox operation %q", it.Op)
	}
	return refused, r.audit(tx, v, rec)
}

// revoked records the ACS's confirmation that credential i is revoked and
// releases its badge or number if it is to go back.
func (r *run) revoked(tx Tx, v *Visit, i int) error {
	if i < 0 || i >= len(v.Credentials) {
		return nil
	}
	c := &v.Credentials[i]
	if c.Status != CredRevoking {
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
