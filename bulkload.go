package hrissync

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// newcomers are the people of one part of a batch chunk whom the Store holds
// nothing of — an initial load, mostly — reconciled together through a
// store.BulkLoader: every intent in one transaction, the sink writes as many
// at a time as Concurrency allows, every commit in one transaction. Each
// person's steps are the per-person reconcile's (reconcileHeld) and end the
// same way; only the Store calls are gathered. Whoever does not fit — a row
// appeared meanwhile (a webhook), a manager not yet provisioned, a lock
// held elsewhere, nothing to create — is reconciled one by one as before.
//
// Without a row there is nothing to merge and no mark to race: a person's
// intent is recorded only if the Store still holds no row for them in the
// intent's own transaction, so no event was accepted for them before it,
// and the per-person path's second read after the intent (for such an
// event's mark) would find the mark the intent left. An event accepted
// after the intent takes a new generation, which the commit's
// check-and-clear leaves dirty, as it would after that read.
//
// A chunk's managers are loaded before their reports (waves), as the
// one-by-one path loads a list that names managers first. Where the sink
// pauses or its breaker opens in the middle of a wave, the people of the
// wave not yet written are put off as one by one, but with their intent
// recorded: unsure, as after a crash, which changes nothing of their next
// write (they have no account, so it carries every field either way).
//
// One known difference: a manager whose create the sink refuses (a 4xx) is
// refused in its own wave, before any report asks for it, so every report
// is then created without the reference and left clean, as one by one
// leaves all reports but the first (which parks the reference and retries
// it); in both the reference waits for the manager's account or the next
// batch (issue 30's note).
type newcomers struct {
	e      *Engine
	loader store.BulkLoader
	run    *store.BatchRun
	people []newcomer
}

// newcomer is one person of a chunk the batch leaves to the bulk load, and
// where to say whether a write of theirs was made.
type newcomer struct {
	rec     Employee
	written *bool
}

// arrival is a newcomer whose reconcile is under way: the steps' state.
type arrival struct {
	newcomer
	r   request
	rd  reading
	c   decision
	gen uint64
	w   landed
}

// newcomers returns the batch's bulk load for run, or nil where the engine
// reconciles everyone one by one: a Store that is no BulkLoader, or a
// Locker or a Share, each of which the bulk load does not take per person.
func (e *Engine) newcomers(run *store.BatchRun) *newcomers {
	l, ok := e.bulkLoader()
	if !ok || e.cfg.Locker != nil || e.cfg.Share != nil {
		return nil
	}
	return &newcomers{e: e, loader: l, run: run}
}

// take keeps for the bulk load a person the batch would reconcile whom the
// Store holds nothing of (as far as the chunk's Lookup saw), and reports
// whether it did. Re-keyed people are never taken: their previous ids'
// accounts are theirs to adopt, one by one.
func (n *newcomers) take(rec Employee, held store.Person, written *bool) bool {
	if n == nil || !unheld(held) || len(rec.PreviousIDs) > 0 {
		return false
	}
	n.people = append(n.people, newcomer{rec: rec, written: written})
	return true
}

// unheld reports whether p is as Lookup gives a person the Store has no row
// for. A hint only: IntendNew is what decides.
func unheld(p store.Person) bool {
	return !p.Exists && !p.Active && p.Applied == nil && p.Dirty == (store.Mark{}) && p.Due.IsZero() &&
		p.Failure == nil && p.Listed == (store.Listing{}) && !p.Damaged
}

// request is the batch's request for a newcomer, as examine makes it.
func (n *newcomers) request(rec *Employee) request {
	return request{id: rec.ID, trigger: TriggerBatch, classes: cadence.All, record: rec, fresh: true, runID: n.run.ID, pass: n.run.Started}
}

// load reconciles the people taken, then forgets them. It returns what
// stops the batch (a cancelled context), as examine's workers do.
func (n *newcomers) load(ctx context.Context) error {
	if n == nil || len(n.people) == 0 {
		return nil
	}
	e := n.e
	people := n.people
	n.people = nil
	var single []newcomer // reconciled one by one, at the end
	// Each is held, as a reconcile holds them, until their turn ends. A
	// lock held elsewhere (a webhook's reconcile) is not waited for.
	var pending []arrival
	for _, p := range people {
		if !e.locks.TryLock(p.rec.ID) {
			single = append(single, p)
			continue
		}
		pending = append(pending, arrival{newcomer: p})
	}
	// Wave after wave: each takes the people whose manager has an account
	// by then (or who name none), until no one is left who could.
	var err error
	for len(pending) > 0 && err == nil {
		wave, later, rest := n.plan(ctx, pending)
		if len(wave) == 0 {
			rest, later = append(rest, later...), nil
		}
		for _, a := range rest {
			e.locks.Unlock(a.r.id)
			single = append(single, a.newcomer)
		}
		if len(wave) > 0 {
			var left []newcomer
			left, err = n.wave(ctx, wave)
			single = append(single, left...)
		}
		pending = later
	}
	for _, a := range pending { // the batch is stopping
		e.locks.Unlock(a.r.id)
	}
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for _, p := range single {
		g.Go(func() error {
			rec := p.rec
			res, err := e.reconcile(gctx, n.request(&rec))
			*p.written = res == written
			return ignoreRecorded(err)
		})
	}
	return g.Wait()
}

// plan decides each pending newcomer's write, as a reconcile would having
// found no row, and sorts them: the wave to load now; those whose manager
// is a newcomer still to be loaded (later); and the rest, to reconcile one
// by one — nothing to create, a conflict to raise, a manager the Store does
// not hold an account for (a reconcile provisions them first, or leaves
// the reference out).
func (n *newcomers) plan(ctx context.Context, pending []arrival) (wave, later, rest []arrival) {
	e := n.e
	now := e.cfg.Clock.Now()
	waiting := make(map[string]bool, len(pending))
	for _, a := range pending {
		waiting[a.rec.ID] = true
	}
	var managers []string
	for i := range pending {
		a := &pending[i]
		a.r = n.request(&a.rec)
		a.rd = reading{p: store.Person{ID: a.r.id}, rec: &a.rec, now: now, classes: a.r.classes, attempt: 1}
		// Only a plain create: what the one-by-one path does otherwise
		// (alerts, put-offs, failures) is left to it.
		if d, derr := e.desire(&a.rec, now); derr != nil || d.conflict != "" || !d.active {
			a.c.update = nil
			continue
		}
		a.c = e.decideOwn(ctx, a.r, a.rd)
		if a.c.update == nil || a.c.err != nil || !a.c.until.IsZero() || a.c.update.Kind != Create {
			a.c.update = nil
			continue
		}
		if m := a.c.update.Fields[FieldManagerID]; m != "" && !waiting[m] {
			managers = append(managers, m)
		}
	}
	held := map[string]bool{}
	if len(managers) > 0 {
		ps, err := e.store.Lookup(ctx, e.cfg.Tenant, managers)
		if err != nil {
			return nil, nil, pending // each reads the Store on their own
		}
		for _, p := range ps {
			held[p.ID] = p.Exists
		}
	}
	for _, a := range pending {
		if a.c.update == nil {
			rest = append(rest, a)
			continue
		}
		switch m := a.c.update.Fields[FieldManagerID]; {
		case m == "" || held[m]:
			// No manager, or one with an account: managerFirst would
			// change nothing.
			wave = append(wave, a)
		case waiting[m] && m != a.r.id:
			later = append(later, a)
		default:
			rest = append(rest, a)
		}
	}
	return wave, later, rest
}

// wave loads planned newcomers: their intents, their writes, their
// commits. It returns those the Store turned out to hold a row for, to
// reconcile one by one, their locks released.
func (n *newcomers) wave(ctx context.Context, wave []arrival) (left []newcomer, err error) {
	e := n.e
	if _, open := e.guard.tripped(); open || e.cfg.Clock.Now().Before(e.guard.resumeAt()) {
		// The sink is paused or down: the one-by-one path puts each
		// off, recording no intent.
		for _, a := range wave {
			e.locks.Unlock(a.r.id)
			left = append(left, a.newcomer)
		}
		return left, nil
	}
	intents := make([]store.Intent, len(wave))
	for i, a := range wave {
		intents[i] = store.Intent{ID: a.r.id, Mark: store.Mark{Since: a.rd.now, Classes: a.c.classes, Trigger: string(a.r.trigger)}}
	}
	gens, ierr := n.loader.IntendNew(ctx, e.cfg.Tenant, intents)
	taken := wave[:0]
	for i, a := range wave {
		if ierr == nil && gens[i] == 0 {
			e.locks.Unlock(a.r.id) // the Store holds them: one by one
			left = append(left, a.newcomer)
			continue
		}
		e.observe.reconcile(a.r.trigger)
		e.observe.needed(a.r.trigger)
		a.r.revoking = false // a create
		a.r.severity = e.writeSeverity(a.c.update)
		if ierr != nil {
			n.finish(a, e.fail(ctx, a.r, a.rd, a.c.classes, false, fmt.Errorf("recording the intent: %w", ierr)))
			continue
		}
		a.gen = gens[i]
		taken = append(taken, a)
	}
	// The writes, as many at a time as one by one; each as write makes
	// it once its intent is recorded.
	landedOK := make([]bool, len(taken))
	outs := make([]outcome, len(taken))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i := range taken {
		a := &taken[i]
		g.Go(func() error {
			retryAt, probe, ok := e.guard.admit(e.cfg.Clock.Now())
			if !ok {
				out := e.putOff(gctx, a.r, a.rd.p, a.c.classes, retryAt)
				out.pause = retryAt
				outs[i] = out
				return ignoreRecorded(out.err)
			}
			w, out, ok := e.land(gctx, a.r, a.rd, &a.c, a.gen, probe)
			if out.again {
				out = e.reconcileHeld(gctx, a.r)
			}
			a.w, outs[i], landedOK[i] = w, out, ok
			return ignoreRecorded(out.err)
		})
	}
	err = g.Wait()
	var commits []store.Commit
	var done []arrival
	for i, a := range taken {
		if !landedOK[i] {
			n.finish(a, outs[i])
			continue
		}
		commits = append(commits, e.commitOf(a.r, a.rd, a.c, a.w))
		done = append(done, a)
	}
	if len(commits) > 0 {
		if cerr := n.loader.CommitMany(ctx, e.cfg.Tenant, commits); cerr != nil {
			// Nothing was recorded: each commit is made on its own,
			// its failure recorded as the one-by-one path records it.
			for _, a := range done {
				n.finish(a, e.commit(ctx, a.r, a.rd, a.c, a.w))
			}
		} else {
			for _, a := range done {
				n.finish(a, e.committed(ctx, a.r, a.rd, a.c, a.w))
			}
		}
	}
	e.drainAudit(ctx) // the commits' audit entries are in the outbox
	return left, err
}

// finish ends a newcomer's reconcile as reconcile does: the next turn it
// asks for, and the person released.
func (n *newcomers) finish(a arrival, out outcome) {
	n.e.follow(a.r.id, out)
	*a.written = out.result == written
	n.e.locks.Unlock(a.r.id)
}
