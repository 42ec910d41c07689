package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/hrissync/hrissync/store"
)

// TestRunOrderFromVersion1: in a schema written by the first version (the
// pg_dump in testdata, holding run-1), runs saved since follow in the order
// they are first saved, whatever their start times say. The stored format
// is unchanged: the runs table's started column is each run's place in the
// ledger, and run-1's start is its place.
func TestRunOrderFromVersion1(t *testing.T) {
	ctx := context.Background()
	st, pool, schema := openVersion1(t)
	last := func(tenant, want string) {
		t.Helper()
		r, err := st.LastBatchRun(ctx, tenant)
		if err != nil || r.ID != want {
			t.Errorf("%s's LastBatchRun = %q (%v), want %q", tenant, r.ID, err, want)
		}
	}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC) // run-1's start
	last("acme", "run-1")
	// The clock steps back a day: run-2 starts "before" run-1.
	run2 := store.BatchRun{ID: "run-2", Status: store.BatchRunning, Attempt: 1, Started: at.Add(-24 * time.Hour)}
	if err := st.SaveBatchRun(ctx, "acme", run2); err != nil {
		t.Fatal(err)
	}
	last("acme", "run-2")
	run1, err := st.BatchRun(ctx, "acme", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	run1.Attempt = 2 // an older run saved again keeps its place
	if err := st.SaveBatchRun(ctx, "acme", run1); err != nil {
		t.Fatal(err)
	}
	last("acme", "run-2")
	if err := st.SaveBatchRun(ctx, "beta", store.BatchRun{ID: "run-b", Started: at.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	last("beta", "run-b")
	// Another replica opening the schema sees the same order.
	again := open(t, pool, schema)
	if r, err := again.LastBatchRun(ctx, "acme"); err != nil || r.ID != "run-2" || !r.Started.Equal(run2.Started) {
		t.Errorf("another replica's LastBatchRun = %+v (%v), want run-2 with its own start", r, err)
	}
}
