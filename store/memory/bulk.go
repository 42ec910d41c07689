package memory

import (
	"context"

	"github.com/hrissync/hrissync/store"
)

var _ store.BulkLoader = (*Store)(nil)

// IntendNew implements store.BulkLoader: each intent as Intend would take
// it, for the people the Store holds nothing of, under one lock.
func (s *Store) IntendNew(ctx context.Context, tenant string, intents []store.Intent) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	gens := make([]uint64, len(intents))
	for i, in := range intents {
		if _, held := t.people[in.ID]; held {
			continue
		}
		p := t.person(in.ID)
		in.Mark.Unsure = true
		s.mark(p, in.Mark)
		gens[i] = p.Dirty.Generation
	}
	return gens, nil
}

// CommitMany implements store.BulkLoader: each commit as Commit would take
// it, in order, under one lock.
func (s *Store) CommitMany(ctx context.Context, tenant string, cs []store.Commit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	for _, c := range cs {
		t.commit(c)
	}
	return nil
}
