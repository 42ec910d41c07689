package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/internal/rowcodec"
)

// maxNanos is the latest time Unix nanoseconds can hold (in 2262): a bound
// given later is clamped to it rather than overflowing.
var maxNanos = time.Unix(0, math.MaxInt64)

func bound(t time.Time) int64 {
	if t.After(maxNanos) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Times are stored as Unix nanoseconds, the zero time as NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func encodeJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

const personColumns = "id, has_acct, active, applied, dirty_gen, mark, due, failure"

func scanPerson(row rowcodec.Scanner) (hrissync.Person, error) {
	var (
		p             hrissync.Person
		applied       string
		gen           int64
		mark, failure sql.NullString
		due           sql.NullInt64
	)
	if err := row.Scan(&p.ID, &p.Exists, &p.Active, &applied, &gen, &mark, &due, &failure); err != nil {
		return p, err
	}
	var err error
	if p.Applied, err = rowcodec.DecodeApplied(applied); err != nil {
		return p, fmt.Errorf("sqlite store: %s: %w", p.ID, err)
	}
	if gen != 0 && mark.Valid {
		if err := json.Unmarshal([]byte(mark.String), &p.Dirty); err != nil {
			return p, fmt.Errorf("sqlite store: corrupt mark of %s: %w", p.ID, err)
		}
		p.Dirty.Generation = uint64(gen)
	}
	p.Due = fromNanos(due)
	if failure.Valid {
		p.Failure = &hrissync.Failure{}
		if err := json.Unmarshal([]byte(failure.String), p.Failure); err != nil {
			return p, fmt.Errorf("sqlite store: corrupt failure of %s: %w", p.ID, err)
		}
	}
	return p, nil
}

func (s *Store) personTx(ctx context.Context, tx *txn, tenant, id string) (hrissync.Person, error) {
	p, err := scanPerson(s.txQueryRow(ctx, tx, "SELECT "+personColumns+" FROM people WHERE tenant = ? AND id = ?", tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return hrissync.Person{ID: id}, nil
	}
	return p, err
}

// mark merges m into a person's mark under a new generation, creating the
// row if need be. replaceUnsure sets Unsure to m's rather than merging it.
func (s *Store) mark(ctx context.Context, tx *txn, tenant, id string, m hrissync.Mark, replaceUnsure bool) (uint64, error) {
	// Only the mark is needed: reading the whole person would decode its
	// applied fields on every event.
	var held hrissync.Mark
	var gen int64
	var js sql.NullString
	err := s.txQueryRow(ctx, tx, "SELECT dirty_gen, mark FROM people WHERE tenant = ? AND id = ?", tenant, id).Scan(&gen, &js)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, err
	case gen != 0 && js.Valid:
		if err := json.Unmarshal([]byte(js.String), &held); err != nil {
			return 0, fmt.Errorf("sqlite store: corrupt mark of %s: %w", id, err)
		}
		held.Generation = uint64(gen)
	}
	merged := hrissync.MergeMark(held, m)
	if replaceUnsure {
		merged.Unsure = m.Unsure
	}
	if err := s.txQueryRow(ctx, tx, "UPDATE counters SET value = value + 1 WHERE name = 'generation' RETURNING value").Scan(&gen); err != nil {
		return 0, err
	}
	merged.Generation = 0
	enc, err := encodeJSON(merged)
	if err != nil {
		return 0, err
	}
	_, err = s.txExec(ctx, tx, `INSERT INTO people (tenant, id, dirty_gen, mark) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO UPDATE SET dirty_gen = excluded.dirty_gen, mark = excluded.mark`, tenant, id, gen, enc)
	return uint64(gen), err
}

// Accept implements hrissync.Store.
func (s *Store) Accept(ctx context.Context, tenant string, ev hrissync.Acceptance) (bool, error) {
	if ev.EventID == "" || ev.EmployeeID == "" {
		return false, errors.New("sqlite store: event id and employee id are required")
	}
	dup := false
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := s.txExec(ctx, tx, "INSERT INTO events (tenant, id, forget) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tenant, ev.EventID, ev.Forget.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			dup = err == nil
			return err
		}
		_, err = s.mark(ctx, tx, tenant, ev.EmployeeID, ev.Mark, false)
		return err
	})
	return dup, err
}

// MarkDirty implements hrissync.Store.
func (s *Store) MarkDirty(ctx context.Context, tenant string, ids []string, m hrissync.Mark) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		for _, id := range ids {
			if _, err := s.mark(ctx, tx, tenant, id, m, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// Intend implements hrissync.Store.
func (s *Store) Intend(ctx context.Context, tenant, id string, m hrissync.Mark) (uint64, error) {
	var gen uint64
	m.Unsure = true
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		gen, err = s.mark(ctx, tx, tenant, id, m, false)
		return err
	})
	return gen, err
}

// Person implements hrissync.Store.
func (s *Store) Person(ctx context.Context, tenant, id string) (hrissync.Person, error) {
	p, err := scanPerson(s.queryRow(ctx, "SELECT "+personColumns+" FROM people WHERE tenant = ? AND id = ?", tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return hrissync.Person{ID: id}, nil
	}
	return p, err
}

// Commit implements hrissync.Store.
func (s *Store) Commit(ctx context.Context, tenant string, c hrissync.Commit) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		p, err := s.personTx(ctx, tx, tenant, c.ID)
		if err != nil {
			return err
		}
		applied, err := rowcodec.EncodeApplied(hrissync.MergeApplied(p.Applied, c.Applied))
		if err != nil {
			return err
		}
		// The mark is cleared only if no mark came since the reconcile
		// read it.
		_, err = s.txExec(ctx, tx, `INSERT INTO people (tenant, id, has_acct, active, applied, due) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET has_acct = excluded.has_acct, active = excluded.active,
				applied = excluded.applied, due = excluded.due, failure = NULL, dead = 0,
				mark = CASE WHEN dirty_gen = ? THEN NULL ELSE json_remove(mark, '$.Unsure') END,
				dirty_gen = CASE WHEN dirty_gen = ? THEN 0 ELSE dirty_gen END`,
			tenant, c.ID, c.Exists, c.Active, applied, nanos(c.Due), int64(c.Generation), int64(c.Generation))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, tenant, c.Audit)
	})
}

func (s *Store) appendAudit(ctx context.Context, tx *txn, tenant string, entries []audit.Entry) error {
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, "INSERT INTO outbox (tenant, id, entry) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tenant, e.ID, string(b)); err != nil {
			return err
		}
	}
	return nil
}

// Fail implements hrissync.Store.
func (s *Store) Fail(ctx context.Context, tenant, id string, f hrissync.Failure, m hrissync.Mark) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := s.mark(ctx, tx, tenant, id, m, true); err != nil {
			return err
		}
		js, err := encodeJSON(f)
		if err != nil {
			return err
		}
		_, err = s.txExec(ctx, tx, "UPDATE people SET failure = ?, dead = ? WHERE tenant = ? AND id = ?", js, f.Dead, tenant, id)
		return err
	})
}

func (s *Store) people(ctx context.Context, query string, args ...any) ([]hrissync.Person, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, scanPerson)
}

// Pending implements hrissync.Store.
func (s *Store) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]hrissync.Person, error) {
	return s.people(ctx, "SELECT "+personColumns+` FROM people WHERE tenant = ? AND id > ?
		AND (dirty_gen != 0 OR (due IS NOT NULL AND due <= ?)) ORDER BY id LIMIT ?`, tenant, after, bound(until), limit)
}

// DeadLetters implements hrissync.Store.
func (s *Store) DeadLetters(ctx context.Context, tenant string) ([]hrissync.Person, error) {
	return s.people(ctx, "SELECT "+personColumns+" FROM people WHERE tenant = ? AND dead != 0 ORDER BY id", tenant)
}

// People implements hrissync.Store.
func (s *Store) People(ctx context.Context, tenant, after string, limit int) ([]hrissync.Person, error) {
	return s.people(ctx, "SELECT "+personColumns+" FROM people WHERE tenant = ? AND id > ? AND has_acct != 0 ORDER BY id LIMIT ?", tenant, after, limit)
}

// Outbox implements hrissync.Store.
func (s *Store) Outbox(ctx context.Context, tenant string, limit int) ([]audit.Entry, error) {
	rows, err := s.query(ctx, "SELECT entry FROM outbox WHERE tenant = ? ORDER BY seq LIMIT ?", tenant, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	entries, err := rowcodec.Collect(rows, rowcodec.ScanEntry)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	return entries, nil
}

// Ack implements hrissync.Store.
func (s *Store) Ack(ctx context.Context, tenant string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		args := []any{tenant}
		for _, id := range ids {
			args = append(args, id)
		}
		_, err := s.txExec(ctx, tx, "DELETE FROM outbox WHERE tenant = ? AND id IN ("+placeholders(len(ids))+")", args...)
		return err
	})
}

// AppendAudit implements hrissync.Store.
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []audit.Entry) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error { return s.appendAudit(ctx, tx, tenant, entries) })
}

// ForgetEvents implements hrissync.Store.
func (s *Store) ForgetEvents(ctx context.Context, tenant string, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := s.txExec(ctx, tx, "DELETE FROM events WHERE tenant = ? AND forget <= ?", tenant, bound(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Cursor implements hrissync.Store.
func (s *Store) Cursor(ctx context.Context, tenant, name string) (time.Time, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, "SELECT at FROM cursors WHERE tenant = ? AND name = ?", tenant, name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromNanos(at), err
}

// SetCursor implements hrissync.Store.
func (s *Store) SetCursor(ctx context.Context, tenant, name string, t time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := s.txExec(ctx, tx, "INSERT INTO cursors (tenant, name, at) VALUES (?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET at = excluded.at", tenant, name, t.UnixNano())
		return err
	})
}

// SaveRun implements hrissync.Store.
func (s *Store) SaveRun(ctx context.Context, tenant string, r hrissync.Run) error {
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO runs (tenant, id, started, run) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET started = excluded.started, run = excluded.run`, tenant, r.ID, r.Started.UnixNano(), string(js))
		return err
	})
}

func (s *Store) run(ctx context.Context, query string, args ...any) (hrissync.Run, error) {
	var js string
	var r hrissync.Run
	err := s.queryRow(ctx, query, args...).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite store: run: %w", hrissync.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal([]byte(js), &r)
}

// Run implements hrissync.Store.
func (s *Store) Run(ctx context.Context, tenant, id string) (hrissync.Run, error) {
	return s.run(ctx, "SELECT run FROM runs WHERE tenant = ? AND id = ?", tenant, id)
}

// LastRun implements hrissync.Store.
func (s *Store) LastRun(ctx context.Context, tenant string) (hrissync.Run, error) {
	return s.run(ctx, "SELECT run FROM runs WHERE tenant = ? ORDER BY started DESC, id DESC LIMIT 1", tenant)
}
