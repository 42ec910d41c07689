// Package postgres keeps hrissync's state in PostgreSQL, so that several
// replicas of a service share it, and dispatches their work through River
// (github.com/riverqueue/river), a job queue in the same database.
//
// The Store alone is a drop-in for the SQLite store. With a Queue as the
// engine's Dispatcher the replicas share the work without a coordinator of
// their own: an accepted webhook and its job are committed in one
// transaction, so it is applied even if the replica that took it dies the
// next second; each person is reconciled under a PostgreSQL advisory lock, so
// never by two replicas at once; the poll and the batch are River periodic
// jobs, run by River's elected leader once per scheduled time.
//
//	pool, _ := pgxpool.New(ctx, url)
//	st, _ := postgres.Open(ctx, pool, &postgres.Options{Schema: "hrissync"})
//	q, _ := postgres.NewQueue(ctx, st, nil)
//	eng, _ := hrissync.New(src, sink, st, &hrissync.Config{Dispatcher: q})
//
// This package is the only one that links pgx and River: a host on the
// embedded default never does, and a host with a queue of its own can call
// Engine.Reconcile from it.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNewerSchema: the schema was migrated by a newer version of hrissync.
var ErrNewerSchema = errors.New("postgres store: the schema is newer than this version of hrissync")

// Options configure the Store. A nil *Options is all defaults.
type Options struct {
	// Schema holds hrissync's tables (and River's, with a Queue), apart
	// from the host's own. It is created if missing. Default "hrissync".
	Schema string
	// SkipCheck skips Open's check of every person's row against its
	// checksum, which quarantines the damaged ones so that the engine
	// rebuilds them at once (see person.go). It reads the whole people
	// table, once per Open, so once per replica started — longer while
	// the rows are from before migration 0006 (unsummed, so decoded whole
	// to be judged). Skipped, a damaged row is found only when it is read.
	SkipCheck bool
}

// Store is a store.Store on PostgreSQL. Its methods are safe for
// concurrent use by any number of replicas.
type Store struct {
	pool   *pgxpool.Pool
	schema string // as given, unquoted
	sql    map[string]string
	mu     sync.Mutex
	queues map[string][]*Queue // by tenant, the Queues bound to engines on this Store: marks insert their jobs in the same transaction
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,45}$`)

// Open migrates the schema and returns a Store on pool. The pool stays the
// caller's to close.
func Open(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = "hrissync"
	}
	// River's schema rule, narrowed to lower case so that the name needs
	// no quoting anywhere.
	if !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("postgres store: schema %q: use lower-case letters, digits and underscores", o.Schema)
	}
	s := &Store{pool: pool, schema: o.Schema, queues: map[string][]*Queue{}}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	s.sql = map[string]string{}
	for name, q := range queries {
		s.sql[name] = s.qualify(q)
	}
	for name, q := range rowQueries {
		s.sql[name] = s.qualify(q)
	}
	for name, q := range baseQueries() {
		s.sql[name] = s.qualify(q)
	}
	if !o.SkipCheck {
		if err := s.quarantine(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) qualify(q string) string {
	return strings.ReplaceAll(q, "{{schema}}", pgx.Identifier{s.schema}.Sanitize())
}

// migrate applies the embedded migrations not yet applied, under an advisory
// lock so that replicas starting together migrate once.
func (s *Store) migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres store: migrating: %w", err)
	}
	defer tx.Rollback(ctx)
	steps := []string{
		"SELECT pg_advisory_xact_lock(hashtextextended('hrissync migrate ' || $1, 0))",
		"CREATE SCHEMA IF NOT EXISTS {{schema}}",
		"CREATE TABLE IF NOT EXISTS {{schema}}.schema_version (version integer NOT NULL)",
	}
	for i, q := range steps {
		args := []any{}
		if i == 0 {
			args = append(args, s.schema)
		}
		if _, err := tx.Exec(ctx, s.qualify(q), args...); err != nil {
			return fmt.Errorf("postgres store: migrating: %w", err)
		}
	}
	var version int
	err = tx.QueryRow(ctx, s.qualify("SELECT coalesce(max(version), 0) FROM {{schema}}.schema_version")).Scan(&version)
	if err != nil {
		return fmt.Errorf("postgres store: migrating: %w", err)
	}
	if version > len(files) {
		return fmt.Errorf("%w: schema %s is at version %d, this build knows %d", ErrNewerSchema, s.schema, version, len(files))
	}
	for i, f := range files[version:] {
		b, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.qualify(string(b))); err != nil {
			return fmt.Errorf("postgres store: migration %s: %w", f, err)
		}
		if _, err := tx.Exec(ctx, s.qualify("INSERT INTO {{schema}}.schema_version VALUES ($1)"), version+i+1); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// addQueue adds a Queue bound to an engine of tenant on this Store. Several
// (replicas in one process) share River's queue for the tenant: any of
// them inserts a job, and each notes the people it has in hand.
func (s *Store) addQueue(tenant string, q *Queue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[tenant] = append(s.queues[tenant], q)
}

func (s *Store) queuesOf(tenant string) []*Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[tenant]
}
