package hrissync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"iter"

	"github.com/hrissync/hrissync/store"
)

// A full list — the Source's people, or the platform's accounts — comes in
// whatever order its API gives: no vendor promises ID order, and sorting a
// million people would hold them all in memory. So a list is never merged
// with the Store's accounts by walking both in order. It is read a chunk at a
// time, each chunk joined with the Store's state of its people by one Lookup;
// what the list did not show is found afterwards by one pass over the
// Store's accounts in ID order (the one order the engine relies on: the
// Store's, byte-wise by ID), each asked whether the list showed it — the
// batch by the Store's own marks (Person.Listed), Plan and drift by the ids
// they kept. Memory is bounded by the chunk, not the list.

// joined is an item of a list with the Store's state of its person.
type joined[T any] struct {
	item T
	held store.Person
}

// joinStore reads list a chunk of up to n items at a time and yields each
// chunk with its people's state in the Store. An error of the list is
// yielded with what was read before it, so that a caller may finish that; an
// error of the Store with no items. Either ends it.
func joinStore[T any](ctx context.Context, st store.Store, tenant string, list iter.Seq2[T, error], id func(T) string, n int) iter.Seq2[[]joined[T], error] {
	return func(yield func([]joined[T], error) bool) {
		items := make([]T, 0, n)
		ids := make([]string, 0, n)
		// flush yields the items read so far, with listErr if the list
		// ended in one; it reports whether to go on.
		flush := func(listErr error) bool {
			if len(items) == 0 && listErr == nil {
				return true
			}
			held, err := st.Lookup(ctx, tenant, ids)
			if err != nil {
				yield(nil, err)
				return false
			}
			chunk := make([]joined[T], len(items))
			for i := range items {
				chunk[i] = joined[T]{item: items[i], held: held[i]}
			}
			items, ids = items[:0], ids[:0]
			return yield(chunk, listErr) && listErr == nil
		}
		for it, err := range list {
			if err != nil {
				flush(err)
				return
			}
			items, ids = append(items, it), append(ids, id(it))
			if len(items) == n && !flush(nil) {
				return
			}
		}
		flush(nil)
	}
}

func employeeID(e Employee) string { return e.ID }

// digest is a record's content, its version left out: a list's record
// whose digest is what the Store last noted for the person has not changed
// since, whatever version the Source now stamps it with.
func digest(rec Employee) string {
	rec.Version = Employee{}.Version
	b, err := json.Marshal(rec)
	if err != nil {
		return "" // never equal to a stored digest: the person is looked at
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
