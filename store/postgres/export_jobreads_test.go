package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hrissync/hrissync/store"
)

// JobContext is ctx as a Queue's job of the person carries it once the
// job's lock is taken: with the person's read, and their row as a base for
// the job's writes, as the lock's batch reads them.
func JobContext(ctx context.Context, s *Store, tenant, id string) (context.Context, error) {
	j := &jobReads{schema: s.schema, tenant: tenant, id: id}
	var (
		b    pgx.Batch
		p    store.Person
		base *baseRow
	)
	s.queueBase(&b, tenant, id, &p, &base)
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	j.setNext(&p)
	j.setBase(base)
	return context.WithValue(ctx, jobReadsKey{}, j), nil
}
