package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Times are stored as Unix nanoseconds in BIGINT columns: exact, compact,
// ordered the same way on both databases. A zero time.Time is stored as
// the smallest int64 (noTime), so it sorts and compares before every real
// time, as it does in Go; NULL is used only where a column means "never"
// (visits.due_at, visits.ended_at). Times before 1678 or after 2261 are
// clamped to the representable range.
const noTime = math.MinInt64

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// tv encodes t for a NOT NULL time column.
func tv(t time.Time) int64 {
	switch {
	case t.IsZero():
		return noTime
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// tnull encodes t for a nullable column: NULL when zero.
func tnull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return tv(t)
}

// tget decodes a NOT NULL time column.
func tget(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// querier runs statements either inside a transaction (txn) or directly on
// a connection pool (pool).
type querier interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	row(ctx context.Context, q string, args ...any) *sql.Row
}

// pool runs statements on a pool, each in its own implicit transaction.
type pool struct {
	d  *dialect
	db *sql.DB
}

func (p pool) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(ctx, p.d.bind(q), args...)
}

func (p pool) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(ctx, p.d.bind(q), args...)
}

func (p pool) row(ctx context.Context, q string, args ...any) *sql.Row {
	return p.db.QueryRowContext(ctx, p.d.bind(q), args...)
}

// txn is one database transaction. It remembers whether a statement failed
// in a way that calls for running the whole transaction again (a deadlock,
// a race on a unique index), even if the caller's TxFunc swallows the
// error: the store then rolls back and retries instead of committing.
type txn struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context // the transaction's context, for Tx methods without one
	visit string          // the visit a visitor.Tx is bound to; "" otherwise
	retry error
}

func (t *txn) note(err error) error {
	if err != nil && t.retry == nil && t.s.d.retryable(err) {
		t.retry = err
	}
	return err
}

func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, t.s.d.bind(q), args...)
	return res, t.note(err)
}

func (t *txn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, t.s.d.bind(q), args...)
	return rows, t.note(err)
}

// row runs a query expected to return at most one row. Errors surface at
// Scan; use scan to have them noted for retry.
func (t *txn) row(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.s.d.bind(q), args...)
}

// scan scans r into dest, noting a retryable error when q is a txn.
func scan(q querier, r *sql.Row, dest ...any) error {
	err := r.Scan(dest...)
	if t, ok := q.(*txn); ok && !errors.Is(err, sql.ErrNoRows) {
		t.note(err)
	}
	return err
}

// maxAttempts bounds how often a transaction that lost a race is run.
const maxAttempts = 50

// inTx runs fn in a write transaction and commits it, running it again
// when it lost a race (see dialect.retryable). fn's error is returned
// unchanged.
func (s *Store) inTx(ctx context.Context, visit string, fn func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, visit, fn)
		var r *retryErr
		if !errors.As(err, &r) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("sqlstore: transaction failed %d times: %w", attempt, r.err)
		}
		if err := pause(ctx, attempt, rand.Uint64()); err != nil {
			return err
		}
	}
}

// retryErr marks a transaction attempt that should be run again.
type retryErr struct{ err error }

func (e *retryErr) Error() string { return e.err.Error() }

func (s *Store) tryTx(ctx context.Context, visit string, fn func(t *txn) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		if s.d.retryable(err) {
			return &retryErr{err}
		}
		return err
	}
	t := &txn{s: s, tx: tx, ctx: ctx, visit: visit}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	err = fn(t)
	if t.retry != nil {
		return &retryErr{t.retry}
	}
	if err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		if s.d.retryable(err) {
			return &retryErr{err}
		}
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}
