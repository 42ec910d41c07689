package sqlite

// Folding a group's marks: the Accepts, AcceptBatches, Intends and
// MarkDirties that share a group commit are made by a few multi-row
// statements rather than four or five statements each (a savepoint, the
// event's insert, the person's read, their upsert, the release). Each is
// made exactly as its op would make it, in the group's order; anything the
// fold does not expect makes it give up, undo itself and leave the ops to
// run one by one as before.

import (
	"context"
	"errors"
	"strings"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/internal/rowcodec"
)

// markOp is one mark an op makes, which the committer may make with the
// group's others (foldMarks) rather than by the op's fn: an Accept's (or
// one event of an AcceptBatch), made only if its event is new; an
// Intend's; one person of a MarkDirty.
type markOp struct {
	tenant, id string // the person marked
	m          store.Mark
	ev         *store.Acceptance // an accept's event, recorded first
	got        store.Accepted    // the event's fate
	gen        uint64            // the mark's generation, once made
}

// acceptMark is the markOp of accepting ev.
func acceptMark(tenant string, ev store.Acceptance) *markOp {
	return &markOp{tenant: tenant, id: ev.EmployeeID, m: ev.Mark, ev: &ev}
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

// foldMarks makes the marks in tx as the ops' fns would, one after the
// other in the group's order: each event judged as acceptOne judges it,
// each mark merged into its person's row under a generation of its own.
// On an error the caller rolls back what it did (and the generations it
// drew) and runs the ops one by one.
func (s *Store) foldMarks(ctx context.Context, tx *txn, ms []*markOp) error {
	recorded, err := s.recordEvents(ctx, tx, ms)
	if err != nil {
		return err
	}
	var marking []*markOp
	for _, mk := range ms {
		if mk.ev == nil || recorded[mk] {
			marking = append(marking, mk)
		}
	}
	if len(marking) == 0 {
		return nil
	}
	people, order, err := s.loadMarked(ctx, tx, marking)
	if err != nil {
		return err
	}
	for _, mk := range marking {
		if mk.gen, err = s.mark(ctx, tx, people[rowKey{mk.tenant, mk.id}], mk.m, false); err != nil {
			return err
		}
	}
	return s.saveMany(ctx, tx, people, order)
}

// recordEvents inserts the events of the accepts among ms and judges each
// (got), returning those recorded as new. The first accept of an event id
// inserts it; a later one in the group is judged against what the first
// left, as it would be after it.
func (s *Store) recordEvents(ctx context.Context, tx *txn, ms []*markOp) (map[*markOp]bool, error) {
	first := make(map[rowKey]*markOp, len(ms))
	var inserts []*markOp
	for _, mk := range ms {
		if mk.ev == nil {
			continue
		}
		k := rowKey{mk.tenant, mk.ev.EventID}
		if _, ok := first[k]; !ok {
			first[k] = mk
			inserts = append(inserts, mk)
		}
	}
	inserted := make(map[rowKey]bool, len(inserts))
	err := chunk(len(inserts), func(from, to int) error {
		args := make([]any, 0, 4*(to-from))
		for _, mk := range inserts[from:to] {
			args = append(args, mk.tenant, mk.ev.EventID, mk.ev.Forget.UnixNano(), mk.ev.Fingerprint)
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
			inserted[k] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// What each event id holds now: the fingerprint a repeat is judged
	// against.
	held := make(map[rowKey]string, len(inserts))
	for _, mk := range inserts {
		k := rowKey{mk.tenant, mk.ev.EventID}
		if inserted[k] {
			held[k] = mk.ev.Fingerprint
			continue
		}
		var seen string
		if err := s.txQueryRow(ctx, tx, "SELECT fingerprint FROM events WHERE tenant = ? AND id = ?", mk.tenant, mk.ev.EventID).Scan(&seen); err != nil {
			return nil, err
		}
		held[k] = seen
	}
	recorded := make(map[*markOp]bool, len(inserts))
	for _, mk := range ms {
		if mk.ev == nil {
			continue
		}
		k := rowKey{mk.tenant, mk.ev.EventID}
		switch seen := held[k]; {
		case first[k] == mk && inserted[k]:
			mk.got = store.AcceptedNew
			recorded[mk] = true
		case seen != "" && mk.ev.Fingerprint != "" && seen != mk.ev.Fingerprint:
			mk.got = store.AcceptedConflict
		default:
			mk.got = store.AcceptedDuplicate
		}
	}
	return recorded, nil
}

// loadMarked reads, as load does, the rows of the people marked, returning
// them by key and the keys in the order first marked.
func (s *Store) loadMarked(ctx context.Context, tx *txn, ms []*markOp) (map[rowKey]*rowcodec.Row, []rowKey, error) {
	people := make(map[rowKey]*rowcodec.Row, len(ms))
	var order []rowKey
	byTenant := map[string][]string{}
	var tenants []string
	for _, mk := range ms {
		k := rowKey{mk.tenant, mk.id}
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

// errUnfoldable: something the fold leaves to the ops one by one.
var errUnfoldable = errors.New("sqlite store: marks not folded")

// saveMany writes rows whole, with their checksums, as save does, in
// multi-row upserts.
func (s *Store) saveMany(ctx context.Context, tx *txn, people map[rowKey]*rowcodec.Row, order []rowKey) error {
	return chunk(len(order), func(from, to int) error {
		args := make([]any, 0, rowWidth*(to-from))
		for _, k := range order[from:to] {
			args = append(args, rowValues(*people[k])...)
		}
		_, err := s.txExec(ctx, tx, upsertRows(to-from), args...)
		return err
	})
}
