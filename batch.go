package hrissync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// ErrStaleList: the Source's Snapshot was taken before the list the last
// completed run read (Run.Baseline). The run fails without reconciling or
// deprovisioning anyone, and the Alerter hears of it (AlertStaleList).
var ErrStaleList = errors.New("hrissync: the full list is older than the last completed run's")

// Batch runs the daily batch now and returns its error. If the last run
// failed and has not been rerun, this is its rerun: it reads the list again
// and skips the people the failed attempt examined; if it fails too the
// Alerter is paged.
//
// The batch streams the Source's full list, in any order, and reconciles
// every field of everyone, with memory bounded by the chunk size rather than
// the list. Once the whole list has been read, people with accounts who are
// missing from it or out of scope are leavers: if there are more than
// Config.DeletionLimit allows, the run is held and the Alerter called, and
// ApproveDeletions lets it go on. Last, it reconciles everyone still dirty.
//
// An engine of several sinks reads the list once for all of them
// (NewMulti); each sink's run is its own, in its own ledger.
func (e *Engine) Batch(ctx context.Context) error {
	if e.lanes != nil {
		_, err := e.batchLanes(ctx, e.lanes)
		return err
	}
	_, err := e.batch(ctx, e.fullList)
	return err
}

// takeList takes the Source's full list for a batch: when it was taken,
// where the Source can tell (Snapshotter; zero otherwise), and the list.
type takeList func(ctx context.Context) (asOf time.Time, list iter.Seq2[Employee, error], err error)

// fullList takes the Source's full list: its Snapshot where it has one.
func (e *Engine) fullList(ctx context.Context) (time.Time, iter.Seq2[Employee, error], error) {
	s, ok := e.src.(Snapshotter)
	if !ok {
		return time.Time{}, e.paged(ctx, TriggerBatch, callList, e.src.List(ctx)), nil
	}
	asOf, list, err := s.Snapshot(ctx)
	if err != nil {
		e.observe.sourceCall(ctx, TriggerBatch, callList) // a call that failed
		return time.Time{}, nil, fmt.Errorf("taking the full list: %w", err)
	}
	return asOf, e.paged(ctx, TriggerBatch, callList, list), nil
}

// batchChunk is how many people the batch reads, looks up and reconciles
// at a time, saving the run and marking them after each chunk.
func (e *Engine) batchChunk() int { return e.cfg.Concurrency * 32 }

func (e *Engine) batch(ctx context.Context, take takeList) (store.BatchRun, error) {
	e.batchMu.Lock()
	defer e.batchMu.Unlock()
	now := e.cfg.Clock.Now()
	run := store.BatchRun{ID: "batch-" + now.UTC().Format("20060102T150405Z") + "-" + entryID()[:6], Attempt: 1, Started: now}
	last, err := e.store.LastBatchRun(ctx, e.cfg.Tenant)
	switch {
	case err == nil && e.rerunOwed(last, now):
		// A failed run, or one the engine stopped in (its status never
		// saved): this is its rerun.
		run = last // its Baseline too: the runs before it are the same
		run.Attempt, run.Started, run.Err = 2, now, ""
	case err == nil:
		run.Baseline = last.Baseline
		if last.Status == store.BatchSucceeded && last.AsOf.After(run.Baseline) {
			run.Baseline = last.AsOf
		}
		if last.Status == store.BatchHeld {
			// Unapproved, and this run reads the list afresh: its
			// leavers are this run's to decide.
			last.Status = store.BatchSuperseded
			if err := e.store.SaveBatchRun(ctx, e.cfg.Tenant, last); err != nil {
				return run, err
			}
			e.resolve(ctx, "deletions/"+last.ID)
		}
	case !errors.Is(err, ErrNotFound):
		return run, err
	}
	e.progress = progressOf(e, run, last.Seen)
	run.Status = store.BatchRunning
	if err := e.store.SaveBatchRun(ctx, e.cfg.Tenant, run); err != nil {
		return run, err
	}

	err = e.runList(ctx, &run, take)
	if err == nil && run.Status != store.BatchHeld {
		err = e.deprovision(ctx, &run, false)
	}
	if err == nil {
		// A held run's leavers wait for the approval, dirty or not: the
		// hold is on the list as a whole, not on each person's budget.
		held := map[string]bool{}
		if run.Status == store.BatchHeld {
			for _, id := range run.Leavers {
				held[id] = true
			}
		}
		for p, perr := range e.pending(ctx, e.cfg.Clock.Now()) {
			if perr != nil {
				err = perr
				break
			}
			if held[p.ID] {
				continue
			}
			res, rerr := e.reconcile(ctx, request{id: p.ID, trigger: TriggerBatch, classes: cadence.All, fresh: true, runID: run.ID, pass: run.Started, swept: true})
			if res == written {
				run.Writes++
			}
			if err = ignoreRecorded(rerr); err != nil {
				break
			}
		}
	}
	run.Finished = e.cfg.Clock.Now()
	e.progress(run.Seen, true)
	switch {
	case err != nil:
		run.Status, run.Err = store.BatchFailed, err.Error()
		if run.Attempt > 1 {
			e.raise(ctx, "batch/"+run.ID, Alert{Kind: AlertBatchFailed, RunID: run.ID, Err: err,
				Message: "the batch and its rerun both failed"})
		}
	case run.Status != store.BatchHeld:
		run.Status = store.BatchSucceeded
		e.resolve(ctx, "vanished") // the full list has settled who is gone
	}
	saveErr := e.store.SaveBatchRun(ctx, e.cfg.Tenant, run)
	summary := audit.Entry{
		ID: "run/" + run.ID + "/" + fmt.Sprint(run.Attempt), Tenant: e.tenant, Sink: e.name, Action: audit.ActionRunSummary,
		Trigger: string(TriggerBatch), RunID: run.ID, SourceChanged: run.Started, Applied: run.Finished,
		Attempts: run.Attempt, Outcome: string(run.Status),
		Summary: fmt.Sprintf("seen=%d writes=%d leavers=%d stale=%d asof=%s err=%q",
			run.Seen, run.Writes, len(run.Leavers), run.Stale, stamp(run.AsOf), run.Err),
	}
	if auditErr := e.store.AppendAudit(ctx, e.cfg.Tenant, []audit.Entry{summary}); auditErr != nil {
		saveErr = errors.Join(saveErr, auditErr)
	}
	e.drainAudit(ctx)
	err = errors.Join(err, saveErr)
	e.finished(ctx, Pass{Name: "batch", RunID: run.ID, Started: run.Started, Took: run.Finished.Sub(run.Started),
		Outcome: string(run.Status), Writes: run.Writes}, err)
	return run, err
}

// rerunOwed reports whether last is a scheduled run that failed, or that the
// engine stopped in (its status never saved), and whose rerun is still owed
// at now: not once the schedule's next run after it is due, which reads a
// new list whole — a rerun then would skip everyone the old run examined.
func (e *Engine) rerunOwed(last store.BatchRun, now time.Time) bool {
	return last.Attempt == 1 && (last.Status == store.BatchFailed || last.Status == store.BatchRunning) &&
		now.Before(e.cfg.BatchSchedule.Next(last.Started))
}

// runList reads the Source's full list, in whatever order it comes, a chunk
// at a time, and reconciles each person; then it finds the leavers among the
// Store's accounts: those the list did not show, or showed out of scope.
//
// Each chunk examined is marked in the Store as listed by this run
// (Store.Listed), so that a rerun after a failure — a list cut short, a
// Source down — reads the list again from its start and skips only those.
// The accounts are looked through for leavers only once the whole list has
// been read: a list that ended in an error has not said who is gone.
func (e *Engine) runList(ctx context.Context, run *store.BatchRun, take takeList) error {
	list, err := e.list(ctx, run, take)
	if err != nil {
		return err
	}
	for chunk, err := range joinWith(list, employeeID, e.batchChunk(), e.batchJoin(ctx)) {
		if len(chunk) > 0 {
			if cerr := e.examine(ctx, run, chunk); cerr != nil {
				return errors.Join(err, cerr)
			}
		}
		if err != nil {
			return fmt.Errorf("reading the full list: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Who the list did not show is known only now it has been read whole.
	run.Accounts = 0
	leaving := make(map[string]bool, len(run.Leavers))
	for _, id := range run.Leavers {
		leaving[id] = true
	}
	for p, err := range e.accountSummaries(ctx) {
		if err != nil {
			return err
		}
		if p.Damaged || !p.Active {
			continue // a damaged row is rebuilt from the Source, never a leaver by default
		}
		run.Accounts++
		if p.Listed.Run != listingMark(*run) && !leaving[p.ID] {
			run.Leavers = append(run.Leavers, p.ID)
		}
	}
	slices.Sort(run.Leavers)
	// The whole run's leavers against the whole run's accounts, and
	// against what the window has spent already — counted now, after the
	// run's hires.
	e.budgets.recount()
	spent, _, err := e.budgets.room(ctx, BudgetVanished)
	if err != nil {
		return err
	}
	if e.cfg.DeletionLimit.exceeded(spent, len(run.Leavers), run.Accounts) {
		run.Status = store.BatchHeld
		e.raise(ctx, "deletions/"+run.ID, Alert{Kind: AlertDeletionThreshold, Severity: SeverityCritical, RunID: run.ID,
			Message: fmt.Sprintf("%d of %d accounts would be deprovisioned, beyond the deletion limit (%s per %v, %d spent already; first: %s); approve with ApproveDeletions(%q)",
				len(run.Leavers), run.Accounts, e.cfg.DeletionLimit.describe(), e.cfg.DeletionLimit.Window, spent,
				strings.Join(run.Leavers[:min(5, len(run.Leavers))], ", "), run.ID)})
	}
	return nil
}

// listingMark is what the run's attempt marks the people its list shows
// with: the run and the attempt, so that the rerun knows both whom the
// failed attempt examined (skipped) and whom its own list shows — a person
// the first attempt saw who has left since is a leaver, not someone seen.
func listingMark(run store.BatchRun) string { return fmt.Sprintf("%s/%d", run.ID, run.Attempt) }

// examinedBy reports whether a listing mark is one of run's attempts'.
func examinedBy(mark string, run store.BatchRun) bool {
	return strings.HasPrefix(mark, run.ID+"/")
}

// examine reconciles one chunk of the full list and marks it listed by the
// run's attempt. People this run examined already (its failed first
// attempt) are marked again but not examined twice; a list naming someone
// twice examines them once. An active account the record puts out of scope is
// a leaver, left for the budget's verdict on the whole run.
func (e *Engine) examine(ctx context.Context, run *store.BatchRun, chunk []joined[Employee]) error {
	// People naming previous ids go first, and are done before the rest
	// begin, so that an old id's account in the same chunk moves to them
	// before the old id's own record — terminated, say — is looked at
	// (docs/design.md §5.1).
	slices.SortStableFunc(chunk, func(a, b joined[Employee]) int {
		return cmp.Compare(len(b.item.PreviousIDs), len(a.item.PreviousIDs))
	})
	rekeyed := 0
	for rekeyed < len(chunk) && len(chunk[rekeyed].item.PreviousIDs) > 0 {
		rekeyed++
	}
	writes := make([]bool, len(chunk))
	listed := make([]store.Listing, 0, len(chunk))
	marked := make(map[string]bool, len(chunk))
	mark := listingMark(*run)
	newcomers := e.newcomers(run)
	for _, part := range [][]joined[Employee]{chunk[:rekeyed], chunk[rekeyed:]} {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.cfg.Concurrency)
		for _, j := range part {
			i := len(listed) // the person's index among those examined
			rec, held, settled := j.item, j.held, j.settled
			if marked[rec.ID] || held.Listed.Run == mark {
				continue // named twice in this list
			}
			marked[rec.ID] = true
			listed = append(listed, store.Listing{ID: rec.ID, Run: mark, Digest: digest(rec)})
			if examinedBy(held.Listed.Run, *run) {
				continue // by the failed attempt: marked again, as this list shows them too
			}
			run.Seen++
			if newerApplied(held, rec.Version) || settled && rec.Version.Before(j.newest) {
				run.Stale++ // the version guard leaves those fields alone
			}
			if held.Exists && held.Active && !e.cfg.InScope(rec) {
				if !slices.Contains(run.Leavers, rec.ID) {
					run.Leavers = append(run.Leavers, rec.ID)
				}
				continue
			}
			if settled || e.settled(held, rec) {
				e.observe.reconcile(TriggerBatch)
				continue
			}
			if newcomers.take(rec, held, &writes[i]) {
				continue // the Store holds nothing of them: loaded with the others below
			}
			g.Go(func() error {
				res, err := e.reconcile(gctx, request{id: rec.ID, trigger: TriggerBatch, classes: cadence.All, record: &rec, fresh: true, runID: run.ID, pass: run.Started})
				writes[i] = res == written
				return ignoreRecorded(err)
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if err := newcomers.load(ctx); err != nil {
			return err
		}
	}
	for _, w := range writes {
		if w {
			run.Writes++
		}
	}
	e.progress(run.Seen, false)
	// The run's counts first, then the marks: a crash between them
	// examines the chunk again rather than losing its leavers.
	if err := e.store.SaveBatchRun(ctx, e.cfg.Tenant, *run); err != nil {
		return err
	}
	return e.store.Listed(ctx, e.cfg.Tenant, listed)
}

// list takes the Source's full list, the run then recording when the list
// was taken (where the Source can tell) and refusing one taken before the
// run's Baseline (docs/design.md §5.11).
func (e *Engine) list(ctx context.Context, run *store.BatchRun, take takeList) (iter.Seq2[Employee, error], error) {
	asOf, list, err := take(ctx)
	if err != nil {
		return nil, err
	}
	run.AsOf = asOf
	if asOf.IsZero() || !asOf.Before(run.Baseline) {
		return list, nil
	}
	for range list {
		break // releases what the Snapshot holds
	}
	err = fmt.Errorf("%w: taken at %s, the last completed run's at %s", ErrStaleList, stamp(asOf), stamp(run.Baseline))
	e.raise(ctx, "stale/"+run.ID, Alert{Kind: AlertStaleList, RunID: run.ID, Err: err,
		Message: fmt.Sprintf("the batch refused a full list taken at %s, before the one the last completed run read (%s): nobody was reconciled or deprovisioned",
			stamp(asOf), stamp(run.Baseline))})
	return nil, err
}

// newerApplied reports whether the Store holds a field or the activity of p
// from a record newer than v.
func newerApplied(p store.Person, v hrtype.Version) bool {
	for _, a := range p.Applied {
		if v.Before(a.Version) {
			return true
		}
	}
	return false
}

// stamp formats a Source time for messages; "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// settled reports, without a lock or a read, that a person the merge found
// in the Store needs nothing: clean, no failure, no due time moving, and the
// record brings no change. Most of a nightly batch is such people. A stale
// page cannot mislead it: a write made since the page was read is newer than
// the export, which could then only be stale.
func (e *Engine) settled(held store.Person, rec Employee) bool {
	if held.Dirty.Generation != 0 || held.Failure != nil {
		return false
	}
	d, err := e.desire(&rec, e.cfg.Clock.Now())
	if err != nil || !held.Due.Equal(d.due) {
		return false
	}
	u, _ := e.propose(request{id: rec.ID, trigger: TriggerBatch}, held, d, cadence.All, false)
	return u == nil
}

// deprovision reconciles the run's leavers. Each is read from the Source
// once more: one who is there after all (a list cut short, a person hired
// during the run) is reconciled, not deprovisioned.
// approved: an operator let the run's leavers go beyond the budget.
func (e *Engine) deprovision(ctx context.Context, run *store.BatchRun, approved bool) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	pass := e.cfg.Clock.Now()
	writes := make([]bool, len(run.Leavers))
	for i, id := range run.Leavers {
		g.Go(func() error {
			res, err := e.reconcile(gctx, request{id: id, trigger: TriggerBatch, classes: cadence.All, fresh: true, runID: run.ID, pass: pass, readAfter: run.Started, approved: approved})
			writes[i] = res == written
			return ignoreRecorded(err)
		})
	}
	err := g.Wait()
	for _, w := range writes {
		if w {
			run.Writes++
		}
	}
	return err
}

// approveRun lets a run held by the deletion limit deprovision its leavers.
func (e *Engine) approveRun(ctx context.Context, runID, approver string) error {
	e.batchMu.Lock()
	defer e.batchMu.Unlock()
	run, err := e.store.BatchRun(ctx, e.cfg.Tenant, runID)
	if err != nil {
		return err
	}
	if run.Status != store.BatchHeld {
		return fmt.Errorf("%w: %s is %s", ErrNotHeld, runID, run.Status)
	}
	if err := e.recordApproval(ctx, "run "+runID, runID, approver, run.Leavers); err != nil {
		return err
	}
	run.ApprovedBy = approver
	if err := e.deprovision(ctx, &run, true); err != nil {
		return errors.Join(err, e.store.SaveBatchRun(ctx, e.cfg.Tenant, run))
	}
	run.Status, run.Finished = store.BatchSucceeded, e.cfg.Clock.Now()
	e.resolve(ctx, "deletions/"+runID)
	return e.store.SaveBatchRun(ctx, e.cfg.Tenant, run)
}
