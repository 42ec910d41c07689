package sqlite

// Folding a group's accepts: the Accepts that share a group commit are
// recorded by a few multi-row statements rather than five statements each
// (a savepoint, the event's insert, the person's read, their upsert, the
// release). Each event is judged exactly as acceptOne judges it, in the
// group's order; anything the fold does not expect makes it give up, undo
// itself and leave the accepts to run one by one as before.

import (
	"context"
	"errors"
	"strings"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// acceptOp is an Accept waiting in the group: its op's fn records it alone,
// and the committer may record it with the group's others (foldAccepts)
// instead.
type acceptOp struct {
	tenant string
	ev     store.Acceptance
	got    store.Accepted
}

// rowKey names a row by tenant and id (an event's or a person's).
type rowKey struct{ tenant, id string }

// foldSizes are the rows per multi-row statement, largest first: a group is
// cut into chunks of these sizes, so that a few statements of each kind are
// prepared whatever the groups' sizes.
var foldSizes = []int{64, 16, 4, 1}

// chunk calls fn with consecutive runs of n items, each of a size in
// foldSizes, stopping at the first error.
func chunk(n int, fn func(from, to int) error) error {
	for from := 0; from < n; {
		size := foldSizes[len(foldSizes)-1]
		for _, sz := range foldSizes {
			if sz <= n-from {
				size = sz
				break
			}
		}
		if err := fn(from, from+size); err != nil {
			return err
		}
		from += size
	}
	return nil
}

// tuples returns "(?,…),(?,…)…": n tuples of width placeholders.
func tuples(n, width int) string {
	t := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(t+",", n), ",")
}

// foldAccepts records the accepts in tx as acceptOne would record each in
// turn, setting their got. On an error the caller rolls back what it did
// (and the generations it drew) and runs them one by one.
func (s *Store) foldAccepts(ctx context.Context, tx *txn, as []*acceptOp) error {
	// The first accept of each event id inserts it; a later one in the
	// group is judged against what the first left (below).
	first := make(map[rowKey]*acceptOp, len(as))
	var inserts []*acceptOp
	for _, a := range as {
		k := rowKey{a.tenant, a.ev.EventID}
		if _, ok := first[k]; !ok {
			first[k] = a
			inserts = append(inserts, a)
		}
	}
	recorded := make(map[rowKey]bool, len(inserts))
	err := chunk(len(inserts), func(from, to int) error {
		args := make([]any, 0, 4*(to-from))
		for _, a := range inserts[from:to] {
			args = append(args, a.tenant, a.ev.EventID, a.ev.Forget.UnixNano(), a.ev.Fingerprint)
		}
		rows, err := s.txQuery(ctx, tx, "INSERT INTO events (tenant, id, forget, fingerprint) VALUES "+tuples(to-from, 4)+
			" ON CONFLICT DO NOTHING RETURNING tenant, id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k rowKey
			if err := rows.Scan(&k.tenant, &k.id); err != nil {
				return err
			}
			recorded[k] = true
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// What each event id holds now: the fingerprint a repeat is judged
	// against.
	held := make(map[rowKey]string, len(inserts))
	var fresh []*acceptOp
	for _, a := range inserts {
		k := rowKey{a.tenant, a.ev.EventID}
		if recorded[k] {
			held[k] = a.ev.Fingerprint
			fresh = append(fresh, a)
			continue
		}
		var seen string
		if err := s.txQueryRow(ctx, tx, "SELECT fingerprint FROM events WHERE tenant = ? AND id = ?", a.tenant, a.ev.EventID).Scan(&seen); err != nil {
			return err
		}
		held[k] = seen
	}
	for _, a := range as {
		k := rowKey{a.tenant, a.ev.EventID}
		if first[k] == a && recorded[k] {
			a.got = store.AcceptedNew
			continue
		}
		if seen := held[k]; seen != "" && a.ev.Fingerprint != "" && seen != a.ev.Fingerprint {
			a.got = store.AcceptedConflict
		} else {
			a.got = store.AcceptedDuplicate
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	people, order, err := s.loadMarked(ctx, tx, fresh)
	if err != nil {
		return err
	}
	for _, a := range fresh {
		r := people[rowKey{a.tenant, a.ev.EmployeeID}]
		if _, err := s.mark(ctx, tx, r, a.ev.Mark, false); err != nil {
			return err
		}
	}
	return s.saveMany(ctx, tx, people, order)
}

// loadMarked reads, as load does, the rows of the people the accepts mark,
// returning them by key and the keys in the order first marked.
func (s *Store) loadMarked(ctx context.Context, tx *txn, as []*acceptOp) (map[rowKey]*rowcodec.Row, []rowKey, error) {
	people := make(map[rowKey]*rowcodec.Row, len(as))
	var order []rowKey
	byTenant := map[string][]string{}
	var tenants []string
	for _, a := range as {
		k := rowKey{a.tenant, a.ev.EmployeeID}
		if _, ok := people[k]; ok {
			continue
		}
		r := rowcodec.Fresh(k.tenant, k.id)
		people[k] = &r
		order = append(order, k)
		if _, ok := byTenant[k.tenant]; !ok {
			tenants = append(tenants, k.tenant)
		}
		byTenant[k.tenant] = append(byTenant[k.tenant], k.id)
	}
	for _, tenant := range tenants {
		ids := byTenant[tenant]
		err := chunk(len(ids), func(from, to int) error {
			args := make([]any, 0, 1+to-from)
			args = append(args, tenant)
			for _, id := range ids[from:to] {
				args = append(args, id)
			}
			rows, err := s.txQuery(ctx, tx, "SELECT "+rowColumns+" FROM people WHERE tenant = ? AND id IN ("+placeholders(to-from)+")", args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				st, err := readRow(rows)
				if err != nil {
					return err
				}
				// A row whose key columns are not the ones asked
				// for is damaged there: load would quarantine it
				// under what it read, which the fold leaves to load.
				r, ok := people[rowKey{st.Tenant, st.ID}]
				if !ok {
					return errUnfoldable
				}
				*r = st.ForWrite()
			}
			return rows.Err()
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return people, order, nil
}

// errUnfoldable: something the fold leaves to the accepts one by one.
var errUnfoldable = errors.New("sqlite store: accepts not folded")

// saveMany writes rows whole, with their checksums, as save does (it
// mirrors save's statement and arguments: a column added there is added
// here), in multi-row upserts.
func (s *Store) saveMany(ctx context.Context, tx *txn, people map[rowKey]*rowcodec.Row, order []rowKey) error {
	return chunk(len(order), func(from, to int) error {
		args := make([]any, 0, 14*(to-from))
		for _, k := range order[from:to] {
			r := people[k]
			args = append(args, r.Tenant, r.ID, r.HasAcct, r.Active, r.Applied, r.DirtyGen, r.Mark, r.Due, r.Failure, r.Dead,
				r.Damaged, r.Checksum(), r.ListedRun, r.ListedDigest)
		}
		_, err := s.txExec(ctx, tx, "INSERT INTO people ("+rowColumns+") VALUES "+tuples(to-from, 14)+`
			ON CONFLICT (tenant, id) DO UPDATE SET has_acct = excluded.has_acct, active = excluded.active,
				applied = excluded.applied, dirty_gen = excluded.dirty_gen, mark = excluded.mark, due = excluded.due,
				failure = excluded.failure, dead = excluded.dead, damaged = excluded.damaged, sum = excluded.sum,
				listed_run = excluded.listed_run, listed_digest = excluded.listed_digest`, args...)
		return err
	})
}
