package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dialect holds every difference between SQLite and PostgreSQL the store
// cares about: placeholders, row locks, column types and, through the
// Backend's classifier, which errors are worth retrying. Queries are
// written once, with ? placeholders and the {…} tokens below, and
// translated by bind.
type dialect struct {
	name     Dialect
	pg       bool
	classify func(error) (ErrorClass, string)

	mu    sync.Mutex
	bound map[string]string
}

func newDialect(b Backend) *dialect {
	return &dialect{name: b.Dialect, pg: b.Dialect == Postgres, classify: b.Classify, bound: make(map[string]string)}
}

// bind translates a query: {lock} becomes FOR UPDATE and {skip} FOR UPDATE
// SKIP LOCKED on PostgreSQL (nothing on SQLite, where a write transaction
// holds the database lock), {serial} the auto-increment primary key type,
// {text} a text type compared byte by byte, and ? the placeholder ($1, $2,
// … on PostgreSQL). Results are cached.
func (d *dialect) bind(q string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.bound[q]; ok {
		return b
	}
	var r *strings.Replacer
	if d.pg {
		r = strings.NewReplacer(
			"{lock}", "FOR UPDATE",
			"{skip}", "FOR UPDATE SKIP LOCKED",
			"{serial}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
			"{text}", `TEXT COLLATE "C"`,
		)
	} else {
		r = strings.NewReplacer(
			"{lock}", "",
			"{skip}", "",
			"{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{text}", "TEXT",
		)
	}
	b := r.Replace(q)
	if d.pg {
		var sb strings.Builder
		n := 0
		for i := 0; i < len(b); i++ {
			if b[i] == '?' {
				n++
				sb.WriteByte('$')
				sb.WriteString(strconv.Itoa(n))
				continue
			}
			sb.WriteByte(b[i])
		}
		b = sb.String()
	}
	d.bound[q] = b
	return b
}

// Constraint names the store retries on: two transactions racing to give
// the same visit a badge or a card number. The loser's retry finds the
// winner's row and returns it, as the contract asks.
const (
	conBadgeVisit = "badges_visit"
	conCardVisit  = "card_allocs_visit"
)

// retryable reports whether err means the transaction lost a race and may
// simply be run again: a deadlock or serialisation failure on PostgreSQL
// (Conflict), a unique violation of one of the constraints above, or a
// busy database on SQLite (Busy, which busy_timeout and the single writer
// make rare).
func (d *dialect) retryable(err error) bool {
	if err == nil {
		return false
	}
	switch class, constraint := d.classify(err); class {
	case Conflict, Busy:
		return true
	case UniqueViolation:
		return constraint == conBadgeVisit || constraint == conCardVisit
	}
	return false
}

// pause waits a little before attempt n+1 of a transaction that lost a
// race, growing with n, and returns early with the context's error.
func pause(ctx context.Context, n int, salt uint64) error {
	// 0.5 ms, 1 ms, 2 ms … up to 50 ms, spread by the salt so that the
	// transactions that collided do not collide again.
	d := 500 * time.Microsecond << min(n, 7)
	d = min(d, 50*time.Millisecond)
	d += time.Duration(salt % uint64(d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
