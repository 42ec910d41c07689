package hrissync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"iter"
	"slices"
	"strconv"

	"github.com/hrissync/hrissync/hrtype"
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
	// settled: the Store's summary of the person showed that they need
	// nothing (Engine.summarySettles). held then has no Applied, and
	// newest is the newest version among them.
	settled bool
	newest  hrtype.Version
}

// joinStore reads list a chunk of up to n items at a time and yields each
// chunk with its people's state in the Store. An error of the list is
// yielded with what was read before it, so that a caller may finish that; an
// error of the Store with no items. Either ends it.
func joinStore[T any](ctx context.Context, st store.Store, tenant string, list iter.Seq2[T, error], id func(T) string, n int) iter.Seq2[[]joined[T], error] {
	return joinWith(list, id, n, lookupJoin[T](ctx, st, tenant))
}

// lookupJoin joins a chunk with its people read whole, by one Lookup.
func lookupJoin[T any](ctx context.Context, st store.Store, tenant string) func(items []T, ids []string) ([]joined[T], error) {
	return func(items []T, ids []string) ([]joined[T], error) {
		held, err := st.Lookup(ctx, tenant, ids)
		if err != nil {
			return nil, err
		}
		chunk := make([]joined[T], len(items))
		for i := range items {
			chunk[i] = joined[T]{item: items[i], held: held[i]}
		}
		return chunk, nil
	}
}

// joinWith is joinStore with the Store read by join: the items of a chunk
// and their ids in, the chunk joined out.
func joinWith[T any](list iter.Seq2[T, error], id func(T) string, n int, join func(items []T, ids []string) ([]joined[T], error)) iter.Seq2[[]joined[T], error] {
	return func(yield func([]joined[T], error) bool) {
		items := make([]T, 0, n)
		ids := make([]string, 0, n)
		// flush yields the items read so far, with listErr if the list
		// ended in one; it reports whether to go on.
		flush := func(listErr error) bool {
			if len(items) == 0 && listErr == nil {
				return true
			}
			chunk, err := join(items, ids)
			if err != nil {
				yield(nil, err)
				return false
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

// batchJoin joins a chunk of the batch's list with the Store. From a
// store.Summarizer it reads every person summarized, and whole (Lookup)
// only those whose summary does not show them settled: at a nightly batch,
// the few whose record changed.
func (e *Engine) batchJoin(ctx context.Context) func(recs []Employee, ids []string) ([]joined[Employee], error) {
	sm, ok := summarizer(e.store)
	if !ok {
		return lookupJoin[Employee](ctx, e.store, e.cfg.Tenant)
	}
	return func(recs []Employee, ids []string) ([]joined[Employee], error) {
		sums, err := sm.Summaries(ctx, e.cfg.Tenant, ids)
		if err != nil {
			return nil, err
		}
		chunk := make([]joined[Employee], len(recs))
		var whole []string // the ids to read whole, and where they go
		var at []int
		for i, s := range sums {
			chunk[i].item = recs[i]
			if e.summarySettles(s, &chunk[i].item) {
				chunk[i].held = store.Person{ID: s.ID, Exists: s.Exists, Active: s.Active, Due: s.Due, Listed: s.Listed}
				chunk[i].settled, chunk[i].newest = true, s.Newest
				continue
			}
			whole, at = append(whole, ids[i]), append(at, i)
		}
		if len(whole) == 0 {
			return chunk, nil
		}
		held, err := e.store.Lookup(ctx, e.cfg.Tenant, whole)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			chunk[i].held = held[k]
		}
		return chunk, nil
	}
}

// summarySettles reports, from the Store's summary of a person alone, that
// settled would report the person whole settled; false says nothing. It
// asks what settled asks — clean, no failure, the due time the record gives
// now — and that there is an account, active just when the record wants
// access, whose applied values are, by digest, exactly those the record
// maps to, with the activity the record gives. Then the activity is what
// the record wants (equal values, whatever versions the guard weighs), and
// so is every mapped field: propose has nothing to write. The rest — a
// summary the Store does not know, a person without an account, a field
// applied that the mapping no longer gives, one the version guard kept —
// is settled's to judge, with the person read whole. A person the batch
// last left as the record wants is settled here: nearly everyone.
func (e *Engine) summarySettles(s store.Summary, rec *Employee) bool {
	if s.Damaged || s.Digest == "" || s.Dirty || s.Failed || !s.Exists {
		return false
	}
	d, err := e.desire(rec, e.cfg.Clock.Now())
	if err != nil || !s.Due.Equal(d.due) || s.Active != d.active {
		return false
	}
	return s.Digest == appliedDigest(d)
}

// appliedDigest is the store.AppliedDigest of what a reconcile would leave
// applied for d with nothing to write: the fields it maps to, and its
// activity. "" (matching no digest) if d's fields name the activity's key.
func appliedDigest(d desired) string {
	names := make([]string, 0, len(d.fields)+1)
	for f := range d.fields {
		if f == store.AppliedActivity {
			return ""
		}
		names = append(names, f)
	}
	names = append(names, store.AppliedActivity)
	slices.Sort(names)
	return store.ValuesDigest(func(yield func(name, value string) bool) {
		for _, f := range names {
			v := d.fields[f]
			if f == store.AppliedActivity {
				v = strconv.FormatBool(d.active)
			}
			if !yield(f, v) {
				return
			}
		}
	})
}
