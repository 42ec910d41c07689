package postgres_test

// Rows damaged behind the Store's back, by SQL that bypasses it: each
// change stands for a flipped byte that still decodes, which only the
// row's checksum can catch.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// exec runs SQL on the test's schema ({{schema}} standing for it), as
// someone other than the Store.
func exec(t *testing.T, pool *pgxpool.Pool, schema, sql string) {
	t.Helper()
	tag, err := pool.Exec(context.Background(), strings.ReplaceAll(sql, "{{schema}}", schema))
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("%s changed %d rows, want 1", sql, tag.RowsAffected())
	}
}

func damaged(id string) store.Person { return store.Person{ID: id, Damaged: true} }

// TestFlipsThatDecodeAreCaught damages one column of one row at a time so
// that it still decodes — a digit of a field's version, the activity flag,
// the due time, the dirty generation, a class in the mark, the failure's
// count — and finds the person read as damaged, never as the wrong value
// nor as an error: by Person, Lookup, People and Pending, once a replica
// has opened the schema; while everyone else reads as written. A write
// before then keeps them damaged; a Commit rebuilds the row whole.
func TestFlipsThatDecodeAreCaught(t *testing.T) {
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	role := map[string]store.Applied{"role": {Value: "dev", Version: hrtype.Version{Time: t0, Seq: 1}}}
	flips := []struct {
		name, sql string
		dirty     bool // the person is marked, so pending before any check
	}{
		{name: "version digit", sql: `UPDATE {{schema}}.people SET applied = replace(applied, ',1]', ',9]') WHERE id = 'w-2'`},
		{name: "activity flag", sql: `UPDATE {{schema}}.people SET active = NOT active WHERE id = 'w-2'`},
		{name: "due time", sql: `UPDATE {{schema}}.people SET due = due # (1::bigint << 50) WHERE id = 'w-2'`},
		{name: "dirty generation", dirty: true, sql: `UPDATE {{schema}}.people SET dirty_gen = dirty_gen # 4 WHERE id = 'w-2'`},
		{name: "mark class", dirty: true, sql: `UPDATE {{schema}}.people SET mark = jsonb_set(mark, '{Classes}', '3') WHERE id = 'w-2'`},
		{name: "failure count", dirty: true, sql: `UPDATE {{schema}}.people SET failure = jsonb_set(failure, '{Attempts}', '7') WHERE id = 'w-2'`},
		{name: "listing digest", sql: `UPDATE {{schema}}.people SET listed_digest = 'e2' WHERE id = 'w-2'`},
		{name: "checksum", sql: `UPDATE {{schema}}.people SET sum = sum # 1 WHERE id = 'w-2'`},
	}
	for _, f := range flips {
		t.Run(f.name, func(t *testing.T) {
			ctx := t.Context()
			pool, schema := database(t, 4)
			st := open(t, pool, schema)
			for _, id := range []string{"w-1", "w-2", "w-3"} {
				must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true, Due: t0.Add(72 * time.Hour), Applied: role}))
			}
			must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w-2", Run: "r1", Digest: "d2"}}))
			if f.dirty {
				must(t, st.Fail(ctx, "t", "w-2", store.Failure{Attempts: 1, Err: "503", At: t0}, realtime))
			}
			w1 := get(t, st, "w-1")
			exec(t, pool, schema, f.sql)

			if got := get(t, st, "w-2"); !cmp.Equal(got, damaged("w-2")) {
				t.Fatalf("w-2 after the flip = %+v, want only its ID and Damaged", got)
			}
			looked, err := st.Lookup(ctx, "t", []string{"w-1", "w-2"})
			must(t, err)
			if d := cmp.Diff([]store.Person{w1, damaged("w-2")}, looked, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Lookup (-want +got):\n%s", d)
			}
			people, err := st.People(ctx, "t", "", 10)
			must(t, err)
			if d := cmp.Diff([]string{"w-1", "w-2", "w-3"}, ids(people)); d != "" || !people[1].Damaged || people[0].Damaged {
				t.Errorf("People = %+v, want w-2 alone damaged", people)
			}
			// Dirty, the person is pending at once; clean, once a
			// replica has opened the schema and quarantined the row.
			wantPending := []store.Person{damaged("w-2")}
			var gen uint64
			if !f.dirty {
				if got := pendingOf(t, st); len(got) != 0 {
					t.Errorf("pending before any check = %+v, want none", got)
				}
				// A write before the check does not seal the damage.
				gen, err = st.Intend(ctx, "t", "w-2", realtime)
				must(t, err)
				if got := get(t, st, "w-2"); !cmp.Equal(got, damaged("w-2")) {
					t.Fatalf("w-2 after an intent = %+v, want still damaged", got)
				}
			}
			replica := open(t, pool, schema)
			for _, s := range []*postgres.Store{st, replica} {
				if got := pendingOf(t, s); !cmp.Equal(got, wantPending) {
					t.Errorf("pending after a replica opened = %+v, want %+v", got, wantPending)
				}
			}

			// The Commit that rebuilds the row keeps nothing of the
			// damaged one, and sums what it writes; it clears the
			// mark the intent left, which the engine read.
			rebuilt := map[string]store.Applied{"email": {Value: "w-2@x", Version: hrtype.Version{Time: t0, Seq: 2}}}
			must(t, st.Commit(ctx, "t", store.Commit{ID: "w-2", Generation: gen, Exists: true, Active: true, Applied: rebuilt}))
			want := store.Person{ID: "w-2", Exists: true, Active: true, Applied: rebuilt}
			if d := cmp.Diff(want, get(t, replica, "w-2"), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("w-2 after its commit (-want +got):\n%s", d)
			}
			if got := pendingOf(t, st); len(got) != 0 {
				t.Errorf("pending after the commit = %+v, want none", got)
			}
			if d := cmp.Diff(w1, get(t, open(t, pool, schema), "w-1"), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("w-1, never damaged, after all that (-before +after):\n%s", d)
			}
		})
	}
}

// TestDamagedRowTakesWrites: every write to a damaged person succeeds and
// leaves them damaged — marked, dead-lettered, listed — rather than
// failing the poll or batch that makes it; a re-key from or onto them is
// refused as a conflict, since whether they hold an account is not known.
func TestDamagedRowTakesWrites(t *testing.T) {
	ctx := t.Context()
	pool, schema := database(t, 4)
	st := open(t, pool, schema)
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	for _, id := range []string{"w-1", "w-2"} {
		must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true}))
	}
	exec(t, pool, schema, `UPDATE {{schema}}.people SET has_acct = false WHERE id = 'w-2'`)
	must(t, st.MarkDirty(ctx, "t", []string{"w-2"}, realtime))
	must(t, st.Fail(ctx, "t", "w-2", store.Failure{Attempts: 1, Err: "503", At: t0, Dead: true}, realtime))
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w-1", Run: "r1", Digest: "d1"}, {ID: "w-2", Run: "r1", Digest: "d2"}}))
	dead, err := st.DeadLetters(ctx, "t")
	must(t, err)
	if !cmp.Equal(dead, []store.Person{damaged("w-2")}) {
		t.Errorf("dead letters = %+v, want w-2 damaged", dead)
	}
	if got := pendingOf(t, st); !cmp.Equal(got, []store.Person{damaged("w-2")}) {
		t.Errorf("pending = %+v, want w-2 damaged", got)
	}
	for _, rk := range []store.Rekeying{{From: "w-2", To: "w-9"}, {From: "w-1", To: "w-2"}} {
		if _, err := st.Rekey(ctx, "t", rk); !errors.Is(err, store.ErrConflict) {
			t.Errorf("re-keying %s to %s: %v, want ErrConflict", rk.From, rk.To, err)
		}
	}
	if p := get(t, st, "w-1"); !p.Exists || p.Listed != (store.Listing{Run: "r1", Digest: "d1"}) {
		t.Errorf("w-1 beside the damaged w-2 = %+v", p)
	}
}

// TestUndecodableRowIsDamaged: a column that no longer decodes at all is
// damage too, summed or not.
func TestUndecodableRowIsDamaged(t *testing.T) {
	ctx := t.Context()
	pool, schema := database(t, 4)
	st := open(t, pool, schema)
	must(t, st.Commit(ctx, "t", store.Commit{ID: "w-1", Exists: true, Active: true}))
	exec(t, pool, schema, `UPDATE {{schema}}.people SET applied = '{"role":["dev",17', sum = NULL WHERE id = 'w-1'`)
	if got := get(t, st, "w-1"); !cmp.Equal(got, damaged("w-1")) {
		t.Fatalf("w-1 with undecodable fields = %+v, want damaged", got)
	}
	if got := pendingOf(t, open(t, pool, schema)); !cmp.Equal(got, []store.Person{damaged("w-1")}) {
		t.Errorf("pending after a replica opened = %+v, want w-1 damaged", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st *postgres.Store, id string) store.Person {
	t.Helper()
	p, err := st.Person(t.Context(), "t", id)
	must(t, err)
	return p
}

// pendingOf is everyone pending in tenant t, however far off their due
// time.
func pendingOf(t *testing.T, st *postgres.Store) []store.Person {
	t.Helper()
	ps, err := st.Pending(t.Context(), "t", t0, "", 100)
	must(t, err)
	return ps
}

// A schema written by the version before checksums (testdata/v5.sql, a
// pg_dump of it, written by testdata/v5.go) migrates in place: every row
// is kept as it was, without a checksum, and read as that version wrote it
// (trusted, since it decodes); the next write to a row sums it, and from
// then on a flip in it is caught, while the same flip in a row not yet
// written is not: trust until next written is the price of not rewriting
// every row in the migration.
func TestMigratesVersion5(t *testing.T) {
	ctx := t.Context()
	st, pool, schema := openDump(t, "testdata/v5.sql", "v5dump")
	var version int
	must(t, pool.QueryRow(ctx, "SELECT max(version) FROM "+schema+".schema_version").Scan(&version))
	if version != 6 {
		t.Fatalf("schema version after opening v5 = %d, want 6", version)
	}
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	w2, w3, w4 := realtime, realtime, realtime
	w2.Generation, w2.EventID, w2.MinVersion = 1, "e-1", v(3)
	w3.Generation = 2
	w4.Generation, w4.Unsure = 3, true
	want := map[string]store.Person{
		"w-1": {ID: "w-1", Exists: true, Active: true, Due: at.Add(72 * time.Hour), Listed: store.Listing{Run: "r1", Digest: "d1"},
			Applied: map[string]store.Applied{"email": {Value: "w-1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		"w-2": {ID: "w-2", Dirty: w2},
		"w-3": {ID: "w-3", Exists: true, Active: true, Dirty: w3, Listed: store.Listing{Run: "r1", Digest: "d3"},
			Applied: map[string]store.Applied{"email": {Value: "w-3@acme.test", Version: v(4)}},
			Failure: &store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}},
		"w-4": {ID: "w-4", Dirty: w4},
		"w-5": {ID: "w-5", Exists: true, Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}}},
		"n-1": {ID: "n-1", Listed: store.Listing{Run: "r1", Digest: "dn"}},
	}
	equate := cmpopts.EquateEmpty()
	summed := func() (n int) {
		must(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".people WHERE sum IS NOT NULL OR damaged").Scan(&n))
		return n
	}
	if n := summed(); n != 0 {
		t.Errorf("%d rows summed or quarantined by the migration, want none", n)
	}
	for id, w := range want {
		if d := cmp.Diff(w, person(t, st, "acme", id), equate); d != "" {
			t.Errorf("%s after the migration (-v5 +now):\n%s", id, d)
		}
	}
	pending, err := st.Pending(ctx, "acme", at, "", 10)
	must(t, err)
	if d := cmp.Diff([]string{"w-2", "w-3", "w-4"}, ids(pending)); d != "" {
		t.Errorf("Pending after the migration (-want +got):\n%s", d)
	}

	// The next writes sum their rows: a commit, an intent on a mark v5
	// wrote, a listing.
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w-1", Exists: true, Active: true, Due: at.Add(72 * time.Hour),
		Applied: map[string]store.Applied{"role": {Value: "lead", Version: v(7)}}}))
	gen, err := st.Intend(ctx, "acme", "w-4", store.Mark{Since: at.Add(time.Hour), Classes: cadence.Batch, Trigger: "batch"})
	must(t, err)
	must(t, st.Listed(ctx, "acme", []store.Listing{{ID: "n-1", Digest: "dn2"}}))
	if n := summed(); n != 3 {
		t.Errorf("%d rows summed after three were written, want 3", n)
	}
	w1 := want["w-1"]
	w1.Applied = map[string]store.Applied{"email": w1.Applied["email"], "role": {Value: "lead", Version: v(7)}}
	w4m := w4
	w4m.Generation, w4m.Classes, w4m.Trigger = gen, cadence.Realtime|cadence.Batch, "batch"
	written := map[string]store.Person{"w-1": w1, "w-4": {ID: "w-4", Dirty: w4m}, "n-1": {ID: "n-1", Listed: store.Listing{Run: "r1", Digest: "dn2"}}}
	again := open(t, pool, schema)
	for id, w := range written {
		if d := cmp.Diff(w, person(t, again, "acme", id), equate); d != "" {
			t.Errorf("%s, written after the migration (-want +got):\n%s", id, d)
		}
	}

	// The same flip in a summed row and in one not yet written.
	exec(t, pool, schema, `UPDATE {{schema}}.people SET active = NOT active WHERE id = 'w-1'`)
	exec(t, pool, schema, `UPDATE {{schema}}.people SET active = NOT active WHERE id = 'w-3'`)
	if p := person(t, again, "acme", "w-1"); !cmp.Equal(p, damaged("w-1")) {
		t.Errorf("w-1, summed, after a flip = %+v, want damaged", p)
	}
	if p := person(t, again, "acme", "w-3"); p.Damaged || p.Active {
		t.Errorf("w-3, not yet summed, after a flip = %+v, want trusted as it reads", p)
	}
}

func person(t *testing.T, st *postgres.Store, tenant, id string) store.Person {
	t.Helper()
	p, err := st.Person(t.Context(), tenant, id)
	must(t, err)
	return p
}
