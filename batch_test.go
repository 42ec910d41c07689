package hrissync_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// staff puts n people in the HRIS: w-0000 … w-(n-1).
func staff(r *rig, n int) {
	for i := range n {
		e := alice()
		e.ID, e.Email, e.EmployeeNumber = fmt.Sprintf("w-%04d", i), fmt.Sprintf("p%d@example.com", i), fmt.Sprint(i)
		r.hr.put(e)
	}
}

func TestBatchRerunSkipsThoseMarkedAndPagesOnItsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at midnight UTC; the batch runs at 02:00.
		r := start(t, hrissync.Config{Concurrency: 2, Policy: cadence.BatchOnly()})
		staff(r, 200)
		r.hr.mu.Lock()
		r.hr.listFailAfter = 150 // the export breaks after 150 people
		r.hr.mu.Unlock()
		r.sleep(2*time.Hour + time.Minute)
		run, err := r.store.LastBatchRun(t.Context(), "default")
		if err != nil || run.Status != store.BatchFailed || run.Attempt != 1 {
			t.Fatalf("02:00 run = %+v (%v), want failed", run, err)
		}
		// Chunks of 64 (2 workers × 32); the partial chunk read before the
		// failure is finished and marked too.
		if n := listedBy(r, run.ID, 200); run.Seen != 150 || n != 150 || len(r.lms.writes()) != 150 {
			t.Fatalf("seen %d, marked %d, %d writes; want the 150 people read", run.Seen, n, len(r.lms.writes()))
		}
		if n := len(r.alerts.kinds()); n != 0 {
			t.Fatalf("alerted after the first failure: %v", r.alerts.kinds())
		}
		r.hr.mu.Lock()
		r.hr.listFailAfter = 0
		r.hr.mu.Unlock()
		r.sleep(time.Hour) // 03:00: the rerun reads the list again, skipping those marked
		run, _ = r.store.LastBatchRun(t.Context(), "default")
		if run.Status != store.BatchSucceeded || run.Attempt != 2 || !run.Started.Equal(time.Date(2000, 1, 1, 3, 0, 0, 0, time.UTC)) {
			t.Fatalf("rerun = %+v, want succeeded at 03:00", run)
		}
		if b := r.eng.Stats().Triggers[hrissync.TriggerBatch]; run.Seen != 200 || b.Reconciles != 200 {
			t.Errorf("seen %d, reconciled %d; want 200 each: the rerun did only the 50 left", run.Seen, b.Reconciles)
		}
		if n := len(r.lms.writes()); n != 200 {
			t.Errorf("writes = %d, want 200: each person once", n)
		}

		// The next night the source is down at 02:00 and at 03:00: the
		// rerun's failure pages the operator, once.
		r.hr.setDown(errors.New("HRIS down"))
		r.sleep(24 * time.Hour)
		if k := r.alerts.kinds(); !slices.Equal(k, []hrissync.AlertKind{hrissync.AlertBatchFailed}) {
			t.Errorf("alerts = %v, want one batch-failed", k)
		}
		run, _ = r.store.LastBatchRun(t.Context(), "default")
		if run.Status != store.BatchFailed || run.Attempt != 2 {
			t.Errorf("last run = %+v, want the failed rerun", run)
		}
	})
}

// listedBy counts the people w-0000 … w-(n-1) the Store holds as listed by
// the run.
func listedBy(r *rig, runID string, n int) int {
	r.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("w-%04d", i)
	}
	people, err := r.store.Lookup(r.t.Context(), "default", ids)
	if err != nil {
		r.t.Fatal(err)
	}
	listed := 0
	for _, p := range people {
		if strings.HasPrefix(p.Listed.Run, runID+"/") { // the run's attempt
			listed++
		}
	}
	return listed
}

func TestBatchLeaversThresholdAndApproval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		staff(r, 100)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Three people vanish from the export: below the limit, they are
		// deprovisioned.
		for _, id := range []string{"w-0000", "w-0050", "w-0099"} {
			r.hr.remove(id)
		}
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"w-0000", "w-0050", "w-0099"} {
			if r.mustAccount(id).Active {
				t.Errorf("leaver %s still active", id)
			}
		}
		// A truncated export drops 40 people: the run is held, nobody
		// is deprovisioned, and the operator is alerted.
		for i := 60; i < 99; i++ {
			r.hr.remove(fmt.Sprintf("w-%04d", i))
		}
		before := len(r.lms.writes())
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		run, _ := r.store.LastBatchRun(t.Context(), "default")
		if run.Status != store.BatchHeld || len(run.Leavers) != 39 {
			t.Fatalf("run = %s with %d leavers, want held with 39", run.Status, len(run.Leavers))
		}
		if n := len(r.lms.writes()); n != before {
			t.Fatalf("a held run wrote %d times", n-before)
		}
		if k := r.alerts.kinds(); !slices.Equal(k, []hrissync.AlertKind{hrissync.AlertDeletionThreshold}) {
			t.Errorf("alerts = %v", k)
		}
		if err := r.eng.ApproveDeletions(t.Context(), run.ID, "ops@example.com"); err != nil {
			t.Fatal(err)
		}
		if r.mustAccount("w-0075").Active {
			t.Error("approved leaver still active")
		}
		if err := r.eng.ApproveDeletions(t.Context(), run.ID, "ops@example.com"); !errors.Is(err, hrissync.ErrNotHeld) {
			t.Errorf("approving twice: %v, want ErrNotHeld", err)
		}
	})
}

func TestBatchLeaverStillInSourceIsNotDeprovisioned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		staff(r, 10)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The list leaves w-0003 out, but Get still finds it (an export
		// filter, a hire during the run): no deprovisioning.
		r.hr.mu.Lock()
		r.hr.stale["w-0003"] = r.hr.people["w-0003"]
		delete(r.hr.people, "w-0003")
		r.hr.mu.Unlock()
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !r.mustAccount("w-0003").Active {
			t.Error("a person missing from the list but present in the source was deprovisioned")
		}
	})
}

func TestScopeAndMappingHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{
			InScope: func(e hrissync.Employee) bool { return e.Department != "Contractors" },
			Map: func(e hrissync.Employee) (hrissync.Fields, error) {
				f := e.Fields()
				f["title"] = f[hrissync.FieldRole] // renamed for the platform
				delete(f, hrissync.FieldRole)
				if e.Location == "" {
					f[hrissync.FieldLocation] = "" // an empty HR value clears the platform's
				}
				return f, nil
			},
			DeletionLimit: hrissync.Budget{Count: 0, Share: 0.01},
		})
		a := r.hr.put(alice())
		r.notify(a.ID)
		if got := r.mustAccount(a.ID).Fields; got["title"] != "Engineer" || got[hrissync.FieldRole] != "" {
			t.Errorf("mapped fields = %v, want title and no role", got)
		}
		c := alice()
		c.ID, c.Department = "w-002", "Contractors"
		r.hr.put(c)
		r.notify(c.ID)
		if _, ok := r.lms.account(c.ID); ok {
			t.Error("an out-of-scope person was provisioned")
		}
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := alice()
		b.ID, b.Email = "w-003", "bob@example.com"
		r.hr.put(b)
		r.notify(b.ID)
		// Alice and Bob move out of scope: the batch counts them as
		// leavers (held by the tight limit, which allows one), approval
		// deprovisions them.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Department = "Contractors" })
		r.hr.update(b.ID, func(e *hrissync.Employee) { e.Department = "Contractors" })
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		run, _ := r.store.LastBatchRun(t.Context(), "default")
		if run.Status != store.BatchHeld || !slices.Equal(run.Leavers, []string{a.ID, b.ID}) {
			t.Fatalf("run = %s leavers %v, want held with alice and bob", run.Status, run.Leavers)
		}
		if err := r.eng.ApproveDeletions(t.Context(), run.ID, "ops@example.com"); err != nil {
			t.Fatal(err)
		}
		if r.mustAccount(a.ID).Active || r.mustAccount(b.ID).Active {
			t.Error("out-of-scope person still active")
		}
	})
}

func TestBatchFromOlderExportNeverRegresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.mu.Lock()
		r.hr.snapshot = maps.Clone(r.hr.people) // the export is taken now…
		r.hr.mu.Unlock()
		r.sleep(time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead"; e.Location = "Lyon" })
		r.notify(a.ID) // …and the promotion is applied before the batch reads it
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		acc := r.mustAccount(a.ID)
		if acc.Fields[hrissync.FieldRole] != "Lead" {
			t.Errorf("role = %q: the older export overwrote a newer value", acc.Fields[hrissync.FieldRole])
		}
		// Location is a batch field never applied at the newer version:
		// the export's (older) value is the newest the platform saw, so
		// it stays; the next batch with a fresh export brings Lyon.
		r.hr.mu.Lock()
		r.hr.snapshot = nil
		r.hr.mu.Unlock()
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldLocation]; got != "Lyon" {
			t.Errorf("location = %q after a fresh export, want Lyon", got)
		}
	})
}
