package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

// badges implements badge.Store. With t nil every method is its own
// transaction on the store; with t set (visitor.Tx.Badges) methods run in
// that transaction.
type badges struct {
	s *Store
	t *txn
}

// write runs fn in the bound transaction or in a new one.
func (b badges) write(ctx context.Context, fn func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.t != nil {
		return fn(b.t)
	}
	return b.s.inTx(ctx, "", fn)
}

// read returns the querier for a read: the bound transaction, or the read
// pool.
func (b badges) read(ctx context.Context) (querier, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.t != nil {
		return b.t, nil
	}
	return b.s.reader(), nil
}

const badgeCols = `location, id, name, type, card_format, card_facility, card_number, state, visit_id, since`

type rowScanner interface{ Scan(dest ...any) error }

func scanBadge(r rowScanner) (badge.Badge, error) {
	var b badge.Badge
	var format, state string
	var facility, number, since int64
	var visit sql.NullString
	if err := r.Scan(&b.Location, &b.ID, &b.Name, &b.CredentialType, &format, &facility, &number, &state, &visit, &since); err != nil {
		return b, err
	}
	if format != "" {
		f, err := wiegand.ParseFormat(format)
		if err != nil {
			return b, fmt.Errorf("sqlstore: badge %s at %s has card format %q: %w", b.ID, b.Location, format, err)
		}
		b.Card = badge.Card{Format: f, Facility: uint64(facility), Number: uint64(number)}
	}
	st, err := badge.ParseState(state)
	if err != nil {
		return b, fmt.Errorf("sqlstore: badge %s at %s: %w", b.ID, b.Location, err)
	}
	b.State, b.VisitID, b.Since = st, visit.String, tget(since)
	return b, nil
}

func badgeNotFound(location, id string) error {
	return fmt.Errorf("%w: no badge %s at location %s", badge.ErrNotFound, id, location)
}

// get reads one badge, locking its row when lock is set (PostgreSQL).
func getBadge(ctx context.Context, q querier, location, id string, lock bool) (badge.Badge, error) {
	query := `SELECT ` + badgeCols + ` FROM badges WHERE location = ? AND id = ?`
	if lock {
		query += ` {lock}`
	}
	r := q.row(ctx, query, location, id)
	b, err := scanBadge(r)
	if errors.Is(err, sql.ErrNoRows) {
		return b, badgeNotFound(location, id)
	}
	if t, ok := q.(*txn); ok {
		t.note(err)
	}
	return b, err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Add implements badge.Store.
func (b badges) Add(ctx context.Context, bd badge.Badge) error {
	format := ""
	if !bd.Card.IsZero() {
		format = bd.Card.Format.String()
	}
	visit := any(nil)
	if bd.State == badge.Assigned {
		visit = nullString(bd.VisitID)
	}
	return b.write(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `INSERT INTO badges (location, id, name, type, card_format, card_facility, card_number, state, visit_id, since)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, id) DO NOTHING`,
			bd.Location, bd.ID, bd.Name, bd.CredentialType, format, int64(bd.Card.Facility), int64(bd.Card.Number),
			bd.State.String(), visit, tv(bd.Since))
		if err != nil {
			return fmt.Errorf("sqlstore: add badge %s at %s: %w", bd.ID, bd.Location, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: badge %s at location %s", badge.ErrExists, bd.ID, bd.Location)
		}
		return nil
	})
}

// Get implements badge.Store.
func (b badges) Get(ctx context.Context, location, id string) (badge.Badge, error) {
	q, err := b.read(ctx)
	if err != nil {
		return badge.Badge{}, err
	}
	return getBadge(ctx, q, location, id, false)
}

// List implements badge.Store.
func (b badges) List(ctx context.Context, location string, f badge.Filter) ([]badge.Badge, error) {
	q, err := b.read(ctx)
	if err != nil {
		return nil, err
	}
	var where strings.Builder
	args := []any{location}
	where.WriteString(`location = ?`)
	if f.State != 0 {
		where.WriteString(` AND state = ?`)
		args = append(args, f.State.String())
	}
	if f.VisitID != "" {
		where.WriteString(` AND visit_id = ?`)
		args = append(args, f.VisitID)
	}
	rows, err := q.query(ctx, `SELECT `+badgeCols+` FROM badges WHERE `+where.String()+` ORDER BY length(id), id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []badge.Badge
	for rows.Next() {
		bd, err := scanBadge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, bd)
	}
	return out, rows.Err()
}

// Acquire implements badge.Store. On PostgreSQL the next available badge is
// picked with FOR UPDATE SKIP LOCKED, so concurrent acquirers take
// different badges without waiting for each other; a badge named by ID is
// taken with an UPDATE … WHERE state = 'available', which re-checks the
// state after any concurrent change. The unique index on (location,
// visit_id) of assigned badges settles two acquisitions for the same visit
// racing: the loser's transaction is run again and finds the winner's
// badge. On SQLite the write lock serialises acquirers.
func (b badges) Acquire(ctx context.Context, location, id, visitID string, at time.Time) (badge.Badge, error) {
	var out badge.Badge
	err := b.write(ctx, func(t *txn) error {
		var err error
		out, err = acquire(ctx, t, location, id, visitID, at)
		return err
	})
	return out, err
}

func acquire(ctx context.Context, t *txn, location, id, visitID string, at time.Time) (badge.Badge, error) {
	// A visit that already holds a badge gets it back.
	held, err := scanBadge(t.row(ctx, `SELECT `+badgeCols+` FROM badges WHERE location = ? AND visit_id = ? AND state = 'assigned'`, location, visitID))
	switch {
	case err == nil:
		if id == "" || id == held.ID {
			return held, nil
		}
		return badge.Badge{}, fmt.Errorf("%w: visit %s holds badge %s at location %s", badge.ErrVisitHasBadge, visitID, held.ID, location)
	case !errors.Is(err, sql.ErrNoRows):
		t.note(err)
		return badge.Badge{}, err
	}
	var r *sql.Row
	if id != "" {
		r = t.row(ctx, `UPDATE badges SET state = 'assigned', visit_id = ?, since = ?
			WHERE location = ? AND id = ? AND state = 'available'
			RETURNING `+badgeCols, visitID, tv(at), location, id)
	} else {
		r = t.row(ctx, `UPDATE badges SET state = 'assigned', visit_id = ?, since = ?
			WHERE n = (SELECT n FROM badges WHERE location = ? AND state = 'available' ORDER BY since, n LIMIT 1 {skip})
			RETURNING `+badgeCols, visitID, tv(at), location)
	}
	got, err := scanBadge(r)
	if errors.Is(err, sql.ErrNoRows) {
		if id == "" {
			return badge.Badge{}, fmt.Errorf("%w: no badge is available at location %s", badge.ErrNotAvailable, location)
		}
		cur, gerr := getBadge(ctx, t, location, id, false)
		if gerr != nil {
			return badge.Badge{}, gerr
		}
		return badge.Badge{}, fmt.Errorf("%w: badge %s at location %s is %s", badge.ErrNotAvailable, id, location, cur.State)
	}
	if err != nil {
		t.note(err)
		return badge.Badge{}, err
	}
	if _, err := t.exec(ctx, `INSERT INTO badge_history (location, badge_id, visit_id, from_at, to_at, reason) VALUES (?, ?, ?, ?, ?, '')`,
		location, got.ID, visitID, tv(at), noTime); err != nil {
		return badge.Badge{}, err
	}
	return got, nil
}

// closeAssignment ends the open assignment of a badge.
func closeAssignment(ctx context.Context, t *txn, location, id string, at time.Time, reason string) error {
	_, err := t.exec(ctx, `UPDATE badge_history SET to_at = ?, reason = ? WHERE location = ? AND badge_id = ? AND reason = ''`,
		tv(at), reason, location, id)
	return err
}

// Release implements badge.Store.
func (b badges) Release(ctx context.Context, location, id, visitID string, at time.Time) (badge.Badge, error) {
	var out badge.Badge
	err := b.write(ctx, func(t *txn) error {
		got, err := scanBadge(t.row(ctx, `UPDATE badges SET state = 'available', visit_id = NULL, since = ?
			WHERE location = ? AND id = ? AND state = 'assigned' AND visit_id = ?
			RETURNING `+badgeCols, tv(at), location, id, visitID))
		if errors.Is(err, sql.ErrNoRows) {
			// Not held by visitID: report the badge as it is.
			out, err = getBadge(ctx, t, location, id, false)
			return err
		}
		if err != nil {
			t.note(err)
			return err
		}
		out = got
		return closeAssignment(ctx, t, location, id, at, badge.ReasonReleased)
	})
	return out, err
}

// SetState implements badge.Store.
func (b badges) SetState(ctx context.Context, location, id string, to badge.State, at time.Time) (badge.Badge, error) {
	var out badge.Badge
	err := b.write(ctx, func(t *txn) error {
		cur, err := getBadge(ctx, t, location, id, true)
		if err != nil {
			return err
		}
		if err := badge.CheckTransition(cur.State, to); err != nil {
			return fmt.Errorf("badge %s at location %s: %w", id, location, err)
		}
		if cur.State == to {
			out = cur
			return nil
		}
		if cur.State == badge.Assigned {
			if err := closeAssignment(ctx, t, location, id, at, badge.ReasonLost); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `UPDATE badges SET state = ?, visit_id = NULL, since = ? WHERE location = ? AND id = ?`,
			to.String(), tv(at), location, id); err != nil {
			return err
		}
		cur.State, cur.VisitID, cur.Since = to, "", at
		out = cur
		return nil
	})
	return out, err
}

// exists reports ErrNotFound for an unknown badge.
func badgeExists(ctx context.Context, q querier, location, id string) error {
	var one int
	err := scan(q, q.row(ctx, `SELECT 1 FROM badges WHERE location = ? AND id = ?`, location, id), &one)
	if errors.Is(err, sql.ErrNoRows) {
		return badgeNotFound(location, id)
	}
	return err
}

const historyCols = `location, badge_id, visit_id, from_at, to_at, reason`

func scanAssignment(r rowScanner) (badge.Assignment, error) {
	var a badge.Assignment
	var from, to int64
	err := r.Scan(&a.Location, &a.BadgeID, &a.VisitID, &from, &to, &a.Reason)
	a.From, a.To = tget(from), tget(to)
	return a, err
}

// History implements badge.Store.
func (b badges) History(ctx context.Context, location, id string) ([]badge.Assignment, error) {
	q, err := b.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := badgeExists(ctx, q, location, id); err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT `+historyCols+` FROM badge_history WHERE location = ? AND badge_id = ? ORDER BY n`, location, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []badge.Assignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// HolderAt implements badge.Store.
func (b badges) HolderAt(ctx context.Context, location, id string, at time.Time) (badge.Assignment, error) {
	q, err := b.read(ctx)
	if err != nil {
		return badge.Assignment{}, err
	}
	if err := badgeExists(ctx, q, location, id); err != nil {
		return badge.Assignment{}, err
	}
	x := tv(at)
	a, err := scanAssignment(q.row(ctx, `SELECT `+historyCols+` FROM badge_history
		WHERE location = ? AND badge_id = ? AND from_at <= ? AND (to_at = ? OR ? < to_at)
		ORDER BY from_at DESC, n DESC LIMIT 1`, location, id, x, int64(noTime), x))
	if errors.Is(err, sql.ErrNoRows) {
		return badge.Assignment{}, fmt.Errorf("%w: no visit held badge %s at location %s at %s", badge.ErrNotFound, id, location, at.Format(time.RFC3339))
	}
	return a, err
}
