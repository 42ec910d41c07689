package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// acceptCase is one Accept of a group: its tenant, event and person, the
// fingerprint it carries, and whether its caller gave up while it queued.
type acceptCase struct {
	tenant, event, person, fingerprint string
	cancelled                          bool
}

// foldCases are hostile for a fold: an id repeated and one reused by
// another event inside the group, repeats and conflicts of events held
// from before, one person marked twice, two tenants with the same ids, a
// damaged row, a caller gone.
var foldCases = []acceptCase{
	{"a", "e1", "w1", "f1", false},
	{"a", "e1", "w1", "f1", false},  // a repeat inside the group
	{"a", "e1", "w2", "fX", false},  // a conflict inside the group
	{"a", "old", "w3", "f0", false}, // a repeat of an event held
	{"a", "old", "w3", "fY", false}, // a conflict with an event held
	{"a", "e2", "w1", "f2", false},  // w1 again, another event
	{"b", "e1", "w1", "f9", false},  // another tenant, same ids
	{"a", "e3", "bad", "f3", false}, // a damaged row
	{"a", "e4", "w4", "", false},    // no fingerprint
	{"a", "e4", "w4", "f4", false},  // repeat of it, with one
	{"a", "e5", "w5", "f5", true},   // cancelled while queued
	{"b", "e6", "w7", "f6", false},
}

// prepared opens a Store holding event "old" (person w3) and a damaged
// row for person "bad".
func prepared(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, c := range []acceptCase{{"a", "old", "w3", "f0", false}, {"a", "pre", "bad", "", false}} {
		if _, err := st.Accept(ctx, c.tenant, acceptance(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ExecForTest(ctx, `UPDATE people SET applied = '{"email":' WHERE tenant = 'a' AND id = 'bad'`); err != nil {
		t.Fatal(err)
	}
	return st
}

var since = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func acceptance(c acceptCase) store.Acceptance {
	return store.Acceptance{EventID: c.event, EmployeeID: c.person, Fingerprint: c.fingerprint, Forget: since.Add(time.Hour),
		Mark: store.Mark{Since: since, Classes: cadence.Realtime, Trigger: "realtime", EventID: c.event}}
}

// queued is o as writeOp queues it, under ctx.
func queued(ctx context.Context, o *op) *op {
	o.ctx, o.done = ctx, make(chan error, 1)
	return o
}

// acceptOps builds the Accept ops of cases as Accept queues them.
func acceptOps(st *Store, cases []acceptCase) []*op {
	var ops []*op
	for _, c := range cases {
		ctx := context.Background()
		if c.cancelled {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			cancel()
		}
		ops = append(ops, queued(ctx, st.marksOp([]*markOp{acceptMark(c.tenant, acceptance(c))})))
	}
	return ops
}

// outcome is what a Store holds and answered after the cases: each
// accept's verdict, every row, event and the generation counter.
func outcome(t *testing.T, st *Store, ops []*op) []string {
	t.Helper()
	var out []string
	for i, o := range ops {
		err := <-o.done
		out = append(out, fmt.Sprintf("op %d: failed=%v cancelled=%v", i, err != nil, errors.Is(err, context.Canceled)))
		for _, mk := range o.marks {
			if mk.ev != nil { // an accept's verdict
				out = append(out, fmt.Sprintf("  %s/%s: %v", mk.tenant, mk.ev.EventID, mk.got))
			} else { // an Intend's generation
				out = append(out, fmt.Sprintf("  %s/%s: gen %d", mk.tenant, mk.id, mk.gen))
			}
		}
	}
	// The counter is above every generation stored: none is drawn again.
	var counter, newest int64
	if err := st.db.QueryRow("SELECT (SELECT value FROM counters), (SELECT max(dirty_gen) FROM people)").Scan(&counter, &newest); err != nil {
		t.Fatal(err)
	}
	if counter < newest {
		t.Errorf("generation counter %d below a stored generation %d", counter, newest)
	}
	for _, q := range []string{
		"SELECT " + rowColumns + " FROM people ORDER BY tenant, id",
		"SELECT tenant, id, forget, fingerprint FROM events ORDER BY tenant, id",
		"SELECT name, value FROM counters",
	} {
		rows, err := st.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			v := make([]sql.NullString, len(cols))
			dest := make([]any, len(v))
			for i := range v {
				dest[i] = &v[i]
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(v))
		}
		rows.Close()
	}
	return out
}

// TestFoldedAcceptsAsOneByOne: a group's accepts folded leave the file and
// their callers exactly as the same accepts committed one by one.
func TestFoldedAcceptsAsOneByOne(t *testing.T) {
	one := prepared(t)
	oneOps := acceptOps(one, foldCases)
	for _, o := range oneOps {
		one.commit([]*op{o})
	}
	want := outcome(t, one, oneOps)

	folded := prepared(t)
	foldedOps := acceptOps(folded, foldCases)
	commits := folded.Commits()
	folded.commit(foldedOps)
	if got := folded.Commits() - commits; got != 1 {
		t.Fatalf("%d commits, want 1", got)
	}
	if got := folded.FoldsForTest(); got != 1 {
		t.Errorf("%d groups folded, want 1 (a fold that fails falls back unseen)", got)
	}
	if got := outcome(t, folded, foldedOps); !slices.Equal(got, want) {
		t.Errorf("folded:\n%q\none by one:\n%q", got, want)
	}
	// The damaged row was quarantined, not sealed.
	p, err := folded.Person(context.Background(), "a", "bad")
	if err != nil || !p.Damaged {
		t.Errorf("damaged person after the fold: %+v, %v", p, err)
	}
}

// TestFoldFallsBack: a fold that fails — here one person's row cannot be
// written — leaves the accepts to run one by one, so that only that one
// fails, as it would alone, and gives back the generations it drew.
func TestFoldFallsBack(t *testing.T) {
	cases := append(slices.Clone(foldCases), acceptCase{"a", "e7", "boom", "f7", false})
	outcomeOf := func(each bool) []string {
		st := prepared(t)
		if err := st.ExecForTest(context.Background(), `CREATE TEMP TRIGGER boom BEFORE INSERT ON people
			WHEN NEW.id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
			t.Fatal(err)
		}
		ops := acceptOps(st, cases)
		if each {
			for _, o := range ops {
				st.commit([]*op{o})
			}
		} else {
			st.commit(ops)
			if got := st.FoldsForTest(); got != 0 {
				t.Errorf("%d groups folded, want 0: the fold must fall back", got)
			}
		}
		return outcome(t, st, ops)
	}
	want, got := outcomeOf(true), outcomeOf(false)
	if !slices.Equal(got, want) {
		t.Errorf("after a fallback:\n%q\none by one:\n%q", got, want)
	}
	if !slices.Contains(want, fmt.Sprintf("op %d: failed=true cancelled=false", len(cases)-1)) {
		t.Errorf("the accept that cannot be written did not fail: %q", want)
	}
}

// TestFoldedMarksAsOneByOne: an AcceptBatch (its own repeats inside it),
// Accepts, Intends and a MarkDirty folded in one group — the same people
// marked by several, a damaged row, a caller gone — leave the file and
// their callers (the generations Intend returns) as the same ops one by
// one.
func TestFoldedMarksAsOneByOne(t *testing.T) {
	m := store.Mark{Since: since, Classes: cadence.Realtime, Trigger: "realtime"}
	run := func(each bool) []string {
		st := prepared(t)
		var batch []*markOp
		for _, c := range foldCases[:5] {
			batch = append(batch, acceptMark(c.tenant, acceptance(c)))
		}
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		intent := m
		intent.Unsure = true
		ops := append([]*op{
			queued(context.Background(), st.marksOp(batch)),
			queued(context.Background(), st.marksOp([]*markOp{{tenant: "a", id: "w1", m: intent}})),
			queued(context.Background(), st.marksOp([]*markOp{{tenant: "a", id: "w2", m: m}, {tenant: "a", id: "w2", m: m}, {tenant: "a", id: "w9", m: m}})),
			queued(context.Background(), st.marksOp([]*markOp{{tenant: "a", id: "bad", m: intent}})),
			queued(gone, st.marksOp([]*markOp{{tenant: "a", id: "w8", m: intent}})),
		}, acceptOps(st, foldCases[5:])...)
		if each {
			for _, o := range ops {
				st.commit([]*op{o})
			}
		} else {
			st.commit(ops)
			if got := st.FoldsForTest(); got != 1 {
				t.Errorf("%d groups folded, want 1 (a fold that fails falls back unseen)", got)
			}
		}
		return outcome(t, st, ops)
	}
	if want, got := run(true), run(false); !slices.Equal(got, want) {
		t.Errorf("folded:\n%q\none by one:\n%q", got, want)
	}
}
