package hrissync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
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
	// pass is when the poll or batch asking began: a dead letter it
	// tried already is not tried again by it.
	pass time.Time
	// readAfter: a Source read begun at or after it is fresh enough for
	// this request, in an engine of several sinks, where one read serves
	// every sink (sharedReads). Zero: the pass, the mark or the due time.
	readAfter time.Time
	runID     string
	// chain lists the reports waiting for this person to be provisioned
	// as their manager, to detect manager cycles.
	chain []string
	// platform is the account as the platform was just seen to hold it
	// (a drift repair; a zero Account: none): it overrides the Store's
	// existence and activity, and every field is rewritten. nil: trust
	// the Store.
	platform *Account
	// rekeyFrom is set once the person is read: the platform binds their
	// account to this previous id until the write rebinds it.
	rekeyFrom string
	// revoking is set once the write is planned: it takes access away,
	// so its failure is critical.
	revoking bool
	// severity is how urgent the planned write's failure is; "" before
	// a write is planned.
	severity Severity
	// approved: an operator let this deactivation go beyond its budget.
	approved bool
	// swept: asked because the Store listed the person dirty or due; one
	// found clean once held (another reconcile of the same pass — the
	// poll's of a changed record — got there first) needs no Source read.
	swept bool
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
	lagRetry        = 5 * time.Second
	managerRetry    = time.Second
	vanishedRecheck = time.Hour // the Source answered 404: read again
)

// outcome is how a reconcile ended, and when the person's next turn is.
// Every step that ends a reconcile says so here instead of calling the
// Dispatcher itself, so that one place, follow, asks for the next turn.
type outcome struct {
	result result
	err    error
	// next is when to reconcile the person again (a retry, a put-off, a
	// moved mark, a due date, a withheld manager reference); zero: no
	// need, as far as this reconcile knows.
	next time.Time
	// pause holds every ready person until then, not only this one: the
	// sink as a whole is paused.
	pause time.Time
	// again: the reconcile recorded a re-key its write did not make (a
	// create that met the person's own account): it starts over, once.
	again bool
}

// reconcile compares desired and applied state for one person and makes at
// most one write. One person is never reconciled twice at once: the regular
// path waits for the person's lock, while a manager provisioned on behalf of
// a report is only tried (a wait there could deadlock two reports whose
// managers are each other).
func (e *Engine) reconcile(ctx context.Context, r request) (result, error) {
	onBehalf := len(r.chain) > 0 // a manager provisioned for a report
	// A manager provisioned on a report's behalf runs in the report's
	// slot: taking a second could deadlock a full Share.
	if e.cfg.Share != nil && !onBehalf {
		if err := e.cfg.Share.acquire(ctx, e.cfg.Tenant); err != nil {
			return failed, err
		}
		defer e.cfg.Share.release(e.cfg.Tenant)
	}
	if onBehalf {
		if !e.locks.TryLock(r.id) {
			return deferred, nil
		}
	} else {
		e.locks.Lock(r.id)
	}
	defer e.locks.Unlock(r.id)
	unlock, ok, err := e.lockPerson(ctx, r.id, !onBehalf)
	switch {
	case err != nil:
		return failed, fmt.Errorf("hrissync: locking %s: %w", r.id, err)
	case !ok:
		return deferred, nil
	}
	defer unlock()

	out := e.reconcileHeld(ctx, r)
	e.follow(r.id, out)
	if out.result == written { // its audit entry is in the outbox
		e.drainAudit(ctx)
	}
	return out.result, out.err
}

// reconcileHeld runs the steps of one reconcile, the person held: read,
// decide, write, commit. A step that ends the reconcile (a failure, a lag, a
// pause, nothing to write) returns its outcome; otherwise it hands the next
// step what that needs.
func (e *Engine) reconcileHeld(ctx context.Context, r request) outcome {
	rd, out, ok := e.read(ctx, r)
	if !ok {
		return out
	}
	if rd, out, ok = e.adopt(ctx, r, rd); !ok {
		return out
	}
	r.rekeyFrom = rd.p.Dirty.RekeyFrom
	c := e.decide(ctx, r, rd)
	r.revoking = c.update != nil && c.update.Kind == Deactivate
	r.severity = e.writeSeverity(c.update)
	if r.revoking && rd.p.Active && c.err == nil && c.until.IsZero() {
		// Nothing is acted on yet: the deactivation budget may hold it.
		// Held, access is kept and the person stays dirty, looked at
		// again when the window may have room, or at once when an
		// operator approves.
		c.revoked, c.err = e.budgets.take(ctx, budgetOf(rd.rec, e.cfg.InScope), r.id, r.approved)
		if c.err == nil && c.revoked == "" {
			c.until = rd.now.Add(holdRecheck)
		}
	}
	switch {
	case c.err != nil:
		return e.fail(ctx, r, rd, c.classes, rd.p.Dirty.Unsure, c.err)
	case !c.until.IsZero():
		return e.putOff(ctx, r, rd.p, c.classes, c.until)
	case c.update == nil && !c.parkedUntil.IsZero():
		// Only parked fields differ: the person waits for their retry.
		return e.putOff(ctx, r, rd.p, c.classes|c.parkedClasses, c.parkedUntil)
	case c.update == nil:
		return e.commitUnchanged(ctx, rd.p, c.d, c.applied)
	}
	w, out, ok := e.write(ctx, r, rd, &c)
	if out.again {
		return e.reconcileHeld(ctx, r)
	}
	if !ok {
		return out
	}
	return e.commit(ctx, r, rd, c, w)
}

// follow asks the Dispatcher for what an outcome says: the person's next
// turn, and a pause of everyone's. It is the only place a reconcile does.
func (e *Engine) follow(id string, out outcome) {
	if !out.pause.IsZero() {
		e.pauseDispatch(out.pause)
	}
	if !out.next.IsZero() {
		e.dispatcher.Dispatch(id, out.next)
	}
}

// reading is one person as a reconcile found them.
type reading struct {
	p       store.Person // in the Store
	rec     *Employee    // in the Source; nil: the Source does not hold them
	now     time.Time
	classes cadence.Class // asked for, with the mark's and a due date's
	attempt int           // in the person's current series
}

// read reads the person's state in the Store and record in the Source. A
// record older than an event said it would be is read again later, for a
// while (HydrateLag), before it is taken as it is.
func (e *Engine) read(ctx context.Context, r request) (reading, outcome, bool) {
	p, err := e.store.Person(ctx, e.cfg.Tenant, r.id)
	if err != nil {
		return reading{}, outcome{result: failed, err: fmt.Errorf("hrissync: reading state of %s: %w", r.id, err)}, false
	}
	rd := reading{p: p, now: e.cfg.Clock.Now(), classes: r.classes | p.Dirty.Classes, attempt: 1}
	due := !p.Due.IsZero() && !p.Due.After(rd.now)
	if due {
		rd.classes |= cadence.Realtime
	}
	if r.swept && p.Dirty.Generation == 0 && !due && !p.Damaged {
		return rd, outcome{result: unchanged}, false
	}
	switch f := p.Failure; {
	case f == nil:
	case !f.Dead && !r.fresh:
		rd.attempt = f.Attempts + 1
	case f.Dead && (r.trigger == TriggerPoll || r.trigger == TriggerBatch):
		if !f.At.Before(r.pass) {
			// Tried by this very poll or batch already (the changed
			// list and the sweep both hold them; a poll and a batch
			// at the same instant): once is their chance.
			return rd, outcome{result: unchanged}, false
		}
		// A dead letter tried again by a poll or batch continues its
		// count: the retry policy, spent, gives it this one attempt
		// and no new series, and it stays one incident.
		rd.attempt = f.Attempts + 1
	}
	e.observe.reconcile(r.trigger)

	rd.rec = r.record
	if rd.rec == nil || e.lags(*rd.rec, p.Dirty.MinVersion) {
		got, err := e.getShared(ctx, r, rd)
		switch {
		case errors.Is(err, ErrNotFound):
			rd.rec = nil
		case err != nil:
			return rd, e.fail(ctx, r, rd, rd.classes, p.Dirty.Unsure, fmt.Errorf("reading the source: %w", err)), false
		default:
			rd.rec = &got
		}
	}
	if rd.rec != nil && e.lags(*rd.rec, p.Dirty.MinVersion) {
		if rd.now.Sub(p.Dirty.Since) < e.cfg.HydrateLag {
			e.observe.deferred()
			return rd, outcome{result: deferred, next: rd.now.Add(lagRetry)}, false
		}
		e.log.Warn("source still behind the event; applying what it has", "id", r.id,
			"record", rd.rec.Version, "event", p.Dirty.MinVersion)
	}
	return rd, outcome{}, true
}

// decision is what decide concluded, in this order: the attempt failed
// (err), or is put off until a time (until), or there is nothing to write
// (update nil: only applied state to confirm), or update is the write.
type decision struct {
	d        desired
	classes  cadence.Class            // in hand: every class for a rewrite
	update   *Update                  // the write; nil: none
	applied  map[string]store.Applied // applied state once the write is made
	comeBack bool                     // a manager withheld to break a cycle: set it next time
	// parkedUntil is when the first field left out of this write because
	// the platform refused it is tried again; parkedClasses are those
	// fields' classes.
	parkedUntil   time.Time
	parkedClasses cadence.Class
	revoked       string // the deactivation budget the write spends, if any
	until         time.Time
	err           error
}

// decide works out the write, if any, from what was read: the desired state,
// what it is compared with, and a manager to provision first.
func (e *Engine) decide(ctx context.Context, r request, rd reading) decision {
	c := e.decideOwn(ctx, r, rd)
	if c.update == nil {
		return c
	}
	return e.managerFirst(ctx, r, rd.now, c)
}

// decideOwn is decide up to the manager: the person's own write, if any, a
// manager reference it carries not yet looked at.
func (e *Engine) decideOwn(ctx context.Context, r request, rd reading) decision {
	if rd.p.MovedTo() != "" {
		// HR re-keyed this id: its account is the new id's, and its own
		// record (a termination, a 404) touches nothing.
		return decision{d: desired{}, classes: rd.classes}
	}
	if rd.rec == nil && rd.p.Exists && (r.trigger == TriggerRealtime || r.trigger == TriggerPoll) {
		return e.vanished(ctx, rd)
	}
	d, err := e.desire(rd.rec, rd.now)
	if err != nil {
		return decision{classes: rd.classes, err: retry.Permanent(err)}
	}
	if rd.rec != nil && newerApplied(rd.p, d.version) {
		// A newer record set the due time: one read from an older
		// record (a stale export) must not move or clear it.
		d.due = rd.p.Due
	}
	if d.conflict != "" {
		// Never a silent choice: the safer reading (no access) is
		// applied, and an operator hears of it once per record version.
		e.raise(ctx, "conflict/"+r.id+"/"+d.version.String(), Alert{Kind: AlertRecordConflict,
			Message: fmt.Sprintf("%s: %s; treated as without access", r.id, d.conflict)})
	}
	basis := e.basis(ctx, r, rd.p, d)
	classes := rd.classes
	rewrite := rd.p.Dirty.Unsure || rd.p.Damaged || r.platform != nil || r.rekeyFrom != ""
	if rewrite {
		// A write may have landed unrecorded (or the platform is known
		// to differ, or binds the account to a previous id): the
		// platform cannot be trusted to hold what was applied, so every
		// field is written again — and a write there is, whatever the
		// Store holds, for a re-key owed must reach the platform.
		classes = cadence.All
	}
	u, applied := e.propose(r, basis, d, classes, rewrite)
	c := decision{d: d, classes: classes, update: u, applied: applied}
	e.holdParked(ctx, r, rd.now, &c)
	return c
}

// basis is the state the desired one is compared with: the Store's, unless
// the platform was just seen to differ or the Store's is damaged.
func (e *Engine) basis(ctx context.Context, r request, p store.Person, d desired) store.Person {
	switch {
	case r.platform != nil:
		p.Exists, p.Active = r.platform.EmployeeID != "", r.platform.Active
	case p.Damaged:
		// The Store could not decode this person's state, so nothing of
		// it is known, not even whether access was granted: write the
		// activity and every field anew (a reactivation or a
		// deactivation carries them all).
		p.Exists, p.Active = true, !d.active
		e.raise(ctx, "damaged/"+r.id, Alert{Kind: AlertDamagedState, Severity: SeverityCritical,
			Message: fmt.Sprintf("%s: the stored state could not be decoded; rebuilt from the Source with a full rewrite", r.id)})
	}
	return p
}

// managerFirst makes sure that a write carrying a manager reference refers
// to an account: the manager is provisioned first, the write put off while
// someone else reconciles the manager, or the reference left out (or
// cleared) when the manager cannot be provisioned. A Modify carries the
// reference only when it changes; the other kinds carry every field.
func (e *Engine) managerFirst(ctx context.Context, r request, now time.Time, c decision) decision {
	u := c.update
	m := u.Fields[FieldManagerID]
	if m == "" || u.Kind == Modify && !changes(u, FieldManagerID) {
		return c
	}
	if !u.Active {
		// Access ends without waiting for anyone's account; a
		// reference the platform cannot hold is left out.
		switch mp, err := e.store.Person(ctx, e.cfg.Tenant, m); {
		case err != nil:
			c.err = err
		case !mp.Exists:
			unrefer(u, c.applied)
		}
		return c
	}
	res, cycle, err := e.ensureManager(ctx, r, m)
	c.comeBack = cycle
	switch {
	case err != nil && retry.IsPermanent(err):
		// The manager's account is refused: the report's own changes
		// (a role, a termination) must not wait for it.
		e.park(ctx, r.id, &c, FieldManagerID, err, now)
		if nothingLeft(u) {
			c.update = nil
		}
	case err != nil:
		c.err = err
	case res == deferred:
		c.until = now.Add(managerRetry)
	case res == unchanged: // the manager cannot be provisioned: set it later
		unrefer(u, c.applied)
		if u.Kind == Modify && len(u.Changes) == 0 {
			c.update = nil
		}
	}
	return c
}

// landed is a write the sink acknowledged, still to be committed.
type landed struct {
	generation uint64 // of the intent
	acked      time.Time
}

// write makes the decided write, if the sink takes writes now: the intent
// first, then the sink.
func (e *Engine) write(ctx context.Context, r request, rd reading, c *decision) (landed, outcome, bool) {
	retryAt, probe, ok := e.guard.admit(rd.now)
	if !ok {
		// The sink is paused or its breaker open: everyone waits, not
		// only this person, and no attempt is used up.
		out := e.putOff(ctx, r, rd.p, c.classes, retryAt)
		out.pause = retryAt
		return landed{}, out, false
	}
	if rd.attempt == 1 {
		e.observe.needed(r.trigger)
	}
	// Until its commit, the write may land unrecorded: say so durably
	// first, so that after a crash the next reconcile rewrites rather
	// than trusting applied state the platform may no longer match.
	generation, err := e.store.Intend(ctx, e.cfg.Tenant, r.id, store.Mark{Since: rd.now, Classes: c.classes, Trigger: string(r.trigger)})
	if err != nil {
		return landed{}, e.fail(ctx, r, rd, c.classes, rd.p.Dirty.Unsure, fmt.Errorf("recording the intent: %w", err)), false
	}
	// The commit will clear the mark as of the intent. An event accepted
	// since the person was read — while the Source was being read — is
	// in that mark, yet the record in hand may predate it: look again now
	// rather than clear it unseen. Nothing was written; the mark stays.
	if held, err := e.store.Person(ctx, e.cfg.Tenant, r.id); err != nil {
		return landed{}, e.fail(ctx, r, rd, c.classes, true, fmt.Errorf("reading state of %s: %w", r.id, err)), false
	} else if held.Dirty.EventID != rd.p.Dirty.EventID {
		e.observe.deferred()
		return landed{}, outcome{result: deferred, next: e.cfg.Clock.Now()}, false
	}
	return e.land(ctx, r, rd, c, generation, probe)
}

// land hands the decided write to the sink, its intent recorded under
// generation, and says how the sink answered: the write landed, or the
// outcome of its failure. probe: the guard let it through as its probe.
func (e *Engine) land(ctx context.Context, r request, rd reading, c *decision, generation uint64, probe bool) (landed, outcome, bool) {
	err := e.apply(ctx, r, *c.update, rd.attempt)
	if from, ok := e.correlated(ctx, r, rd, c.update, err); ok {
		// The refused create was this person's own account under a
		// retired id: it moves here, and the reconcile starts over to
		// rebind it.
		_, out, ok := e.rekey(ctx, r, rd, from)
		if ok {
			out = outcome{again: true}
		}
		return landed{}, out, false
	}
	if err != nil {
		err = e.isolate(ctx, r, c, err)
	}
	if fe := (*FieldError)(nil); errors.As(err, &fe) && !retry.IsPermanent(err) {
		err = retry.Permanent(err) // the same value is refused again
	}
	acked := e.cfg.Clock.Now()
	e.heed(ctx, acked, probe, err)
	if _, throttled := retry.After(err); throttled && !retry.IsPermanent(err) {
		// The sink is up and said when to come back: the whole sink is
		// paused (the guard saw it, and floored the pause), and this
		// person waits with the rest, without using up an attempt of its
		// own.
		until := e.guard.resumeAt()
		out := e.putOff(ctx, r, rd.p, c.classes, until)
		out.pause = until
		return landed{}, out, false
	}
	if until, open := e.guard.tripped(); open && err != nil && !retry.IsPermanent(err) {
		// The sink is down for everyone — this failure opened the
		// breaker, or was its probe, or was in flight as it opened:
		// the person waits with the rest, and the outage uses up no
		// attempt of theirs (nor dead-letters anyone).
		out := e.putOff(ctx, r, rd.p, c.classes, until)
		out.pause = until
		return landed{}, out, false
	}
	if err != nil {
		return landed{}, e.fail(ctx, r, rd, c.classes, mayHaveLanded(err), err), false
	}
	if !nothingLeft(c.update) { // not only parked fields
		e.observe.write(ctx, c.update, acked.Sub(c.d.changedAt))
	}
	return landed{generation: generation, acked: acked}, outcome{}, true
}

// apply hands the write to the sink, counting the attempt. A platform that
// answers that the manager is missing knows better than the Store: the
// manager is provisioned, and the write tried once more.
func (e *Engine) apply(ctx context.Context, r request, u Update, attempt int) error {
	e.observe.attempt(ctx, r.trigger, u.Kind, attempt > 1)
	if r.rekeyFrom != "" {
		return e.rebind(ctx, r.rekeyFrom, u)
	}
	err := e.sink.Apply(ctx, u)
	var missing *MissingManagerError
	if errors.As(err, &missing) && len(r.chain) == 0 {
		if res, _, merr := e.ensureManager(ctx, r, missing.ManagerID); merr == nil && res == written {
			e.observe.attempt(ctx, r.trigger, u.Kind, true)
			err = e.sink.Apply(ctx, u)
		}
	}
	return err
}

// heed tells the guard how the sink answered, and the Alerter when the
// circuit breaker opens; its closing ends the incident.
func (e *Engine) heed(ctx context.Context, acked time.Time, probe bool, err error) {
	switch opened, closed := e.guard.outcome(acked, probe, err); {
	case opened:
		e.raise(ctx, "circuit", Alert{Kind: AlertCircuitOpen, Err: err,
			Message: fmt.Sprintf("the sink failed %d times in a row; writes paused", e.cfg.Breaker.Failures)})
	case closed:
		e.resolve(ctx, "circuit")
	}
}

// commit records the write that landed, with its audit entry, and clears the
// mark as of the intent. The person's next turn is the earlier of their next
// due time and, for a manager reference withheld to break a cycle, a moment
// from now.
func (e *Engine) commit(ctx context.Context, r request, rd reading, c decision, w landed) outcome {
	if err := e.store.Commit(ctx, e.cfg.Tenant, e.commitOf(r, rd, c, w)); err != nil {
		// The write reached the sink but is not recorded: the person
		// stays dirty and the write is repeated, harmlessly.
		return e.fail(ctx, r, rd, c.classes, true, fmt.Errorf("committing: %w", err))
	}
	return e.committed(ctx, r, rd, c, w)
}

// commitOf is the Commit that records a write that landed, with its audit
// entry.
func (e *Engine) commitOf(r request, rd reading, c decision, w landed) store.Commit {
	u := c.update
	entry := audit.Entry{
		ID: entryID(), Tenant: e.tenant, Sink: e.name, EmployeeID: r.id, Action: u.Kind.String(),
		Trigger: string(r.trigger), EventID: rd.p.Dirty.EventID, RunID: r.runID,
		SourceChanged: c.d.changedAt, Received: rd.p.Dirty.Since, Applied: w.acked,
		Attempts: rd.attempt, Outcome: "applied",
	}
	for _, ch := range u.Changes {
		entry.Changes = append(entry.Changes, audit.Change{Field: ch.Field, Old: ch.Old, New: ch.New})
	}
	entries := []audit.Entry{entry}
	if nothingLeft(u) {
		entries = nil // every change was parked: nothing landed to record
	}
	return store.Commit{
		ID: r.id, Generation: w.generation, Exists: true, Active: u.Active,
		Applied: c.applied, Audit: entries, Due: c.d.due,
		Revoked: c.revoked, At: w.acked,
	}
}

// committed finishes a reconcile whose write's commit is recorded: the
// incidents it ends, and the person's next turn.
func (e *Engine) committed(ctx context.Context, r request, rd reading, c decision, w landed) outcome {
	u := c.update
	if rd.p.Damaged {
		e.resolve(ctx, "damaged/"+r.id)
	}
	e.resolve(ctx, deadIncident(r.id))
	e.budgets.settled(ctx, r.id)
	for _, f := range e.parking.settle(r.id, func(f string) bool { return changes(u, f) }) {
		e.resolve(ctx, parkedIncident(r.id, f))
	}
	out := outcome{result: written, next: c.d.due}
	back, classes := c.parkedUntil, c.parkedClasses
	if c.comeBack {
		back, classes = earliest(back, w.acked.Add(managerRetry)), classes|cadence.Realtime
	}
	if !back.IsZero() {
		// Something was left out of this write: the person stays dirty
		// for it, and comes back when it is due.
		if err := e.store.MarkDirty(ctx, e.cfg.Tenant, []string{r.id}, store.Mark{Since: w.acked, Classes: classes, Trigger: string(r.trigger)}); err != nil {
			e.log.Error("marking a withheld field", "id", r.id, "err", err)
		}
		// A Dispatcher keeps the earlier of two times asked for one
		// person, so asking once for the earlier is the same.
		out.next = earliest(out.next, back)
	}
	return out
}

// earliest is the earlier of two times, a zero time being none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// vanished handles a person with an account whom the Source suddenly does
// not hold, seen by a webhook or a poll: a 404 alone never deactivates, for a
// Source that starts answering 404 for many people at once (a permissions
// change on the integration user) would otherwise end everyone's access
// within a minute. The person keeps their access until the nightly full list
// confirms they are gone — under the deletion limit — or an operator replays
// them; the Alerter hears of it once. Nothing is written, and the due time
// stays. The person stays dirty and is read again hourly: whatever change
// brought them here (a reinstatement, say) is applied once the Source
// answers, not left for the batch.
func (e *Engine) vanished(ctx context.Context, rd reading) decision {
	e.raise(ctx, "vanished", Alert{Kind: AlertVanished,
		Message: fmt.Sprintf("%s: the Source does not hold this person; their account is kept as it is until the Source answers or the next full list confirms it", rd.p.ID)})
	return decision{d: desired{due: rd.p.Due}, classes: rd.classes, until: rd.now.Add(vanishedRecheck)}
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
func (e *Engine) lags(rec Employee, min hrtype.Version) bool {
	if min.Seq == 0 {
		return rec.Version.Time.Add(e.cfg.HydrateTolerance).Before(min.Time)
	}
	return rec.Version.Before(min)
}

// propose decides the write, if any, and the applied state that follows it.
// rewrite writes every field of the wanted classes whatever was applied.
func (e *Engine) propose(r request, p store.Person, d desired, classes cadence.Class, rewrite bool) (*Update, map[string]store.Applied) {
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
		applied[store.AppliedActivity] = activity
	}
	if kind == Modify && len(chg) == 0 {
		return nil, applied
	}
	fields := d.fields
	if kind == Deactivate && fields == nil {
		fields = leftGroups(p.Applied)
	}
	return &Update{
		Tenant: e.tenant, EmployeeID: r.id, Kind: kind, Fields: fields, Changes: chg,
		Version: d.version, Trigger: r.trigger, Classes: want, Active: active,
	}, applied
}

// activity decides whether the person should have access, guarded by
// versions like every field: a record older than the one that last set the
// account's activity cannot change it (a stale export must not re-enable a
// leaver, nor a slow fetch undo a rehire). current reports that d is at
// least as new, and activity is then what to record as applied.
func (e *Engine) activity(p store.Person, d desired) (active bool, activity store.Applied, current bool) {
	held, ok := p.Applied[store.AppliedActivity]
	if ok && d.fields != nil && d.version.Before(held.Version) {
		return held.Value == "true", held, false
	}
	// A person the Source no longer holds has no version to compare; the
	// deletion limit guards against a Source that suddenly holds nobody.
	return d.active, store.Applied{Value: strconv.FormatBool(d.active), Version: d.version}, true
}

// diff compares the desired fields of the wanted classes with the applied
// ones. A value from an older version than the one applied is stale and never
// written. applied also confirms unchanged values at a newer version. With
// rewrite, every field is written again, cleared ones included, each change
// carrying the value last applied as its old value.
func (e *Engine) diff(held map[string]store.Applied, d desired, want cadence.Class, rewrite bool) ([]Change, map[string]store.Applied) {
	var chg []Change
	applied := map[string]store.Applied{}
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
				applied[f] = store.Applied{Value: v, Version: d.version}
			}
			continue
		}
		chg = append(chg, Change{Field: f, Old: old.Value, New: v})
		applied[f] = store.Applied{Value: v, Version: d.version}
	}
	slices.SortFunc(chg, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	return chg, applied
}

func changes(u *Update, field string) bool {
	return slices.ContainsFunc(u.Changes, func(c Change) bool { return c.Field == field })
}

// withhold drops a field from a write; it stays different from the desired
// value, so a later reconcile writes it.
func withhold(u *Update, applied map[string]store.Applied, field string) {
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

// unrefer takes out of a write a manager reference the platform cannot hold
// yet (its manager has no account). A reference held until now is cleared
// rather than kept: the platform must not go on naming a manager HR has
// replaced, nor one without an account. The field stays different from the
// desired value, so a later reconcile sets it.
func unrefer(u *Update, applied map[string]store.Applied) {
	i := slices.IndexFunc(u.Changes, func(c Change) bool { return c.Field == FieldManagerID })
	switch {
	case i >= 0 && u.Changes[i].Old == "":
		withhold(u, applied, FieldManagerID) // nothing to clear
		return
	case i >= 0:
		u.Changes[i].New = ""
	default: // carried unchanged: the value applied is the one to clear
		u.Changes = append(u.Changes, Change{Field: FieldManagerID, Old: u.Fields[FieldManagerID]})
		slices.SortFunc(u.Changes, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	}
	u.Fields = maps.Clone(u.Fields)
	u.Fields[FieldManagerID] = ""
	if applied != nil {
		applied[FieldManagerID] = store.Applied{Version: u.Version}
	}
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
	res, err = e.reconcile(ctx, request{id: m, trigger: r.trigger, classes: cadence.All, fresh: true, runID: r.runID, pass: r.pass, chain: append(slices.Clone(r.chain), r.id)})
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
// to forget, newer versions of unchanged values. The next turn is at the due
// time it records.
func (e *Engine) commitUnchanged(ctx context.Context, p store.Person, d desired, applied map[string]store.Applied) outcome {
	if p.Dirty.Generation == 0 && p.Due.Equal(d.due) && p.Failure == nil && len(applied) == 0 {
		return outcome{result: unchanged}
	}
	err := e.store.Commit(ctx, e.cfg.Tenant, store.Commit{
		ID: p.ID, Generation: p.Dirty.Generation, Exists: p.Exists, Active: p.Active,
		Applied: applied, Due: d.due,
	})
	if err != nil {
		return outcome{result: failed, err: fmt.Errorf("hrissync: committing %s: %w", p.ID, err)}
	}
	e.budgets.settled(ctx, p.ID)
	e.resolve(ctx, deadIncident(p.ID))
	return outcome{result: unchanged, next: d.due}
}

// putOff leaves the person dirty until at — after a sink-wide pause, or once
// a manager being reconciled elsewhere is done — without counting an attempt.
func (e *Engine) putOff(ctx context.Context, r request, p store.Person, classes cadence.Class, at time.Time) outcome {
	e.observe.deferred()
	if p.Dirty.Generation == 0 || !p.Dirty.Classes.Has(classes) {
		err := e.store.MarkDirty(ctx, e.cfg.Tenant, []string{r.id}, store.Mark{Since: e.cfg.Clock.Now(), Classes: classes, Trigger: string(r.trigger)})
		if err != nil {
			return outcome{result: failed, err: err}
		}
	}
	return outcome{result: deferred, next: at}
}

// fail records a failed attempt of the series rd is in, leaves the person
// dirty, and either sets the next attempt or dead-letters the person and
// raises the alert (once per incident).
func (e *Engine) fail(ctx context.Context, r request, rd reading, classes cadence.Class, unsure bool, cause error) outcome {
	now := e.cfg.Clock.Now()
	attempt := rd.attempt
	wait, again := retry.Delay(e.cfg.Retry, attempt, cause)
	f := store.Failure{Attempts: attempt, Err: cause.Error(), At: now, Dead: !again}
	if err := e.store.Fail(ctx, e.cfg.Tenant, r.id, f, store.Mark{Since: now, Classes: classes, Trigger: string(r.trigger), Unsure: unsure}); err != nil {
		e.log.Error("recording a failure", "id", r.id, "cause", cause, "err", err)
		return outcome{result: failed, err: errors.Join(cause, err)}
	}
	if again {
		return outcome{result: failed, err: cause, next: now.Add(wait)}
	}
	if r.revoking {
		e.budgets.forfeit(r.id) // access did not end: the window has not spent it
	}
	alert := Alert{Kind: AlertRetriesExhausted, Severity: failureSeverity(r, classes), EmployeeID: r.id, Err: cause,
		Message: fmt.Sprintf("%s: %d attempts failed; dead-lettered, tried once by each poll and batch until a write lands", r.id, attempt)}
	if was := rd.p.Failure; was != nil && was.Dead {
		// Still dead after another try: the same dead letter, counted
		// and logged once, its incident escalated if this write is
		// more urgent than the one that was paged.
		e.incidents.stillFailing(ctx, deadIncident(r.id), alert)
		return outcome{result: failed, err: cause}
	}
	e.observe.dead(ctx, r.trigger)
	e.log.Warn("retries exhausted", "id", r.id, "attempts", attempt, "err", cause)
	// Each person's dead letter is an incident of its own, so that one
	// stuck person never masks another's failed termination.
	e.incidents.raisePerson(ctx, deadIncident(r.id), alert)
	return outcome{result: failed, err: cause}
}

// writeSeverity is how urgent a write's failure is: critical when it takes
// access away or sets a termination date, high when it changes a field the
// policy keeps in step in real time (or makes or reactivates an account),
// low when it changes attributes alone.
func (e *Engine) writeSeverity(u *Update) Severity {
	switch {
	case u == nil:
		return ""
	case u.Kind == Deactivate || changes(u, FieldTerminationDate):
		return SeverityCritical
	case u.Kind != Modify:
		return SeverityHigh
	}
	for _, ch := range u.Changes {
		if e.cfg.Policy.Class(ch.Field).Has(cadence.Realtime) {
			return SeverityHigh
		}
	}
	return SeverityLow
}

// failureSeverity is how urgent a person's failed reconcile is: its planned
// write's severity, or, when it failed before a write was planned (the
// Source could not be read), high if realtime fields were asked for.
func failureSeverity(r request, classes cadence.Class) Severity {
	switch {
	case r.severity != "":
		return r.severity
	case classes.Has(cadence.Realtime):
		return SeverityHigh
	}
	return SeverityLow
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
		box, err := e.store.Outbox(ctx, e.cfg.Tenant, outboxPage)
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
			anchor = c.Heads()[e.tenant]
		}
		if err := e.store.Ack(ctx, e.cfg.Tenant, ids, anchor); err != nil {
			return err
		}
		if len(box) < outboxPage {
			// The outbox held no more: an entry committed since is its
			// committer's to announce (drainAudit's auditPending), and
			// reading again would cost a round trip per reconcile.
			return nil
		}
	}
}

// outboxPage is how many audit entries one hand-over reads.
const outboxPage = 256

func entryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
