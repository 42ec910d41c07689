package sqlite

import (
	"context"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

var _ store.BulkLoader = (*Store)(nil)

// IntendNew implements store.BulkLoader: one write of the group committer,
// so one transaction and one commit, reading the people named with a few
// statements rather than one each, and marking the new ones as Intend does.
func (s *Store) IntendNew(ctx context.Context, tenant string, intents []store.Intent) ([]uint64, error) {
	ids := make([]string, len(intents))
	for i, in := range intents {
		ids[i] = in.ID
	}
	var gens []uint64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		gens = make([]uint64, len(intents))
		held, err := s.loadMany(ctx, tx, tenant, ids)
		if err != nil {
			return err
		}
		for i, in := range intents {
			if _, ok := held[in.ID]; ok {
				continue // held already (or named before): the per-person path's
			}
			r := rowcodec.Fresh(tenant, in.ID)
			in.Mark.Unsure = true
			if gens[i], err = s.mark(ctx, tx, &r, in.Mark, false); err != nil {
				return err
			}
			if err := s.save(ctx, tx, r); err != nil {
				return err
			}
			held[in.ID] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return gens, nil
}

// CommitMany implements store.BulkLoader: one write of the group
// committer, the rows read with a few statements, then each commit as
// Commit makes it.
func (s *Store) CommitMany(ctx context.Context, tenant string, cs []store.Commit) error {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		held, err := s.loadMany(ctx, tx, tenant, ids)
		if err != nil {
			return err
		}
		for _, c := range cs {
			r, ok := held[c.ID]
			if !ok {
				r = rowcodec.Fresh(tenant, c.ID)
			}
			if held[c.ID], err = s.commitRow(ctx, tx, r, c); err != nil { // a later commit of the same person builds on this one
				return err
			}
		}
		return nil
	})
}
