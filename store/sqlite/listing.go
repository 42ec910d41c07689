package sqlite

// Many people at once: Lookup reads them, Listed records a full list's
// listings. Both read rows in batches of lookupBatch ids with one statement
// of fixed shape — the last batch padded with its first id, which IN does
// not mind — so that a chunk of the Source's list costs a few queries, not
// one per person, and one prepared statement serves every call.

import (
	"context"
	"errors"
	"strings"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// lookupBatch is the ids one query reads: well under SQLite's limit on a
// statement's variables (32766), and enough that a batch chunk of a few
// thousand people is a handful of queries.
const lookupBatch = 256

var lookupQuery = "SELECT " + rowColumns + " FROM people WHERE tenant = ? AND id IN (" + placeholders(lookupBatch) + ")"

// batches calls fn with the arguments of each lookupQuery that reads ids,
// each id once.
func batches(tenant string, ids []string, fn func(args []any) error) error {
	seen := make(map[string]bool, len(ids))
	args := make([]any, 0, 1+lookupBatch)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		for pad := args[1]; len(args) < 1+lookupBatch; {
			args = append(args, pad)
		}
		err := fn(args)
		args = args[:0]
		return err
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(args) == 0 {
			args = append(args, tenant)
		}
		if args = append(args, id); len(args) == 1+lookupBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Lookup implements store.Store. The rows are read on the readers' pool,
// so a batch in progress does not wait behind the writer for them; a
// damaged row is a damaged person, as Person reads it.
func (s *Store) Lookup(ctx context.Context, tenant string, ids []string) ([]store.Person, error) {
	found, err := lookupRows(ctx, s, tenant, ids, (*rowcodec.Stored).Person)
	if err != nil {
		return nil, err
	}
	return store.LookupAnswer(ids, found), nil
}

var _ store.Summarizer = (*Store)(nil)

// Summaries implements store.Summarizer: Lookup's rows, read the same way,
// each summarized from its summary column rather than decoded.
func (s *Store) Summaries(ctx context.Context, tenant string, ids []string) ([]store.Summary, error) {
	found, err := lookupRows(ctx, s, tenant, ids, (*rowcodec.Stored).Summarized)
	if err != nil {
		return nil, err
	}
	out := make([]store.Summary, len(ids))
	for i, id := range ids {
		sum, ok := found[id]
		if !ok {
			sum = store.Summarize(store.Person{ID: id})
		}
		out[i] = sum
	}
	return out, nil
}

// lookupRows reads the rows of the people named, in batches, each as read
// makes it, by id.
func lookupRows[T any](ctx context.Context, s *Store, tenant string, ids []string, read func(*rowcodec.Stored) T) (map[string]T, error) {
	found := make(map[string]T, len(ids))
	err := batches(tenant, ids, func(args []any) error {
		rows, err := s.query(ctx, lookupQuery, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := readRow(rows)
			if err != nil {
				return err
			}
			found[r.ID] = read(&r)
		}
		return rows.Err()
	})
	return found, err
}

// PeopleSummaries implements store.Summarizer: People's rows, summarized.
func (s *Store) PeopleSummaries(ctx context.Context, tenant, after string, limit int) ([]store.Summary, error) {
	rows, err := s.query(ctx, peopleQuery, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, func(sc rowcodec.Scanner) (store.Summary, error) {
		r, err := readRow(sc)
		return r.Summarized(), err
	})
}

// Listed implements store.Store. The rows are read in batches, in one
// operation of the group commit; each sound row then has only its listing
// and new checksum written (saveListings), a new or quarantined one is
// written whole.
// A damaged row is treated as every other write treats it (load):
// replaced by a quarantined one, which then takes the listing. The person
// stays damaged, read with only their ID, until a Commit rebuilds the row
// — which keeps the listing, since it was written after the damage was
// found and so can be trusted; the listing the damaged row held cannot be,
// and is dropped with the rest of it, an empty Run keeping nothing.
func (s *Store) Listed(ctx context.Context, tenant string, ls []store.Listing) error {
	if len(ls) == 0 {
		return ctx.Err()
	}
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		held, err := s.loadMany(ctx, tx, tenant, ids)
		if err != nil {
			return err
		}
		// Each row is written once, in the order first listed; a person
		// listed twice takes their listings in turn, as separate calls
		// would.
		order := make([]string, 0, len(ls))
		rows := make(map[string]*rowcodec.Row, len(ls))
		whole := make(map[string]bool) // rows to write whole: new, or replacing damage
		for _, l := range ls {
			r := rows[l.ID]
			if r == nil {
				row, ok := held[l.ID]
				if !ok {
					row = rowcodec.Fresh(tenant, l.ID)
				}
				// A quarantined row may replace a damaged one: written
				// whole, as is a new one.
				whole[l.ID] = !ok || row.Damaged
				r = &row
				rows[l.ID] = r
				order = append(order, l.ID)
			}
			r.List(l)
		}
		listings := make([]rowcodec.Row, 0, len(order))
		for _, id := range order {
			if !whole[id] {
				listings = append(listings, *rows[id])
				continue
			}
			if err := s.save(ctx, tx, *rows[id]); err != nil {
				return err
			}
		}
		return s.saveListings(ctx, tx, tenant, listings)
	})
}

// listingBatch is the rows one statement of saveListings writes.
const listingBatch = 128

// listingQuery writes listingBatch rows' listings and checksums, given as
// (id, run, digest, sum) after the tenant.
var listingQuery = `UPDATE people SET listed_run = l.column2, listed_digest = l.column3, sum = l.column4
	FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", listingBatch), ", ") + `) AS l
	WHERE people.tenant = ? AND people.id = l.column1`

// saveListings writes sound rows' listings and their new checksums, the
// rest of each row as it is (read in the same transaction): a listing
// changes no other column, and an UPDATE of these three leaves every index
// of people alone, where writing the row whole would rewrite its entries
// in each. The rows go listingBatch to a statement of fixed shape, the
// last padded with its first row again, which writes the same twice.
func (s *Store) saveListings(ctx context.Context, tx *txn, tenant string, rows []rowcodec.Row) error {
	for len(rows) > 0 {
		n := min(len(rows), listingBatch)
		args := make([]any, 0, 4*listingBatch+1)
		for i := range listingBatch {
			r := rows[0]
			if i < n {
				r = rows[i]
			}
			args = append(args, r.ID, r.ListedRun, r.ListedDigest, r.Checksum())
		}
		if _, err := s.txExec(ctx, tx, listingQuery, append(args, tenant)...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// loadMany is load for many people: the rows held, by id, a damaged one
// quarantined; those not held are absent.
func (s *Store) loadMany(ctx context.Context, tx *txn, tenant string, ids []string) (map[string]rowcodec.Row, error) {
	held := make(map[string]rowcodec.Row, len(ids))
	err := batches(tenant, ids, func(args []any) error {
		rows, err := s.txQuery(ctx, tx, lookupQuery, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			r, err := readRow(rows)
			if err != nil {
				return errors.Join(err, rows.Close())
			}
			held[r.ID] = r.ForWrite()
		}
		return errors.Join(rows.Err(), rows.Close())
	})
	return held, err
}
