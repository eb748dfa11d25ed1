package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

// cards implements badge.AllocationStore, with the same transaction rule
// as badges. Every change to a location's numbers first locks the
// location's card_ranges row (FOR UPDATE on PostgreSQL), so allocations,
// frees and range changes of one location are serialised across replicas
// while other locations proceed in parallel.
type cards struct {
	s *Store
	t *txn
}

func (c cards) write(ctx context.Context, fn func(t *txn) error) error {
	return badges(c).write(ctx, fn)
}

func (c cards) read(ctx context.Context) (querier, error) {
	return badges(c).read(ctx)
}

// rangeRow is a card_ranges row.
type rangeRow struct {
	r       badge.Range
	freeSeq int64
}

func noRange(location string) error {
	return fmt.Errorf("%w: location %s", badge.ErrNoRange, location)
}

// getRange reads the location's range, locking it when lock is set. A
// missing range is badge.ErrNoRange.
func getRange(ctx context.Context, q querier, location string, lock bool) (rangeRow, error) {
	query := `SELECT card_format, card_facility, min_number, max_number, free_seq FROM card_ranges WHERE location = ?`
	if lock {
		query += ` {lock}`
	}
	var rr rangeRow
	var format string
	var facility, lo, hi int64
	err := scan(q, q.row(ctx, query, location), &format, &facility, &lo, &hi, &rr.freeSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return rr, noRange(location)
	}
	if err != nil {
		return rr, err
	}
	f, err := wiegand.ParseFormat(format)
	if err != nil {
		return rr, fmt.Errorf("sqlstore: range of %s has card format %q: %w", location, format, err)
	}
	rr.r = badge.Range{Location: location, Format: f, Facility: uint64(facility), Min: uint64(lo), Max: uint64(hi)}
	return rr, nil
}

// Range implements badge.AllocationStore.
func (c cards) Range(ctx context.Context, location string) (badge.Range, error) {
	q, err := c.read(ctx)
	if err != nil {
		return badge.Range{}, err
	}
	rr, err := getRange(ctx, q, location, false)
	return rr.r, err
}

// SetRange implements badge.AllocationStore. The change is checked with
// badge.CheckRangeChange against the issued numbers while the range is
// locked, and the queue of free numbers is rebuilt from the gaps between
// them, lowest first.
func (c cards) SetRange(ctx context.Context, r badge.Range) error {
	return c.write(ctx, func(t *txn) error {
		for {
			cur, err := getRange(ctx, t, r.Location, true)
			if errors.Is(err, badge.ErrNoRange) {
				res, err := t.exec(ctx, `INSERT INTO card_ranges (location, card_format, card_facility, min_number, max_number, free_seq)
					VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (location) DO NOTHING`,
					r.Location, r.Format.String(), int64(r.Facility), int64(r.Min), int64(r.Max))
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					continue // created concurrently: replace it
				}
				_, err = t.exec(ctx, `INSERT INTO card_free (location, seq, lo, hi) VALUES (?, 0, ?, ?)`, r.Location, int64(r.Min), int64(r.Max))
				return err
			}
			if err != nil {
				return err
			}
			if cur.r == r {
				return nil
			}
			return replaceRange(ctx, t, cur, r)
		}
	})
}

func replaceRange(ctx context.Context, t *txn, cur rangeRow, r badge.Range) error {
	rows, err := t.query(ctx, `SELECT number FROM card_allocs WHERE location = ? ORDER BY number`, r.Location)
	if err != nil {
		return err
	}
	var issued []uint64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		issued = append(issued, uint64(n))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var lowest, highest uint64
	if len(issued) > 0 {
		lowest, highest = issued[0], issued[len(issued)-1]
	}
	if err := badge.CheckRangeChange(cur.r, r, len(issued), lowest, highest); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM card_free WHERE location = ?`, r.Location); err != nil {
		return err
	}
	seq := cur.freeSeq
	addSpan := func(lo, hi uint64) error {
		_, err := t.exec(ctx, `INSERT INTO card_free (location, seq, lo, hi) VALUES (?, ?, ?, ?)`, r.Location, seq, int64(lo), int64(hi))
		seq++
		return err
	}
	next := r.Min
	for _, n := range issued {
		if n > next {
			if err := addSpan(next, n-1); err != nil {
				return err
			}
		}
		next = n + 1
	}
	if len(issued) == 0 || highest < r.Max {
		if err := addSpan(next, r.Max); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `UPDATE card_ranges SET card_format = ?, card_facility = ?, min_number = ?, max_number = ?, free_seq = ? WHERE location = ?`,
		r.Format.String(), int64(r.Facility), int64(r.Min), int64(r.Max), seq, r.Location)
	return err
}

// Allocate implements badge.AllocationStore: the number at the front of
// the location's free queue (never-used numbers first, then the one freed
// longest ago).
func (c cards) Allocate(ctx context.Context, location, visitID string, at time.Time) (badge.Allocation, error) {
	var out badge.Allocation
	err := c.write(ctx, func(t *txn) error {
		rr, err := getRange(ctx, t, location, true)
		if err != nil {
			return err
		}
		var number, when int64
		err = scan(t, t.row(ctx, `SELECT number, at FROM card_allocs WHERE location = ? AND visit_id = ?`, location, visitID), &number, &when)
		switch {
		case err == nil:
			out = badge.Allocation{Location: location, VisitID: visitID, Card: rr.r.Card(uint64(number)), At: tget(when)}
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var seq, lo, hi int64
		err = scan(t, t.row(ctx, `SELECT seq, lo, hi FROM card_free WHERE location = ? ORDER BY seq LIMIT 1`, location), &seq, &lo, &hi)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: all %d numbers of %s are allocated", badge.ErrRangeFull, rr.r.Size(), rr.r)
		}
		if err != nil {
			return err
		}
		if lo == hi {
			_, err = t.exec(ctx, `DELETE FROM card_free WHERE location = ? AND seq = ?`, location, seq)
		} else {
			_, err = t.exec(ctx, `UPDATE card_free SET lo = ? WHERE location = ? AND seq = ?`, lo+1, location, seq)
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO card_allocs (location, number, visit_id, at) VALUES (?, ?, ?, ?)`,
			location, lo, visitID, tv(at)); err != nil {
			return err
		}
		out = badge.Allocation{Location: location, VisitID: visitID, Card: rr.r.Card(uint64(lo)), At: at}
		return nil
	})
	return out, err
}

// Free implements badge.AllocationStore: the number joins the back of the
// free queue.
func (c cards) Free(ctx context.Context, location string, number uint64, visitID string) error {
	return c.write(ctx, func(t *txn) error {
		rr, err := getRange(ctx, t, location, true)
		if errors.Is(err, badge.ErrNoRange) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM card_allocs WHERE location = ? AND number = ? AND visit_id = ?`, location, int64(number), visitID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO card_free (location, seq, lo, hi) VALUES (?, ?, ?, ?)`,
			location, rr.freeSeq, int64(number), int64(number)); err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE card_ranges SET free_seq = ? WHERE location = ?`, rr.freeSeq+1, location)
		return err
	})
}

// Allocations implements badge.AllocationStore.
func (c cards) Allocations(ctx context.Context, location string) ([]badge.Allocation, error) {
	q, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT a.number, a.visit_id, a.at, r.card_format, r.card_facility
		FROM card_allocs a JOIN card_ranges r ON r.location = a.location
		WHERE a.location = ? ORDER BY a.number`, location)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []badge.Allocation
	for rows.Next() {
		var n, at, facility int64
		var format string
		a := badge.Allocation{Location: location}
		if err := rows.Scan(&n, &a.VisitID, &at, &format, &facility); err != nil {
			return nil, err
		}
		f, err := wiegand.ParseFormat(format)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: range of %s has card format %q: %w", location, format, err)
		}
		a.Card = badge.Card{Format: f, Facility: uint64(facility), Number: uint64(n)}
		a.At = tget(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
