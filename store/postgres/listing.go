package postgres

// Many people at once: Lookup reads them in one query, Listed records a
// full list's listings in two statements, so that a chunk of the Source's
// list costs a few round trips, not a few per person.

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, tenant string, ids []string) ([]store.Person, error) {
	found := make(map[string]store.Person, len(ids))
	if len(ids) > 0 {
		rows, err := s.pool.Query(ctx, s.sql["lookup"], tenant, ids)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPerson(rows)
			if err != nil {
				return nil, err
			}
			found[p.ID] = p
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return store.LookupAnswer(ids, found), nil
}

// Listed implements store.Store. The rows are locked and read in one
// statement and written whole, each with its new checksum, in another, in
// id order, so that two calls sharing people lock them in the same order
// and never deadlock. A person listed twice in ls takes their listings in
// turn, as separate calls would. A damaged row is treated as every other
// write treats it: replaced by a quarantined one, which then takes the
// listing (as in the SQLite store).
func (s *Store) Listed(ctx context.Context, tenant string, ls []store.Listing) error {
	if len(ls) == 0 {
		return ctx.Err()
	}
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	return s.inTx(ctx, func(tx pgx.Tx) error {
		held, err := s.load(ctx, tx, tenant, ids...)
		if err != nil {
			return err
		}
		for _, l := range ls {
			r := held[l.ID]
			r.List(l)
			held[l.ID] = r
		}
		rows := make([]rowcodec.Row, len(ids))
		for i, id := range ids {
			rows[i] = held[id]
		}
		return s.save(ctx, tx, rows...)
	})
}
