package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// maxNanos and minNanos are the latest and earliest times Unix nanoseconds
// can hold (in 2262 and 1677): a bound given beyond them (the zero time, the
// year 9999) is clamped to them rather than overflowing.
var maxNanos, minNanos = time.Unix(0, math.MaxInt64), time.Unix(0, math.MinInt64)

func bound(t time.Time) int64 {
	switch {
	case t.After(maxNanos):
		return math.MaxInt64
	case t.Before(minNanos):
		return math.MinInt64
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// mark merges m into the row's mark under a new generation, which it
// returns. replaceUnsure sets Unsure to m's rather than merging it.
func (s *Store) mark(ctx context.Context, tx *txn, r *rowcodec.Row, m store.Mark, replaceUnsure bool) (uint64, error) {
	gen, err := s.generation(ctx, tx)
	if err != nil {
		return 0, err
	}
	if err := r.SetMark(m, replaceUnsure, gen); err != nil {
		return 0, fmt.Errorf("sqlite store: %w", err)
	}
	return uint64(gen), nil
}

// generation draws a mark's generation from the group's counter (see
// genCounter). A write that fails after drawing one gives it back with the
// rest of its savepoint.
func (s *Store) generation(ctx context.Context, tx *txn) (int64, error) {
	return tx.gen.draw(ctx, s, tx)
}

// markRow marks one person, creating the row if need be.
func (s *Store) markRow(ctx context.Context, tx *txn, tenant, id string, m store.Mark) (uint64, error) {
	r, err := s.load(ctx, tx, tenant, id)
	if err != nil {
		return 0, err
	}
	gen, err := s.mark(ctx, tx, &r, m, false)
	if err != nil {
		return 0, err
	}
	return gen, s.save(ctx, tx, r)
}

// Accept implements store.Store.
func (s *Store) Accept(ctx context.Context, tenant string, ev store.Acceptance) (bool, error) {
	if ev.EventID == "" || ev.EmployeeID == "" {
		return false, errors.New("sqlite store: event id and employee id are required")
	}
	a := acceptMark(tenant, ev)
	err := s.writeOp(ctx, s.marksOp([]*markOp{a}))
	got := a.got
	switch {
	case err != nil:
		return false, err
	case got == store.AcceptedConflict:
		return false, fmt.Errorf("sqlite store: event %q: %w", ev.EventID, store.ErrEventConflict)
	}
	return got == store.AcceptedDuplicate, nil
}

var _ store.BatchAccepter = (*Store)(nil)

// AcceptBatch implements store.BatchAccepter: the events are recorded by one
// write of the group committer, so in one transaction and one commit, each
// judged as Accept judges it (an id given earlier in the batch is a
// repeat). An event without an id or employee id fails the whole batch,
// which then records nothing.
func (s *Store) AcceptBatch(ctx context.Context, tenant string, evs []store.Acceptance) ([]store.Accepted, error) {
	for _, ev := range evs {
		if ev.EventID == "" || ev.EmployeeID == "" {
			return nil, errors.New("sqlite store: event id and employee id are required")
		}
	}
	as := make([]*markOp, len(evs))
	for i, ev := range evs {
		as[i] = acceptMark(tenant, ev)
	}
	if err := s.writeOp(ctx, s.marksOp(as)); err != nil {
		return nil, err
	}
	out := make([]store.Accepted, len(as))
	for i, a := range as {
		out[i] = a.got
	}
	return out, nil
}

// acceptOne records one event in tx as Accept does, reporting a repeat or
// a conflict (having changed nothing) rather than failing.
func (s *Store) acceptOne(ctx context.Context, tx *txn, tenant string, ev store.Acceptance) (store.Accepted, error) {
	res, err := s.txExec(ctx, tx, "INSERT INTO events (tenant, id, forget, fingerprint) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		tenant, ev.EventID, ev.Forget.UnixNano(), ev.Fingerprint)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		var seen string
		if err := s.txQueryRow(ctx, tx, "SELECT fingerprint FROM events WHERE tenant = ? AND id = ?", tenant, ev.EventID).Scan(&seen); err != nil {
			return 0, err
		}
		if seen != "" && ev.Fingerprint != "" && seen != ev.Fingerprint {
			return store.AcceptedConflict, nil
		}
		return store.AcceptedDuplicate, nil
	}
	if _, err := s.markRow(ctx, tx, tenant, ev.EmployeeID, ev.Mark); err != nil {
		return 0, err
	}
	return store.AcceptedNew, nil
}

// marksOp is the write that makes ms: one by one in its fn, or folded with
// the group's other marks (foldMarks).
func (s *Store) marksOp(ms []*markOp) *op {
	return &op{marks: ms, fn: func(ctx context.Context, tx *txn) error {
		for _, mk := range ms {
			var err error
			if mk.ev != nil {
				mk.got, err = s.acceptOne(ctx, tx, mk.tenant, *mk.ev)
			} else {
				mk.gen, err = s.markRow(ctx, tx, mk.tenant, mk.id, mk.m)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}}
}

// MarkDirty implements store.Store.
func (s *Store) MarkDirty(ctx context.Context, tenant string, ids []string, m store.Mark) error {
	ms := make([]*markOp, len(ids))
	for i, id := range ids {
		ms[i] = &markOp{tenant: tenant, id: id, m: m}
	}
	return s.writeOp(ctx, s.marksOp(ms))
}

// Intend implements store.Store.
func (s *Store) Intend(ctx context.Context, tenant, id string, m store.Mark) (uint64, error) {
	m.Unsure = true
	mk := &markOp{tenant: tenant, id: id, m: m}
	err := s.writeOp(ctx, s.marksOp([]*markOp{mk}))
	return mk.gen, err
}

// Person implements store.Store.
func (s *Store) Person(ctx context.Context, tenant, id string) (store.Person, error) {
	p, err := scanPerson(s.queryRow(ctx, "SELECT "+rowColumns+" FROM people WHERE tenant = ? AND id = ?", tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Person{ID: id}, nil
	}
	return p, err
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, tenant string, c store.Commit) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		r, err := s.load(ctx, tx, tenant, c.ID)
		if err != nil {
			return err
		}
		_, err = s.commitRow(ctx, tx, r, c)
		return err
	})
}

// commitRow records c on r, the person's row as loaded for a write: the row
// with its summary, the revocation, the audit entries. It returns the row
// as written.
func (s *Store) commitRow(ctx context.Context, tx *txn, r rowcodec.Row, c store.Commit) (rowcodec.Row, error) {
	if err := r.CommitSummarized(c); err != nil {
		return r, fmt.Errorf("sqlite store: %w", err)
	}
	if err := s.save(ctx, tx, r); err != nil {
		return r, err
	}
	if c.Revoked != "" {
		if _, err := s.txExec(ctx, tx, "INSERT INTO revocations (tenant, budget, at) VALUES (?, ?, ?)", r.Tenant, c.Revoked, bound(c.At)); err != nil {
			return r, err
		}
	}
	return r, s.appendAudit(ctx, tx, r.Tenant, c.Audit)
}

// Rekey implements store.Store. Both rows are read in the write's
// transaction, so that nothing committed between the check and the move can
// make it wrong. A damaged row is refused like a conflict: a quarantined
// From has no account to move, and whether a quarantined To has one is not
// known, so moving an account onto it could leave two bound to one person;
// the Commit that rebuilds it lets a later re-key through.
func (s *Store) Rekey(ctx context.Context, tenant string, rk store.Rekeying) (uint64, error) {
	var gen uint64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		from, err := s.load(ctx, tx, tenant, rk.From)
		if err != nil {
			return err
		}
		to, err := s.load(ctx, tx, tenant, rk.To)
		if err != nil {
			return err
		}
		g, err := s.generation(ctx, tx)
		if err != nil {
			return err
		}
		left, err := rowcodec.Rekey(from, &to, rk, g)
		if err != nil {
			return fmt.Errorf("sqlite store: %w", err)
		}
		gen = uint64(g)
		if err := s.save(ctx, tx, to); err != nil {
			return err
		}
		if err := s.save(ctx, tx, left); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, tenant, []audit.Entry{rk.Audit})
	})
	if err != nil {
		return 0, err
	}
	return gen, nil
}

// Revocations implements store.Store. One statement, so that the spent
// and the active are counted in one snapshot; the active's row has no budget.
// The active are counted on their index alone (people_active): without
// statistics the planner would rather read the tenant's every row.
func (s *Store) Revocations(ctx context.Context, tenant string, since time.Time) (store.Revocations, error) {
	rows, err := s.query(ctx, `SELECT budget, count(*) FROM revocations WHERE tenant = ? AND at >= ? GROUP BY budget
		UNION ALL SELECT NULL, count(*) FROM people INDEXED BY people_active WHERE tenant = ? AND has_acct != 0 AND active != 0`,
		tenant, bound(since), tenant)
	if err != nil {
		return store.Revocations{}, err
	}
	defer rows.Close()
	out := store.Revocations{Spent: map[string]int{}}
	for rows.Next() {
		var budget sql.NullString
		var n int
		if err := rows.Scan(&budget, &n); err != nil {
			return store.Revocations{}, err
		}
		if budget.Valid {
			out.Spent[budget.String] = n
		} else {
			out.Active = n
		}
	}
	if err := rows.Err(); err != nil {
		return store.Revocations{}, err
	}
	return out, nil
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

// Fail implements store.Store.
func (s *Store) Fail(ctx context.Context, tenant, id string, f store.Failure, m store.Mark) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		r, err := s.load(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if _, err := s.mark(ctx, tx, &r, m, true); err != nil {
			return err
		}
		if err := r.SetFailure(f); err != nil {
			return err
		}
		return s.save(ctx, tx, r)
	})
}

func (s *Store) people(ctx context.Context, query string, args ...any) ([]store.Person, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, scanPerson)
}

// Pending implements store.Store. The people quarantined are listed as
// if dirty, so that the engine's sweeps rebuild them.
func (s *Store) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]store.Person, error) {
	return s.people(ctx, "SELECT "+rowColumns+` FROM people WHERE tenant = ? AND id > ?
		AND (dirty_gen != 0 OR (due IS NOT NULL AND due <= ?) OR damaged != 0) ORDER BY id LIMIT ?`, tenant, after, bound(until), limit)
}

// DeadLetters implements store.Store.
func (s *Store) DeadLetters(ctx context.Context, tenant string) ([]store.Person, error) {
	return s.people(ctx, "SELECT "+rowColumns+" FROM people WHERE tenant = ? AND dead != 0 ORDER BY id", tenant)
}

// People implements store.Store. The people quarantined are listed too:
// whether they have an account is not known, and the batch must see those
// the Source no longer holds to deprovision them.
func (s *Store) People(ctx context.Context, tenant, after string, limit int) ([]store.Person, error) {
	return s.people(ctx, peopleQuery, tenant, after, limit)
}

var peopleQuery = "SELECT " + rowColumns + ` FROM people WHERE tenant = ? AND id > ?
	AND (has_acct != 0 OR damaged != 0) ORDER BY id LIMIT ?`

// Outbox implements store.Store.
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

// Ack implements store.Store.
func (s *Store) Ack(ctx context.Context, tenant string, ids []string, anchor audit.Head) error {
	if len(ids) == 0 && anchor.Seq <= 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		if len(ids) > 0 {
			args := []any{tenant}
			for _, id := range ids {
				args = append(args, id)
			}
			if _, err := s.txExec(ctx, tx, "DELETE FROM outbox WHERE tenant = ? AND id IN ("+placeholders(len(ids))+")", args...); err != nil {
				return err
			}
		}
		if anchor.Seq <= 0 {
			return nil
		}
		// An anchor never moves back: acknowledgements may commit out of
		// order, and a lower one must not hide entries a higher one covers.
		_, err := s.txExec(ctx, tx, `INSERT INTO audit_anchor (tenant, seq, hash) VALUES (?, ?, ?)
			ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > audit_anchor.seq`,
			tenant, anchor.Seq, anchor.Hash)
		return err
	})
}

// Anchor implements store.Store.
func (s *Store) Anchor(ctx context.Context, tenant string) (audit.Head, error) {
	var a audit.Head
	err := s.queryRow(ctx, "SELECT seq, hash FROM audit_anchor WHERE tenant = ?", tenant).Scan(&a.Seq, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{}, nil
	}
	return a, err
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []audit.Entry) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error { return s.appendAudit(ctx, tx, tenant, entries) })
}

// ForgetEvents implements store.Store. The count is of the event ids
// only; the revocations past their retention go in the same transaction.
func (s *Store) ForgetEvents(ctx context.Context, tenant string, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := s.txExec(ctx, tx, "DELETE FROM events WHERE tenant = ? AND forget <= ?", tenant, bound(t))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = s.txExec(ctx, tx, "DELETE FROM revocations WHERE tenant = ? AND at < ?", tenant, bound(t.Add(-store.RevocationRetention)))
		return err
	})
	return int(n), err
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, tenant, name string) (time.Time, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, "SELECT at FROM cursors WHERE tenant = ? AND name = ?", tenant, name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromNanos(at), err
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(ctx context.Context, tenant, name string, t time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := s.txExec(ctx, tx, "INSERT INTO cursors (tenant, name, at) VALUES (?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET at = excluded.at", tenant, name, t.UnixNano())
		return err
	})
}

// SaveBatchRun implements store.Store.
func (s *Store) SaveBatchRun(ctx context.Context, tenant string, r store.BatchRun) error {
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		// The started column is the run's place in the ledger, which
		// LastBatchRun orders by: its start, or just after the newest run's
		// place if that is later (the clock stepped back). A run saved
		// again keeps its place.
		_, err := s.txExec(ctx, tx, `INSERT INTO runs (tenant, id, started, run)
			VALUES (?, ?, max(?, (SELECT coalesce(max(started), 0) + 1 FROM runs WHERE tenant = ?)), ?)
			ON CONFLICT (tenant, id) DO UPDATE SET run = excluded.run`,
			tenant, r.ID, r.Started.UnixNano(), tenant, string(js))
		return err
	})
}

// run reads one run. A run whose record no longer decodes is as good as
// lost: it is reported as not found (and damaged), so that the batch starts
// a fresh run rather than failing on it every night.
func (s *Store) run(ctx context.Context, query string, args ...any) (store.BatchRun, error) {
	var id, js string
	var r store.BatchRun
	err := s.queryRow(ctx, query, args...).Scan(&id, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite store: run: %w", store.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return store.BatchRun{}, fmt.Errorf("%w: run %q: %v: %w", ErrDamaged, id, err, store.ErrNotFound)
	}
	return r, nil
}

// BatchRun implements store.Store.
func (s *Store) BatchRun(ctx context.Context, tenant, id string) (store.BatchRun, error) {
	return s.run(ctx, "SELECT id, run FROM runs WHERE tenant = ? AND id = ?", tenant, id)
}

// LastBatchRun implements store.Store.
func (s *Store) LastBatchRun(ctx context.Context, tenant string) (store.BatchRun, error) {
	return s.run(ctx, "SELECT id, run FROM runs WHERE tenant = ? ORDER BY started DESC, id DESC LIMIT 1", tenant)
}
