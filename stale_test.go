package hrissync_test

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/connector/csv"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
)

// Issue 17, stale lists: a full list carries the time it was taken; one
// older than the last completed run's is refused, and the people for whom
// the Store holds something newer are counted.

// startDated starts a rig whose Source is a Snapshotter: hr, its list taken
// at hr.snapshotAt.
func startDated(t *testing.T, cfg hrissync.Config) *rig {
	t.Helper()
	r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), audit: &audit.Memory{}, alerts: &alerts{}}
	r.src = datedHR{r.hr}
	r.run(cfg)
	return r
}

// writeExport writes a CSV export taken at asOf, one row per "id,given
// name".
func writeExport(t *testing.T, path string, asOf time.Time, rows ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("Worker ID,Email,First Name,Last Name,Status,As Of\n")
	for _, row := range rows {
		id, given, _ := strings.Cut(row, ",")
		fmt.Fprintf(&b, "%s,%s@example.com,%s,Archer,active,%s\n", id, id, given, asOf.Format(time.RFC3339))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func lastRun(t *testing.T, r *rig) store.BatchRun {
	t.Helper()
	run, err := r.store.LastBatchRun(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// (a) Yesterday's CSV export turns up again after today's was read: the
// batch refuses it at once — nobody written, nobody deprovisioned, the
// run failed, the operator alerted — and keeps refusing it, the rerun and
// the next run too, until a newer export comes.
func TestBatchRefusesAnExportOlderThanTheLastCompletedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "workers.csv")
		t1 := time.Now()
		writeExport(t, path, t1, "w-001,Alice", "w-002,Bob")
		src, err := csv.Open(t.Context(), path, &csv.Config{AsOfColumn: "As Of"})
		if err != nil {
			t.Fatal(err)
		}
		r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), audit: &audit.Memory{}, alerts: &alerts{}, src: src}
		r.run(hrissync.Config{})
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if run := lastRun(t, r); !run.AsOf.Equal(t1) || !run.Baseline.IsZero() {
			t.Fatalf("first run: as of %v, baseline %v; want %v and none", run.AsOf, run.Baseline, t1)
		}
		writes := len(r.lms.writes())

		// Yesterday's export: Bob missing, Alice under another name.
		stale := t1.Add(-24 * time.Hour)
		writeExport(t, path, stale, "w-001,Alicia")
		r.sleep(10 * time.Minute)
		err = r.eng.Batch(t.Context())
		if !errors.Is(err, hrissync.ErrStaleList) {
			t.Fatalf("batch on a stale export: %v, want ErrStaleList", err)
		}
		run := lastRun(t, r)
		if run.Status != store.BatchFailed || !run.AsOf.Equal(stale) || !run.Baseline.Equal(t1) || run.Seen != 0 || len(run.Leavers) != 0 {
			t.Errorf("refused run = %+v; want failed, as of %v, baseline %v, nobody seen", run, stale, t1)
		}
		if k := r.alerts.kinds(); !slices.Equal(k, []hrissync.AlertKind{hrissync.AlertStaleList}) {
			t.Errorf("alerts = %v, want stale-list at once", k)
		}
		synctest.Wait()
		if n := len(r.lms.writes()); n != writes {
			t.Errorf("a refused export made %d writes", n-writes)
		}
		if !r.mustAccount("w-002").Active || r.mustAccount("w-001").Fields[hrissync.FieldGivenName] != "Alice" {
			t.Errorf("the stale export was applied: %+v, %+v", r.mustAccount("w-001"), r.mustAccount("w-002"))
		}

		// Its rerun is refused and pages; the next run, its baseline
		// carried from the failed ones, is refused too.
		r.sleep(10 * time.Minute)
		if err := r.eng.Batch(t.Context()); !errors.Is(err, hrissync.ErrStaleList) {
			t.Fatalf("rerun: %v, want ErrStaleList", err)
		}
		r.sleep(10 * time.Minute)
		if err := r.eng.Batch(t.Context()); !errors.Is(err, hrissync.ErrStaleList) {
			t.Fatalf("next run: %v, want ErrStaleList", err)
		}
		if run := lastRun(t, r); run.Attempt != 1 || !run.Baseline.Equal(t1) {
			t.Errorf("next run = %+v, want a first attempt with baseline %v", run, t1)
		}
		want := []hrissync.AlertKind{hrissync.AlertStaleList, hrissync.AlertBatchFailed, hrissync.AlertStaleList}
		if k := r.alerts.kinds(); !slices.Equal(k, want) {
			t.Errorf("alerts = %v, want %v", k, want)
		}
		if n := len(r.lms.writes()); n != writes {
			t.Errorf("refused exports made %d writes", n-writes)
		}

		// A newer export is taken.
		writeExport(t, path, time.Now(), "w-001,Alicia")
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r.mustAccount("w-002").Active || r.mustAccount("w-001").Fields[hrissync.FieldGivenName] != "Alicia" {
			t.Error("the newer export was not applied")
		}
	})
}

// (b) An export taken at 23:00, a termination at 23:30 applied at midnight:
// the 02:00 batch reads the export (it is newer than the last completed
// run's), leaves the leaver deactivated, and counts her as stale.
func TestBatchCountsPeopleTheStoreHoldsNewerThanTheList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startDated(t, hrissync.Config{})
		a := r.hr.put(alice())
		b := bob()
		r.hr.put(b)
		r.notify(a.ID)
		r.notify(b.ID)
		day := time.Now()
		r.sleep(23 * time.Hour) // the 02:00 batch has run
		r.hr.mu.Lock()
		r.hr.snapshot, r.hr.snapshotAt = maps.Clone(r.hr.people), time.Now()
		r.hr.mu.Unlock()
		r.sleep(30 * time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.DateOf(time.Now()) })
		r.notify(a.ID)
		r.sleep(3 * time.Hour) // midnight, then the 02:00 batch

		if r.mustAccount(a.ID).Active {
			t.Fatal("the leaver is active again after a batch read an export older than the termination")
		}
		run := lastRun(t, r)
		asOf, baseline := day.Add(23*time.Hour), day.Add(2*time.Hour)
		if run.Status != store.BatchSucceeded || !run.AsOf.Equal(asOf) || !run.Baseline.Equal(baseline) {
			t.Errorf("run = %+v; want succeeded, as of %v, baseline %v", run, asOf, baseline)
		}
		if run.Stale != 1 {
			t.Errorf("stale = %d, want 1: the leaver", run.Stale)
		}
		var summary string
		for _, e := range r.audit.Entries() {
			if e.Action == audit.ActionRunSummary && e.RunID == run.ID {
				summary = e.Summary
			}
		}
		if !strings.Contains(summary, "stale=1") || !strings.Contains(summary, "asof="+asOf.UTC().Format(time.RFC3339)) {
			t.Errorf("run summary %q lacks stale=1 and the list's time", summary)
		}
	})
}

// (c) A rerun keeps its first attempt's baseline: it may read a list older
// than the failed attempt's, never one older than the last completed run's.
func TestBatchRerunKeepsItsBaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startDated(t, hrissync.Config{Concurrency: 1})
		staff(r, 10)
		day := time.Now()
		setList := func(failAfter int, at time.Time) {
			r.hr.mu.Lock()
			r.hr.listFailAfter, r.hr.snapshotAt = failAfter, at
			r.hr.mu.Unlock()
		}
		r.sleep(2*time.Hour + time.Minute) // day 1, 02:00: a list as of 02:00
		t1 := day.Add(2 * time.Hour)
		if run := lastRun(t, r); run.Status != store.BatchSucceeded || !run.AsOf.Equal(t1) {
			t.Fatalf("first run = %+v", run)
		}

		// Day 2: the 02:00 list breaks after 5 people; the 03:00 rerun
		// reads a list taken at 01:30 — older than the failed attempt's,
		// newer than day 1's.
		setList(5, time.Time{})
		r.sleep(24 * time.Hour)
		if run := lastRun(t, r); run.Status != store.BatchFailed || run.Attempt != 1 || !run.Baseline.Equal(t1) {
			t.Fatalf("day 2 run = %+v, want a failed first attempt with baseline %v", run, t1)
		}
		t2 := day.Add(24*time.Hour + 90*time.Minute)
		setList(0, t2)
		r.sleep(time.Hour)
		run := lastRun(t, r)
		if run.Status != store.BatchSucceeded || run.Attempt != 2 || !run.Baseline.Equal(t1) || !run.AsOf.Equal(t2) {
			t.Fatalf("day 2 rerun = %+v, want succeeded with baseline %v, as of %v", run, t1, t2)
		}

		// Day 3: the 02:00 list breaks again; the rerun reads a list
		// taken before day 2's rerun read its own: refused.
		setList(5, time.Time{})
		r.sleep(23 * time.Hour)
		setList(0, t2.Add(-time.Minute))
		r.sleep(time.Hour)
		run = lastRun(t, r)
		if run.Status != store.BatchFailed || run.Attempt != 2 || !run.Baseline.Equal(t2) || !strings.Contains(run.Err, hrissync.ErrStaleList.Error()) {
			t.Errorf("day 3 rerun = %+v, want refused as stale against baseline %v", run, t2)
		}
		want := []hrissync.AlertKind{hrissync.AlertStaleList, hrissync.AlertBatchFailed}
		if k := r.alerts.kinds(); !slices.Equal(k, want) {
			t.Errorf("alerts = %v, want %v", k, want)
		}
	})
}

// (d) A Source that cannot say when its list was taken: no time, no
// baseline, nothing refused — only the count of people held newer.
func TestBatchWithoutSnapshotIsNotRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.hr.mu.Lock()
		r.hr.snapshot = maps.Clone(r.hr.people) // an export taken now…
		r.hr.mu.Unlock()
		r.sleep(time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID) // …older than the promotion applied since
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		run := lastRun(t, r)
		if run.Status != store.BatchSucceeded || !run.AsOf.IsZero() || !run.Baseline.IsZero() || run.Stale != 1 {
			t.Errorf("run = %+v; want succeeded, no time, no baseline, one stale", run)
		}
		if k := r.alerts.kinds(); len(k) != 0 {
			t.Errorf("alerts = %v, want none", k)
		}
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; got != "Lead" {
			t.Errorf("role = %q: the older export overwrote a newer value", got)
		}
	})
}
