package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

func batchOf(prefix string, n int, forget time.Time) []store.Acceptance {
	evs := make([]store.Acceptance, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		evs[i] = store.Acceptance{EventID: id, Fingerprint: "f", EmployeeID: fmt.Sprintf("w-%d", i), Forget: forget,
			Mark: store.Mark{Since: forget, Classes: cadence.Realtime, Trigger: "realtime", EventID: id}}
	}
	return evs
}

// TestAcceptBatchIsOneCommit: a batch of 100 events is recorded in one
// commit (Store.Commits), where Accept takes one per event; replayed, it is
// one commit too, and all repeats.
func TestAcceptBatchIsOneCommit(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"), &sqlite.Options{Durability: sqlite.SurvivePowerLoss})
	forget := time.Now().Add(time.Hour)
	evs := batchOf("evt", 100, forget)
	for _, replay := range []bool{false, true} {
		before := st.Commits()
		res, err := st.AcceptBatch(ctx, "t", evs)
		if err != nil {
			t.Fatal(err)
		}
		if n := st.Commits() - before; n != 1 {
			t.Errorf("AcceptBatch of 100 events (replayed %v) took %d commits, want 1", replay, n)
		}
		want := store.AcceptedNew
		if replay {
			want = store.AcceptedDuplicate
		}
		for i, r := range res {
			if r != want {
				t.Fatalf("event %d (replayed %v): %v, want %v", i, replay, r, want)
			}
		}
	}
	pend, err := st.Pending(ctx, "t", forget, "", 1000)
	if err != nil || len(pend) != 100 {
		t.Fatalf("pending after the batch: %d (%v), want 100", len(pend), err)
	}
	// The counter counts: one by one, a commit each.
	before := st.Commits()
	for _, ev := range batchOf("one", 10, forget) {
		if _, err := st.Accept(ctx, "t", ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Commits() - before; n != 10 {
		t.Errorf("10 Accepts one after another took %d commits, want 10", n)
	}
}

// BenchmarkAcceptBatch measures events accepted per second on a real SQLite
// file with the default durability (SurviveCrash): 100 events one by one
// through Accept (a commit each, as single deliveries bring them) against
// one AcceptBatch of 100 (one commit, as a batched delivery brings them).
// Each iteration records 100 new events for 100 people who already exist.
func BenchmarkAcceptBatch(b *testing.B) {
	for _, mode := range []string{"one-by-one", "batch"} {
		b.Run("events=100/"+mode, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			forget := time.Now().Add(time.Hour)
			// The people exist, as they do in a service running a while.
			if _, err := st.AcceptBatch(ctx, "t", batchOf("warm", 100, forget)); err != nil {
				b.Fatal(err)
			}
			events := 0
			for i := 0; b.Loop(); i++ {
				evs := batchOf(fmt.Sprint("evt", i), 100, forget)
				if mode == "batch" {
					if _, err := st.AcceptBatch(ctx, "t", evs); err != nil {
						b.Fatal(err)
					}
				} else {
					for _, ev := range evs {
						if _, err := st.Accept(ctx, "t", ev); err != nil {
							b.Fatal(err)
						}
					}
				}
				events += len(evs)
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
