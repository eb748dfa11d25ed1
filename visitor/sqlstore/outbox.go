package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

// Outbox items are stored as their JSON (doc) without the fields that
// change after Enqueue, which are columns: attempts, next_attempt,
// lease_owner, lease_until, last_error. seq is the table's auto-increment
// key, so it only grows.

const itemCols = `seq, attempts, next_attempt, lease_owner, lease_until, last_error, doc`

func scanItem(r rowScanner) (visitor.OutboxItem, error) {
	var it visitor.OutboxItem
	var seq, attempts, next, until int64
	var owner, lastErr, doc string
	if err := r.Scan(&seq, &attempts, &next, &owner, &until, &lastErr, &doc); err != nil {
		return it, err
	}
	if err := json.Unmarshal([]byte(doc), &it); err != nil {
		return it, fmt.Errorf("sqlstore: decode outbox item %d: %w", seq, err)
	}
	it.Seq, it.Attempts, it.NextAttempt = seq, int(attempts), tget(next)
	it.LeaseOwner, it.LeaseUntil, it.LastError = owner, tget(until), lastErr
	return it, nil
}

func scanItems(rows *sql.Rows) ([]visitor.OutboxItem, error) {
	defer rows.Close()
	var out []visitor.OutboxItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ClaimOutbox implements visitor.Store. One statement picks the claimable
// heads (no earlier item of the same visit exists, the next attempt is due
// and the lease is free) and leases them; on PostgreSQL the pick uses FOR
// UPDATE SKIP LOCKED, so replicas claim disjoint items without waiting.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]visitor.OutboxItem, error) {
	if owner == "" || limit <= 0 {
		return nil, errors.New("sqlstore: ClaimOutbox needs an owner and a positive limit")
	}
	var out []visitor.OutboxItem
	err := s.inTx(ctx, "", func(t *txn) error {
		rows, err := t.query(ctx, `WITH c AS MATERIALIZED (
				SELECT o.seq FROM outbox o
				WHERE o.next_attempt <= ? AND (o.lease_owner = '' OR o.lease_until < ?)
				  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.visit_id = o.visit_id AND p.seq < o.seq)
				ORDER BY o.next_attempt, o.seq LIMIT ? {skip})
			UPDATE outbox SET attempts = attempts + 1, lease_owner = ?, lease_until = ?
			WHERE seq IN (SELECT seq FROM c)
			RETURNING `+itemCols,
			tv(now), tv(now), limit, owner, tv(now.Add(lease)))
		if err != nil {
			return err
		}
		out, err = scanItems(rows)
		return t.note(err)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b visitor.OutboxItem) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return out, nil
}

// Outbox implements visitor.Store.
func (s *Store) Outbox(ctx context.Context, visitID string, limit int) ([]visitor.OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := `SELECT ` + itemCols + ` FROM outbox`
	var args []any
	if visitID != "" {
		q += ` WHERE visit_id = ?`
		args = append(args, visitID)
	}
	q += ` ORDER BY seq`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.reader().query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanItems(rows)
}

// vtx implements visitor.Tx over a transaction bound to one visit.
type vtx struct{ t *txn }

func (x vtx) Badges() badge.Store          { return badges{s: x.t.s, t: x.t} }
func (x vtx) Cards() badge.AllocationStore { return cards{s: x.t.s, t: x.t} }

// Outbox returns the visit's unfinished items. On PostgreSQL it locks
// them, so an outbox claim cannot lease an item between this read and a
// Cancel decided on it: the claim skips locked items, and a claim that
// got there first is seen here.
func (x vtx) Outbox() ([]visitor.OutboxItem, error) {
	t := x.t
	rows, err := t.query(t.ctx, `SELECT `+itemCols+` FROM outbox WHERE visit_id = ? ORDER BY seq {lock}`, t.visit)
	if err != nil {
		return nil, err
	}
	items, err := scanItems(rows)
	return items, t.note(err)
}

func (x vtx) Enqueue(it visitor.OutboxItem) error {
	t := x.t
	if it.ID == "" {
		return errors.New("sqlstore: outbox item has no ID")
	}
	if it.VisitID != t.visit {
		return fmt.Errorf("sqlstore: outbox item for visit %q enqueued in a transaction on visit %q", it.VisitID, t.visit)
	}
	doc := it.Clone()
	doc.Seq, doc.Attempts, doc.NextAttempt, doc.LeaseOwner, doc.LeaseUntil, doc.LastError = 0, 0, time.Time{}, "", time.Time{}, ""
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sqlstore: encode outbox item %s: %w", it.ID, err)
	}
	res, err := t.exec(t.ctx, `INSERT INTO outbox (id, visit_id, attempts, next_attempt, lease_owner, lease_until, last_error, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		it.ID, it.VisitID, it.Attempts, tv(it.NextAttempt), it.LeaseOwner, tv(it.LeaseUntil), it.LastError, string(b))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: outbox item %s", visitor.ErrExists, it.ID)
	}
	return nil
}

func itemNotFound(id, visit string) error {
	return fmt.Errorf("%w: outbox item %s of visit %s", visitor.ErrNotFound, id, visit)
}

func (x vtx) Cancel(id string) error {
	t := x.t
	res, err := t.exec(t.ctx, `DELETE FROM outbox WHERE id = ? AND visit_id = ?`, id, t.visit)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return itemNotFound(id, t.visit)
	}
	return nil
}

// leaseLost explains why owner's change of item id matched no row.
func (x vtx) leaseLost(owner, id string) error {
	t := x.t
	var cur string
	err := scan(t, t.row(t.ctx, `SELECT lease_owner FROM outbox WHERE id = ? AND visit_id = ?`, id, t.visit), &cur)
	if errors.Is(err, sql.ErrNoRows) {
		return itemNotFound(id, t.visit)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: outbox item %s is leased by %q, not %q", visitor.ErrLeaseLost, id, cur, owner)
}

func (x vtx) Complete(owner, id string) error {
	t := x.t
	res, err := t.exec(t.ctx, `DELETE FROM outbox WHERE id = ? AND visit_id = ? AND lease_owner = ?`, id, t.visit, owner)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return x.leaseLost(owner, id)
	}
	return nil
}

func (x vtx) Retry(owner, id string, next time.Time, lastError string) error {
	t := x.t
	res, err := t.exec(t.ctx, `UPDATE outbox SET lease_owner = '', lease_until = ?, next_attempt = ?, last_error = ?
		WHERE id = ? AND visit_id = ? AND lease_owner = ?`, int64(noTime), tv(next), lastError, id, t.visit, owner)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return x.leaseLost(owner, id)
	}
	return nil
}

func (x vtx) Audit(rec visitor.AuditRecord) error {
	return appendAudit(x.t.ctx, x.t, rec)
}
