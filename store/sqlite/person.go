package sqlite

// A person's row, and how damage to it is found and contained: the design
// is rowcodec.Row's, which the PostgreSQL store shares. Rows written before
// checksums existed (migration 0003) are trusted if they decode, until they
// are next written.
//
// The listing (migration 0006) is in the checksum only once a row has one:
// rows summed before the migration have NULL there, and summing them as
// they were keeps them sound without rewriting every row of the file. The
// summary (migration 0007) is summed the same way.

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

const rowColumns = "tenant, id, has_acct, active, applied, dirty_gen, mark, due, failure, dead, damaged, sum, listed_run, listed_digest, summary"

// readRow scans a row of rowColumns. An error is the query's, never the
// row's: what is wrong with the row, the rowcodec.Stored says.
func readRow(sc rowcodec.Scanner) (rowcodec.Stored, error) {
	raw := make([]any, rowWidth)
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	if err := sc.Scan(dest...); err != nil {
		return rowcodec.Stored{}, err
	}
	c := columns{raw: raw}
	r := rowcodec.Row{
		Tenant: c.text(0), ID: c.text(1), HasAcct: c.flag(2), Active: c.flag(3), Applied: c.text(4),
		DirtyGen: c.integer(5), Mark: c.nullText(6), Due: c.nullInteger(7), Failure: c.nullText(8),
		Dead: c.flag(9), Damaged: c.flag(10), ListedRun: c.nullText(12), ListedDigest: c.nullText(13),
		Summary: c.nullText(14),
	}
	return rowcodec.Check(r, c.nullInteger(11), c.bad), nil
}

// columns converts a row's values strictly: a value of another type than
// the column's, as a damaged record header would give, makes the row bad
// rather than converted.
type columns struct {
	raw []any
	bad bool
}

func (c *columns) text(i int) string {
	s, ok := c.raw[i].(string)
	c.bad = c.bad || !ok
	return s
}

func (c *columns) integer(i int) int64 {
	n, ok := c.raw[i].(int64)
	c.bad = c.bad || !ok
	return n
}

func (c *columns) flag(i int) bool {
	n := c.integer(i)
	c.bad = c.bad || (n != 0 && n != 1)
	return n == 1
}

func (c *columns) nullText(i int) sql.NullString {
	if c.raw[i] == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: c.text(i), Valid: true}
}

func (c *columns) nullInteger(i int) sql.NullInt64 {
	if c.raw[i] == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: c.integer(i), Valid: true}
}

// scanPerson reads a row as the engine sees it: a damaged row is a damaged
// person, not an error.
func scanPerson(sc rowcodec.Scanner) (store.Person, error) {
	r, err := readRow(sc)
	if err != nil {
		return store.Person{}, err
	}
	return r.Person(), nil
}

// load reads a person's row for a write: as stored, fresh for a person not
// yet stored, or quarantined in place of a damaged one, so that a write
// never seals damage under a new checksum.
func (s *Store) load(ctx context.Context, tx *txn, tenant, id string) (rowcodec.Row, error) {
	r, err := readRow(s.txQueryRow(ctx, tx, "SELECT "+rowColumns+" FROM people WHERE tenant = ? AND id = ?", tenant, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return rowcodec.Fresh(tenant, id), nil
	case err != nil:
		return rowcodec.Row{}, err
	}
	return r.ForWrite(), nil
}

// save writes a row whole, with its checksum.
func (s *Store) save(ctx context.Context, tx *txn, r rowcodec.Row) error {
	_, err := s.txExec(ctx, tx, upsertRows(1), rowValues(r)...)
	return err
}

// rowWidth is how many columns rowColumns names.
const rowWidth = 15

// upsertRows is the statement that writes n rows whole, each given by
// rowValues.
func upsertRows(n int) string {
	return "INSERT INTO people (" + rowColumns + ") VALUES " + tuples(n, rowWidth) + `
		ON CONFLICT (tenant, id) DO UPDATE SET has_acct = excluded.has_acct, active = excluded.active,
			applied = excluded.applied, dirty_gen = excluded.dirty_gen, mark = excluded.mark, due = excluded.due,
			failure = excluded.failure, dead = excluded.dead, damaged = excluded.damaged, sum = excluded.sum,
			listed_run = excluded.listed_run, listed_digest = excluded.listed_digest, summary = excluded.summary`
}

// rowValues are r's columns in rowColumns' order, its checksum computed.
func rowValues(r rowcodec.Row) []any {
	return []any{r.Tenant, r.ID, r.HasAcct, r.Active, r.Applied, r.DirtyGen, r.Mark, r.Due, r.Failure, r.Dead, r.Damaged, r.Checksum(),
		r.ListedRun, r.ListedDigest, r.Summary}
}

// quarantine replaces every damaged row with a quarantined one, so that
// Pending lists the person and the engine rebuilds them at once rather than
// whenever they are next read. Open runs it after its check of the file.
func (s *Store) quarantine(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+rowColumns+" FROM people WHERE damaged = 0")
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
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		for tenant, ids := range found {
			for _, id := range ids {
				if err := s.save(ctx, tx, rowcodec.Quarantined(tenant, id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
