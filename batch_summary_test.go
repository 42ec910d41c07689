package hrissync_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
)

// The batch reads people from a store.Summarizer (store/memory is one)
// summarized, and reads whole only those their summary does not settle:
// these are the cases where a summary could lie.

// A mapping changed between two runs (a field mapped since) changes what
// the engine would write: the next batch writes it for everyone, though no
// record changed.
func TestBatchWritesAFieldMappedSinceTheLastRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hrissync.Config{Concurrency: 2, Policy: cadence.BatchOnly()}
		r := start(t, cfg)
		staff(r, 100)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.lms.writes()); n != 100 {
			t.Fatalf("first batch: %d writes, want 100", n)
		}
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.lms.writes()); n != 100 {
			t.Fatalf("second batch, nothing changed: %d writes, want none more", n-100)
		}
		cfg.Map = func(e hrissync.Employee) (hrissync.Fields, error) {
			f := e.Fields()
			f["costCentre"] = "cc-" + e.Department
			return f, nil
		}
		r.newEngine(cfg) // the host restarts with the new mapping
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.lms.writes()) - 100; n != 100 {
			t.Errorf("batch after the mapping changed: %d writes, want 100", n)
		}
		if got := r.mustAccount("w-0042").Fields["costCentre"]; got != "cc-R&D" {
			t.Errorf("w-0042's costCentre = %q, want cc-R&D", got)
		}
	})
}

// A person the Store holds dirty, failed or due, whose applied state is
// the one the record gives, is reconciled all the same.
func TestBatchReconcilesTheDirtyWhoseSummaryMatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Concurrency: 2, Policy: cadence.BatchOnly()})
		staff(r, 10)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		// w-0001 dirty with an unsure write: every field is written again.
		if err := r.store.MarkDirty(t.Context(), "default", []string{"w-0001"},
			store.Mark{Since: time.Now(), Classes: cadence.All, Trigger: "replay", Unsure: true}); err != nil {
			t.Fatal(err)
		}
		before := len(r.lms.writes())
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		w := r.lms.writes()[before:]
		if len(w) != 1 || w[0].EmployeeID != "w-0001" {
			t.Errorf("writes after w-0001 was marked unsure: %+v, want w-0001's alone", w)
		}
		if p, _ := r.store.Person(t.Context(), "default", "w-0001"); p.Dirty.Generation != 0 {
			t.Errorf("w-0001 still dirty after the batch: %+v", p.Dirty)
		}
	})
}

// A person whose record the list shows older than what the Store holds,
// though the values are the same, is counted stale whether read whole or
// summarized.
func TestBatchCountsStaleSettledBySummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startDated(t, hrissync.Config{Concurrency: 2})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.mu.Lock()
		r.hr.snapshot, r.hr.snapshotAt = maps.Clone(r.hr.people), time.Now()
		r.hr.mu.Unlock()
		r.sleep(time.Minute)
		// HR saves the record unchanged: a newer version, the same values,
		// confirmed by the webhook.
		r.hr.update(a.ID, func(e *hrissync.Employee) {})
		r.notify(a.ID)
		before := len(r.lms.writes())
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if run := lastRun(t, r); run.Stale != 1 || run.Seen != 1 {
			t.Errorf("run = %+v; want alice seen and stale", run)
		}
		if n := len(r.lms.writes()) - before; n != 0 {
			t.Errorf("%d writes from an export that changes nothing", n)
		}
	})
}

// lookupOnly hides the memory Store's summaries: the batch reads everyone
// whole, as it does from a Store that is no store.Summarizer.
type lookupOnly struct{ store.Store }

// The batch does the same whether it reads people summarized or whole:
// the same writes, the same runs, through hires, changes, a failure, a
// leaver and a change of mapping.
func TestBatchSameWithoutSummaries(t *testing.T) {
	type outcome struct {
		runs   []store.BatchRun
		writes []hrissync.Update
	}
	play := func(t *testing.T, summarized bool) outcome {
		var out outcome
		synctest.Test(t, func(t *testing.T) {
			hr, lms := newHR(), newLMS()
			mem := memory.New()
			var st store.Store = mem
			if !summarized {
				st = lookupOnly{mem}
			}
			cfg := hrissync.Config{Concurrency: 2, Policy: cadence.BatchOnly(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				DeletionLimit: hrissync.Budget{Count: 100, Share: 1}}
			eng, err := hrissync.New(hr, lms, st, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			batch := func() {
				t.Helper()
				if err := eng.Batch(t.Context()); err != nil {
					t.Fatal(err)
				}
				run, err := mem.LastBatchRun(t.Context(), "default")
				if err != nil {
					t.Fatal(err)
				}
				run.ID, run.Started, run.Finished = "", time.Time{}, time.Time{}
				out.runs = append(out.runs, run)
				time.Sleep(time.Hour)
			}
			for i := range 40 {
				e := alice()
				e.ID, e.Email, e.EmployeeNumber = fmt.Sprintf("w-%04d", i), fmt.Sprintf("p%d@example.com", i), fmt.Sprint(i)
				hr.put(e)
			}
			batch()
			batch() // nothing changed
			for i := 0; i < 40; i += 7 {
				hr.update(fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.Role = "Lead" })
			}
			hr.update("w-0003", func(e *hrissync.Employee) { e.TerminationDate = hrissync.DateOf(time.Now().AddDate(0, 0, 2)) })
			hr.remove("w-0005")
			lms.setFail(func(u hrissync.Update) error {
				if u.EmployeeID == "w-0014" {
					return errors.New("503")
				}
				return nil
			})
			batch()
			lms.setFail(nil)
			batch() // w-0014 again
			time.Sleep(72 * time.Hour)
			batch() // w-0003's last day has passed
			cfg.Map = func(e hrissync.Employee) (hrissync.Fields, error) {
				f := e.Fields()
				f["costCentre"] = "cc-" + e.Department
				return f, nil
			}
			if eng, err = hrissync.New(hr, lms, st, &cfg); err != nil {
				t.Fatal(err)
			}
			batch()
			batch()
			out.writes = lms.writes()
		})
		return out
	}
	whole, summarized := play(t, false), play(t, true)
	if d := cmp.Diff(whole.runs, summarized.runs); d != "" {
		t.Errorf("runs (-whole +summarized):\n%s", d)
	}
	// Writes run concurrently: compared in the order of the people.
	key := func(u hrissync.Update) string { return fmt.Sprint(u.EmployeeID, u.Kind, u.Changes) }
	sorted := func(us []hrissync.Update) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = key(u)
		}
		slices.Sort(out)
		return out
	}
	if d := cmp.Diff(sorted(whole.writes), sorted(summarized.writes)); d != "" {
		t.Errorf("writes (-whole +summarized):\n%s", d)
	}
	if len(whole.writes) < 40+6+39 {
		t.Errorf("only %d writes: the scenario did not run", len(whole.writes))
	}
}
