package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/acsbridge/acsbridge/visitor"
)

var _ visitor.CursorStore = (*Store)(nil)

// DoorCursor implements visitor.CursorStore: the cursor of the last door
// event processed at the location, or "" when none was saved.
func (s *Store) DoorCursor(ctx context.Context, location string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var c string
	err := s.reader().row(ctx, `SELECT door_cursor FROM door_cursors WHERE location = ?`, location).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// SaveDoorCursor implements visitor.CursorStore. Cursors are opaque, so
// when several replicas consume one location's events the last save wins.
func (s *Store) SaveDoorCursor(ctx context.Context, location, cursor string) error {
	return s.inTx(ctx, "", func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO door_cursors (location, door_cursor) VALUES (?, ?)
			ON CONFLICT (location) DO UPDATE SET door_cursor = excluded.door_cursor`, location, cursor)
		return err
	})
}
