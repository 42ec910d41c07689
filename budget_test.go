package hrissync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
)

// One deactivation budget across every trigger (issue 17, finding 5): the
// people beyond it keep their access, one alert names the window, and an
// approval — recorded with its approver — lets them go.

// hire puts n people in HR and provisions them by webhook.
func hire(r *rig, n int) []string {
	var ids []string
	for i := range n {
		e := alice()
		e.ID, e.Email, e.EmployeeNumber = fmt.Sprintf("w-%04d", i), fmt.Sprintf("p%d@example.com", i), fmt.Sprint(i)
		r.hr.put(e)
		r.notify(e.ID)
		ids = append(ids, e.ID)
	}
	return ids
}

// terminate ends id's employment at once and tells the engine.
func terminate(r *rig, id string) {
	r.hr.update(id, func(e *hrissync.Employee) {
		e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
	})
	r.notify(id)
}

func active(r *rig, ids ...string) (out []string) {
	for _, id := range ids {
		if r.mustAccount(id).Active {
			out = append(out, id)
		}
	}
	return out
}

func thresholdAlerts(r *rig) []hrissync.Alert {
	r.alerts.mu.Lock()
	defer r.alerts.mu.Unlock()
	var out []hrissync.Alert
	for _, a := range r.alerts.all {
		if a.Kind == hrissync.AlertDeletionThreshold {
			out = append(out, a)
		}
	}
	return out
}

func TestTerminationsBeyondTheBudgetAreHeldUntilApproved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 3}})
		ids := hire(r, 20)
		for _, id := range ids[:5] {
			terminate(r, id)
		}
		if got := active(r, ids[:5]...); !slices.Equal(got, ids[3:5]) {
			t.Fatalf("active after 5 terminations with a budget of 3: %v, want the last two held", got)
		}
		if got := r.eng.Holds()[hrissync.BudgetTerminated]; !slices.Equal(got, ids[3:5]) {
			t.Errorf("Holds = %v, want %v", got, ids[3:5])
		}
		alerts := thresholdAlerts(r)
		if len(alerts) != 1 || alerts[0].Severity != hrissync.SeverityCritical || !strings.Contains(alerts[0].Message, `"held/terminated"`) {
			t.Fatalf("alerts = %+v, want one critical naming held/terminated", alerts)
		}
		// The hourly recheck holds them again; no second alert.
		r.sleep(2 * time.Hour)
		if got := active(r, ids[3:5]...); len(got) != 2 || len(thresholdAlerts(r)) != 1 {
			t.Fatalf("after the recheck: active %v, %d alerts", got, len(thresholdAlerts(r)))
		}

		if err := r.eng.ApproveDeletions(t.Context(), "held/terminated", " "); !errors.Is(err, hrissync.ErrNoApprover) {
			t.Fatalf("approval without an approver: %v", err)
		}
		if err := r.eng.ApproveDeletions(t.Context(), "held/terminated", "ops@example.com"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := active(r, ids[:5]...); len(got) != 0 {
			t.Fatalf("still active after approval: %v", got)
		}
		if h := r.eng.Holds(); len(h) != 0 {
			t.Errorf("holds after approval: %v", h)
		}
		var approval *audit.Entry
		for _, e := range r.audit.Entries() {
			if e.Action == audit.ActionDeletionsApproved {
				approval = &e
			}
		}
		if approval == nil || approval.Trigger != audit.TriggerOperator ||
			!strings.Contains(approval.Summary, "ops@example.com") || !strings.Contains(approval.Summary, ids[3]+", "+ids[4]) {
			t.Errorf("approval audit entry = %+v", approval)
		}
		if err := r.eng.ApproveDeletions(t.Context(), "held/terminated", "ops@example.com"); !errors.Is(err, hrissync.ErrNotHeld) {
			t.Errorf("approving nothing held: %v, want ErrNotHeld", err)
		}

		// Approved deactivations spend nothing, but the window still holds
		// the three: a sixth termination is held, and goes once the
		// window has rolled past them, without an approval.
		terminate(r, ids[5])
		if got := active(r, ids[5]); len(got) != 1 {
			t.Fatal("a sixth termination in the window passed the budget")
		}
		r.sleep(23 * time.Hour)
		if got := active(r, ids[5]); len(got) != 0 {
			t.Error("still held after the window rolled on")
		}
	})
}

// A record contradicting itself is read as without access — and counts
// against the termination budget, for a mapping bug that makes every record
// contradict itself is the classic mass incident.
func TestContradictionsSpendTheTerminationBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 1}, DeletionLimit: hrissync.Budget{Off: true}})
		ids := hire(r, 10)
		for _, id := range ids[:3] {
			r.hr.update(id, func(e *hrissync.Employee) {
				e.Status, e.TerminationDate = hrissync.StatusTerminated, hrissync.NewDate(1998, 6, 30) // before the start date
			})
			r.notify(id)
		}
		if got := active(r, ids[:3]...); !slices.Equal(got, ids[1:3]) {
			t.Fatalf("active = %v, want all but the first held", got)
		}
	})
}

// People who vanish — out of scope by webhook, gone from the full list —
// spend one window, whichever trigger saw them.
func TestVanishingOnEveryTriggerSpendsOneWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{
			DeletionLimit: hrissync.Budget{Count: 3},
			InScope:       func(e hrissync.Employee) bool { return e.Department != "Contractors" },
		})
		ids := hire(r, 20)
		for _, id := range ids[:4] {
			r.hr.update(id, func(e *hrissync.Employee) { e.Department = "Contractors" })
			r.notify(id)
		}
		if got := active(r, ids[:4]...); !slices.Equal(got, ids[3:4]) {
			t.Fatalf("active = %v, want the fourth held", got)
		}
		if got := r.eng.Holds()[hrissync.BudgetVanished]; !slices.Equal(got, ids[3:4]) {
			t.Errorf("Holds = %v", r.eng.Holds())
		}
		// The 02:00 batch finds one more gone from the list: one more
		// than the window has left, so the run is held.
		r.hr.remove(ids[10])
		r.sleep(3 * time.Hour)
		run, err := r.eng.LastBatchRun(t.Context())
		if err != nil || run.Status != store.BatchHeld || !slices.Contains(run.Leavers, ids[10]) {
			t.Fatalf("run = %+v (%v), want held with %s", run, err, ids[10])
		}
		if !r.mustAccount(ids[10]).Active {
			t.Error("the held run's leaver lost access")
		}
		if err := r.eng.ApproveDeletions(t.Context(), run.ID, "ops@example.com"); err != nil {
			t.Fatal(err)
		}
		if r.mustAccount(ids[10]).Active {
			t.Error("approved leaver still active")
		}
		if run, _ := r.eng.LastBatchRun(t.Context()); run.ApprovedBy != "ops@example.com" {
			t.Errorf("run approved by %q", run.ApprovedBy)
		}
	})
}

// The window is the Store's: a restarted engine does not start afresh.
func TestBudgetSurvivesARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 2}})
		ids := hire(r, 10)
		terminate(r, ids[0])
		terminate(r, ids[1])
		r.hr.update(ids[2], func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
		})
		again, err := hrissync.New(r.hr, r.lms, r.store, &hrissync.Config{
			TerminationLimit: hrissync.Budget{Count: 2}, Alerter: r.alerts, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Reconcile(context.Background(), ids[2]); err != nil {
			t.Fatal(err)
		}
		if !r.mustAccount(ids[2]).Active {
			t.Fatal("a new engine on the same Store spent the window afresh")
		}
	})
}

// A rerun resuming from its checkpoint judges the whole run's leavers
// against the whole run's accounts: it used to judge them against the
// accounts after the checkpoint only, and held the run falsely.
func TestResumedRunCountsLeaversAgainstTheWholeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Concurrency: 2, Policy: cadence.BatchOnly(),
			DeletionLimit: hrissync.Budget{Share: 0.10}})
		staff(r, 200)
		r.sleep(2*time.Hour + time.Minute) // everyone provisioned by the 02:00 batch
		var gone []string
		for i := 5; i < 200; i += 12 {
			gone = append(gone, fmt.Sprintf("w-%04d", i))
			r.hr.remove(gone[len(gone)-1])
		}
		r.hr.mu.Lock()
		r.hr.listFailAfter = 140
		r.hr.mu.Unlock()
		r.sleep(24 * time.Hour) // the next 02:00 fails after 140 people
		run, _ := r.eng.LastBatchRun(t.Context())
		if run.Status != store.BatchFailed {
			t.Fatalf("run = %+v, want failed", run)
		}
		r.hr.mu.Lock()
		r.hr.listFailAfter = 0
		r.hr.mu.Unlock()
		r.sleep(time.Hour) // 03:00: the rerun
		run, _ = r.eng.LastBatchRun(t.Context())
		if run.Status != store.BatchSucceeded || run.Attempt != 2 {
			t.Fatalf("rerun = %s (attempt %d), leavers %d of %d accounts; want succeeded: %d of 200 is within 10 %%",
				run.Status, run.Attempt, len(run.Leavers), run.Accounts, len(gone))
		}
		if !slices.Equal(run.Leavers, gone) || run.Accounts != 200 {
			t.Errorf("leavers %v of %d accounts, want %v of 200, each once", run.Leavers, run.Accounts, gone)
		}
		if got := active(r, gone...); len(got) != 0 {
			t.Errorf("leavers still active: %v", got)
		}
	})
}

// A negative limit reads like "no limit of this kind" but would turn the
// budget off unseen: New refuses it.
func TestNegativeBudgetIsRefused(t *testing.T) {
	for _, b := range []hrissync.Budget{{Count: -1}, {Share: -0.1}, {Count: 5, Share: -1}} {
		if _, err := hrissync.New(newHR(), newLMS(), memory.New(), &hrissync.Config{TerminationLimit: b}); err == nil {
			t.Errorf("New accepted %+v", b)
		}
		if _, err := hrissync.New(newHR(), newLMS(), memory.New(), &hrissync.Config{DeletionLimit: b}); err == nil {
			t.Errorf("New accepted DeletionLimit %+v", b)
		}
	}
}

// A held run that the next night's run takes the place of, unapproved, is
// superseded — not left held for ever, its incident open.
func TestHeldRunIsSupersededByTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{DeletionLimit: hrissync.Budget{Count: 1}})
		ids := hire(r, 10)
		r.hr.remove(ids[0])
		r.hr.remove(ids[1])
		r.sleep(3 * time.Hour)
		first, _ := r.eng.LastBatchRun(t.Context())
		if first.Status != store.BatchHeld {
			t.Fatalf("first run %s, want held", first.Status)
		}
		r.sleep(24 * time.Hour)
		second, _ := r.eng.LastBatchRun(t.Context())
		if second.ID == first.ID || second.Status != store.BatchHeld {
			t.Fatalf("second run %s %s, want a new held run", second.ID, second.Status)
		}
		if got, err := r.store.BatchRun(t.Context(), "default", first.ID); err != nil || got.Status != store.BatchSuperseded {
			t.Errorf("first run is %s (%v), want superseded", got.Status, err)
		}
		if err := r.eng.ApproveDeletions(t.Context(), first.ID, "ops@example.com"); !errors.Is(err, hrissync.ErrNotHeld) {
			t.Errorf("approving the superseded run: %v, want ErrNotHeld", err)
		}
	})
}

// A deactivation that fails and is retried spends its budget once, not once
// per attempt: the retries would otherwise hold the next leavers early.
func TestRetriedDeactivationSpendsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 2}, Retry: retry.Fixed(3, time.Second)})
		ids := hire(r, 10)
		failures := 2
		r.lms.setFail(func(u hrissync.Update) error {
			if u.EmployeeID == ids[0] && u.Kind == hrissync.Deactivate && failures > 0 {
				failures--
				return errors.New("503 try again")
			}
			return nil
		})
		terminate(r, ids[0])
		r.sleep(5 * time.Second) // two retries, within the minute the budget is counted afresh
		terminate(r, ids[1])
		if got := active(r, ids[0], ids[1]); len(got) != 0 {
			t.Fatalf("active %v: two deactivations within a budget of two, one of them retried", got)
		}
		terminate(r, ids[2])
		if got := active(r, ids[2]); len(got) != 1 {
			t.Error("a third deactivation passed a budget of two")
		}
	})
}

// A deactivation the platform refuses for good does not spend the
// termination budget: access did not end, and the next leaver's
// deactivation lands within the budget (found by an outside test).
func TestRefusedDeactivationSpendsNoBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 1}})
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		r.notify(a.ID)
		r.notify(b.ID)
		r.lms.setFail(func(u hrissync.Update) error {
			if u.EmployeeID == a.ID {
				return retry.Permanent(errors.New("403 forbidden"))
			}
			return nil
		})
		for _, id := range []string{a.ID, b.ID} {
			r.hr.update(id, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
			r.notify(id)
		}
		if !r.mustAccount(a.ID).Active {
			t.Fatal("the test's platform let the refused deactivation through")
		}
		if r.mustAccount(b.ID).Active {
			t.Errorf("%s is held with access: the refused deactivation spent the budget of one", b.ID)
		}
		if held := r.eng.Holds(); len(held) != 0 {
			t.Errorf("holds = %v, want none", held)
		}
	})
}
