package hrissync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
)

// Re-keying (docs/design.md §5.1). HR gives a person a new worker id now and
// then — a contractor converted to an employee, a move between HR systems —
// and names the old one in Employee.PreviousIDs. The person keeps their
// account, and with it their learning history: the Store moves the account
// to the new id first, so that from then on the old id's own record (a
// termination, a 404) no longer touches it, and the move is owed durably
// (Mark.RekeyFrom) until the write that rebinds the platform's account
// lands, through the Sink's Rekeyer. A crash in between repeats that write,
// which a Rekeyer makes idempotently.

// adopt gives the person being reconciled the account of one of their
// previous ids, if they have none and that id has one (when moveNow says
// so). It returns the reading to decide from — the person as the Store now
// holds them — or, not ok, the outcome that ends the reconcile. Anything
// else is reconciled as it was read: a previous id with an account beside
// the person's own is a conflict an operator settles, never a guess.
func (e *Engine) adopt(ctx context.Context, r request, rd reading) (reading, outcome, bool) {
	if rd.rec == nil || len(rd.rec.PreviousIDs) == 0 || rd.p.MovedTo() != "" || rd.p.Dirty.RekeyFrom != "" {
		return rd, outcome{}, true
	}
	held, err := e.previousAccounts(ctx, r.id, rd.rec)
	if err != nil {
		return rd, e.fail(ctx, r, rd, rd.classes, rd.p.Dirty.Unsure, err), false
	}
	switch {
	case len(held) == 0:
		return rd, outcome{}, true
	case rd.p.Exists:
		e.raise(ctx, "identity/"+r.id, Alert{Kind: AlertIdentityConflict, EmployeeID: r.id,
			Err:     &RekeyConflictError{From: held[0].ID, To: r.id},
			Message: fmt.Sprintf("%s has an account, and so has its previous id %s: nothing was moved; merge the two by hand", r.id, held[0].ID)})
		return rd, outcome{}, true
	}
	if now, err := e.moveNow(ctx, r.trigger, rd.rec, held[0].ID, rd.now); err != nil {
		return rd, e.fail(ctx, r, rd, rd.classes, rd.p.Dirty.Unsure, err), false
	} else if !now {
		return rd, outcome{}, true
	}
	if _, ok := e.sink.(Rekeyer); !ok {
		e.raise(ctx, "identity/"+r.id, Alert{Kind: AlertIdentityConflict, EmployeeID: r.id,
			Message: fmt.Sprintf("%s was re-keyed from %s, but the sink cannot move an account (it is no Rekeyer): %s gets an account of its own", r.id, held[0].ID, r.id)})
		return rd, outcome{}, true
	}
	if len(held) > 1 {
		// The most recent previous id's account moves; the others are
		// the same person's too, and only an operator can merge them.
		var others []string
		for _, p := range held[1:] {
			others = append(others, p.ID)
		}
		e.raise(ctx, "identity/"+r.id, Alert{Kind: AlertIdentityConflict, EmployeeID: r.id,
			Message: fmt.Sprintf("%s inherits the account of %s; its other previous ids %s have accounts too: merge them by hand (they are deactivated as leavers of their own ids)",
				r.id, held[0].ID, strings.Join(others, ", "))})
	}
	return e.rekey(ctx, r, rd, held[0].ID)
}

// moveNow reports whether old's account moves to the person now: when they
// are to have access, or old is not (gone from the Source, or left). Until
// then old may be at work still — a contractor whose employment starts
// next month — and keeps the account.
func (e *Engine) moveNow(ctx context.Context, trigger Trigger, rec *Employee, old string, now time.Time) (bool, error) {
	if d, err := e.desire(rec, now); err != nil || d.active {
		return err == nil, nil
	}
	prev, err := e.get(ctx, trigger, old)
	switch {
	case errors.Is(err, ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading previous id %s: %w", old, err)
	}
	d, err := e.desire(&prev, now)
	return err == nil && !d.active, nil
}

// previousAccounts returns the state of the person's previous ids that hold
// an account, most recent first, read with one Lookup.
func (e *Engine) previousAccounts(ctx context.Context, id string, rec *Employee) ([]store.Person, error) {
	var ids []string
	for _, old := range rec.PreviousIDs {
		if old != id && old != "" && !slices.Contains(ids, old) {
			ids = append(ids, old)
		}
	}
	people, err := e.store.Lookup(ctx, e.cfg.Tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("reading state of previous ids %v: %w", ids, err)
	}
	return slices.DeleteFunc(people, func(p store.Person) bool { return !p.Exists || p.MovedTo() != "" }), nil
}

// inherited is what Plan and Explain take a person's state to be: theirs,
// or, when a reconcile now would move a previous id's account to them, that
// account (from names the id). It changes nothing.
func (e *Engine) inherited(ctx context.Context, trigger Trigger, rec *Employee, p store.Person, now time.Time) (basis store.Person, from string, err error) {
	if rec == nil || len(rec.PreviousIDs) == 0 || p.Exists || p.MovedTo() != "" || p.Dirty.RekeyFrom != "" {
		return p, "", nil
	}
	if _, ok := e.sink.(Rekeyer); !ok {
		return p, "", nil
	}
	held, err := e.previousAccounts(ctx, p.ID, rec)
	if err != nil || len(held) == 0 {
		return p, "", err
	}
	if ok, err := e.moveNow(ctx, trigger, rec, held[0].ID, now); err != nil || !ok {
		return p, "", err
	}
	p.Exists, p.Active, p.Applied = held[0].Exists, held[0].Active, store.Rekeyed(held[0])
	return p, held[0].ID, nil
}

// rekey moves old's account to the person in the Store, holding old too, so
// that no reconcile of old acts on the account meanwhile. It waits for old:
// a conversion's two records change together, and their reconciles meet
// here. No reconcile holding old waits for another person (a manager is
// only tried), so the wait cannot close a loop — unless this reconcile runs
// on behalf of a report, perhaps old itself: then old is only tried, and
// the person put off if it is busy.
func (e *Engine) rekey(ctx context.Context, r request, rd reading, old string) (reading, outcome, bool) {
	wait := len(r.chain) == 0
	if wait {
		e.locks.Lock(old)
	} else if !e.locks.TryLock(old) {
		return rd, e.putOff(ctx, r, rd.p, rd.classes, rd.now.Add(managerRetry)), false
	}
	defer e.locks.Unlock(old)
	unlock, ok, err := e.lockPerson(ctx, old, wait)
	switch {
	case err != nil:
		return rd, e.fail(ctx, r, rd, rd.classes, rd.p.Dirty.Unsure, fmt.Errorf("locking previous id %s: %w", old, err)), false
	case !ok:
		return rd, e.putOff(ctx, r, rd.p, rd.classes, rd.now.Add(managerRetry)), false
	}
	defer unlock()
	entry := audit.Entry{
		ID: entryID(), Tenant: e.tenant, Sink: e.name, EmployeeID: r.id, Action: audit.ActionRekey,
		Changes: []audit.Change{{Field: audit.ChangeEmployeeID, Old: old, New: r.id}},
		Trigger: string(r.trigger), EventID: rd.p.Dirty.EventID, RunID: r.runID,
		SourceChanged: rd.rec.Version.Time, Received: rd.p.Dirty.Since, Applied: rd.now, Outcome: "recorded",
	}
	_, err = e.store.Rekey(ctx, e.cfg.Tenant, store.Rekeying{From: old, To: r.id, Audit: entry,
		Mark: store.Mark{Since: rd.now, Classes: cadence.All, Trigger: string(r.trigger)}})
	if errors.Is(err, store.ErrConflict) {
		// old lost its account, or the person got one, since they were
		// read: look again.
		return rd, e.putOff(ctx, r, rd.p, rd.classes, rd.now), false
	}
	if err != nil {
		return rd, e.fail(ctx, r, rd, rd.classes, rd.p.Dirty.Unsure, fmt.Errorf("re-keying %s to %s: %w", old, r.id, err)), false
	}
	e.log.Info("re-keyed: the account moves to the new worker id", "from", old, "to", r.id)
	e.inherit(ctx, old, r.id)
	if rd.p, err = e.store.Person(ctx, e.cfg.Tenant, r.id); err != nil {
		return rd, e.fail(ctx, r, rd, cadence.All, true, fmt.Errorf("reading state of %s: %w", r.id, err)), false
	}
	rd.classes = cadence.All
	return rd, outcome{}, true
}

// inherit moves what the engine holds in memory for old to its new id: its
// parked fields; and ends old's incidents and budget holds, whose person is
// now the new id (the Store cleared old's failure with the move).
func (e *Engine) inherit(ctx context.Context, old, id string) {
	e.budgets.settled(ctx, old) // a hold on old's deactivation: nothing is left to deactivate
	for _, f := range e.parking.move(old, id) {
		e.resolve(ctx, parkedIncident(old, f))
	}
	e.resolve(ctx, deadIncident(old))
}

// rebind makes the write u for a person whose account the platform still
// binds to a previous id: through the Sink's Rekeyer, which moves it.
func (e *Engine) rebind(ctx context.Context, from string, u Update) error {
	rk, ok := e.sink.(Rekeyer)
	if !ok {
		return retry.Permanent(fmt.Errorf("hrissync: %s's account is bound to %s on the platform, and the sink cannot move it (it is no Rekeyer)", u.EmployeeID, from))
	}
	return rk.Rekey(ctx, from, u)
}

// correlated reports whether err, the platform's answer to the create u, is
// the person's own account under an id HR retired (Config.Correlate): an
// account bound to that id holds a unique value of the person's, the
// Store holds the account with the person's employee number as last
// written, and HR no longer lists the id. Any doubt is no: the create stays
// refused, and reported.
func (e *Engine) correlated(ctx context.Context, r request, rd reading, u *Update, err error) (from string, ok bool) {
	var taken *AccountTakenError
	if !e.cfg.Correlate || u.Kind != Create || rd.rec == nil || rd.rec.EmployeeNumber == "" || !errors.As(err, &taken) || taken.HeldBy == r.id {
		return "", false
	}
	held, serr := e.store.Person(ctx, e.cfg.Tenant, taken.HeldBy)
	if serr != nil || !held.Exists || held.Applied[FieldEmployeeNumber].Value != rd.rec.EmployeeNumber {
		return "", false
	}
	if _, gerr := e.get(ctx, r.trigger, taken.HeldBy); !errors.Is(gerr, ErrNotFound) {
		return "", false // HR lists the holder still (or could not say): two people
	}
	e.log.Info("correlated: a create met the same person's account under a retired id", "id", r.id, "from", taken.HeldBy, "field", taken.Field)
	return taken.HeldBy, true
}
