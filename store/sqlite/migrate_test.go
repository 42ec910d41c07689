package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// copyFixture copies a file from testdata into a temporary directory, so
// that the test migrates a copy and never the file checked in.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMigrationFromV1 opens a file written in the first stored format
// (testdata/v1.db, written by testdata/v1.go before migrations 0002 and
// 0003) and finds everything it held, an audit anchor that is zero and then
// settable, and rows from before checksums read as sound.
func TestMigrationFromV1(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v1.db")
	st := open(t, path, nil)

	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	w2 := realtime
	w2.Generation, w2.EventID, w2.MinVersion = 1, "e1", v(3)
	w3, w4 := realtime, realtime
	w3.Generation = 2
	w4.Generation, w4.Unsure = 3, true
	want := map[string]store.Person{
		"w1": {ID: "w1", Exists: true, Active: true, Due: t0.Add(72 * time.Hour),
			Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		"w2": {ID: "w2", Dirty: w2},
		"w3": {ID: "w3", Dirty: w3, Failure: &store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}},
		"w4": {ID: "w4", Dirty: w4},
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}
	for id, p := range want {
		if d := cmp.Diff(p, person(t, st, "acme", id), opts); d != "" {
			t.Errorf("%s after the migration (-v1 +now):\n%s", id, d)
		}
	}
	if d := cmp.Diff([]string{"w2", "w3", "w4"}, ids(pending(t, st, "acme", t0))); d != "" {
		t.Errorf("pending (-want +got):\n%s", d)
	}
	people, err := st.People(ctx, "acme", "", 10)
	must(t, err)
	dead, err := st.DeadLetters(ctx, "acme")
	must(t, err)
	if !cmp.Equal(ids(people), []string{"w1"}) || !cmp.Equal(ids(dead), []string{"w3"}) {
		t.Errorf("people %v, dead letters %v; want [w1] and [w3]", ids(people), ids(dead))
	}
	if dup, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w2", Mark: realtime}); err != nil || !dup {
		t.Errorf("event e1 again: duplicate=%v err=%v, want it remembered", dup, err)
	}
	box, err := st.Outbox(ctx, "acme", 10)
	must(t, err)
	if d := cmp.Diff([]string{"a1", "run-1"}, entryIDs(box)); d != "" {
		t.Errorf("outbox (-want +got):\n%s", d)
	}
	run, err := st.LastBatchRun(ctx, "acme")
	must(t, err)
	wantRun := store.BatchRun{ID: "run-1", Status: store.BatchSucceeded, Attempt: 1, Started: t0, Finished: t0.Add(time.Minute), Seen: 4, Writes: 1}
	if d := cmp.Diff(wantRun, run, opts); d != "" {
		t.Errorf("last run (-want +got):\n%s", d)
	}
	if c, err := st.Cursor(ctx, "acme", "poll"); err != nil || !c.Equal(t0.Add(time.Hour)) {
		t.Errorf("poll cursor = %v (%v), want %v", c, err, t0.Add(time.Hour))
	}
	if p := person(t, st, "beta", "w1"); p.Applied["role"].Value != "ops" || p.Active {
		t.Errorf("tenant beta's w1 = %+v", p)
	}
	// The generation counter goes on from where v1 left it.
	gen, err := st.Intend(ctx, "acme", "w5", realtime)
	must(t, err)
	if gen != 4 {
		t.Errorf("first generation after the migration = %d, want 4", gen)
	}

	// The anchor: zero, then raised with an acknowledgement.
	for _, tenant := range []string{"acme", "beta"} {
		if a, err := st.Anchor(ctx, tenant); err != nil || a != (audit.Head{}) {
			t.Fatalf("%s anchor after the migration = %+v (%v), want zero", tenant, a, err)
		}
	}
	head := audit.Head{Seq: 1, Hash: "hash-1"}
	must(t, st.Ack(ctx, "acme", []string{"a1"}, head))
	// A row from before checksums is rewritten with one.
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w1", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "lead", Version: v(9)}}}))
	must(t, st.Close())

	st = open(t, path, nil)
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != head {
		t.Errorf("anchor after reopening = %+v (%v), want %+v", a, err, head)
	}
	box, err = st.Outbox(ctx, "acme", 10)
	must(t, err)
	if d := cmp.Diff([]string{"run-1"}, entryIDs(box)); d != "" {
		t.Errorf("outbox after the ack (-want +got):\n%s", d)
	}
	wantW1 := map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "lead", Version: v(9)}}
	if d := cmp.Diff(wantW1, person(t, st, "acme", "w1").Applied, opts); d != "" {
		t.Errorf("w1 applied after a commit and a reopening (-want +got):\n%s", d)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func person(t *testing.T, st *sqlite.Store, tenant, id string) store.Person {
	t.Helper()
	p, err := st.Person(t.Context(), tenant, id)
	must(t, err)
	return p
}

func pending(t *testing.T, st *sqlite.Store, tenant string, until time.Time) []store.Person {
	t.Helper()
	ps, err := st.Pending(t.Context(), tenant, until, "", 1000)
	must(t, err)
	return ps
}

func ids(ps []store.Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func entryIDs(es []audit.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestMigrationFromV3 opens a file written in the third stored format
// (testdata/v3.db, written by testdata/v3.go before migration 0004) and
// finds everything it held; Revocations works on it at once, with nothing
// spent and the accounts the file held counted active; and a commit that
// ends someone's access is counted, across a reopening, until ForgetEvents
// lets it go.
func TestMigrationFromV3(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v3.db")
	st := open(t, path, nil)

	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	email := func(id, tenant string, sec int) map[string]store.Applied {
		return map[string]store.Applied{"email": {Value: id + "@" + tenant + ".test", Version: v(sec)}}
	}
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	w4, w5, w6 := realtime, realtime, realtime
	w4.Generation, w4.EventID, w4.MinVersion = 1, "e1", v(5)
	w5.Generation = 2
	w6.Generation, w6.Unsure = 3, true
	want := map[string]store.Person{
		"w1": {ID: "w1", Exists: true, Active: true, Due: t0.Add(72 * time.Hour),
			Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		"w2": {ID: "w2", Exists: true, Active: true, Applied: email("w2", "acme", 3)},
		"w3": {ID: "w3", Exists: true, Applied: email("w3", "acme", 4)},
		"w4": {ID: "w4", Dirty: w4},
		"w5": {ID: "w5", Dirty: w5, Failure: &store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}},
		"w6": {ID: "w6", Exists: true, Active: true, Applied: email("w6", "acme", 6), Dirty: w6},
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}
	for id, p := range want {
		if d := cmp.Diff(p, person(t, st, "acme", id), opts); d != "" {
			t.Errorf("%s after the migration (-v3 +now):\n%s", id, d)
		}
	}
	for id, p := range map[string]store.Person{
		"b1": {ID: "b1", Exists: true, Active: true, Applied: email("b1", "beta", 7)},
		"b2": {ID: "b2", Exists: true, Applied: email("b2", "beta", 8)},
	} {
		if d := cmp.Diff(p, person(t, st, "beta", id), opts); d != "" {
			t.Errorf("beta's %s after the migration (-v3 +now):\n%s", id, d)
		}
	}
	if d := cmp.Diff([]string{"w4", "w5", "w6"}, ids(pending(t, st, "acme", t0))); d != "" {
		t.Errorf("pending (-want +got):\n%s", d)
	}
	people, err := st.People(ctx, "acme", "", 10)
	must(t, err)
	dead, err := st.DeadLetters(ctx, "acme")
	must(t, err)
	if !cmp.Equal(ids(people), []string{"w1", "w2", "w3", "w6"}) || !cmp.Equal(ids(dead), []string{"w5"}) {
		t.Errorf("people %v, dead letters %v; want [w1 w2 w3 w6] and [w5]", ids(people), ids(dead))
	}
	if dup, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w4", Mark: realtime}); err != nil || !dup {
		t.Errorf("event e1 again: duplicate=%v err=%v, want it remembered", dup, err)
	}
	box, err := st.Outbox(ctx, "acme", 10)
	must(t, err)
	if d := cmp.Diff([]string{"a1", "run-1"}, entryIDs(box)); d != "" {
		t.Errorf("outbox (-want +got):\n%s", d)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{Seq: 1, Hash: "hash-1"}) {
		t.Errorf("anchor = %+v (%v), want the one v3 acknowledged", a, err)
	}
	run, err := st.LastBatchRun(ctx, "acme")
	must(t, err)
	wantRun := store.BatchRun{ID: "run-1", Status: store.BatchSucceeded, Attempt: 1, Started: t0, Finished: t0.Add(time.Minute), Seen: 6, Writes: 4}
	if d := cmp.Diff(wantRun, run, opts); d != "" {
		t.Errorf("last run (-want +got):\n%s", d)
	}
	if c, err := st.Cursor(ctx, "acme", "poll"); err != nil || !c.Equal(t0.Add(time.Hour)) {
		t.Errorf("poll cursor = %v (%v), want %v", c, err, t0.Add(time.Hour))
	}
	// The generation counter goes on from where v3 left it.
	gen, err := st.Intend(ctx, "acme", "w7", realtime)
	must(t, err)
	if gen != 4 {
		t.Errorf("first generation after the migration = %d, want 4", gen)
	}

	// The revocations: none spent yet, the file's active accounts counted.
	revocations := func(st *sqlite.Store, tenant string, since time.Time) store.Revocations {
		t.Helper()
		r, err := st.Revocations(ctx, tenant, since)
		must(t, err)
		return r
	}
	for tenant, active := range map[string]int{"acme": 3, "beta": 1} {
		if r := revocations(st, tenant, time.Time{}); len(r.Spent) != 0 || r.Active != active {
			t.Errorf("%s's revocations after the migration = %+v, want none spent and %d active", tenant, r, active)
		}
	}
	// w2 leaves: one spent, one fewer active.
	at := t0.Add(24 * time.Hour)
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w2", Exists: true, Active: false, Applied: email("w2", "acme", 9),
		Revoked: hrissync.BudgetTerminated, At: at}))
	wantSpent := map[string]int{hrissync.BudgetTerminated: 1}
	if r := revocations(st, "acme", at); !cmp.Equal(r.Spent, wantSpent) || r.Active != 2 {
		t.Errorf("acme's revocations after w2 left = %+v, want %v and 2 active", r, wantSpent)
	}
	if r := revocations(st, "acme", at.Add(time.Nanosecond)); len(r.Spent) != 0 {
		t.Errorf("acme's spent since just after w2 left = %v, want none", r.Spent)
	}
	if r := revocations(st, "beta", time.Time{}); len(r.Spent) != 0 || r.Active != 1 {
		t.Errorf("beta's revocations after acme's w2 left = %+v, want none spent and 1 active", r)
	}
	must(t, st.Close())

	st = open(t, path, nil)
	if r := revocations(st, "acme", t0); !cmp.Equal(r.Spent, wantSpent) || r.Active != 2 {
		t.Errorf("acme's revocations after reopening = %+v, want %v and 2 active", r, wantSpent)
	}
	// Kept for RevocationRetention, then forgotten with the event ids.
	_, err = st.ForgetEvents(ctx, "acme", at.Add(store.RevocationRetention))
	must(t, err)
	if r := revocations(st, "acme", t0); !cmp.Equal(r.Spent, wantSpent) {
		t.Errorf("acme's spent after ForgetEvents at the end of the retention = %v, want %v", r.Spent, wantSpent)
	}
	_, err = st.ForgetEvents(ctx, "acme", at.Add(store.RevocationRetention+time.Nanosecond))
	must(t, err)
	if r := revocations(st, "acme", t0); len(r.Spent) != 0 {
		t.Errorf("acme's spent after ForgetEvents past the retention = %v, want none", r.Spent)
	}
}

// TestMigrationFromV4 opens a file written in the fourth stored format
// (testdata/v4.db, written by testdata/v4.go before migration 0005 gave
// remembered events a fingerprint): its event ids are still remembered and
// any repeat of them is a repeat, whatever it says (what it said was not
// kept); ids remembered from now on are refused with ErrEventConflict when
// reused by another event; the revocation it held is still spent; and the
// old ids are forgotten on time.
func TestMigrationFromV4(t *testing.T) {
	ctx := t.Context()
	st := open(t, copyFixture(t, "v4.db"), nil)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	offer := func(tenant, event, id, fingerprint string) (bool, error) {
		return st.Accept(ctx, tenant, store.Acceptance{EventID: event, Fingerprint: fingerprint, EmployeeID: id, Mark: realtime, Forget: t0.Add(48 * time.Hour)})
	}
	for _, c := range []struct{ tenant, event, id string }{{"acme", "msg_1", "w1"}, {"acme", "msg_2", "w2"}, {"beta", "msg_1", "b1"}, {"acme", "msg_1", "w9"}} {
		if dup, err := offer(c.tenant, c.event, c.id, "f-new"); err != nil || !dup {
			t.Errorf("%s's %s (remembered by v4) for %s: duplicate=%v err=%v, want a repeat", c.tenant, c.event, c.id, dup, err)
		}
	}
	if p := person(t, st, "acme", "w9"); p.Dirty.Generation != 0 {
		t.Errorf("a repeat marked w9: %+v", p.Dirty)
	}
	if dup, err := offer("acme", "msg_3", "w3", "f3"); err != nil || dup {
		t.Fatalf("a new event: duplicate=%v err=%v", dup, err)
	}
	if _, err := offer("acme", "msg_3", "w4", "f4"); !errors.Is(err, store.ErrEventConflict) {
		t.Errorf("a new id reused by another event: err=%v, want ErrEventConflict", err)
	}
	if r, err := st.Revocations(ctx, "acme", t0); err != nil || r.Spent[hrissync.BudgetTerminated] != 1 {
		t.Errorf("revocations after the migration = %+v (%v), want the one v4 spent", r, err)
	}
	n, err := st.ForgetEvents(ctx, "acme", t0.Add(24*time.Hour))
	must(t, err)
	if n != 1 {
		t.Errorf("ForgetEvents at a day = %d, want acme's msg_1", n)
	}
	if dup, err := offer("acme", "msg_1", "w1", "f1"); err != nil || dup {
		t.Errorf("msg_1 once forgotten: duplicate=%v err=%v, want accepted", dup, err)
	}
}

// TestMigrationFromV5 opens a file written in the fifth stored format
// (testdata/v5.db, written by testdata/v5.go before migration 0006 gave
// each person a listing) and finds every person as v5 wrote them, with no
// listing, through every read; none damaged, so the rows' checksums, taken
// before the listing existed, still verify (Open's check quarantines any
// that do not). Listed and Lookup work on it at once, for people it held
// and people it did not, and what they wrote survives a reopening (and its
// check) and a commit.
func TestMigrationFromV5(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v5.db")
	st := open(t, path, nil)

	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	w2, w3, w4 := realtime, realtime, realtime
	w2.Generation, w2.EventID, w2.MinVersion = 1, "e1", v(3)
	w3.Generation = 2
	w4.Generation, w4.Unsure = 3, true
	want := map[string]store.Person{
		"w1": {ID: "w1", Exists: true, Active: true, Due: at.Add(72 * time.Hour),
			Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		"w2": {ID: "w2", Dirty: w2},
		"w3": {ID: "w3", Exists: true, Active: true, Dirty: w3,
			Applied: map[string]store.Applied{"email": {Value: "w3@acme.test", Version: v(4)}},
			Failure: &store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}},
		"w4": {ID: "w4", Dirty: w4},
		"w5": {ID: "w5", Exists: true, Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}}},
	}
	b1 := store.Person{ID: "b1", Exists: true, Active: true, Applied: map[string]store.Applied{"email": {Value: "b1@beta.test", Version: v(6)}}}
	equate := cmpopts.EquateEmpty()
	check := func(how string, got []store.Person, wantIDs ...string) {
		t.Helper()
		if d := cmp.Diff(wantIDs, ids(got), equate); d != "" {
			t.Errorf("%s lists (-want +got):\n%s", how, d)
		}
		for _, p := range got {
			if d := cmp.Diff(want[p.ID], p, equate); d != "" {
				t.Errorf("%s: %s after the migration (-v5 +now):\n%s", how, p.ID, d)
			}
		}
	}
	for id := range want {
		check("Person", []store.Person{person(t, st, "acme", id)}, id)
	}
	if d := cmp.Diff(b1, person(t, st, "beta", "b1"), equate); d != "" {
		t.Errorf("beta's b1 after the migration (-v5 +now):\n%s", d)
	}
	all, err := st.Lookup(ctx, "acme", []string{"w5", "w1", "w4", "w3", "w2", "w1"})
	must(t, err)
	check("Lookup", all, "w5", "w1", "w4", "w3", "w2", "w1")
	check("Pending", pending(t, st, "acme", at), "w2", "w3", "w4")
	people, err := st.People(ctx, "acme", "", 10)
	must(t, err)
	check("People", people, "w1", "w3", "w5")
	dead, err := st.DeadLetters(ctx, "acme")
	must(t, err)
	check("DeadLetters", dead, "w3")
	if dup, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w2", Mark: realtime}); err != nil || !dup {
		t.Errorf("the remembered event e1: duplicate=%v err=%v", dup, err)
	}
	if r, err := st.Revocations(ctx, "acme", at); err != nil || r.Spent[hrissync.BudgetTerminated] != 1 || r.Active != 2 {
		t.Errorf("revocations after the migration = %+v (%v), want the one v5 spent and w1 and w3 active", r, err)
	}
	if box, err := st.Outbox(ctx, "acme", 10); err != nil || len(box) != 1 || box[0].ID != "a1" {
		t.Errorf("outbox after the migration = %+v (%v)", box, err)
	}
	if r, err := st.LastBatchRun(ctx, "acme"); err != nil || r.ID != "run-1" || r.Writes != 3 {
		t.Errorf("last run = %+v (%v)", r, err)
	}

	// A batch run lists w1, the dead-lettered w3 and n1, whom the file did
	// not hold; a poll's listing then replaces w1's digest, keeping its run.
	must(t, st.Listed(ctx, "acme", []store.Listing{{ID: "w1", Run: "r1", Digest: "d1"}, {ID: "w3", Run: "r1", Digest: "d3"}, {ID: "n1", Run: "r1", Digest: "dn"}}))
	must(t, st.Listed(ctx, "acme", []store.Listing{{ID: "w1", Digest: "d1b"}}))
	listed := map[string]store.Listing{"w1": {Run: "r1", Digest: "d1b"}, "w3": {Run: "r1", Digest: "d3"}}
	for id, l := range listed {
		p := want[id]
		p.Listed = l
		want[id] = p
	}
	want["n1"] = store.Person{ID: "n1", Listed: store.Listing{Run: "r1", Digest: "dn"}}
	// The rest, marks and all, as v5 left them.
	all, err = st.Lookup(ctx, "acme", []string{"n1", "w1", "w2", "w3", "w4", "w5"})
	must(t, err)
	check("Lookup after Listed", all, "n1", "w1", "w2", "w3", "w4", "w5")

	// The file checks out when reopened: its schema is migrations 1-6's
	// and no row, listed or not, fails its checksum.
	must(t, st.Close())
	st = open(t, path, nil)
	all, err = st.Lookup(ctx, "acme", []string{"n1", "w1", "w2", "w3", "w4", "w5"})
	must(t, err)
	check("Lookup after reopening", all, "n1", "w1", "w2", "w3", "w4", "w5")
	people, err = st.People(ctx, "acme", "", 10)
	must(t, err)
	check("People after reopening", people, "w1", "w3", "w5")
	check("Pending after reopening", pending(t, st, "acme", at), "w2", "w3", "w4")

	// A commit keeps the listing: it is the list's, not the account's.
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w3", Generation: 2, Exists: true, Active: true, Applied: want["w3"].Applied}))
	if p := person(t, st, "acme", "w3"); p.Listed != listed["w3"] || p.Failure != nil || p.Damaged {
		t.Errorf("w3 after its commit = %+v, want its listing %+v kept", p, listed["w3"])
	}
}

// TestRekeyOnV5 re-keys people a file in the fifth stored format
// (testdata/v5.db) holds, with no migration for it: the mark that owes the
// rebinding is JSON, and what is left of the old id a field of its applied
// JSON, both of which every stored format holds. w1's account moves onto
// w2, whom a webhook marked dirty before v5 closed the file, and w5's onto
// n1, whom the file did not hold; both read back as moved, after a
// reopening (and its check of every row's checksum) too, and the write's
// commit clears what the re-key owed.
func TestRekeyOnV5(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v5.db")
	st := open(t, path, nil)

	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	rekey := store.Mark{Since: at.Add(time.Hour), Classes: cadence.All, Trigger: "realtime"}
	gen, err := st.Rekey(ctx, "acme", store.Rekeying{From: "w1", To: "w2", Mark: rekey,
		Audit: audit.Entry{ID: "rk-1", Tenant: "acme", EmployeeID: "w2", Action: "rekey", Applied: at, Outcome: "recorded"}})
	must(t, err)
	if gen <= 3 {
		t.Errorf("Rekey's generation %d, want one beyond the 3 v5 gave", gen)
	}
	gen5, err := st.Rekey(ctx, "acme", store.Rekeying{From: "w5", To: "n1", Mark: rekey,
		Audit: audit.Entry{ID: "rk-2", Tenant: "acme", EmployeeID: "n1", Action: "rekey", Applied: at, Outcome: "recorded"}})
	must(t, err)

	// w2 keeps the mark v5 wrote (its event, its version, its Since),
	// merged with the re-key's.
	want := map[string]store.Person{
		"w1": {ID: "w1", Applied: store.MovedTo("w2")},
		"w2": {ID: "w2", Exists: true, Active: true,
			Applied: map[string]store.Applied{"email": {Value: "w1@acme.test"}, "role": {Value: "dev"}},
			Dirty: store.Mark{Generation: gen, Since: at, Classes: cadence.Realtime | cadence.All, Trigger: "realtime",
				EventID: "e1", MinVersion: v(3), Unsure: true, RekeyFrom: "w1"}},
		"w5": {ID: "w5", Applied: store.MovedTo("n1")},
		"n1": {ID: "n1", Exists: true, Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false"}},
			Dirty: store.Mark{Generation: gen5, Since: at.Add(time.Hour), Classes: cadence.All, Trigger: "realtime", Unsure: true, RekeyFrom: "w5"}},
	}
	equate := cmpopts.EquateEmpty()
	check := func(how string) {
		t.Helper()
		for id, w := range want {
			if d := cmp.Diff(w, person(t, st, "acme", id), equate); d != "" {
				t.Errorf("%s: %s (-want +got):\n%s", how, id, d)
			}
		}
		people, err := st.People(ctx, "acme", "", 10)
		must(t, err)
		if d := cmp.Diff([]string{"n1", "w2", "w3"}, ids(people)); d != "" {
			t.Errorf("%s: People (-want +got):\n%s", how, d)
		}
		if d := cmp.Diff([]string{"n1", "w2", "w3", "w4"}, ids(pending(t, st, "acme", at.Add(100*time.Hour)))); d != "" {
			t.Errorf("%s: Pending (-want +got):\n%s (w1 keeps no due time)", how, d)
		}
		box, err := st.Outbox(ctx, "acme", 10)
		must(t, err)
		if d := cmp.Diff([]string{"a1", "rk-1", "rk-2"}, entryIDs(box)); d != "" {
			t.Errorf("%s: outbox (-want +got):\n%s", how, d)
		}
	}
	check("after Rekey")

	// The file checks out when reopened: no row the re-keys wrote, nor
	// any they left, fails its checksum.
	must(t, st.Close())
	st = open(t, path, nil)
	check("after reopening")

	// The write that rebinds w2's account commits: the mark goes, and
	// with it what w2 owed w1.
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w2", Generation: gen, Exists: true, Active: true}))
	if p := person(t, st, "acme", "w2"); p.Dirty != (store.Mark{}) || !p.Exists || p.Applied["email"].Value != "w1@acme.test" {
		t.Errorf("w2 after the write's commit = %+v, want clean, with w1's account", p)
	}
	if p := person(t, st, "acme", "w1"); p.MovedTo() != "w2" || p.Exists {
		t.Errorf("w1 after w2's commit = %+v, want only that it moved to w2", p)
	}
}
