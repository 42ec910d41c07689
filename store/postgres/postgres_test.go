package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
	"github.com/hrissync/hrissync/store/storetest"
)

// urlVar names the PostgreSQL server the tests use; .ci/run starts one and
// sets it.
const urlVar = "HRISSYNC_POSTGRES_URL"

var schemas atomic.Int64

// database returns a pool on the test server and a schema of the test's own,
// dropped at the end. Without the server the test is skipped.
func database(t testing.TB, conns int32) (*pgxpool.Pool, string) {
	t.Helper()
	url := os.Getenv(urlVar)
	if url == "" {
		t.Skip(urlVar + " is not set: start a server with `eval \"$(.ci/postgres start)\"` (as .ci/run does) to run the PostgreSQL tests")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
		if err != nil {
			t.Error(err)
		}
	})
	return pool, schema
}

func open(t testing.TB, pool *pgxpool.Pool, schema string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pool, &postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		pool, schema := database(t, 16)
		return open(t, pool, schema)
	})
}

// TestConformanceDamage flips what a row holds with SQL behind the Store's
// back, then opens the schema again, as another replica would.
func TestConformanceDamage(t *testing.T) {
	type place struct {
		pool   *pgxpool.Pool
		schema string
	}
	places := map[store.Store]place{}
	flips := map[storetest.Flip]string{
		storetest.FlipVersion:    "applied = replace(applied, ',1]', ',9]')",
		storetest.FlipActive:     "active = NOT active",
		storetest.FlipDue:        "due = due # (1::bigint << 50)",
		storetest.FlipGeneration: "dirty_gen = dirty_gen # 4",
	}
	storetest.RunDamage(t, func(t *testing.T) store.Store {
		pool, schema := database(t, 4)
		st := open(t, pool, schema)
		places[st] = place{pool, schema}
		return st
	}, func(t *testing.T, s store.Store, tenant, id string, f storetest.Flip) store.Store {
		p := places[s]
		tag, err := p.pool.Exec(context.Background(), "UPDATE "+p.schema+".people SET "+flips[f]+" WHERE tenant = $1 AND id = $2", tenant, id)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("flipping %s: %v rows, %v", f, tag.RowsAffected(), err)
		}
		return open(t, p.pool, p.schema)
	})
}

func TestReopenAndNewerSchema(t *testing.T) {
	pool, schema := database(t, 4)
	ctx := context.Background()
	st := open(t, pool, schema)
	if err := st.SetCursor(ctx, "t", "poll", time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	// Opening again (another replica) migrates nothing and sees the state.
	again := open(t, pool, schema)
	if at, err := again.Cursor(ctx, "t", "poll"); err != nil || !at.Equal(time.Unix(100, 0)) {
		t.Fatalf("cursor after reopening = %v, %v", at, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO "+schema+".schema_version VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, pool, &postgres.Options{Schema: schema}); !errors.Is(err, postgres.ErrNewerSchema) {
		t.Fatalf("opening a newer schema: %v, want ErrNewerSchema", err)
	}
	if _, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "Bad-Name"}); err == nil {
		t.Fatal("a schema name needing quotes was accepted")
	}
}

// A schema written by the version before the audit anchor (a pg_dump of it,
// in testdata) migrates in place: its state is all there, and the anchor
// starts at zero and can be raised.
func TestMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	st, _, _ := openVersion1(t)
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	p, err := st.Person(ctx, "acme", "w-2")
	if err != nil || !p.Exists || p.Applied["role"].Value != "Engineer" || !p.Due.Equal(at.Add(48*time.Hour)) {
		t.Errorf("w-2 after the migration = %+v (%v)", p, err)
	}
	if p, err := st.Person(ctx, "acme", "w-1"); err != nil || p.Dirty.Generation == 0 || p.Dirty.EventID != "evt-1" {
		t.Errorf("w-1's mark after the migration = %+v (%v)", p.Dirty, err)
	}
	if dup, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "evt-1", EmployeeID: "w-1"}); err != nil || !dup {
		t.Errorf("the remembered event evt-1: duplicate = %v (%v)", dup, err)
	}
	if box, err := st.Outbox(ctx, "acme", 10); err != nil || len(box) != 1 || box[0].ID != "entry-1" {
		t.Errorf("outbox after the migration = %+v (%v)", box, err)
	}
	if c, err := st.Cursor(ctx, "acme", "poll"); err != nil || !c.Equal(at) {
		t.Errorf("cursor = %v (%v)", c, err)
	}
	if r, err := st.BatchRun(ctx, "acme", "run-1"); err != nil || r.Status != store.BatchSucceeded || r.Writes != 1 {
		t.Errorf("run = %+v (%v)", r, err)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{}) {
		t.Errorf("anchor after the migration = %+v (%v), want zero", a, err)
	}
	if err := st.Ack(ctx, "acme", []string{"entry-1"}, audit.Head{Seq: 1, Hash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{Seq: 1, Hash: "h1"}) {
		t.Errorf("anchor = %+v (%v), want raised to 1", a, err)
	}
	if box, _ := st.Outbox(ctx, "acme", 10); len(box) != 0 {
		t.Errorf("outbox after Ack = %+v", box)
	}
}

// openVersion1 loads the saved version-1 schema (testdata/v1.sql, a pg_dump
// of a schema the first version wrote) into a fresh schema and opens it with
// this version, which migrates it; the pool and schema are for opening it
// again.
func openVersion1(t *testing.T) (st *postgres.Store, pool *pgxpool.Pool, schema string) {
	t.Helper()
	return openDump(t, "testdata/v1.sql", "v1dump")
}

// openDump loads a saved schema (a pg_dump in testdata, its schema named
// dumped) into a fresh schema and opens it with this version, which migrates
// it.
func openDump(t *testing.T, file, dumped string) (st *postgres.Store, pool *pgxpool.Pool, schema string) {
	t.Helper()
	pool, schema = database(t, 4)
	ctx := context.Background()
	dump, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The simple protocol: a dump is many statements.
	_, err = conn.Conn().PgConn().Exec(ctx, strings.ReplaceAll(string(dump), dumped, schema)).ReadAll()
	conn.Release()
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	return open(t, pool, schema), pool, schema
}

// A schema written by the version before the revocations (testdata/v2.sql,
// a pg_dump of it, written by testdata/v2.go) migrates in place: its state
// is all there; Revocations works on it at once, with nothing spent and its
// active accounts counted; and a commit that ends someone's access is
// counted, for another replica too, until ForgetEvents lets it go.
func TestMigratesVersion2(t *testing.T) {
	ctx := context.Background()
	st, pool, schema := openDump(t, "testdata/v2.sql", "v2dump")
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	person := func(tenant, id string) store.Person {
		t.Helper()
		p, err := st.Person(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := person("acme", "w-1"); !p.Exists || !p.Active || p.Applied["role"] != (store.Applied{Value: "Engineer", Version: v(2)}) ||
		!p.Due.Equal(at.Add(48*time.Hour)) || p.Dirty.Generation != 0 {
		t.Errorf("w-1 after the migration = %+v", p)
	}
	if p := person("acme", "w-3"); !p.Exists || p.Active || p.Applied["email"].Value != "w-3@acme.test" {
		t.Errorf("w-3 after the migration = %+v, want an account, disabled", p)
	}
	if p := person("acme", "w-4"); p.Exists || p.Dirty.Generation != 1 || p.Dirty.EventID != "evt-1" || p.Dirty.MinVersion.Compare(v(5)) != 0 {
		t.Errorf("w-4 after the migration = %+v, want marked by evt-1", p)
	}
	if p := person("acme", "w-5"); p.Failure == nil || !p.Failure.Dead || p.Failure.Attempts != 4 {
		t.Errorf("w-5 after the migration = %+v, want dead-lettered", p)
	}
	if p := person("acme", "w-6"); !p.Exists || !p.Active || p.Dirty.Generation != 3 || !p.Dirty.Unsure {
		t.Errorf("w-6 after the migration = %+v, want active with an unsure mark", p)
	}
	if p := person("beta", "b-1"); !p.Exists || !p.Active || p.Applied["email"].Value != "b-1@beta.test" {
		t.Errorf("beta's b-1 after the migration = %+v", p)
	}
	if dup, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "evt-1", EmployeeID: "w-4"}); err != nil || !dup {
		t.Errorf("the remembered event evt-1: duplicate = %v (%v)", dup, err)
	}
	if box, err := st.Outbox(ctx, "acme", 10); err != nil || len(box) != 1 || box[0].ID != "entry-1" {
		t.Errorf("outbox after the migration = %+v (%v)", box, err)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{Seq: 1, Hash: "h1"}) {
		t.Errorf("anchor after the migration = %+v (%v), want the one v2 acknowledged", a, err)
	}
	if c, err := st.Cursor(ctx, "acme", "poll"); err != nil || !c.Equal(at) {
		t.Errorf("cursor = %v (%v)", c, err)
	}
	if r, err := st.LastBatchRun(ctx, "acme"); err != nil || r.ID != "run-1" || r.Status != store.BatchSucceeded || r.Writes != 4 {
		t.Errorf("last run = %+v (%v)", r, err)
	}
	if gen, err := st.Intend(ctx, "acme", "w-7", store.Mark{Since: at}); err != nil || gen != 4 {
		t.Errorf("first generation after the migration = %d (%v), want 4", gen, err)
	}

	// The revocations: none spent yet, the schema's active accounts counted.
	revocations := func(st *postgres.Store, tenant string, since time.Time) store.Revocations {
		t.Helper()
		r, err := st.Revocations(ctx, tenant, since)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for tenant, active := range map[string]int{"acme": 3, "beta": 1} {
		if r := revocations(st, tenant, time.Time{}); len(r.Spent) != 0 || r.Active != active {
			t.Errorf("%s's revocations after the migration = %+v, want none spent and %d active", tenant, r, active)
		}
	}
	// w-2 leaves: one spent, one fewer active.
	left := at.Add(24 * time.Hour)
	if err := st.Commit(ctx, "acme", store.Commit{ID: "w-2", Exists: true, Active: false, Revoked: hrissync.BudgetTerminated, At: left}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{hrissync.BudgetTerminated: 1}
	if r := revocations(st, "acme", left); len(r.Spent) != 1 || r.Spent[hrissync.BudgetTerminated] != 1 || r.Active != 2 {
		t.Errorf("acme's revocations after w-2 left = %+v, want %v and 2 active", r, want)
	}
	if r := revocations(st, "acme", left.Add(time.Nanosecond)); len(r.Spent) != 0 {
		t.Errorf("acme's spent since just after w-2 left = %v, want none", r.Spent)
	}
	if r := revocations(st, "beta", time.Time{}); len(r.Spent) != 0 || r.Active != 1 {
		t.Errorf("beta's revocations after acme's w-2 left = %+v, want none spent and 1 active", r)
	}
	// Another replica sees it, and forgets it after RevocationRetention.
	again := open(t, pool, schema)
	if r := revocations(again, "acme", at); len(r.Spent) != 1 || r.Spent[hrissync.BudgetTerminated] != 1 || r.Active != 2 {
		t.Errorf("another replica's revocations = %+v, want %v and 2 active", r, want)
	}
	if _, err := again.ForgetEvents(ctx, "acme", left.Add(store.RevocationRetention)); err != nil {
		t.Fatal(err)
	}
	if r := revocations(st, "acme", at); r.Spent[hrissync.BudgetTerminated] != 1 {
		t.Errorf("acme's spent after ForgetEvents at the end of the retention = %v, want %v", r.Spent, want)
	}
	if _, err := again.ForgetEvents(ctx, "acme", left.Add(store.RevocationRetention+time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if r := revocations(st, "acme", at); len(r.Spent) != 0 {
		t.Errorf("acme's spent after ForgetEvents past the retention = %v, want none", r.Spent)
	}
}

// A schema written by the version before event fingerprints
// (testdata/v3.sql, a pg_dump of it, written by testdata/v3.go) migrates in
// place: its event ids are still remembered and any repeat of them is a
// repeat, whatever it says (what it said was not kept); ids remembered from
// now on are refused with ErrEventConflict when reused by another event,
// for another replica too; the revocation it held is still spent; and the
// old ids are forgotten on time.
func TestMigratesVersion3(t *testing.T) {
	ctx := context.Background()
	st, pool, schema := openDump(t, "testdata/v3.sql", "v3dump")
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	offer := func(st *postgres.Store, tenant, event, id, fingerprint string) (bool, error) {
		return st.Accept(ctx, tenant, store.Acceptance{EventID: event, Fingerprint: fingerprint, EmployeeID: id, Mark: realtime, Forget: at.Add(48 * time.Hour)})
	}
	for _, c := range []struct{ tenant, event, id string }{{"acme", "msg_1", "w-1"}, {"acme", "msg_2", "w-2"}, {"beta", "msg_1", "b-1"}, {"acme", "msg_1", "w-9"}} {
		if dup, err := offer(st, c.tenant, c.event, c.id, "f-new"); err != nil || !dup {
			t.Errorf("%s's %s (remembered by v3) for %s: duplicate=%v err=%v, want a repeat", c.tenant, c.event, c.id, dup, err)
		}
	}
	if p, err := st.Person(ctx, "acme", "w-9"); err != nil || p.Dirty.Generation != 0 {
		t.Errorf("a repeat marked w-9: %+v (%v)", p.Dirty, err)
	}
	if dup, err := offer(st, "acme", "msg_3", "w-3", "f3"); err != nil || dup {
		t.Fatalf("a new event: duplicate=%v err=%v", dup, err)
	}
	again := open(t, pool, schema)
	if _, err := offer(again, "acme", "msg_3", "w-4", "f4"); !errors.Is(err, store.ErrEventConflict) {
		t.Errorf("a new id reused by another event, on another replica: err=%v, want ErrEventConflict", err)
	}
	if r, err := st.Revocations(ctx, "acme", at); err != nil || r.Spent[hrissync.BudgetTerminated] != 1 {
		t.Errorf("revocations after the migration = %+v (%v), want the one v3 spent", r, err)
	}
	if n, err := st.ForgetEvents(ctx, "acme", at.Add(24*time.Hour)); err != nil || n != 1 {
		t.Errorf("ForgetEvents at a day = %d (%v), want acme's msg_1", n, err)
	}
	if dup, err := offer(st, "acme", "msg_1", "w-1", "f1"); err != nil || dup {
		t.Errorf("msg_1 once forgotten: duplicate=%v err=%v, want accepted", dup, err)
	}
}

// A schema written by the version before people's listings
// (testdata/v4.sql, a pg_dump of it, written by testdata/v4.go) migrates in
// place: every person reads as that version wrote them, with no listing,
// through every read; Listed and Lookup work on it at once, for people it
// held and people it did not, seen by another replica; and a commit keeps
// a listing.
func TestMigratesVersion4(t *testing.T) {
	ctx := context.Background()
	st, pool, schema := openDump(t, "testdata/v4.sql", "v4dump")
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
		"w-1": {ID: "w-1", Exists: true, Active: true, Due: at.Add(72 * time.Hour),
			Applied: map[string]store.Applied{"email": {Value: "w-1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		"w-2": {ID: "w-2", Dirty: w2},
		"w-3": {ID: "w-3", Exists: true, Active: true, Dirty: w3,
			Applied: map[string]store.Applied{"email": {Value: "w-3@acme.test", Version: v(4)}},
			Failure: &store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}},
		"w-4": {ID: "w-4", Dirty: w4},
		"w-5": {ID: "w-5", Exists: true, Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}}},
	}
	equate := cmpopts.EquateEmpty()
	check := func(how string, got []store.Person, err error, wantIDs ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		var gotIDs []string
		for _, p := range got {
			gotIDs = append(gotIDs, p.ID)
			if d := cmp.Diff(want[p.ID], p, equate); d != "" {
				t.Errorf("%s: %s after the migration (-v4 +now):\n%s", how, p.ID, d)
			}
		}
		if d := cmp.Diff(wantIDs, gotIDs, equate); d != "" {
			t.Errorf("%s lists (-want +got):\n%s", how, d)
		}
	}
	for id := range want {
		p, err := st.Person(ctx, "acme", id)
		check("Person", []store.Person{p}, err, id)
	}
	b1 := store.Person{ID: "b-1", Exists: true, Active: true, Applied: map[string]store.Applied{"email": {Value: "b-1@beta.test", Version: v(6)}}}
	if p, err := st.Person(ctx, "beta", "b-1"); err != nil || !cmp.Equal(b1, p, equate) {
		t.Errorf("beta's b-1 after the migration = %+v (%v), want %+v", p, err, b1)
	}
	all, err := st.Lookup(ctx, "acme", []string{"w-5", "w-1", "w-4", "w-3", "w-2", "w-1"})
	check("Lookup", all, err, "w-5", "w-1", "w-4", "w-3", "w-2", "w-1")
	pending, err := st.Pending(ctx, "acme", at, "", 10)
	check("Pending", pending, err, "w-2", "w-3", "w-4")
	people, err := st.People(ctx, "acme", "", 10)
	check("People", people, err, "w-1", "w-3", "w-5")
	dead, err := st.DeadLetters(ctx, "acme")
	check("DeadLetters", dead, err, "w-3")
	if r, err := st.Revocations(ctx, "acme", at); err != nil || r.Spent[hrissync.BudgetTerminated] != 1 || r.Active != 2 {
		t.Errorf("revocations after the migration = %+v (%v), want the one v4 spent and w-1 and w-3 active", r, err)
	}
	if box, err := st.Outbox(ctx, "acme", 10); err != nil || len(box) != 1 || box[0].ID != "a-1" {
		t.Errorf("outbox after the migration = %+v (%v)", box, err)
	}

	// A batch run lists w-1, the dead-lettered w-3 and n-1, whom the schema
	// did not hold; a poll's listing then replaces w-1's digest, keeping
	// its run. Another replica reads them.
	if err := st.Listed(ctx, "acme", []store.Listing{{ID: "w-1", Run: "r1", Digest: "d1"}, {ID: "w-3", Run: "r1", Digest: "d3"}, {ID: "n-1", Run: "r1", Digest: "dn"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Listed(ctx, "acme", []store.Listing{{ID: "w-1", Digest: "d1b"}}); err != nil {
		t.Fatal(err)
	}
	listed := map[string]store.Listing{"w-1": {Run: "r1", Digest: "d1b"}, "w-3": {Run: "r1", Digest: "d3"}, "n-1": {Run: "r1", Digest: "dn"}}
	for id, l := range listed {
		p := want[id]
		p.ID, p.Listed = id, l
		want[id] = p
	}
	again := open(t, pool, schema)
	all, err = again.Lookup(ctx, "acme", []string{"n-1", "w-1", "w-2", "w-3", "w-4", "w-5"})
	check("another replica's Lookup after Listed", all, err, "n-1", "w-1", "w-2", "w-3", "w-4", "w-5")
	people, err = again.People(ctx, "acme", "", 10)
	check("People after Listed", people, err, "w-1", "w-3", "w-5")
	pending, err = again.Pending(ctx, "acme", at, "", 10)
	check("Pending after Listed", pending, err, "w-2", "w-3", "w-4")

	// A commit keeps the listing: it is the list's, not the account's.
	if err := st.Commit(ctx, "acme", store.Commit{ID: "w-3", Generation: 2, Exists: true, Active: true, Applied: want["w-3"].Applied}); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Person(ctx, "acme", "w-3"); err != nil || p.Listed != listed["w-3"] || p.Failure != nil {
		t.Errorf("w-3 after its commit = %+v (%v), want its listing %+v kept", p, err, listed["w-3"])
	}
}

// A schema written by the version before people's listings
// (testdata/v4.sql) re-keys people with no migration for it: the mark that
// owes the rebinding is jsonb, and what is left of the old id a field of
// its applied JSON, both of which every version holds. w-1's account moves
// onto w-2, whom a webhook marked dirty before the dump, and w-5's onto
// n-1, whom the schema did not hold; another replica reads both as moved;
// and the write's commit, with an event come meanwhile, keeps that event's
// mark but drops what the re-key owed.
func TestRekeysVersion4(t *testing.T) {
	ctx := context.Background()
	st, pool, schema := openDump(t, "testdata/v4.sql", "v4dump")
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	rekey := store.Mark{Since: at.Add(time.Hour), Classes: cadence.All, Trigger: "realtime"}
	gen, err := st.Rekey(ctx, "acme", store.Rekeying{From: "w-1", To: "w-2", Mark: rekey,
		Audit: audit.Entry{ID: "rk-1", Tenant: "acme", EmployeeID: "w-2", Action: "rekey", Applied: at, Outcome: "recorded"}})
	if err != nil {
		t.Fatal(err)
	}
	if gen <= 3 {
		t.Errorf("Rekey's generation %d, want one beyond the 3 v4 gave", gen)
	}
	gen5, err := st.Rekey(ctx, "acme", store.Rekeying{From: "w-5", To: "n-1", Mark: rekey,
		Audit: audit.Entry{ID: "rk-2", Tenant: "acme", EmployeeID: "n-1", Action: "rekey", Applied: at, Outcome: "recorded"}})
	if err != nil {
		t.Fatal(err)
	}

	// w-2 keeps the mark v4 wrote (its event, its version, its Since),
	// merged with the re-key's.
	want := map[string]store.Person{
		"w-1": {ID: "w-1", Applied: store.MovedTo("w-2")},
		"w-2": {ID: "w-2", Exists: true, Active: true,
			Applied: map[string]store.Applied{"email": {Value: "w-1@acme.test"}, "role": {Value: "dev"}},
			Dirty: store.Mark{Generation: gen, Since: at, Classes: cadence.Realtime | cadence.All, Trigger: "realtime",
				EventID: "e-1", MinVersion: v(3), Unsure: true, RekeyFrom: "w-1"}},
		"w-5": {ID: "w-5", Applied: store.MovedTo("n-1")},
		"n-1": {ID: "n-1", Exists: true, Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false"}},
			Dirty: store.Mark{Generation: gen5, Since: at.Add(time.Hour), Classes: cadence.All, Trigger: "realtime", Unsure: true, RekeyFrom: "w-5"}},
	}
	equate := cmpopts.EquateEmpty()
	again := open(t, pool, schema)
	for id, w := range want {
		if p, err := again.Person(ctx, "acme", id); err != nil || !cmp.Equal(w, p, equate) {
			t.Errorf("another replica's %s after Rekey (-want +got):\n%s(%v)", id, cmp.Diff(w, p, equate), err)
		}
	}
	people, err := again.People(ctx, "acme", "", 10)
	if err != nil || !cmp.Equal([]string{"n-1", "w-2", "w-3"}, ids(people)) {
		t.Errorf("People after Rekey = %v (%v), want n-1, w-2 and w-3", ids(people), err)
	}
	pending, err := again.Pending(ctx, "acme", at.Add(100*time.Hour), "", 10)
	if err != nil || !cmp.Equal([]string{"n-1", "w-2", "w-3", "w-4"}, ids(pending)) {
		t.Errorf("Pending after Rekey = %v (%v), want n-1, w-2, w-3 and w-4 (w-1 keeps no due time)", ids(pending), err)
	}
	var box []string
	entries, err := again.Outbox(ctx, "acme", 10)
	for _, e := range entries {
		box = append(box, e.ID)
	}
	if err != nil || !cmp.Equal([]string{"a-1", "rk-1", "rk-2"}, box) {
		t.Errorf("outbox after Rekey = %v (%v), want v4's a-1 and both re-keys'", box, err)
	}

	// An event for w-2 comes while the write that rebinds its account is
	// made; the write commits: the event's mark stays, sure and owing w-1
	// nothing.
	if _, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e-2", EmployeeID: "w-2", Mark: store.Mark{Since: at, Classes: cadence.Realtime, EventID: "e-2"},
		Forget: at.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, "acme", store.Commit{ID: "w-2", Generation: gen, Exists: true, Active: true}); err != nil {
		t.Fatal(err)
	}
	p, err := again.Person(ctx, "acme", "w-2")
	if err != nil || p.Dirty.Generation <= gen || p.Dirty.EventID != "e-2" || p.Dirty.Unsure || p.Dirty.RekeyFrom != "" || !p.Exists {
		t.Errorf("w-2 after the write's commit = %+v (%v), want e-2's mark, sure and owing nothing, and w-1's account", p, err)
	}
	if p, err := again.Person(ctx, "acme", "w-1"); err != nil || p.MovedTo() != "w-2" || p.Exists {
		t.Errorf("w-1 after w-2's commit = %+v (%v), want only that it moved to w-2", p, err)
	}
}
