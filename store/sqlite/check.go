package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDamaged: stored state is damaged. Open refuses a file SQLite finds
// damaged with a *DamagedError: nothing in it can be relied on; restore it
// from a backup. Run and LastBatchRun report a batch run whose record no longer
// decodes with an error that matches both ErrDamaged and
// store.ErrNotFound, so that the batch starts afresh. (A person whose row
// is damaged is no error: see store.Person.Damaged.)
var ErrDamaged = errors.New("sqlite store: damaged")

// DamagedError is Open's refusal of a damaged file. It matches ErrDamaged.
type DamagedError struct {
	Path string
	// Problems are what Open's check found: SQLite's integrity_check
	// reports (up to ten), or the tables and indexes that are not as the
	// migrations make them. Empty if SQLite refused the file before the
	// check could run (Err says why).
	Problems []string
	Err      error // SQLite's own error, if any
}

func (e *DamagedError) Error() string {
	what := strings.Join(e.Problems, "; ")
	switch {
	case e.Err != nil && what != "":
		what += " (" + e.Err.Error() + ")"
	case e.Err != nil:
		what = e.Err.Error()
	}
	return fmt.Sprintf("sqlite store: %s is damaged: %s", e.Path, what)
}

// Is reports whether target is ErrDamaged.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

func (e *DamagedError) Unwrap() error { return e.Err }

// check is Open's check of the file, before anything relies on it. PRAGMA
// integrity_check reads every page: the b-trees' structure, every record's
// format, the NOT NULL and UNIQUE constraints, and whether each index holds
// exactly its table's rows. Damage to the structure refuses the file. Damage
// confined to indexes is repaired instead: they hold nothing of their own,
// and one left wrong would fail every later write to the rows it covers
// (quick_check, twice as fast, does not look at them). Damage to what a
// row holds is the rows' checksums' to find (person.go).
func (s *Store) check(ctx context.Context, path string) error {
	problems, err := s.pragmaCheck(ctx, "integrity_check")
	if err != nil || len(problems) == 0 {
		return err
	}
	structural, err := s.pragmaCheck(ctx, "quick_check")
	if err != nil {
		return err
	}
	if len(structural) > 0 {
		return &DamagedError{Path: path, Problems: structural}
	}
	if _, err := s.writer.ExecContext(ctx, "REINDEX"); err != nil {
		return &DamagedError{Path: path, Problems: problems, Err: err}
	}
	left, err := s.pragmaCheck(ctx, "integrity_check")
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return &DamagedError{Path: path, Problems: left}
	}
	return nil
}

// pragmaCheck runs integrity_check or quick_check and returns the problems
// it reports, up to ten.
func (s *Store) pragmaCheck(ctx context.Context, pragma string) ([]string, error) {
	rows, err := s.writer.QueryContext(ctx, "PRAGMA "+pragma+"(10)")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var report string
		if err := rows.Scan(&report); err != nil {
			return nil, err
		}
		// A report may hold several problems, a line each, under a
		// heading naming the database.
		for line := range strings.Lines(report) {
			line = strings.TrimSpace(line)
			if line != "ok" && !strings.HasPrefix(line, "*** in database") && len(problems) < 10 {
				problems = append(problems, line)
			}
		}
	}
	return problems, rows.Err()
}

// checkSchema compares the file's schema with the one the migrations make on
// an empty database, up to the file's version. The schema is kept as text,
// which integrity_check does not judge: a flip in it that still parses would
// rename a column, and fail every query that names it, or change an index's
// condition, and with it what the index holds. A flip in the version would
// have a migration run twice, or not at all.
func (s *Store) checkSchema(ctx context.Context, path string) error {
	version, err := schemaVersion(ctx, s.writer)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return err
	}
	defer db.Close()
	fresh, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer fresh.Close()
	if err := migrate(ctx, fresh, version); err != nil {
		return err // ErrNewerSchema, if the file is newer than this code
	}
	want, err := schemaOf(ctx, fresh)
	if err != nil {
		return err
	}
	got, err := schemaOf(ctx, s.writer)
	if err != nil {
		return err
	}
	var problems []string
	for name, def := range got {
		switch made, ok := want[name]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is not one that migrations 1-%d make", name, version))
		case made != def:
			problems = append(problems, fmt.Sprintf("the schema of %s is not the one migrations 1-%d make", name, version))
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s, which migrations 1-%d make, is missing", name, version))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return &DamagedError{Path: path, Problems: problems}
	}
	return nil
}

// schemaOf reads a database's schema: each table's and index's definition,
// by type and name.
func schemaOf(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT type || ' ' || name, coalesce(sql, '') FROM sqlite_schema")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	schema := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		schema[name] = def
	}
	return schema, rows.Err()
}

// damaged turns SQLite's word that a file is corrupt, or is no database, into
// a *DamagedError; other errors it returns as they are.
func damaged(path string, err error) error {
	var d *DamagedError
	if errors.As(err, &d) {
		return err
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return &DamagedError{Path: path, Err: e}
		}
	}
	return err
}
