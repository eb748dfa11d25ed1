package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migration is one step of the schema. Statements use the dialect tokens
// ({serial}, {text}); each migration runs in its own transaction together
// with its row in schema_migrations, so it is applied entirely or not at
// all. Migrations are never edited once released: a change is a new one.
type migration struct {
	version int
	name    string
	stmts   []string
}

var migrations = []migration{
	{1, "visits, outbox, audit, badges, card ranges", []string{
		// Badges: one row per badge. n orders badges added at the same
		// time; state is the badge.State name; visit_id is set exactly
		// when state is 'assigned'.
		`CREATE TABLE badges (
			n             {serial},
			location      {text} NOT NULL,
			id            {text} NOT NULL,
			name          TEXT NOT NULL,
			type          TEXT NOT NULL,
			card_format   TEXT NOT NULL,
			card_facility BIGINT NOT NULL,
			card_number   BIGINT NOT NULL,
			state         TEXT NOT NULL,
			visit_id      {text},
			since         BIGINT NOT NULL,
			UNIQUE (location, id)
		)`,
		// A visit holds at most one badge per location.
		`CREATE UNIQUE INDEX badges_visit ON badges (location, visit_id) WHERE state = 'assigned'`,
		// Next available: the longest available first.
		`CREATE INDEX badges_available ON badges (location, since, n) WHERE state = 'available'`,
		// Assignments; reason is '' while the assignment is open, and a
		// badge has at most one open assignment.
		`CREATE TABLE badge_history (
			n        {serial},
			location {text} NOT NULL,
			badge_id {text} NOT NULL,
			visit_id {text} NOT NULL,
			from_at  BIGINT NOT NULL,
			to_at    BIGINT NOT NULL,
			reason   TEXT NOT NULL,
			FOREIGN KEY (location, badge_id) REFERENCES badges (location, id)
		)`,
		`CREATE INDEX badge_history_badge ON badge_history (location, badge_id, n)`,
		`CREATE UNIQUE INDEX badge_history_open ON badge_history (location, badge_id) WHERE reason = ''`,

		// Card-number ranges. The free numbers of a range are a queue of
		// spans (card_free, by seq): never-used numbers first, then freed
		// numbers, oldest first. free_seq is the next seq to hand out.
		`CREATE TABLE card_ranges (
			location      {text} PRIMARY KEY,
			card_format   TEXT NOT NULL,
			card_facility BIGINT NOT NULL,
			min_number    BIGINT NOT NULL,
			max_number    BIGINT NOT NULL,
			free_seq      BIGINT NOT NULL
		)`,
		`CREATE TABLE card_free (
			location {text} NOT NULL REFERENCES card_ranges (location),
			seq      BIGINT NOT NULL,
			lo       BIGINT NOT NULL,
			hi       BIGINT NOT NULL,
			PRIMARY KEY (location, seq)
		)`,
		`CREATE TABLE card_allocs (
			location {text} NOT NULL REFERENCES card_ranges (location),
			number   BIGINT NOT NULL,
			visit_id {text} NOT NULL,
			at       BIGINT NOT NULL,
			PRIMARY KEY (location, number),
			CONSTRAINT card_allocs_visit UNIQUE (location, visit_id)
		)`,

		// Visits: the visitor.Visit as JSON (doc) plus the columns the
		// store filters and sorts on. due_at is NULL when the visit is
		// never due; ended_at is NULL unless the visit ended. The sweep
		// lease is free when lease_owner is '' or lease_until has passed.
		`CREATE TABLE visits (
			id          {text} PRIMARY KEY,
			location    {text} NOT NULL,
			state       TEXT NOT NULL,
			due_at      BIGINT,
			ended_at    BIGINT,
			scrubbed    INTEGER NOT NULL,
			version     BIGINT NOT NULL,
			lease_owner TEXT NOT NULL,
			lease_until BIGINT NOT NULL,
			doc         TEXT NOT NULL
		)`,
		`CREATE INDEX visits_location ON visits (location, id)`,
		`CREATE INDEX visits_due ON visits (due_at) WHERE due_at IS NOT NULL`,
		`CREATE INDEX visits_ended ON visits (ended_at) WHERE scrubbed = 0 AND ended_at IS NOT NULL`,

		// Outbox: the visitor.OutboxItem as JSON plus its mutable fields.
		`CREATE TABLE outbox (
			seq          {serial},
			id           {text} NOT NULL UNIQUE,
			visit_id     {text} NOT NULL REFERENCES visits (id),
			attempts     BIGINT NOT NULL,
			next_attempt BIGINT NOT NULL,
			lease_owner  TEXT NOT NULL,
			lease_until  BIGINT NOT NULL,
			last_error   TEXT NOT NULL,
			doc          TEXT NOT NULL
		)`,
		`CREATE INDEX outbox_visit ON outbox (visit_id, seq)`,
		`CREATE INDEX outbox_next ON outbox (next_attempt, seq)`,

		// Audit trail: the visitor.AuditRecord as JSON without its personal
		// data, which lives in subject and reason until scrubbed.
		`CREATE TABLE audit (
			seq      {serial},
			at       BIGINT NOT NULL,
			visit_id {text} NOT NULL,
			location {text} NOT NULL,
			badge_id {text} NOT NULL,
			subject  TEXT NOT NULL,
			reason   TEXT NOT NULL,
			scrubbed INTEGER NOT NULL,
			doc      TEXT NOT NULL
		)`,
		`CREATE INDEX audit_visit ON audit (visit_id, seq)`,
		`CREATE INDEX audit_badge ON audit (badge_id, seq)`,
		`CREATE INDEX audit_at ON audit (at)`,
		`CREATE INDEX audit_unscrubbed ON audit (at) WHERE scrubbed = 0`,
	}},
	{2, "door event cursors", []string{
		`CREATE TABLE door_cursors (
			location    {text} PRIMARY KEY,
			door_cursor TEXT NOT NULL
		)`,
	}},
	{3, "PIN tags", []string{
		// The keyed hashes of the live PINs of each location (never the
		// PINs): the primary key keeps them unique.
		`CREATE TABLE pin_tags (
			location {text} NOT NULL,
			tag      {text} NOT NULL,
			visit_id {text} NOT NULL,
			PRIMARY KEY (location, tag)
		)`,
		`CREATE INDEX pin_tags_visit ON pin_tags (visit_id)`,
	}},
}

// SchemaVersion is the schema version this build creates and expects.
const SchemaVersion = 3

const createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

// migrate brings the schema up to date. On PostgreSQL a session advisory
// lock, keyed by the schema, lets one replica migrate while the others
// wait; on SQLite each migration's write transaction (BEGIN IMMEDIATE)
// serialises openers. Re-opening an up-to-date database changes nothing.
func (s *Store) migrate(ctx context.Context) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()
	if s.d.pg {
		const key = `hashtext('acsbridge.sqlstore.migrate:' || coalesce(current_schema(), ''))`
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
			return fmt.Errorf("sqlstore: migrate: take the migration lock: %w", err)
		}
		defer func() {
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
			if uerr != nil && err == nil {
				err = fmt.Errorf("sqlstore: migrate: release the migration lock: %w", uerr)
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, createMigrations); err != nil {
		if class, _ := s.d.classify(err); class == NoSchema {
			return fmt.Errorf("sqlstore: migrate: no schema to create the tables in; create the schema named by search_path first: %w", err)
		}
		return fmt.Errorf("sqlstore: migrate: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := s.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("sqlstore: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// apply runs m in a transaction unless it was applied already.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current.Int64 > SchemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than this build's %d: upgrade the program", current.Int64, SchemaVersion)
	}
	if current.Int64 >= int64(m.version) {
		return nil
	}
	for _, st := range m.stmts {
		if _, err := tx.ExecContext(ctx, s.d.bind(st)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.d.bind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Version returns the schema version recorded in the database.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return int(v.Int64), err
}
