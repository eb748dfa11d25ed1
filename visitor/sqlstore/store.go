package sqlstore

import (
	"database/sql"
	"errors"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

// Store is a durable visitor.Store (and badge.Store and
// badge.AllocationStore through Badges and Cards) on SQLite or PostgreSQL.
// Open one with sqlite.Open or postgres.Open (packages
// visitor/sqlstore/sqlite and visitor/sqlstore/postgres), or with New over
// a database/sql driver of your own. It is safe for concurrent use, and
// several Stores (in one process or in several VMS replicas) may share one
// PostgreSQL database. Close it when done.
type Store struct {
	d   *dialect
	db  *sql.DB // writes; on SQLite a single connection
	rdb *sql.DB // reads; the same pool as db on PostgreSQL
}

var (
	_ visitor.Store         = (*Store)(nil)
	_ badge.Store           = badges{}
	_ badge.AllocationStore = cards{}
)

// Dialect returns the SQL dialect of the database: SQLite or Postgres.
func (s *Store) Dialect() Dialect { return s.d.name }

// Close closes the database connections. Transactions in progress fail.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// reader returns the querier for reads outside a transaction.
func (s *Store) reader() querier { return pool{d: s.d, db: s.rdb} }

// Badges implements visitor.Store: the badge pools, each method in its own
// transaction.
func (s *Store) Badges() badge.Store { return badges{s: s} }

// Cards implements visitor.Store: the card-number ranges, each method in
// its own transaction.
func (s *Store) Cards() badge.AllocationStore { return cards{s: s} }
