package sqlite_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// TestMigrationFromV6 opens a file in the sixth stored format
// (testdata/v6.db, written by testdata/v6.go before migration 0007 kept a
// summary of each person's applied fields) and finds every person as v6
// wrote them, listings and all, none damaged: the rows' checksums, taken
// before the summary existed, still verify. Summaries answers for them at
// once, by decoding them; a Commit writes a person's summary, which the
// file's check then verifies when reopened, and which Summaries reads; a
// Listed on a row without one leaves it sound.
func TestMigrationFromV6(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v6.db")
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
	want := []store.Person{
		{ID: "n1", Listed: store.Listing{Run: "run-1/1", Digest: "dn"}},
		{ID: "w1", Exists: true, Active: true, Due: at.Add(72 * time.Hour), Listed: store.Listing{Run: "run-1/1", Digest: "d1"},
			Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}},
		{ID: "w2", Dirty: w2},
		{ID: "w3", Exists: true, Active: true, Dirty: w3, Listed: store.Listing{Run: "run-1/1", Digest: "d3"},
			Applied: map[string]store.Applied{"email": {Value: "w3@acme.test", Version: v(4)}},
			Failure: &store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}},
		{ID: "w4", Dirty: w4},
		{ID: "w5", Exists: true, Listed: store.Listing{Digest: "d5"},
			Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}}},
		{ID: "w9"}, // never held
	}
	everyone := ids(want)
	equate := cmpopts.EquateEmpty()
	checkPeople := func(step string) {
		t.Helper()
		got, err := st.Lookup(ctx, "acme", everyone)
		must(t, err)
		if d := cmp.Diff(want, got, equate); d != "" {
			t.Errorf("%s: Lookup (-v6 +now):\n%s", step, d)
		}
		sums, err := st.Summaries(ctx, "acme", everyone)
		must(t, err)
		wantSums := make([]store.Summary, len(want))
		for i, p := range want {
			wantSums[i] = store.Summarize(p)
		}
		if d := cmp.Diff(wantSums, sums, equate); d != "" {
			t.Errorf("%s: Summaries (-Summarize +got):\n%s", step, d)
		}
		accounts, err := st.PeopleSummaries(ctx, "acme", "", 10)
		must(t, err)
		if d := cmp.Diff([]store.Summary{wantSums[1], wantSums[3], wantSums[5]}, accounts, equate); d != "" {
			t.Errorf("%s: PeopleSummaries (-Summarize +got):\n%s", step, d)
		}
	}
	checkPeople("after the migration")
	if n := summariesKept(t, path); n != 0 {
		t.Errorf("%d rows with a summary before any commit", n)
	}

	// w1's commit writes its summary; w5 is listed by a run, its row
	// without a summary rewritten for the listing alone.
	w1 := map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "lead", Version: v(7)}}
	must(t, st.Commit(ctx, "acme", store.Commit{ID: "w1", Exists: true, Active: true, Applied: map[string]store.Applied{"role": w1["role"]}}))
	want[1].Applied, want[1].Due = w1, time.Time{}
	must(t, st.Listed(ctx, "acme", []store.Listing{{ID: "w5", Run: "run-2/1", Digest: "d5b"}}))
	want[5].Listed = store.Listing{Run: "run-2/1", Digest: "d5b"}
	checkPeople("after a commit and a listing")
	if n := summariesKept(t, path); n != 1 {
		t.Errorf("%d rows with a summary after w1's commit, want 1", n)
	}

	// Reopened, the file checks out: no row, summarized or not, fails its
	// checksum.
	must(t, st.Close())
	st = open(t, path, nil)
	checkPeople("after reopening")
}

// summariesKept counts the rows of the file at path that hold a summary.
func summariesKept(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	must(t, err)
	defer db.Close()
	var n int
	must(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM people WHERE summary IS NOT NULL").Scan(&n))
	return n
}
