package sqlite_test

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestDamagedRowIsQuarantined damages single rows behind the Store's back —
// one so that it no longer decodes, one so that it still decodes but says
// something else — and finds each read as a damaged person while everyone
// else reads as before, listed by Pending once Open has checked the file,
// written to without error, and repaired by a Commit.
func TestDamagedRowIsQuarantined(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path, nil)
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	for _, id := range []string{"w1", "w2", "w3", "w4"} {
		must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true,
			Applied: map[string]store.Applied{"role": {Value: "dev", Version: hrtype.Version{Time: t0, Seq: 1}}}}))
	}
	must(t, st.MarkDirty(ctx, "t", []string{"w2"}, realtime))
	before := person(t, st, "t", "w4")

	// w2 (dirty) no longer decodes; w3 (clean) decodes, as another role.
	must(t, st.ExecForTest(ctx, `UPDATE people SET applied = '{"role":["dev",17' WHERE id = 'w2'`))
	must(t, st.ExecForTest(ctx, `UPDATE people SET applied = replace(applied, '"dev"', '"ops"') WHERE id = 'w3'`))
	damaged := func(id string) store.Person { return store.Person{ID: id, Damaged: true} }
	if got := []store.Person{person(t, st, "t", "w2"), person(t, st, "t", "w3")}; !cmp.Equal(got, []store.Person{damaged("w2"), damaged("w3")}) {
		t.Fatalf("damaged rows read as %+v, want only their IDs and Damaged", got)
	}
	if d := cmp.Diff(before, person(t, st, "t", "w4"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("an undamaged person reads differently (-before +after):\n%s", d)
	}
	people, err := st.People(ctx, "t", "", 10)
	must(t, err)
	if d := cmp.Diff([]bool{false, true, true, false}, damageOf(people)); d != "" || len(people) != 4 {
		t.Errorf("People: %v, damaged (-want +got):\n%s", ids(people), d)
	}
	// The dirty one is pending at once; the clean one once Open has
	// checked the file and quarantined it.
	if got := pending(t, st, "t", t0); !cmp.Equal(got, []store.Person{damaged("w2")}) {
		t.Errorf("pending with the file open = %+v, want w2 damaged", got)
	}
	must(t, st.Close())
	st = open(t, path, nil)
	if got := pending(t, st, "t", t0); !cmp.Equal(got, []store.Person{damaged("w2"), damaged("w3")}) {
		t.Fatalf("pending after reopening = %+v, want w2 and w3 damaged", got)
	}

	// Writes to a damaged person succeed and keep them damaged, dirty, and
	// dead-lettered when told so.
	gen, err := st.Intend(ctx, "t", "w3", realtime)
	must(t, err)
	must(t, st.MarkDirty(ctx, "t", []string{"w2"}, realtime))
	must(t, st.Fail(ctx, "t", "w2", store.Failure{Attempts: 1, Err: "503", At: t0, Dead: true}, realtime))
	dead, err := st.DeadLetters(ctx, "t")
	must(t, err)
	if !cmp.Equal(dead, []store.Person{damaged("w2")}) {
		t.Errorf("dead letters = %+v, want w2 damaged", dead)
	}

	// A commit replaces the row whole: nothing of the damaged role is
	// merged in, and the mark it committed against is cleared.
	rebuilt := map[string]store.Applied{"email": {Value: "w3@x", Version: hrtype.Version{Time: t0, Seq: 2}}}
	must(t, st.Commit(ctx, "t", store.Commit{ID: "w3", Generation: gen, Exists: true, Active: true, Applied: rebuilt}))
	want := store.Person{ID: "w3", Exists: true, Active: true, Applied: rebuilt}
	if d := cmp.Diff(want, person(t, st, "t", "w3"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("w3 after its commit (-want +got):\n%s", d)
	}
	if got := pending(t, st, "t", t0); !cmp.Equal(got, []store.Person{damaged("w2")}) {
		t.Errorf("pending after w3's commit = %+v, want only w2", got)
	}
	// The repair survives a reopening (its row now checks out).
	must(t, st.Close())
	st = open(t, path, nil)
	if d := cmp.Diff(want, person(t, st, "t", "w3"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("w3 after reopening (-want +got):\n%s", d)
	}
}

// TestLegacyRowDamage: a row from before checksums is judged by whether it
// decodes, and a write to it never seals an undecodable one under a new
// checksum.
func TestLegacyRowDamage(t *testing.T) {
	ctx := t.Context()
	st := open(t, copyFixture(t, "v1.db"), &sqlite.Options{SkipCheck: true})
	must(t, st.ExecForTest(ctx, `UPDATE people SET applied = '{"email":' WHERE tenant = 'acme' AND id = 'w1'`))
	if p := person(t, st, "acme", "w1"); !p.Damaged {
		t.Fatalf("w1 with undecodable fields = %+v, want damaged", p)
	}
	must(t, st.MarkDirty(ctx, "acme", []string{"w1"}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	if p := person(t, st, "acme", "w1"); !p.Damaged {
		t.Errorf("w1 after a mark = %+v, want still damaged", p)
	}
	if p := person(t, st, "acme", "w2"); p.Damaged || p.Dirty.EventID != "e1" {
		t.Errorf("w2, from before checksums and intact = %+v", p)
	}
}

// TestDamagedRunIsLost: a batch run whose record no longer decodes is
// reported as not found, and damaged, so that the batch starts afresh rather
// than failing on it every night.
func TestDamagedRunIsLost(t *testing.T) {
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	must(t, st.SaveBatchRun(ctx, "t", store.BatchRun{ID: "r1", Status: store.BatchFailed, Attempt: 1, Started: t0}))
	must(t, st.ExecForTest(ctx, `UPDATE runs SET run = '{"ID":"r1","Status":"fai' WHERE id = 'r1'`))
	for name, read := range map[string]func() (store.BatchRun, error){
		"LastBatchRun": func() (store.BatchRun, error) { return st.LastBatchRun(ctx, "t") },
		"Run":          func() (store.BatchRun, error) { return st.BatchRun(ctx, "t", "r1") },
	} {
		if _, err := read(); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, sqlite.ErrDamaged) {
			t.Errorf("%s of a damaged run = %v, want ErrNotFound and ErrDamaged", name, err)
		}
	}
	must(t, st.SaveBatchRun(ctx, "t", store.BatchRun{ID: "r2", Status: store.BatchRunning, Attempt: 1, Started: t0.Add(24 * time.Hour)}))
	if last, err := st.LastBatchRun(ctx, "t"); err != nil || last.ID != "r2" {
		t.Errorf("LastBatchRun after a new run = %+v (%v), want r2", last, err)
	}
}

func damageOf(ps []store.Person) []bool {
	var out []bool
	for _, p := range ps {
		out = append(out, p.Damaged)
	}
	return out
}

// TestOpenRefusesDamagedFile: a file SQLite cannot read as a database, one
// whose schema was altered but still parses, one whose version says less
// than its schema holds, and one with a broken b-tree page are each refused
// as damaged, saying what is wrong; SkipCheck lets the last through.
func TestOpenRefusesDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path, nil)
	for i := range 500 {
		must(t, st.Commit(t.Context(), "t", store.Commit{ID: fmt.Sprintf("w%04d", i), Exists: true, Active: true,
			Applied: map[string]store.Applied{"role": {Value: "dev", Version: hrtype.Version{Time: t0}}}}))
	}
	must(t, st.Close())
	good, err := os.ReadFile(path)
	must(t, err)
	// damage writes a copy of the file with one change.
	damage := func(t *testing.T, change func(b []byte)) string {
		b := append([]byte(nil), good...)
		change(b)
		path := filepath.Join(t.TempDir(), "state.db")
		must(t, os.WriteFile(path, b, 0o600))
		return path
	}
	refused := func(t *testing.T, path, says string) *sqlite.DamagedError {
		t.Helper()
		var de *sqlite.DamagedError
		_, err := sqlite.Open(t.Context(), path, nil)
		if !errors.As(err, &de) || !errors.Is(err, sqlite.ErrDamaged) || de.Path != path || !strings.Contains(err.Error(), says) {
			t.Fatalf("Open = %v, want a *DamagedError saying %q", err, says)
		}
		t.Log(err)
		return de
	}

	t.Run("not a database", func(t *testing.T) {
		path := damage(t, func(b []byte) { copy(b, "not an SQLite file") })
		if de := refused(t, path, "file is not a database"); de.Err == nil {
			t.Error("SQLite's own error is not kept")
		}
	})
	t.Run("column renamed", func(t *testing.T) {
		path := damage(t, func(b []byte) { b[bytes.Index(b, []byte("value INTEGER NOT NULL"))+4] = 'f' })
		refused(t, path, "the schema of table counters is not the one migrations 1-")
	})
	t.Run("version lowered", func(t *testing.T) {
		// The header's user_version, at offset 60: migration 3 would
		// run again.
		path := damage(t, func(b []byte) { binary.BigEndian.PutUint32(b[60:], 2) })
		refused(t, path, "the schema of table people is not the one migrations 1-2 make")
	})
	t.Run("broken page", func(t *testing.T) {
		page := rootPage(t, path, "people")
		path := damage(t, func(b []byte) { b[(page-1)*4096] = 0xff }) // no b-tree page is of this type
		refused(t, path, "btreeInitPage() returns error code 11")
		st, err := sqlite.Open(t.Context(), path, &sqlite.Options{SkipCheck: true})
		if err != nil {
			t.Fatalf("Open with SkipCheck = %v, want the file opened unchecked", err)
		}
		st.Close()
	})
}

// rootPage reads the first page of a table's b-tree (the page size is
// SQLite's default, 4096).
func rootPage(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	must(t, err)
	defer db.Close()
	var page int
	must(t, db.QueryRow("SELECT rootpage FROM sqlite_schema WHERE name = ?", table).Scan(&page))
	return page
}

// TestOpenRepairsIndexes: damage confined to an index — which quick_check
// does not see, and which fails every later write to the rows it covers — is
// repaired by Open, not refused: indexes hold nothing of their own.
func TestOpenRepairsIndexes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path, nil)
	for _, id := range []string{"w1", "w2", "w3", "w4", "w5"} {
		must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true}))
	}
	must(t, st.Close())
	// The index of accounts is one page: its entry for w3 becomes one for
	// w9, a person with no row.
	b, err := os.ReadFile(path)
	must(t, err)
	page := rootPage(t, path, "people_accounts")
	at := (page-1)*4096 + bytes.LastIndex(b[(page-1)*4096:page*4096], []byte("w3"))
	b[at+1] = '9'
	must(t, os.WriteFile(path, b, 0o600))

	unchecked := open(t, path, &sqlite.Options{SkipCheck: true})
	if err := unchecked.Commit(ctx, "t", store.Commit{ID: "w3", Exists: true}); err == nil {
		t.Fatal("a write through the damaged index succeeded: the damage is not what this test means")
	}
	must(t, unchecked.Close())

	st = open(t, path, nil)
	must(t, st.Commit(ctx, "t", store.Commit{ID: "w3", Exists: true, Active: true}))
	people, err := st.People(ctx, "t", "", 10)
	must(t, err)
	if d := cmp.Diff([]string{"w1", "w2", "w3", "w4", "w5"}, ids(people)); d != "" {
		t.Errorf("people after the repair (-want +got):\n%s", d)
	}
}

// TestDamagedListing: a listing is under its row's checksum once the row has
// one, so a listing altered on disk — another digest, both columns gone, one
// of the wrong type, or one appearing on a row that had none — makes the row
// damaged, while an untouched listed row reads as written. Listed treats a
// damaged row as every write does: quarantined, it takes the new listing
// and stays damaged until a Commit rebuilds it, which keeps that listing
// (the old one, and its run, are lost with the rest of the row).
func TestDamagedListing(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path, nil)
	for _, id := range []string{"w1", "w2", "w3", "w4", "w5"} {
		must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true}))
	}
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w1", Run: "r1", Digest: "d1"}, {ID: "w2", Run: "r1", Digest: "d2"},
		{ID: "w3", Run: "r1", Digest: "d3"}, {ID: "w4", Run: "r1", Digest: "d4"}}))
	for _, stmt := range []string{
		`UPDATE people SET listed_digest = 'dX' WHERE id = 'w1'`,
		`UPDATE people SET listed_run = NULL, listed_digest = NULL WHERE id = 'w2'`,
		`UPDATE people SET listed_digest = 17 WHERE id = 'w3'`,
		`UPDATE people SET listed_run = 'r1', listed_digest = 'd5' WHERE id = 'w5'`,
	} {
		must(t, st.ExecForTest(ctx, stmt))
	}
	got, err := st.Lookup(ctx, "t", []string{"w1", "w2", "w3", "w4", "w5"})
	must(t, err)
	if d := cmp.Diff([]bool{true, true, true, false, true}, damageOf(got)); d != "" {
		t.Fatalf("damaged after the listings were altered (-want +got):\n%s", d)
	}
	if want := (store.Listing{Run: "r1", Digest: "d4"}); got[3].Listed != want {
		t.Errorf("the untouched w4 is listed %+v, want %+v", got[3].Listed, want)
	}

	// A poll lists w1 (no run): the row is quarantined, then listed.
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w1", Digest: "d1b"}}))
	if p := person(t, st, "t", "w1"); !cmp.Equal(p, store.Person{ID: "w1", Damaged: true}) {
		t.Errorf("w1 after a listing = %+v, want still damaged, only its ID", p)
	}
	if got := ids(pending(t, st, "t", t0)); !cmp.Equal(got, []string{"w1"}) {
		t.Errorf("pending after w1's listing = %v, want w1 (quarantined by the write)", got)
	}
	must(t, st.Commit(ctx, "t", store.Commit{ID: "w1", Exists: true, Active: true}))
	must(t, st.Close())
	st = open(t, path, nil)
	want := store.Person{ID: "w1", Exists: true, Active: true, Listed: store.Listing{Digest: "d1b"}}
	if d := cmp.Diff(want, person(t, st, "t", "w1"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("w1 rebuilt, after reopening (-want +got):\n%s", d)
	}
	if got := ids(pending(t, st, "t", t0)); !cmp.Equal(got, []string{"w2", "w3", "w5"}) {
		t.Errorf("pending after reopening = %v, want the other damaged rows, quarantined by Open", got)
	}
}
