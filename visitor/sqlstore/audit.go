package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/acsbridge/acsbridge/visitor"
)

// Audit records are stored as their JSON (doc) without the personal data
// (Subject, Reason), which lives in columns of its own so that Scrub can
// erase it with one UPDATE and leave nothing behind in the document.

func appendAudit(ctx context.Context, t *txn, r visitor.AuditRecord) error {
	doc := r
	doc.Seq, doc.Subject, doc.Reason, doc.Scrubbed = 0, "", "", false
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sqlstore: encode audit record: %w", err)
	}
	scrubbed := 0
	if r.Scrubbed {
		scrubbed = 1
	}
	_, err = t.exec(ctx, `INSERT INTO audit (at, visit_id, location, badge_id, subject, reason, scrubbed, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tv(r.Time), r.VisitID, r.Location, r.BadgeID, r.Subject, r.Reason, scrubbed, string(b))
	return err
}

// AppendAudit implements visitor.Store: the records are appended in one
// transaction.
func (s *Store) AppendAudit(ctx context.Context, recs ...visitor.AuditRecord) error {
	if len(recs) == 0 {
		return ctx.Err()
	}
	return s.inTx(ctx, "", func(t *txn) error {
		for _, r := range recs {
			if err := appendAudit(ctx, t, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Audit implements visitor.Store.
func (s *Store) Audit(ctx context.Context, q visitor.AuditQuery) ([]visitor.AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if q.VisitID != "" {
		add(`visit_id = ?`, q.VisitID)
	}
	if q.Location != "" {
		add(`location = ?`, q.Location)
	}
	if q.BadgeID != "" {
		add(`badge_id = ?`, q.BadgeID)
	}
	if !q.Since.IsZero() {
		add(`at >= ?`, tv(q.Since))
	}
	if !q.Until.IsZero() {
		add(`at < ?`, tv(q.Until))
	}
	if q.AfterSeq != 0 {
		add(`seq > ?`, q.AfterSeq)
	}
	query := `SELECT seq, subject, reason, scrubbed, doc FROM audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY seq`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.reader().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []visitor.AuditRecord
	for rows.Next() {
		var r visitor.AuditRecord
		var seq int64
		var subject, reason, doc string
		var scrubbed int
		if err := rows.Scan(&seq, &subject, &reason, &scrubbed, &doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("sqlstore: decode audit record %d: %w", seq, err)
		}
		r.Seq, r.Subject, r.Reason, r.Scrubbed = seq, subject, reason, scrubbed != 0
		out = append(out, r)
	}
	return out, rows.Err()
}
