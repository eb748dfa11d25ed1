// Package sqlstore is the durable visitor.Store: visits, the outbox of ACS
// operations, the audit trail, the badge pools (badge.Store) and the
// card-number ranges (badge.AllocationStore), in one SQL database, so that
// a visit, its badge and the ACS operations it needs change in one
// transaction.
//
// # Choosing a backend
//
// This package holds the Store, the schema and the SQL, and no database
// driver. Each driver lives in a package of its own, so a program links
// only the one it opens.
//
// SQLite (package visitor/sqlstore/sqlite) is the embedded default: a file
// path is all it needs, through the pure-Go driver modernc.org/sqlite (no
// cgo). Use it when one VMS process runs the visitor engine.
//
//	store, err := sqlite.Open(ctx, "/var/lib/vms/visits.db")
//
// PostgreSQL (package visitor/sqlstore/postgres, through
// github.com/jackc/pgx/v5) is for several VMS replicas sharing the work:
// each opens its own Store on the same database, and leases make sure each
// outbox item and each due visit is worked by one replica at a time.
//
//	store, err := postgres.Open(ctx, "postgres://vms:…@db:5432/vms?sslmode=verify-full")
//
// Either way, pass the Store to visitor.New and Close it on shutdown. The
// options differ by backend: sqlite.WithMaxConns caps the read
// connections, sqlite.WithRelaxedSync and sqlite.WithBusyTimeout tune
// commits and lock waits; postgres.WithMaxConns caps the connection pool.
//
// Another database/sql driver for one of the two dialects can be used
// through New, with a Backend that says what the driver's errors mean.
//
// # Schema
//
// Opening applies the schema migrations this build knows and the database
// lacks, each in its own transaction, and records them in the table
// schema_migrations; re-opening an up-to-date database changes nothing,
// and a database migrated by a newer build is refused. On PostgreSQL an
// advisory lock (keyed by the current schema) lets one of several replicas
// starting at once migrate while the others wait. The tables live in the
// first schema of the connection's search_path, which may be set in the
// connection string, so several stores can share one database.
//
// Visits, outbox items and audit records are kept as JSON documents next
// to the columns the store filters and sorts on; times are Unix
// nanoseconds; personal data of audit records sits in columns of its own
// so Scrub erases it without rewriting documents.
//
// # Concurrency and guarantees
//
// A Store is safe for concurrent use, and every method is atomic.
//
//   - Create and Update run their visitor.TxFunc inside one database
//     transaction, with the visit's row locked first (SELECT … FOR UPDATE
//     on PostgreSQL), so updates of one visit are serialised across
//     replicas. What the TxFunc does through its visitor.Tx (acquire or
//     release a badge, allocate a card number, enqueue, complete or retry
//     an outbox item, audit) commits with the visit or not at all.
//   - A transaction that loses a race (a deadlock, two acquisitions for one
//     visit) is rolled back and run again, so a TxFunc may be called more
//     than once, as the visitor.Store contract allows. A TxFunc must use
//     only its Tx: on SQLite, calling a writing method of the Store itself
//     would wait for the write connection the transaction holds.
//   - A badge is never assigned to two visits: the next available badge is
//     taken with UPDATE … WHERE state = 'available' over a row picked with
//     FOR UPDATE SKIP LOCKED, and unique indexes allow one assigned badge
//     per visit and location and one open assignment per badge. Card
//     numbers of a location are allocated under a lock on its range.
//   - Outbox items and due visits are claimed with FOR UPDATE SKIP LOCKED
//     and a lease (owner and expiry): replicas claim disjoint work without
//     waiting for each other, and work leased by a replica that crashed is
//     claimed again once its lease expires. Reading a visit's outbox inside
//     its transaction locks the items, so a claim cannot lease an item the
//     transaction is about to cancel.
//   - On SQLite the database is in WAL mode with foreign keys on; all
//     writes go through one connection and start with BEGIN IMMEDIATE, so
//     goroutines queue for it instead of failing with SQLITE_BUSY, and
//     another process using the same file waits up to the busy timeout
//     (sqlite.WithBusyTimeout). Reads use a separate pool of read-only
//     connections and never wait for writers. Commits are synchronous
//     (synchronous=FULL) unless sqlite.WithRelaxedSync trades power-loss
//     durability for speed; a killed process loses nothing committed.
//
// Audit records and outbox items are numbered from a sequence. On
// PostgreSQL two transactions may commit their numbers out of order, so a
// reader paging with AuditQuery.AfterSeq while records are being written
// may step over a record committed late with a lower number. A query whose
// AuditQuery.Until lies further in the past than any transaction runs
// sees every record it selects.
//
// # Testing
//
// The tests run the shared suites (package visitor/storetest, which
// includes badge/badgetest) against SQLite files in temporary directories
// and, when the environment variable ACSBRIDGE_POSTGRES_DSN holds a
// connection string, against PostgreSQL, each test in a schema of its own
// that is dropped afterwards. Without the variable the PostgreSQL tests
// are skipped.
package sqlstore
