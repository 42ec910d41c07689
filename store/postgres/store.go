package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// queries are the Store's SQL, {{schema}} standing for the schema.
var queries = map[string]string{
	"newEvent":  "INSERT INTO {{schema}}.events (tenant, id, forget, fingerprint) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	"seenEvent": "SELECT fingerprint FROM {{schema}}.events WHERE tenant = $1 AND id = $2",
	"audit":     "INSERT INTO {{schema}}.outbox (tenant, id, entry) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	// A quarantined person is pending until a Commit rebuilds them, and
	// listed by People, since whether they have an account is not known.
	// People reads the two apart, each in id order on its own partial
	// index, so that a page costs its length whatever the share of
	// accounts among the tenant's rows (as one query with an OR, it would
	// filter the primary key's order instead).
	"pending": "SELECT " + rowColumns + " FROM {{schema}}.people WHERE tenant = $1 AND id > $2 AND (dirty_gen <> 0 OR due <= $3 OR damaged) ORDER BY id LIMIT $4",
	"dead":    "SELECT " + rowColumns + " FROM {{schema}}.people WHERE tenant = $1 AND dead ORDER BY id",
	"people": "SELECT " + rowColumns + ` FROM (
			(SELECT ` + rowColumns + ` FROM {{schema}}.people WHERE tenant = $1 AND id > $2 AND has_acct ORDER BY id LIMIT $3)
			UNION ALL
			(SELECT ` + rowColumns + ` FROM {{schema}}.people WHERE tenant = $1 AND id > $2 AND damaged AND NOT has_acct ORDER BY id LIMIT $3)
		) AS p ORDER BY id LIMIT $3`,
	"outbox": "SELECT entry FROM {{schema}}.outbox WHERE tenant = $1 ORDER BY seq LIMIT $2",
	// Replicas drain one outbox: acks take turns, or two deleting the
	// same rows in different orders deadlock.
	"ackTurn": "SELECT pg_advisory_xact_lock(hashtextextended('hrissync outbox ' || $1, 0))",
	"ack":     "DELETE FROM {{schema}}.outbox WHERE tenant = $1 AND id = ANY($2)",
	"raiseAnchor": `INSERT INTO {{schema}}.audit_anchor (tenant, seq, hash) VALUES ($1, $2, $3)
		ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
		WHERE audit_anchor.seq < excluded.seq`,
	"anchor": "SELECT seq, hash FROM {{schema}}.audit_anchor WHERE tenant = $1",
	// forget drops the revocations past their retention ($3) too, in the
	// same statement; its count is the events'.
	"forget": `WITH gone AS (DELETE FROM {{schema}}.revocations WHERE tenant = $1 AND at < $3)
		DELETE FROM {{schema}}.events WHERE tenant = $1 AND forget <= $2`,
	"revoked": "INSERT INTO {{schema}}.revocations (tenant, budget, at) VALUES ($1, $2, $3)",
	// revocations counts the spent per budget and the active (the row
	// with no budget) in one statement, so in one snapshot.
	"revocations": `SELECT budget, count(*) FROM {{schema}}.revocations WHERE tenant = $1 AND at >= $2 GROUP BY budget
		UNION ALL SELECT NULL, count(*) FROM {{schema}}.people WHERE tenant = $1 AND has_acct AND active`,
	"cursor": "SELECT at FROM {{schema}}.cursors WHERE tenant = $1 AND name = $2",
	"setCursor": `INSERT INTO {{schema}}.cursors (tenant, name, at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, name) DO UPDATE SET at = excluded.at`,
	// started is the run's place in the ledger, which lastRun orders by:
	// its start, or just after the newest run's place if that is later
	// (the clock stepped back). A run saved again keeps its place.
	"saveRun": `INSERT INTO {{schema}}.runs (tenant, id, started, run)
		VALUES ($1, $2, GREATEST($3::bigint, (SELECT coalesce(max(started), 0) + 1 FROM {{schema}}.runs WHERE tenant = $1)), $4)
		ON CONFLICT (tenant, id) DO UPDATE SET run = excluded.run`,
	"run":     "SELECT run FROM {{schema}}.runs WHERE tenant = $1 AND id = $2",
	"lastRun": "SELECT run FROM {{schema}}.runs WHERE tenant = $1 ORDER BY started DESC, id DESC LIMIT 1",
}

// baseQueries are the statements of a job's writes made from a base row
// (see baseRow): its read, with the row's xmin and a generation drawn
// after it, and the intent and commit written only if xmin is still the
// read one. They extend saveOne, numbering their parameters after its.
func baseQueries() map[string]string {
	save := rowQueries["saveOne"]
	n := 0 // saveOne's last parameter
	for _, m := range regexp.MustCompile(`\$([0-9]+)`).FindAllStringSubmatch(save, -1) {
		i, _ := strconv.Atoi(m[1])
		n = max(n, i)
	}
	arg := func(i int) string { return fmt.Sprintf("$%d", n+i) }
	return map[string]string{
		"base":         "SELECT " + rowColumns + ", xmin::text, nextval('{{schema}}.generation') FROM {{schema}}.people WHERE tenant = $1 AND id = $2",
		"saveOneXmin":  save + " RETURNING xmin::text",
		"intendIfSame": save + " AND xmin::text = " + arg(1) + " RETURNING xmin::text",
		// The commit, its revocation ("" for none) and its audit entries
		// (ids and JSON, in order), in one statement: the inserts take
		// their rows from the update's, so a row moved meanwhile makes
		// none of them.
		"commitIfSame": "WITH saved AS (" + save + " AND xmin::text = " + arg(1) + ` RETURNING 1),
		revoked AS (INSERT INTO {{schema}}.revocations (tenant, budget, at) SELECT $1, ` + arg(2) + ", " + arg(3) + " FROM saved WHERE " + arg(2) + ` <> ''),
		audited AS (INSERT INTO {{schema}}.outbox (tenant, id, entry)
			SELECT $1, e.id, e.entry::jsonb FROM saved, unnest(` + arg(4) + "::text[], " + arg(5) + `::text[]) WITH ORDINALITY AS e (id, entry, n)
			ORDER BY e.n ON CONFLICT DO NOTHING)
		SELECT count(*) FROM saved`,
	}
}

// bound is t in Unix nanoseconds, clamped to what they can hold (1677 to
// 2262): the zero time and the year 9999 are bounds too.
func bound(t time.Time) int64 {
	switch {
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	}
	return t.UnixNano()
}

// inTx runs fn in a transaction.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// mark merges m into a person's mark under a new generation, creating the
// row if need be; the row stays locked until the transaction ends.
// replaceUnsure sets Unsure to m's rather than merging it.
func (s *Store) mark(ctx context.Context, tx pgx.Tx, tenant, id string, m store.Mark, replaceUnsure bool) (uint64, error) {
	r, gen, err := s.loadMarking(ctx, tx, tenant, id)
	if err != nil {
		return 0, err
	}
	if err := r.SetMark(m, replaceUnsure, gen); err != nil {
		return 0, fmt.Errorf("postgres store: %w", err)
	}
	return uint64(gen), s.save(ctx, tx, r)
}

// Accept implements store.Store. With a Queue bound for the tenant, the
// person's job is inserted in the same transaction.
func (s *Store) Accept(ctx context.Context, tenant string, ev store.Acceptance) (bool, error) {
	if ev.EventID == "" || ev.EmployeeID == "" {
		return false, errors.New("postgres store: event id and employee id are required")
	}
	res, err := s.acceptBatch(ctx, tenant, []store.Acceptance{ev})
	switch {
	case err != nil:
		return false, err
	case res[0] == store.AcceptedConflict:
		return false, fmt.Errorf("postgres store: event %q: %w", ev.EventID, store.ErrEventConflict)
	}
	return res[0] == store.AcceptedDuplicate, nil
}

var _ store.BatchAccepter = (*Store)(nil)

// AcceptBatch implements store.BatchAccepter: the events are recorded in
// one transaction, each judged as Accept judges it (an id given earlier in
// the batch is a repeat), and with a Queue bound for the tenant the jobs of
// the people marked are inserted in it too. An event without an id or
// employee id fails the whole batch, which then records nothing.
func (s *Store) AcceptBatch(ctx context.Context, tenant string, evs []store.Acceptance) ([]store.Accepted, error) {
	for _, ev := range evs {
		if ev.EventID == "" || ev.EmployeeID == "" {
			return nil, errors.New("postgres store: event id and employee id are required")
		}
	}
	return s.acceptBatch(ctx, tenant, evs)
}

func (s *Store) acceptBatch(ctx context.Context, tenant string, evs []store.Acceptance) ([]store.Accepted, error) {
	for _, ev := range evs {
		s.stale(ctx, tenant, ev.EmployeeID)
	}
	var out []store.Accepted
	var running []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = make([]store.Accepted, len(evs))
		var marked []string
		for i, ev := range evs {
			tag, err := tx.Exec(ctx, s.sql["newEvent"], tenant, ev.EventID, ev.Forget.UnixNano(), ev.Fingerprint)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				var seen string
				if err := tx.QueryRow(ctx, s.sql["seenEvent"], tenant, ev.EventID).Scan(&seen); err != nil {
					return err
				}
				out[i] = store.AcceptedDuplicate
				if seen != "" && ev.Fingerprint != "" && seen != ev.Fingerprint {
					out[i] = store.AcceptedConflict
				}
				continue
			}
			if _, err := s.mark(ctx, tx, tenant, ev.EmployeeID, ev.Mark, false); err != nil {
				return err
			}
			marked = append(marked, ev.EmployeeID)
		}
		var err error
		running, err = s.enqueue(ctx, tx, tenant, marked)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.redispatch(tenant, running)
	return out, nil
}

// MarkDirty implements store.Store. With a Queue bound for the tenant, the
// people's jobs are inserted in the same transaction.
func (s *Store) MarkDirty(ctx context.Context, tenant string, ids []string, m store.Mark) error {
	s.stale(ctx, tenant, ids...)
	var running []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, id := range ids {
			if _, err := s.mark(ctx, tx, tenant, id, m, false); err != nil {
				return err
			}
		}
		var err error
		running, err = s.enqueue(ctx, tx, tenant, ids)
		return err
	})
	if err == nil {
		s.redispatch(tenant, running)
	}
	return err
}

// enqueue inserts jobs for ids in tx, if a Queue serves the tenant, and
// returns those whose job was running (see Queue.insertTx). An id named
// twice gets one job: River inserts a batch in one statement, which may
// not touch a job twice.
func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, tenant string, ids []string) ([]string, error) {
	qs := s.queuesOf(tenant)
	if len(qs) == 0 || len(ids) == 0 {
		return nil, nil
	}
	once := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			once = append(once, id)
		}
	}
	return qs[0].insertTx(ctx, tx, once)
}

// redispatch hands the people whose job was running when they were marked
// to the tenant's Queues, once the marks are committed.
func (s *Store) redispatch(tenant string, ids []string) {
	if len(ids) == 0 {
		return
	}
	qs := s.queuesOf(tenant)
	qs[0].redispatch(ids, qs)
}

// Intend implements store.Store. It is the write path's hottest mark, so
// its transaction is two round trips, not four: BEGIN goes with the row's
// lock, and COMMIT with its write, each pair pipelined in one batch. A
// connection an error leaves in the transaction is closed by the pool on
// release, which rolls it back. In a Queue's job, it is one statement if
// the row is as the job read it (see baseRow).
func (s *Store) Intend(ctx context.Context, tenant, id string, m store.Mark) (uint64, error) {
	if m.EventID != "" || !m.MinVersion.Time.IsZero() || m.MinVersion.Seq != 0 {
		return 0, errors.New("postgres store: an intent carries no event")
	}
	m.Unsure = true
	reads := s.readsOf(ctx, tenant, id)
	base := reads.takeBase()
	reads.setNext(nil)
	// intended keeps what was written for the job's next read and write.
	intended := func(r rowcodec.Row, xmin string) {
		if p, err := r.Person(); err == nil {
			reads.setNext(&p) // the row as written, under its lock
			reads.setBase(&baseRow{row: r, xmin: xmin})
		}
	}
	if base != nil && base.gen != 0 {
		r := base.row
		if err := r.SetMark(m, false, base.gen); err == nil {
			var xmin string
			err := s.pool.QueryRow(ctx, s.sql["intendIfSame"], append(s.saveArgs(r), base.xmin)...).Scan(&xmin)
			switch {
			case err == nil:
				intended(r, xmin)
				return uint64(base.gen), nil
			case !errors.Is(err, pgx.ErrNoRows):
				return 0, err
			}
		} // the row moved since it was read (or its mark would not merge): as usual
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	var (
		lock  pgx.Batch
		held  rowcodec.Stored
		gen   int64
		write pgx.Batch
		xmin  string
	)
	lock.Queue("BEGIN")
	lock.Queue(s.sql["lockMark"], tenant, id).QueryRow(func(row pgx.Row) error {
		var err error
		held, err = readRow(row, &gen)
		return err
	})
	if err := conn.SendBatch(ctx, &lock).Close(); err != nil {
		return 0, err
	}
	r := held.ForWrite()
	if err := r.SetMark(m, false, gen); err != nil {
		return 0, fmt.Errorf("postgres store: %w", err)
	}
	write.Queue(s.sql["saveOneXmin"], s.saveArgs(r)...).QueryRow(func(row pgx.Row) error { return row.Scan(&xmin) })
	write.Queue("COMMIT")
	if err := conn.SendBatch(ctx, &write).Close(); err != nil {
		return 0, err
	}
	intended(r, xmin)
	return uint64(gen), nil
}

// Person implements store.Store. In a Queue's job, the read that follows
// the person's lock, or their intent, is the one that came back with it
// (see jobReads).
func (s *Store) Person(ctx context.Context, tenant, id string) (store.Person, error) {
	if p, ok := s.readsOf(ctx, tenant, id).takeNext(); ok {
		return p, nil
	}
	p, err := scanPerson(s.pool.QueryRow(ctx, s.sql["person"], tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Person{ID: id}, nil
	}
	return p, err
}

// queueBase queues the person's read in b, into p, as queuePerson does,
// with their row as a base for the job's writes (nil if not held) and a
// generation for an intent made from it.
func (s *Store) queueBase(b *pgx.Batch, tenant, id string, p *store.Person, base **baseRow) {
	b.Queue(s.sql["base"], tenant, id).QueryRow(func(row pgx.Row) error {
		var (
			xmin string
			gen  int64
		)
		held, err := readRow(row, &xmin, &gen)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			*p = store.Person{ID: id}
			return nil
		case err != nil:
			return err
		}
		*p = held.Person()
		*base = &baseRow{row: held.ForWrite(), xmin: xmin, gen: gen}
		return nil
	})
}

// queuePerson queues the person's read in b, into p; a person not held
// reads as Person reads them.
func (s *Store) queuePerson(b *pgx.Batch, tenant, id string, p *store.Person) {
	b.Queue(s.sql["person"], tenant, id).QueryRow(func(row pgx.Row) error {
		var err error
		*p, err = scanPerson(row)
		if errors.Is(err, pgx.ErrNoRows) {
			*p, err = store.Person{ID: id}, nil
		}
		return err
	})
}

// Commit implements store.Store. Its transaction is two round trips, as
// Intend's: BEGIN goes with the row's lock, and the row's write, the
// revocation, the audit entries and COMMIT in one batch after it. The
// batch is inside the explicit transaction, so a statement failing in it,
// or the connection lost, applies none of it: the server skips the rest
// of a failed batch, COMMIT included, and the pool closes a connection
// released in a transaction, which rolls it back.
func (s *Store) Commit(ctx context.Context, tenant string, c store.Commit) error {
	base := s.readsOf(ctx, tenant, c.ID).takeBase()
	s.stale(ctx, tenant, c.ID)
	if base != nil {
		if done, err := s.commitIfSame(ctx, tenant, c, base); done || err != nil {
			return err
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var (
		lock  pgx.Batch
		held  rowcodec.Stored
		write pgx.Batch
	)
	lock.Queue("BEGIN")
	lock.Queue(s.sql["lock"], tenant, []string{c.ID}).QueryRow(func(row pgx.Row) error {
		var err error
		held, err = readRow(row)
		return err
	})
	if err := conn.SendBatch(ctx, &lock).Close(); err != nil {
		return err
	}
	r := held.ForWrite()
	if err := r.Commit(c); err != nil {
		conn.Conn().Close(ctx) // rolls back
		return fmt.Errorf("postgres store: %w", err)
	}
	write.Queue(s.sql["saveOne"], s.saveArgs(r)...)
	if c.Revoked != "" {
		write.Queue(s.sql["revoked"], tenant, c.Revoked, bound(c.At))
	}
	if err := s.queueAudit(&write, tenant, c.Audit); err != nil {
		conn.Conn().Close(ctx)
		return err
	}
	write.Queue("COMMIT")
	return conn.SendBatch(ctx, &write).Close()
}

// commitIfSame makes the commit from the job's base row, in one
// statement, if the row is still as the job last read or wrote it (see
// baseRow); done is false if it made nothing.
func (s *Store) commitIfSame(ctx context.Context, tenant string, c store.Commit, base *baseRow) (done bool, err error) {
	r := base.row
	if err := r.Commit(c); err != nil {
		return false, nil // judged again on the row as held
	}
	ids, entries := make([]string, len(c.Audit)), make([]string, len(c.Audit))
	for i, e := range c.Audit {
		b, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		ids[i], entries[i] = e.ID, string(b)
	}
	var n int
	args := append(s.saveArgs(r), base.xmin, c.Revoked, bound(c.At), ids, entries)
	if err := s.pool.QueryRow(ctx, s.sql["commitIfSame"], args...).Scan(&n); err != nil {
		return false, err
	}
	return n == 1, nil
}

// Rekey implements store.Store. Both rows are locked before either is
// checked, so that no commit can slip between the check and the move, and
// in id order, so that two re-keys sharing an id (a→b and b→a) wait for
// each other rather than deadlock. Locking creates a row not yet held,
// which a refusal rolls back with the rest. A damaged row is refused like
// a conflict (rowcodec.Rekey says why).
func (s *Store) Rekey(ctx context.Context, tenant string, rk store.Rekeying) (uint64, error) {
	s.stale(ctx, tenant, rk.From, rk.To)
	var gen int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ids := slices.Compact(slices.Sorted(slices.Values([]string{rk.From, rk.To})))
		held, err := s.load(ctx, tx, tenant, ids...)
		if err != nil {
			return err
		}
		if gen, err = s.generation(ctx, tx); err != nil {
			return err
		}
		to := held[rk.To]
		left, err := rowcodec.Rekey(held[rk.From], &to, rk, gen)
		if err != nil {
			return fmt.Errorf("postgres store: %w", err)
		}
		if err := s.save(ctx, tx, to, left); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, tenant, []audit.Entry{rk.Audit})
	})
	if err != nil {
		return 0, err
	}
	return uint64(gen), nil
}

// Revocations implements store.Store.
func (s *Store) Revocations(ctx context.Context, tenant string, since time.Time) (store.Revocations, error) {
	rows, err := s.pool.Query(ctx, s.sql["revocations"], tenant, bound(since))
	if err != nil {
		return store.Revocations{}, err
	}
	defer rows.Close()
	out := store.Revocations{Spent: map[string]int{}}
	for rows.Next() {
		var budget *string
		var n int
		if err := rows.Scan(&budget, &n); err != nil {
			return store.Revocations{}, err
		}
		if budget != nil {
			out.Spent[*budget] = n
		} else {
			out.Active = n
		}
	}
	if err := rows.Err(); err != nil {
		return store.Revocations{}, err
	}
	return out, nil
}

func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, tenant string, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	var batch pgx.Batch
	if err := s.queueAudit(&batch, tenant, entries); err != nil {
		return err
	}
	return tx.SendBatch(ctx, &batch).Close()
}

// queueAudit queues the outbox inserts of entries in batch.
func (s *Store) queueAudit(batch *pgx.Batch, tenant string, entries []audit.Entry) error {
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		batch.Queue(s.sql["audit"], tenant, e.ID, b)
	}
	return nil
}

// Fail implements store.Store.
func (s *Store) Fail(ctx context.Context, tenant, id string, f store.Failure, m store.Mark) error {
	s.stale(ctx, tenant, id)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		r, gen, err := s.loadMarking(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if err := r.SetMark(m, true, gen); err != nil {
			return fmt.Errorf("postgres store: %w", err)
		}
		if err := r.SetFailure(f); err != nil {
			return err
		}
		return s.save(ctx, tx, r)
	})
}

func (s *Store) people(ctx context.Context, query string, args ...any) ([]store.Person, error) {
	rows, err := s.pool.Query(ctx, s.sql[query], args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, scanPerson)
}

// Pending implements store.Store.
func (s *Store) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]store.Person, error) {
	return s.people(ctx, "pending", tenant, after, bound(until), limit)
}

// DeadLetters implements store.Store.
func (s *Store) DeadLetters(ctx context.Context, tenant string) ([]store.Person, error) {
	return s.people(ctx, "dead", tenant)
}

// People implements store.Store.
func (s *Store) People(ctx context.Context, tenant, after string, limit int) ([]store.Person, error) {
	return s.people(ctx, "people", tenant, after, limit)
}

// Outbox implements store.Store.
func (s *Store) Outbox(ctx context.Context, tenant string, limit int) ([]audit.Entry, error) {
	rows, err := s.pool.Query(ctx, s.sql["outbox"], tenant, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	entries, err := rowcodec.Collect(rows, rowcodec.ScanEntry)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	return entries, nil
}

// Ack implements store.Store, in one round trip: the transaction, its
// turn, the deletion and the anchor are one batch (see Commit for why a
// failure in it applies nothing).
func (s *Store) Ack(ctx context.Context, tenant string, ids []string, anchor audit.Head) error {
	if len(ids) == 0 && anchor.Seq == 0 {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var batch pgx.Batch
	batch.Queue("BEGIN")
	batch.Queue(s.sql["ackTurn"], tenant)
	batch.Queue(s.sql["ack"], tenant, ids)
	if anchor.Seq != 0 {
		batch.Queue(s.sql["raiseAnchor"], tenant, anchor.Seq, anchor.Hash)
	}
	batch.Queue("COMMIT")
	return conn.SendBatch(ctx, &batch).Close()
}

// Anchor implements store.Store.
func (s *Store) Anchor(ctx context.Context, tenant string) (audit.Head, error) {
	var a audit.Head
	err := s.pool.QueryRow(ctx, s.sql["anchor"], tenant).Scan(&a.Seq, &a.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Head{}, nil
	}
	return a, err
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []audit.Entry) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return s.appendAudit(ctx, tx, tenant, entries) })
}

// ForgetEvents implements store.Store.
func (s *Store) ForgetEvents(ctx context.Context, tenant string, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.sql["forget"], tenant, bound(t), bound(t.Add(-store.RevocationRetention)))
	return int(tag.RowsAffected()), err
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, tenant, name string) (time.Time, error) {
	var at int64
	err := s.pool.QueryRow(ctx, s.sql["cursor"], tenant, name).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return time.Unix(0, at).UTC(), err
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(ctx context.Context, tenant, name string, t time.Time) error {
	_, err := s.pool.Exec(ctx, s.sql["setCursor"], tenant, name, t.UnixNano())
	return err
}

// SaveBatchRun implements store.Store.
func (s *Store) SaveBatchRun(ctx context.Context, tenant string, r store.BatchRun) error {
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, s.sql["saveRun"], tenant, r.ID, r.Started.UnixNano(), js)
	return err
}

func (s *Store) run(ctx context.Context, query string, args ...any) (store.BatchRun, error) {
	var js []byte
	var r store.BatchRun
	err := s.pool.QueryRow(ctx, s.sql[query], args...).Scan(&js)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("postgres store: run: %w", store.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(js, &r)
}

// BatchRun implements store.Store.
func (s *Store) BatchRun(ctx context.Context, tenant, id string) (store.BatchRun, error) {
	return s.run(ctx, "run", tenant, id)
}

// LastBatchRun implements store.Store.
func (s *Store) LastBatchRun(ctx context.Context, tenant string) (store.BatchRun, error) {
	return s.run(ctx, "lastRun", tenant)
}
