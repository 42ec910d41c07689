package postgres

// Many people at once: Lookup reads them in one query, Listed records a
// full list's listings in one statement, so that a chunk of the Source's
// list costs two round trips, not two per person.

import (
	"context"
	"maps"
	"slices"

	"github.com/hrissync/hrissync/store"
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

// Listed implements store.Store. A person listed twice in ls takes their
// listings in turn, as separate calls would: they are folded into one
// here, since the statement may touch each row once. The rows are written
// in id order, so that two calls sharing people lock them in the same
// order and never deadlock.
func (s *Store) Listed(ctx context.Context, tenant string, ls []store.Listing) error {
	if len(ls) == 0 {
		return ctx.Err()
	}
	folded := make(map[string]store.Listing, len(ls))
	for _, l := range ls {
		if prev, ok := folded[l.ID]; ok && l.Run == "" {
			l.Run = prev.Run
		}
		folded[l.ID] = l
	}
	ids := slices.Sorted(maps.Keys(folded))
	runs, digests := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		runs[i], digests[i] = folded[id].Run, folded[id].Digest
	}
	_, err := s.pool.Exec(ctx, s.sql["listed"], tenant, ids, runs, digests)
	return err
}
