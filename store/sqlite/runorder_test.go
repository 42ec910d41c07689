package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/hrissync/hrissync/store"
)

// TestRunOrderFromV1: the runs of a file in the first stored format
// (testdata/v1.db, with more runs written beside its run-1 as that format
// did) keep the order LastBatchRun gave them, by start time, and runs saved since
// follow in the order they are first saved, whatever their start times say,
// across a reopening. The stored format is unchanged: the runs table's
// started column is each run's place in the ledger.
func TestRunOrderFromV1(t *testing.T) {
	ctx := t.Context()
	path := copyFixture(t, "v1.db")
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // run-1's start
	db, err := sql.Open("sqlite", path)
	must(t, err)
	for _, r := range []struct {
		tenant string
		run    store.BatchRun
	}{
		{"acme", store.BatchRun{ID: "run-0", Status: store.BatchSucceeded, Attempt: 1, Started: t0.Add(-24 * time.Hour)}},
		{"acme", store.BatchRun{ID: "run-2", Status: store.BatchFailed, Attempt: 1, Started: t0.Add(24 * time.Hour)}},
		{"beta", store.BatchRun{ID: "run-b", Status: store.BatchSucceeded, Attempt: 1, Started: t0.Add(-48 * time.Hour)}},
	} {
		js, err := json.Marshal(r.run)
		must(t, err)
		_, err = db.ExecContext(ctx, "INSERT INTO runs (tenant, id, started, run) VALUES (?, ?, ?, ?)",
			r.tenant, r.run.ID, r.run.Started.UnixNano(), string(js))
		must(t, err)
	}
	must(t, db.Close())

	st := open(t, path, nil)
	last := func(tenant, want string) {
		t.Helper()
		r, err := st.LastBatchRun(ctx, tenant)
		if err != nil || r.ID != want {
			t.Errorf("%s's LastBatchRun = %q (%v), want %q", tenant, r.ID, err, want)
		}
	}
	last("acme", "run-2")
	last("beta", "run-b")

	// The clock steps back two days: run-3 starts "before" every other.
	run3 := store.BatchRun{ID: "run-3", Status: store.BatchRunning, Attempt: 1, Started: t0.Add(-48 * time.Hour)}
	must(t, st.SaveBatchRun(ctx, "acme", run3))
	last("acme", "run-3")
	// An older run saved again keeps its place.
	run2, err := st.BatchRun(ctx, "acme", "run-2")
	must(t, err)
	run2.Attempt, run2.Status = 2, store.BatchSucceeded
	must(t, st.SaveBatchRun(ctx, "acme", run2))
	last("acme", "run-3")
	last("beta", "run-b")
	must(t, st.Close())

	st = open(t, path, nil)
	last("acme", "run-3")
	run3.Status = store.BatchSucceeded
	must(t, st.SaveBatchRun(ctx, "acme", run3))
	must(t, st.SaveBatchRun(ctx, "beta", store.BatchRun{ID: "run-b2", Started: t0.Add(-72 * time.Hour)}))
	last("acme", "run-3")
	last("beta", "run-b2")
	if r, err := st.BatchRun(ctx, "acme", "run-2"); err != nil || r.Attempt != 2 {
		t.Errorf("run-2 = %+v (%v), want its second attempt", r, err)
	}
}
