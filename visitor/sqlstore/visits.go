package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

// visitRow holds the columns a visit is stored as.
type visitRow struct {
	doc      string
	due      any
	ended    any
	scrubbed int
}

func encodeVisit(v *visitor.Visit) (visitRow, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return visitRow{}, fmt.Errorf("sqlstore: encode visit %s: %w", v.ID, err)
	}
	r := visitRow{doc: string(b), due: tnull(v.DueAt)}
	if v.State.Ended() {
		r.ended = tv(v.EndedAt)
	}
	if v.Scrubbed {
		r.scrubbed = 1
	}
	return r, nil
}

func decodeVisit(id string, version int64, doc string) (visitor.Visit, error) {
	var v visitor.Visit
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return v, fmt.Errorf("sqlstore: decode visit %s: %w", id, err)
	}
	v.Version = version
	return v, nil
}

func visitNotFound(id string) error { return fmt.Errorf("%w: visit %s", visitor.ErrNotFound, id) }

// Create implements visitor.Store. The visit row is inserted first (a
// concurrent Create of the same ID waits for it and then finds it), fn runs
// in the same transaction, and the visit fn leaves is stored.
func (s *Store) Create(ctx context.Context, v visitor.Visit, fn visitor.TxFunc) (visitor.Visit, error) {
	if v.ID == "" {
		return visitor.Visit{}, errors.New("sqlstore: visit has no ID")
	}
	v = v.Clone()
	v.Version = 0
	var out visitor.Visit
	err := s.inTx(ctx, v.ID, func(t *txn) error {
		w := v.Clone()
		row, err := encodeVisit(&w)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `INSERT INTO visits (id, location, state, due_at, ended_at, scrubbed, version, lease_owner, lease_until, doc)
			VALUES (?, ?, ?, ?, ?, ?, 1, '', ?, ?) ON CONFLICT (id) DO NOTHING`,
			w.ID, w.Location, string(w.State), row.due, row.ended, row.scrubbed, int64(noTime), row.doc)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: visit %s", visitor.ErrExists, w.ID)
		}
		if fn != nil {
			if err := s.runFn(t, &w, fn); err != nil {
				return err
			}
			w.Version = 1
			if err := storeVisit(ctx, t, &w, 1); err != nil {
				return err
			}
		}
		w.Version = 1
		out = w
		return nil
	})
	if err != nil {
		return visitor.Visit{}, err
	}
	return out.Clone(), nil
}

// runFn calls fn on v within t.
func (s *Store) runFn(t *txn, v *visitor.Visit, fn visitor.TxFunc) error {
	id := v.ID
	if err := fn(vtx{t}, v); err != nil {
		return err
	}
	if v.ID != id {
		return fmt.Errorf("sqlstore: a transaction may not change the visit ID (%s to %s)", id, v.ID)
	}
	return nil
}

// storeVisit writes v with the given version and ends its sweep lease.
func storeVisit(ctx context.Context, t *txn, v *visitor.Visit, version int64) error {
	v.Version = version
	row, err := encodeVisit(v)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `UPDATE visits SET location = ?, state = ?, due_at = ?, ended_at = ?, scrubbed = ?, version = ?,
		lease_owner = '', lease_until = ?, doc = ? WHERE id = ?`,
		v.Location, string(v.State), row.due, row.ended, row.scrubbed, version, int64(noTime), row.doc, v.ID)
	return err
}

// Update implements visitor.Store. The visit row is read with SELECT … FOR
// UPDATE on PostgreSQL (on SQLite the transaction holds the write lock), so
// updates of one visit are serialised; fn runs in the transaction and the
// visit it leaves is written back with the next version and its sweep
// lease ended. A transaction that lost a race (a deadlock, two
// acquisitions for one visit) is rolled back and fn called again.
func (s *Store) Update(ctx context.Context, id string, fn visitor.TxFunc) (visitor.Visit, error) {
	var out visitor.Visit
	err := s.inTx(ctx, id, func(t *txn) error {
		var version int64
		var doc string
		err := scan(t, t.row(ctx, `SELECT version, doc FROM visits WHERE id = ? {lock}`, id), &version, &doc)
		if errors.Is(err, sql.ErrNoRows) {
			return visitNotFound(id)
		}
		if err != nil {
			return err
		}
		v, err := decodeVisit(id, version, doc)
		if err != nil {
			return err
		}
		if fn != nil {
			if err := s.runFn(t, &v, fn); err != nil {
				return err
			}
		}
		if err := storeVisit(ctx, t, &v, version+1); err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		return visitor.Visit{}, err
	}
	return out.Clone(), nil
}

// Visit implements visitor.Store.
func (s *Store) Visit(ctx context.Context, id string) (visitor.Visit, error) {
	if err := ctx.Err(); err != nil {
		return visitor.Visit{}, err
	}
	var version int64
	var doc string
	err := s.reader().row(ctx, `SELECT version, doc FROM visits WHERE id = ?`, id).Scan(&version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return visitor.Visit{}, visitNotFound(id)
	}
	if err != nil {
		return visitor.Visit{}, err
	}
	return decodeVisit(id, version, doc)
}

// Visits implements visitor.Store.
func (s *Store) Visits(ctx context.Context, f visitor.VisitFilter) ([]visitor.Visit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.Location != "" {
		where = append(where, `location = ?`)
		args = append(args, f.Location)
	}
	if len(f.States) > 0 {
		where = append(where, `state IN (?`+strings.Repeat(`, ?`, len(f.States)-1)+`)`)
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.AfterID != "" {
		where = append(where, `id > ?`)
		args = append(args, f.AfterID)
	}
	q := `SELECT id, version, doc FROM visits`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.reader().query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []visitor.Visit{}
	for rows.Next() {
		var id, doc string
		var version int64
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return nil, err
		}
		v, err := decodeVisit(id, version, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ClaimDue implements visitor.Store. On PostgreSQL the due visits are
// picked with FOR UPDATE SKIP LOCKED, so replicas sweeping at once claim
// disjoint sets without waiting for each other.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	if owner == "" || limit <= 0 {
		return nil, errors.New("sqlstore: ClaimDue needs an owner and a positive limit")
	}
	type due struct {
		id string
		at int64
	}
	var got []due
	err := s.inTx(ctx, "", func(t *txn) error {
		got = got[:0]
		rows, err := t.query(ctx, `WITH c AS MATERIALIZED (
				SELECT id FROM visits
				WHERE due_at IS NOT NULL AND due_at <= ? AND (lease_owner = '' OR lease_until < ?)
				ORDER BY due_at, id LIMIT ? {skip})
			UPDATE visits SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM c)
			RETURNING id, due_at`,
			tv(now), tv(now), limit, owner, tv(now.Add(lease)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.at); err != nil {
				return t.note(err)
			}
			got = append(got, d)
		}
		return t.note(rows.Err())
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b due) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]string, len(got))
	for i, d := range got {
		ids[i] = d.id
	}
	return ids, nil
}

// scrubPage is how many visits Scrub rewrites per transaction.
const scrubPage = 200

// Scrub implements visitor.Store. Visits are scrubbed in pages, each in its
// own transaction; on PostgreSQL a visit locked by a transaction in
// progress is skipped and left for the next Scrub. Audit records are
// scrubbed with one UPDATE.
func (s *Store) Scrub(ctx context.Context, before time.Time) (visitor.ScrubCount, error) {
	var n visitor.ScrubCount
	for {
		var page int
		err := s.inTx(ctx, "", func(t *txn) error {
			page = 0
			rows, err := t.query(ctx, `SELECT id, version, doc FROM visits
				WHERE ended_at IS NOT NULL AND ended_at < ? AND scrubbed = 0
				ORDER BY ended_at, id LIMIT ? {skip}`, tv(before), scrubPage)
			if err != nil {
				return err
			}
			var vs []visitor.Visit
			for rows.Next() {
				var id, doc string
				var version int64
				if err := rows.Scan(&id, &version, &doc); err != nil {
					rows.Close()
					return t.note(err)
				}
				v, err := decodeVisit(id, version, doc)
				if err != nil {
					rows.Close()
					return err
				}
				vs = append(vs, v)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return t.note(err)
			}
			for i := range vs {
				v := &vs[i]
				v.Scrub()
				v.Version++
				row, err := encodeVisit(v)
				if err != nil {
					return err
				}
				if _, err := t.exec(ctx, `UPDATE visits SET doc = ?, scrubbed = 1, version = ? WHERE id = ?`, row.doc, v.Version, v.ID); err != nil {
					return err
				}
			}
			page = len(vs)
			return nil
		})
		if err != nil {
			return n, err
		}
		n.Visits += page
		if page < scrubPage {
			break
		}
	}
	err := s.inTx(ctx, "", func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE audit SET subject = '', reason = '', scrubbed = 1 WHERE scrubbed = 0 AND at < ?`, tv(before))
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n.Records = int(k)
		return err
	})
	return n, err
}
