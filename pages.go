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
	return pagedBy(after, func(p store.Person) string { return p.ID }, page)
}

// pagedBy is paged for pages of any kind, each item's ID told by id.
func pagedBy[T any](after string, id func(T) string, page func(after string, limit int) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			people, err := page(after, pageSize)
			if err != nil {
				var zero T
				yield(zero, err)
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
			after = id(people[len(people)-1])
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

// accountSummaries is accounts summarized, where the Store can
// (store.Summarizer): what the batch's search for leavers needs of each
// account — its ID, activity, listing and damage — without decoding it.
// Elsewhere the accounts are read whole, and the summaries hold only that.
func (e *Engine) accountSummaries(ctx context.Context) iter.Seq2[store.Summary, error] {
	sm, ok := summarizer(e.store)
	if !ok {
		return func(yield func(store.Summary, error) bool) {
			for p, err := range e.accounts(ctx, "") {
				// What the search for leavers asks of a summary: no digest.
				s := store.Summary{ID: p.ID, Exists: p.Exists, Active: p.Active, Listed: p.Listed, Damaged: p.Damaged}
				if !yield(s, err) {
					return
				}
			}
		}
	}
	return pagedBy("", func(s store.Summary) string { return s.ID }, func(after string, limit int) ([]store.Summary, error) {
		return sm.PeopleSummaries(ctx, e.cfg.Tenant, after, limit)
	})
}
