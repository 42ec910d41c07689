package hrissync

import (
	"context"
	"iter"
	"time"

	"github.com/hrissync/hrissync/store"
)

// pageSize is how many people one read of the Store returns wherever the
// engine pages through them (Store.People, Store.Pending).
const pageSize = 500

// paged yields, in ID order after the ID after, the people read a page at a
// time by page (after an ID, up to a limit), until a page comes back short. A
// page is read only once the person after the last one is asked for. A failed
// read is yielded, and ends it.
func paged(after string, page func(after string, limit int) ([]store.Person, error)) iter.Seq2[store.Person, error] {
	return func(yield func(store.Person, error) bool) {
		for {
			people, err := page(after, pageSize)
			if err != nil {
				yield(store.Person{}, err)
				return
			}
			for _, p := range people {
				if !yield(p, nil) {
					return
				}
			}
			if len(people) < pageSize {
				return
			}
			after = people[len(people)-1].ID
		}
	}
}

// accounts pages through Store.People after the ID after: the people with an
// account in the platform (and the Damaged), in ID order.
func (e *Engine) accounts(ctx context.Context, after string) iter.Seq2[store.Person, error] {
	return paged(after, func(after string, limit int) ([]store.Person, error) {
		return e.store.People(ctx, e.cfg.Tenant, after, limit)
	})
}

// pending pages through Store.Pending: the people dirty, or due at or before
// until, in ID order.
func (e *Engine) pending(ctx context.Context, until time.Time) iter.Seq2[store.Person, error] {
	return paged("", func(after string, limit int) ([]store.Person, error) {
		return e.store.Pending(ctx, e.cfg.Tenant, until, after, limit)
	})
}
