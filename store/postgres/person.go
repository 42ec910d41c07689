package postgres

// A person's row, and how damage to it is found and contained: as in the
// SQLite store (see rowcodec.Row), every row is written whole from Go with a
// checksum of its columns, read as a damaged person when the sum fails or a
// column does not decode, and replaced by a quarantined row before any write
// to it. Rows from before migration 0006 have no sum and are trusted while
// they decode, until next written.
//
// The sum is computed here, not by the database (a trigger, a generated
// column): a row the database itself re-summed on every write would seal
// whatever a write found, damage included. So every write reads its rows,
// locked, and writes them back whole: the single-statement marks and
// commits of the store before checksums are gone.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

const rowColumns = "tenant, id, has_acct, active, applied, dirty_gen, mark, due, failure, dead, damaged, sum, listed_run, listed_digest"

// rowQueries are the statements that read and write whole rows.
var rowQueries = map[string]string{
	"person": "SELECT " + rowColumns + " FROM {{schema}}.people WHERE tenant = $1 AND id = $2",
	"lookup": "SELECT " + rowColumns + " FROM {{schema}}.people WHERE tenant = $1 AND id = ANY($2)",
	// lock creates the rows if need be (with the columns' defaults, a
	// fresh row) and locks them until the transaction ends, returning
	// what is held, in one round trip; in the order given, so that writes
	// that give their ids sorted never deadlock. lockMark draws the mark's
	// generation in the same trip: it is part of the row, so of its sum.
	"lock": `INSERT INTO {{schema}}.people (tenant, id) SELECT $1, unnest($2::text[])
		ON CONFLICT (tenant, id) DO UPDATE SET tenant = excluded.tenant
		RETURNING ` + rowColumns,
	"lockMark": `INSERT INTO {{schema}}.people (tenant, id) VALUES ($1, $2)
		ON CONFLICT (tenant, id) DO UPDATE SET tenant = excluded.tenant
		RETURNING ` + rowColumns + `, nextval('{{schema}}.generation')`,
	"generation": "SELECT nextval('{{schema}}.generation')",
	// saveOne writes a locked row whole, by its key, which the planner
	// serves from the primary key whatever it would guess of how many
	// rows unnest gives; save, many in one statement.
	"saveOne": `UPDATE {{schema}}.people SET has_acct = $3, active = $4, applied = $5, dirty_gen = $6, mark = $7::jsonb,
			due = $8, failure = $9::jsonb, dead = $10, damaged = $11, sum = $12, listed_run = $13, listed_digest = $14
		WHERE tenant = $1 AND id = $2`,
	"save": `UPDATE {{schema}}.people AS p SET has_acct = v.has_acct, active = v.active, applied = v.applied,
			dirty_gen = v.dirty_gen, mark = v.mark::jsonb, due = v.due, failure = v.failure::jsonb, dead = v.dead,
			damaged = v.damaged, sum = v.sum, listed_run = v.listed_run, listed_digest = v.listed_digest
		FROM unnest($2::text[], $3::boolean[], $4::boolean[], $5::text[], $6::bigint[], $7::text[], $8::bigint[],
			$9::text[], $10::boolean[], $11::boolean[], $12::bigint[], $13::text[], $14::text[])
			AS v (id, has_acct, active, applied, dirty_gen, mark, due, failure, dead, damaged, sum, listed_run, listed_digest)
		WHERE p.tenant = $1 AND p.id = v.id`,
	"suspects": "SELECT " + rowColumns + " FROM {{schema}}.people WHERE NOT damaged",
}

// readRow scans a row of rowColumns (and any more dest after them). An
// error is the query's, never the row's: what is wrong with the row, the
// rowcodec.Stored says.
func readRow(sc rowcodec.Scanner, more ...any) (rowcodec.Stored, error) {
	var (
		r              rowcodec.Row
		mark, failure  []byte
		due, sum       *int64
		run, digest    *string
		dest           = []any{&r.Tenant, &r.ID, &r.HasAcct, &r.Active, &r.Applied, &r.DirtyGen, &mark, &due, &failure, &r.Dead, &r.Damaged, &sum, &run, &digest}
		markOK, failOK bool
	)
	if err := sc.Scan(append(dest, more...)...); err != nil {
		return rowcodec.Stored{}, err
	}
	r.Due, r.ListedRun, r.ListedDigest = nullInt(due), nullText(run), nullText(digest)
	r.Mark, markOK = canonical[store.Mark](mark)
	r.Failure, failOK = canonical[store.Failure](failure)
	return rowcodec.Check(r, nullInt(sum), !markOK || !failOK), nil
}

// canonical is a jsonb column's value as this code encodes it, which is
// what was summed: PostgreSQL keeps jsonb in a form of its own (keys
// reordered, spaces added), so the text read back is decoded and
// re-encoded. Any change to what it says changes the sum; one to how it
// is spelled does not, and is harmless. ok is false if it does not decode.
func canonical[T any](js []byte) (_ sql.NullString, ok bool) {
	if js == nil {
		return sql.NullString{}, true
	}
	var v T
	if err := json.Unmarshal(js, &v); err != nil {
		return sql.NullString{}, false
	}
	b, err := json.Marshal(v)
	return sql.NullString{String: string(b), Valid: err == nil}, err == nil
}

func nullInt(n *int64) sql.NullInt64 {
	if n == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *n, Valid: true}
}

func nullText(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// scanPerson reads a row as the engine sees it: a damaged row is a
// damaged person, not an error.
func scanPerson(sc rowcodec.Scanner) (store.Person, error) {
	r, err := readRow(sc)
	if err != nil {
		return store.Person{}, err
	}
	return r.Person(), nil
}

// load locks the rows of ids (created fresh if not yet held) for a write,
// and returns them as the write starts from them: as stored, or
// quarantined in place of a damaged one.
func (s *Store) load(ctx context.Context, tx pgx.Tx, tenant string, ids ...string) (map[string]rowcodec.Row, error) {
	rows, err := tx.Query(ctx, s.sql["lock"], tenant, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	held := make(map[string]rowcodec.Row, len(ids))
	for rows.Next() {
		r, err := readRow(rows)
		if err != nil {
			return nil, err
		}
		held[r.ID] = r.ForWrite()
	}
	return held, rows.Err()
}

// loadMarking is load for one person about to be marked, with the mark's
// generation.
func (s *Store) loadMarking(ctx context.Context, tx pgx.Tx, tenant, id string) (rowcodec.Row, int64, error) {
	var gen int64
	r, err := readRow(tx.QueryRow(ctx, s.sql["lockMark"], tenant, id), &gen)
	if err != nil {
		return rowcodec.Row{}, 0, err
	}
	return r.ForWrite(), gen, nil
}

// generation draws a mark's generation.
func (s *Store) generation(ctx context.Context, tx pgx.Tx) (int64, error) {
	var gen int64
	err := tx.QueryRow(ctx, s.sql["generation"]).Scan(&gen)
	return gen, err
}

// save writes rows that load locked, whole, each with its checksum.
func (s *Store) save(ctx context.Context, tx pgx.Tx, rows ...rowcodec.Row) error {
	switch len(rows) {
	case 0:
		return nil
	case 1:
		_, err := tx.Exec(ctx, s.sql["saveOne"], s.saveArgs(rows[0])...)
		return err
	}
	n := len(rows)
	var (
		ids, applied          = make([]string, n), make([]string, n)
		hasAcct, active       = make([]bool, n), make([]bool, n)
		dead, damaged         = make([]bool, n), make([]bool, n)
		gens, sums            = make([]int64, n), make([]int64, n)
		due                   = make([]*int64, n)
		mark, failure         = make([]*string, n), make([]*string, n)
		listedRun, listDigest = make([]*string, n), make([]*string, n)
	)
	for i, r := range rows {
		ids[i], hasAcct[i], active[i], applied[i], gens[i] = r.ID, r.HasAcct, r.Active, r.Applied, r.DirtyGen
		mark[i], due[i], failure[i], dead[i], damaged[i] = textArg(r.Mark), intArg(r.Due), textArg(r.Failure), r.Dead, r.Damaged
		sums[i], listedRun[i], listDigest[i] = r.Checksum(), textArg(r.ListedRun), textArg(r.ListedDigest)
	}
	_, err := tx.Exec(ctx, s.sql["save"], rows[0].Tenant, ids, hasAcct, active, applied, gens, mark, due, failure,
		dead, damaged, sums, listedRun, listDigest)
	return err
}

// saveArgs are saveOne's arguments for r.
func (s *Store) saveArgs(r rowcodec.Row) []any {
	return []any{r.Tenant, r.ID, r.HasAcct, r.Active, r.Applied, r.DirtyGen, textArg(r.Mark), intArg(r.Due),
		textArg(r.Failure), r.Dead, r.Damaged, r.Checksum(), textArg(r.ListedRun), textArg(r.ListedDigest)}
}

func textArg(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func intArg(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// quarantine replaces every damaged row with a quarantined one, so that
// Pending lists the person and the engine rebuilds them at once rather
// than whenever they are next read. Open runs it. Each row is checked
// again under its lock: replicas opening together, or a write since the
// scan, quarantine nothing twice and nothing sound.
func (s *Store) quarantine(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, s.sql["suspects"])
	if err != nil {
		return err
	}
	found := map[string][]string{}
	for rows.Next() {
		r, err := readRow(rows)
		if err != nil {
			rows.Close()
			return err
		}
		if !r.Sound() {
			found[r.Tenant] = append(found[r.Tenant], r.ID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for tenant, ids := range found {
		slices.Sort(ids)
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			held, err := s.load(ctx, tx, tenant, ids...)
			if err != nil {
				return err
			}
			var damaged []rowcodec.Row
			for _, r := range held {
				if r.Damaged {
					damaged = append(damaged, r)
				}
			}
			return s.save(ctx, tx, damaged...)
		})
		if err != nil {
			return fmt.Errorf("postgres store: quarantining damaged rows: %w", err)
		}
	}
	return nil
}
