package hrissync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
)

// request is one call for a reconcile.
type request struct {
	id      string
	trigger Trigger
	classes cadence.Class
	// record is the person as the poll or batch already read it; nil means
	// read the Source.
	record *Employee
	// fresh starts a new series of attempts (a poll, a batch, a replay);
	// otherwise the attempt continues the person's current series.
	fresh bool
	runID string
	// chain lists the reports waiting for this person to be provisioned
	// as their manager, to detect manager cycles.
	chain []string
	// platform is the account as the platform was just seen to hold it
	// (a drift repair; a zero Account: none): it overrides the Store's
	// existence and activity, and every field is rewritten. nil: trust
	// the Store.
	platform *Account
	// revoking is set once the write is planned: it takes access away,
	// so its failure is critical.
	revoking bool
	// approved: an operator let this deactivation go beyond its budget.
	approved bool
}

// result is what a reconcile did.
type result int

const (
	unchanged result = iota // nothing to write
	written                 // one write made and committed
	deferred                // put off: paused sink, source lag, a busy manager
	failed                  // recorded as a failure, retried by policy
)

// How soon to look again when the Source lags behind an event, or when a
// manager is being reconciled by someone else.
const (
	lagRetry     = 5 * time.Second
	managerRetry = time.Second
)

// reconcile compares desired and applied state for one person and makes at
// most one write. One person is never reconciled twice at once: the regular
// path waits for the person's lock, while a manager provisioned on behalf of
// a report is only tried (a wait there could deadlock two reports whose
// managers are each other).
func (e *Engine) reconcile(ctx context.Context, r request) (result, error) {
	// A manager provisioned on a report's behalf runs in the report's
	// slot: taking a second could deadlock a full Share.
	if e.cfg.Share != nil && len(r.chain) == 0 {
		if err := e.cfg.Share.acquire(ctx, e.cfg.Tenant); err != nil {
			return failed, err
		}
		defer e.cfg.Share.release(e.cfg.Tenant)
	}
	if len(r.chain) > 0 {
		if !e.locks.TryLock(r.id) {
			return deferred, nil
		}
	} else {
		e.locks.Lock(r.id)
	}
	defer e.locks.Unlock(r.id)
	unlock, ok, err := e.lockPerson(ctx, r.id, len(r.chain) == 0)
	switch {
	case err != nil:
		return failed, fmt.Errorf("hrissync: locking %s: %w", r.id, err)
	case !ok:
		return deferred, nil
	}
	defer unlock()

	p, err := e.store.Person(ctx, e.cfg.Tenant, r.id)
	if err != nil {
		return failed, fmt.Errorf("hrissync: reading state of %s: %w", r.id, err)
	}
	now := e.cfg.Clock.Now()
	classes := r.classes | p.Dirty.Classes
	if !p.Due.IsZero() && !p.Due.After(now) {
		classes |= cadence.Realtime
	}
	attempt := 1
	if !r.fresh && p.Failure != nil && !p.Failure.Dead {
		attempt = p.Failure.Attempts + 1
	}
	e.stats.trigger(r.trigger, func(s *TriggerStats) { s.Reconciles++ })

	rec := r.record
	if rec == nil || e.lags(*rec, p.Dirty.MinVersion) {
		got, err := e.src.Get(ctx, r.id)
		switch {
		case errors.Is(err, ErrNotFound):
			rec = nil
		case err != nil:
			return e.fail(ctx, r, p.Failure, attempt, classes, p.Dirty.Unsure, fmt.Errorf("reading the source: %w", err))
		default:
			rec = &got
		}
	}
	if rec != nil && e.lags(*rec, p.Dirty.MinVersion) {
		if now.Sub(p.Dirty.Since) < e.cfg.HydrateLag {
			e.stats.add(func(s *Stats) { s.Deferred++ })
			e.dispatcher.Dispatch(r.id, now.Add(lagRetry))
			return deferred, nil
		}
		e.log.Warn("source still behind the event; applying what it has", "id", r.id,
			"record", rec.Version, "event", p.Dirty.MinVersion)
	}

	if rec == nil && p.Exists && p.Active && (r.trigger == TriggerRealtime || r.trigger == TriggerPoll) {
		return e.vanished(ctx, p)
	}
	d, err := e.desire(rec, now)
	if err != nil {
		return e.fail(ctx, r, p.Failure, attempt, classes, p.Dirty.Unsure, retry.Permanent(err))
	}
	if d.conflict != "" {
		// Never a silent choice: the safer reading (no access) is
		// applied, and an operator hears of it once per record version.
		e.raise(ctx, "conflict/"+r.id+"/"+d.version.String(), Alert{Kind: AlertRecordConflict,
			Message: fmt.Sprintf("%s: %s; treated as without access", r.id, d.conflict)})
	}
	basis := p
	switch {
	case r.platform != nil:
		basis.Exists, basis.Active = r.platform.EmployeeID != "", r.platform.Active
	case p.Damaged:
		// The Store could not decode this person's state, so nothing of
		// it is known, not even whether access was granted: write the
		// activity and every field anew (a reactivation or a
		// deactivation carries them all).
		basis.Exists, basis.Active = true, !d.active
		e.raise(ctx, "damaged/"+r.id, Alert{Kind: AlertDamagedState, Severity: SeverityCritical,
			Message: fmt.Sprintf("%s: the stored state could not be decoded; rebuilt from the Source with a full rewrite", r.id)})
	}
	rewrite := p.Dirty.Unsure || p.Damaged || r.platform != nil
	if rewrite {
		// A write may have landed unrecorded (or the platform is known
		// to differ): the platform cannot be trusted to hold what was
		// applied, so every field is written again.
		classes = cadence.All
	}
	u, applied := e.plan(r, basis, d, classes, rewrite)
	if u == nil {
		return e.commitUnchanged(ctx, p, d, applied)
	}
	r.revoking = u.Kind == Deactivate
	revoked := "" // the budget this deactivation spends
	if r.revoking && p.Active {
		if revoked, err = e.budgets.take(ctx, budgetOf(rec, e.cfg.InScope), r.id, r.approved); err != nil {
			return e.fail(ctx, r, p.Failure, attempt, classes, p.Dirty.Unsure, err)
		}
		if revoked == "" {
			// Held beyond the budget: access is kept, the person stays
			// dirty, and is looked at again when the window may have
			// room or at once when an operator approves.
			return e.putOff(ctx, r, p, classes, now.Add(holdRecheck))
		}
	}

	comeBack := false // a manager withheld to break a cycle: set it next time
	if m := u.Fields[FieldManagerID]; m != "" && u.Active && changes(u, FieldManagerID) {
		res, cycle, err := e.ensureManager(ctx, r, m)
		comeBack = cycle
		switch {
		case err != nil:
			return e.fail(ctx, r, p.Failure, attempt, classes, p.Dirty.Unsure, err)
		case res == deferred:
			return e.putOff(ctx, r, p, classes, now.Add(managerRetry))
		case res == unchanged: // the manager cannot be provisioned: set it later
			withhold(u, applied, FieldManagerID)
			if u.Kind == Modify && len(u.Changes) == 0 {
				return e.commitUnchanged(ctx, p, d, applied)
			}
		}
	}

	retryAt, probe, ok := e.guard.admit(now)
	if !ok {
		e.pauseDispatch(retryAt)
		return e.putOff(ctx, r, p, classes, retryAt)
	}
	if attempt == 1 {
		e.stats.trigger(r.trigger, func(s *TriggerStats) { s.NeededWrites++ })
	}
	// Until its commit, the write may land unrecorded: say so durably
	// first, so that after a crash the next reconcile rewrites rather
	// than trusting applied state the platform may no longer match.
	generation, err := e.store.Intend(ctx, e.cfg.Tenant, r.id, Mark{Since: now, Classes: classes, Trigger: r.trigger})
	if err != nil {
		return e.fail(ctx, r, p.Failure, attempt, classes, p.Dirty.Unsure, fmt.Errorf("recording the intent: %w", err))
	}
	// The commit will clear the mark as of the intent. An event accepted
	// since the person was read — while the Source was being read — is
	// in that mark, yet the record in hand may predate it: look again now
	// rather than clear it unseen. Nothing was written; the mark stays.
	if held, err := e.store.Person(ctx, e.cfg.Tenant, r.id); err != nil {
		return e.fail(ctx, r, p.Failure, attempt, classes, true, fmt.Errorf("reading state of %s: %w", r.id, err))
	} else if held.Dirty.EventID != p.Dirty.EventID {
		e.stats.add(func(s *Stats) { s.Deferred++ })
		e.dispatcher.Dispatch(r.id, e.cfg.Clock.Now())
		return deferred, nil
	}
	e.stats.trigger(r.trigger, func(s *TriggerStats) {
		s.Attempts++
		if attempt > 1 {
			s.Retries++
		}
	})
	e.metrics.attempt(ctx, r.trigger, u.Kind, attempt > 1)
	err = e.sink.Apply(ctx, *u)
	var missing *MissingManagerError
	if errors.As(err, &missing) && len(r.chain) == 0 {
		// The platform knows better than the Store: provision the
		// manager, then try once more.
		if res, _, merr := e.ensureManager(ctx, r, missing.ManagerID); merr == nil && res == written {
			e.stats.trigger(r.trigger, func(s *TriggerStats) { s.Attempts++; s.Retries++ })
			e.metrics.attempt(ctx, r.trigger, u.Kind, true)
			err = e.sink.Apply(ctx, *u)
		}
	}
	acked := e.cfg.Clock.Now()
	switch opened, closed := e.guard.outcome(acked, probe, err); {
	case opened:
		e.raise(ctx, "circuit", Alert{Kind: AlertCircuitOpen, Err: err,
			Message: fmt.Sprintf("the sink failed %d times in a row; writes paused", e.cfg.Breaker.Failures)})
	case closed:
		e.resolve("circuit")
	}
	if _, throttled := retry.After(err); throttled && !retry.IsPermanent(err) {
		// The sink is up and said when to come back: the whole sink is
		// paused (the guard saw it, and floored the pause), and this
		// person waits with the rest, without using up an attempt of its
		// own.
		until := e.guard.resumeAt()
		e.pauseDispatch(until)
		return e.putOff(ctx, r, p, classes, until)
	}
	if err != nil {
		return e.fail(ctx, r, p.Failure, attempt, classes, mayHaveLanded(err), err)
	}
	e.stats.trigger(r.trigger, func(s *TriggerStats) { s.Writes++ })
	e.stats.observe(r.trigger, acked.Sub(d.changedAt))
	e.metrics.write(ctx, u, acked.Sub(d.changedAt))

	entry := audit.Entry{
		ID: entryID(), Tenant: e.cfg.Tenant, EmployeeID: r.id, Action: u.Kind.String(),
		Trigger: string(r.trigger), EventID: p.Dirty.EventID, RunID: r.runID,
		SourceChanged: d.changedAt, Received: p.Dirty.Since, Applied: acked,
		Attempts: attempt, Outcome: "applied",
	}
	for _, c := range u.Changes {
		entry.Changes = append(entry.Changes, audit.Change{Field: c.Field, Old: c.Old, New: c.New})
	}
	err = e.store.Commit(ctx, e.cfg.Tenant, Commit{
		ID: r.id, Generation: generation, Exists: true, Active: u.Active,
		Applied: applied, Audit: []audit.Entry{entry}, Due: d.due,
		Revoked: revoked, At: acked,
	})
	if err != nil {
		// The write reached the sink but is not recorded: the person
		// stays dirty and the write is repeated, harmlessly.
		return e.fail(ctx, r, p.Failure, attempt, classes, true, fmt.Errorf("committing: %w", err))
	}
	if p.Damaged {
		e.resolve("damaged/" + r.id)
	}
	e.budgets.settled(r.id)
	if !d.due.IsZero() {
		e.dispatcher.Dispatch(r.id, d.due)
	}
	if comeBack {
		if err := e.store.MarkDirty(ctx, e.cfg.Tenant, []string{r.id}, Mark{Since: acked, Classes: cadence.Realtime, Trigger: r.trigger}); err != nil {
			e.log.Error("marking a withheld manager reference", "id", r.id, "err", err)
		}
		e.dispatcher.Dispatch(r.id, acked.Add(managerRetry))
	}
	e.drainAudit(ctx)
	return written, nil
}

// vanished handles a person with access whom the Source suddenly does not
// hold, seen by a webhook or a poll: a 404 alone never deactivates, for a
// Source that starts answering 404 for many people at once (a permissions
// change on the integration user) would otherwise end everyone's access
// within a minute. The person stays active until the nightly full list
// confirms they are gone — under the batch's deletion limit — or an operator
// replays them; the Alerter hears of it once.
func (e *Engine) vanished(ctx context.Context, p Person) (result, error) {
	e.raise(ctx, "vanished", Alert{Kind: AlertVanished,
		Message: fmt.Sprintf("%s: the Source does not hold this person; access is kept until the next full list confirms it", p.ID)})
	return e.commitUnchanged(ctx, p, desired{due: p.Due}, nil)
}

// budgetOf names the budget a deactivation spends: a person the Source no
// longer holds, or holds out of scope, vanished; one whose record ends their
// access was terminated.
func budgetOf(rec *Employee, inScope func(Employee) bool) string {
	if rec == nil || !inScope(*rec) {
		return BudgetVanished
	}
	return BudgetTerminated
}

// lags reports whether rec is older than the mark needs: read-after-write
// lag. A thin event gives only a time (no sequence), compared with the
// record's version within HydrateTolerance.
func (e *Engine) lags(rec Employee, min Version) bool {
	if min.Seq == 0 {
		return rec.Version.Time.Add(e.cfg.HydrateTolerance).Before(min.Time)
	}
	return rec.Version.Before(min)
}

// plan decides the write, if any, and the applied state that follows it.
// rewrite writes every field of the wanted classes whatever was applied.
func (e *Engine) plan(r request, p Person, d desired, classes cadence.Class, rewrite bool) (*Update, map[string]Applied) {
	active, activity, current := e.activity(p, d)
	var kind UpdateKind
	switch {
	case !p.Exists && active:
		kind = Create
	case p.Exists && p.Active && !active:
		kind = Deactivate
	case p.Exists && !p.Active && active:
		kind = Reactivate
	case p.Exists && p.Active:
		kind = Modify
	default:
		// No account and none wanted, or a disabled account that stays
		// disabled: its fields are brought up to date when it returns.
		return nil, nil
	}
	want := classes
	if kind != Modify {
		want = cadence.All // creates and (de)activations carry every field
	}
	chg, applied := e.diff(p.Applied, d, want, rewrite)
	if kind == Modify && e.cfg.CarryPending && len(chg) > 0 && want != cadence.All {
		want = cadence.All
		chg, applied = e.diff(p.Applied, d, want, rewrite)
	}
	if current {
		applied[AppliedActivity] = activity
	}
	if kind == Modify && len(chg) == 0 {
		return nil, applied
	}
	return &Update{
		Tenant: e.cfg.Tenant, EmployeeID: r.id, Kind: kind, Fields: d.fields, Changes: chg,
		Version: d.version, Trigger: r.trigger, Classes: want, Active: active,
	}, applied
}

// activity decides whether the person should have access, guarded by
// versions like every field: a record older than the one that last set the
// account's activity cannot change it (a stale export must not re-enable a
// leaver, nor a slow fetch undo a rehire). current reports that d is at
// least as new, and activity is then what to record as applied.
func (e *Engine) activity(p Person, d desired) (active bool, activity Applied, current bool) {
	held, ok := p.Applied[AppliedActivity]
	if ok && d.fields != nil && d.version.Before(held.Version) {
		return held.Value == "true", held, false
	}
	// A person the Source no longer holds has no version to compare; the
	// deletion limit guards against a Source that suddenly holds nobody.
	return d.active, Applied{Value: strconv.FormatBool(d.active), Version: d.version}, true
}

// diff compares the desired fields of the wanted classes with the applied
// ones. A value from an older version than the one applied is stale and never
// written. applied also confirms unchanged values at a newer version. With
// rewrite, every field is written again, cleared ones included, each change
// carrying the value last applied as its old value.
func (e *Engine) diff(held map[string]Applied, d desired, want cadence.Class, rewrite bool) ([]Change, map[string]Applied) {
	var chg []Change
	applied := map[string]Applied{}
	for f, v := range d.fields {
		if e.cfg.Policy.Class(f)&want == 0 {
			continue
		}
		old, had := held[f]
		switch {
		case had && d.version.Before(old.Version):
			continue
		case rewrite && (had || v != ""):
		case old.Value == v:
			// Confirmed, and an empty value too: the version that
			// left a field empty guards it against an older value.
			if !had || old.Version.Before(d.version) {
				applied[f] = Applied{v, d.version}
			}
			continue
		}
		chg = append(chg, Change{Field: f, Old: old.Value, New: v})
		applied[f] = Applied{v, d.version}
	}
	slices.SortFunc(chg, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	return chg, applied
}

func changes(u *Update, field string) bool {
	return slices.ContainsFunc(u.Changes, func(c Change) bool { return c.Field == field })
}

// withhold drops a field from a write; it stays different from the desired
// value, so a later reconcile writes it.
func withhold(u *Update, applied map[string]Applied, field string) {
	u.Changes = slices.DeleteFunc(u.Changes, func(c Change) bool { return c.Field == field })
	fields := make(Fields, len(u.Fields))
	for k, v := range u.Fields {
		if k != field {
			fields[k] = v
		}
	}
	u.Fields = fields
	delete(applied, field)
}

// ensureManager makes sure manager m has an account before a report
// refers to it, provisioning m first if need be. It returns written when m is
// there, unchanged when m cannot be provisioned now (not in the Source, out of
// scope, not started, or in a cycle — cycle is then true, and the reference
// is set by a later reconcile), deferred when m is being reconciled elsewhere.
func (e *Engine) ensureManager(ctx context.Context, r request, m string) (res result, cycle bool, err error) {
	mp, err := e.store.Person(ctx, e.cfg.Tenant, m)
	if err != nil {
		return failed, false, err
	}
	if mp.Exists {
		return written, false, nil // a disabled manager can still be referred to
	}
	if m == r.id || slices.Contains(r.chain, m) {
		loop := append(slices.Clone(r.chain), r.id, m)
		e.log.Warn("manager cycle: provisioning without the manager reference", "err", &ManagerCycleError{Cycle: loop[slices.Index(loop, m):]})
		return unchanged, true, nil
	}
	res, err = e.reconcile(ctx, request{id: m, trigger: r.trigger, classes: cadence.All, fresh: true, runID: r.runID, chain: append(slices.Clone(r.chain), r.id)})
	if err != nil {
		return failed, false, fmt.Errorf("provisioning manager %s first: %w", m, err)
	}
	if res == deferred {
		return deferred, false, nil
	}
	if mp, err = e.store.Person(ctx, e.cfg.Tenant, m); err != nil {
		return failed, false, err
	}
	if mp.Exists {
		return written, false, nil
	}
	return unchanged, false, nil
}

// commitUnchanged records a reconcile that wrote nothing, if there is
// anything to record: a dirty mark to clear, a due time that moved, a failure
// to forget, newer versions of unchanged values.
func (e *Engine) commitUnchanged(ctx context.Context, p Person, d desired, applied map[string]Applied) (result, error) {
	if p.Dirty.Generation == 0 && p.Due.Equal(d.due) && p.Failure == nil && len(applied) == 0 {
		return unchanged, nil
	}
	err := e.store.Commit(ctx, e.cfg.Tenant, Commit{
		ID: p.ID, Generation: p.Dirty.Generation, Exists: p.Exists, Active: p.Active,
		Applied: applied, Due: d.due,
	})
	if err != nil {
		return failed, fmt.Errorf("hrissync: committing %s: %w", p.ID, err)
	}
	e.budgets.settled(p.ID)
	if !d.due.IsZero() {
		e.dispatcher.Dispatch(p.ID, d.due)
	}
	return unchanged, nil
}

// pauseDispatch holds the Dispatcher's ready people until t, where it can:
// while the sink is paused, handing them out would only put each off again.
func (e *Engine) pauseDispatch(t time.Time) {
	if p, ok := e.dispatcher.(interface{ PauseUntil(time.Time) }); ok {
		p.PauseUntil(t)
	}
}

// putOff leaves the person dirty until at — after a sink-wide pause, or once
// a manager being reconciled elsewhere is done — without counting an attempt.
func (e *Engine) putOff(ctx context.Context, r request, p Person, classes cadence.Class, at time.Time) (result, error) {
	e.stats.add(func(s *Stats) { s.Deferred++ })
	if p.Dirty.Generation == 0 || !p.Dirty.Classes.Has(classes) {
		err := e.store.MarkDirty(ctx, e.cfg.Tenant, []string{r.id}, Mark{Since: e.cfg.Clock.Now(), Classes: classes, Trigger: r.trigger})
		if err != nil {
			return failed, err
		}
	}
	e.dispatcher.Dispatch(r.id, at)
	return deferred, nil
}

// fail records a failed attempt, leaves the person dirty, and either
// schedules the next attempt or dead-letters the person and raises the alert
// (once per incident).
func (e *Engine) fail(ctx context.Context, r request, was *Failure, attempt int, classes cadence.Class, unsure bool, cause error) (result, error) {
	now := e.cfg.Clock.Now()
	wait, again := retry.Delay(e.cfg.Retry, attempt, cause)
	f := Failure{Attempts: attempt, Err: cause.Error(), At: now, Dead: !again}
	if err := e.store.Fail(ctx, e.cfg.Tenant, r.id, f, Mark{Since: now, Classes: classes, Trigger: r.trigger, Unsure: unsure}); err != nil {
		e.log.Error("recording a failure", "id", r.id, "cause", cause, "err", err)
		return failed, errors.Join(cause, err)
	}
	if again {
		e.dispatcher.Dispatch(r.id, now.Add(wait))
		return failed, cause
	}
	if was != nil && was.Dead {
		// Still dead after a poll's or batch's fresh try: the same
		// dead letter, counted and logged once.
		return failed, cause
	}
	e.stats.trigger(r.trigger, func(s *TriggerStats) { s.DeadLetters++ })
	e.metrics.dead.Add(ctx, 1, e.metrics.attrs(trig(r.trigger)))
	e.log.Warn("retries exhausted", "id", r.id, "attempts", attempt, "err", cause)
	incident, severity := "dead-letters", SeverityWarning
	if r.revoking {
		// A leaver keeps access: its own incident, so that other dead
		// letters never mask it.
		incident, severity = "dead-letters/revoking", SeverityCritical
	}
	e.raise(ctx, incident, Alert{Kind: AlertRetriesExhausted, Severity: severity, Err: cause,
		Message: fmt.Sprintf("%s: %d attempts failed; dead-lettered until the next poll, batch or replay", r.id, attempt)})
	return failed, cause
}

// mayHaveLanded reports whether a failed write may have reached the sink
// anyway: the call was cut off (a deadline, a cancellation, a broken
// connection) rather than answered with an error.
func mayHaveLanded(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne)
}

// drainAudit hands the outbox to the Auditor. One goroutine drains at a time;
// a commit made meanwhile is picked up by the drainer's next round.
func (e *Engine) drainAudit(ctx context.Context) {
	e.auditPending.Store(true)
	for e.auditPending.Load() {
		if !e.auditMu.TryLock() {
			return
		}
		for e.auditPending.Swap(false) {
			if err := e.drainOnce(ctx); err != nil {
				e.log.Error("audit hand-over failed; entries stay in the outbox", "err", err)
				break
			}
		}
		e.auditMu.Unlock()
	}
}

func (e *Engine) drainOnce(ctx context.Context) error {
	for {
		box, err := e.store.Outbox(ctx, e.cfg.Tenant, 256)
		if err != nil || len(box) == 0 {
			return err
		}
		if err := e.cfg.Auditor.Record(ctx, box); err != nil {
			return err
		}
		ids := make([]string, len(box))
		for i, en := range box {
			ids[i] = en.ID
		}
		// The chain's end now covers these entries: the Store keeps it as
		// the anchor, in the transaction that lets them go, so that a log
		// that later loses or changes them is caught.
		var anchor audit.Head
		if c, ok := e.cfg.Auditor.(chained); ok {
			anchor = c.Heads()[e.cfg.Tenant]
		}
		if err := e.store.Ack(ctx, e.cfg.Tenant, ids, anchor); err != nil {
			return err
		}
	}
}

func entryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
