package sqlstore

import (
	"fmt"

	"github.com/acsbridge/acsbridge/visitor"
)

var _ visitor.PINTx = vtx{}

// ClaimPINTag implements visitor.PINTx. The insert does nothing on a
// taken tag rather than fail, which on PostgreSQL would abort the whole
// transaction: the Engine then tries another PIN in the same one. A
// concurrent claim of the same tag waits for the first to commit or roll
// back, and then finds it taken or free.
func (x vtx) ClaimPINTag(location, tag string) error {
	t := x.t
	res, err := t.exec(t.ctx, `INSERT INTO pin_tags (location, tag, visit_id) VALUES (?, ?, ?)
		ON CONFLICT (location, tag) DO NOTHING`, location, tag, t.visit)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: a live PIN at location %s has this tag", visitor.ErrExists, location)
	}
	return nil
}

// ReleasePINTag implements visitor.PINTx.
func (x vtx) ReleasePINTag(location, tag string) error {
	t := x.t
	_, err := t.exec(t.ctx, `DELETE FROM pin_tags WHERE location = ? AND tag = ? AND visit_id = ?`, location, tag, t.visit)
	return err
}
