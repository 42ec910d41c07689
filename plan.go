package hrissync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// Plan is what the batch would change if it ran now: a dry run.
type Plan struct {
	At time.Time
	// Seen is how many people the Source's full list holds.
	Seen int
	// Writes are the writes the batch would make, in ID order (the
	// leavers' last), each with its changes.
	Writes  []Update
	ByKind  map[UpdateKind]int
	ByField map[string]int // how many writes would change each field
	// Leavers are the accounts to deprovision: gone from the list, or out
	// of scope. Accounts is how many active accounts the batch's merge
	// found, the deletion limit's base.
	Leavers  []string
	Accounts int
	// Rekeys are the people whose account a re-key would move to them,
	// by new id: the previous id it moves from (docs/design.md §5.1).
	// Their writes are in Writes, under the new id.
	Rekeys map[string]string
	// Held: the leavers pass Config.DeletionLimit, so the batch would stop
	// before deprovisioning them (their writes are not in Writes) and wait
	// for ApproveDeletions.
	Held bool
	// Spent is what the deletion limit has spent in its window already,
	// and Allowed how many deactivations it allows there (-1: no limit):
	// Held is Spent plus the leavers passing Allowed.
	Spent, Allowed int
}

// Plan reads what the batch reads — the Source's full list, merged with the
// Store's accounts — and returns every write the batch would make now,
// without writing anything: not to the sink, not to the Store.
func (e *Engine) Plan(ctx context.Context) (Plan, error) {
	if e.lanes != nil {
		return Plan{}, ErrSeveralSinks
	}
	now := e.cfg.Clock.Now()
	plan := Plan{At: now, ByKind: map[UpdateKind]int{}, ByField: map[string]int{}, Rekeys: map[string]string{}}
	add := func(id string, rec *Employee, held *store.Person) error {
		p := store.Person{ID: id}
		if held != nil {
			p = *held
		} else {
			var err error
			if p, err = e.store.Person(ctx, e.cfg.Tenant, id); err != nil {
				return err
			}
		}
		u, _, from, err := e.wouldWrite(ctx, id, TriggerBatch, rec, p, now)
		if err != nil {
			return err
		}
		if from != "" {
			plan.Rekeys[id] = from
		}
		if u == nil {
			return nil
		}
		plan.Writes = append(plan.Writes, *u)
		plan.ByKind[u.Kind]++
		for _, c := range u.Changes {
			plan.ByField[c.Field]++
		}
		return nil
	}

	// The batch marks what its list showed in the Store; a dry run may
	// not, so it keeps the ids: memory grows with the list here, and only
	// here.
	listed := map[string]bool{}
	for chunk, err := range joinStore(ctx, e.store, e.cfg.Tenant, e.src.List(ctx), employeeID, pageSize) {
		for _, j := range chunk {
			rec, held := j.item, j.held
			if listed[rec.ID] {
				continue // named twice: the batch examines the first
			}
			listed[rec.ID] = true
			plan.Seen++
			if held.Exists && held.Active && !e.cfg.InScope(rec) {
				plan.Leavers = append(plan.Leavers, rec.ID)
				continue
			}
			if err := add(rec.ID, &rec, &held); err != nil {
				return plan, err
			}
		}
		if err != nil {
			return plan, fmt.Errorf("hrissync: reading the full list: %w", err)
		}
	}
	// An id whose account a re-key moves writes nothing of its own, and
	// is no leaver: its account is its new id's.
	moved := map[string]bool{}
	for _, from := range plan.Rekeys {
		moved[from] = true
	}
	plan.Writes = slices.DeleteFunc(plan.Writes, func(u Update) bool {
		if !moved[u.EmployeeID] {
			return false
		}
		plan.ByKind[u.Kind]--
		for _, c := range u.Changes {
			plan.ByField[c.Field]--
		}
		return true
	})
	for p, err := range e.accounts(ctx, "") {
		if err != nil {
			return plan, err
		}
		if p.Damaged || !p.Active {
			continue
		}
		plan.Accounts++
		if !listed[p.ID] && !moved[p.ID] {
			plan.Leavers = append(plan.Leavers, p.ID)
		}
	}
	slices.Sort(plan.Leavers)
	// The batch judges its leavers against the active accounts once the
	// list's writes have landed — its hires active, its leavers by date
	// gone: so does the plan, or it would hold a run the batch lets
	// through (or the reverse).
	plan.Accounts += plan.ByKind[Create] + plan.ByKind[Reactivate] - plan.ByKind[Deactivate]
	spent, _, err := e.budgets.room(ctx, BudgetVanished)
	if err != nil {
		return plan, err
	}
	plan.Spent, plan.Allowed = spent, e.cfg.DeletionLimit.allows(plan.Accounts)
	plan.Held = e.cfg.DeletionLimit.exceeded(spent, len(plan.Leavers), plan.Accounts)
	if plan.Held {
		return plan, nil
	}
	// Each leaver is read once more, as the batch does: one who is there
	// after all is reconciled, not deprovisioned.
	for _, id := range plan.Leavers {
		var rec *Employee
		got, err := e.src.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return plan, fmt.Errorf("hrissync: reading leaver %s: %w", id, err)
		default:
			rec = &got
		}
		if err := add(id, rec, nil); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

// wouldWrite is the write a reconcile of every class would make for id at
// now, from its record (nil: the Source does not hold them) and its state in
// the Store, before the rules that may still hold it back (a parked field, a
// deactivation budget, a manager first): what Plan lists for the batch and
// Explain shows for one person. It changes nothing.
// from names the previous id whose account the write moves to id (a
// re-key), if it does.
func (e *Engine) wouldWrite(ctx context.Context, id string, trigger Trigger, rec *Employee, p store.Person, now time.Time) (u *Update, d desired, from string, err error) {
	if p.MovedTo() != "" {
		return nil, desired{}, "", nil // decide's: a re-keyed id writes nothing
	}
	if d, err = e.desire(rec, now); err != nil {
		return nil, d, "", fmt.Errorf("hrissync: planning %s: %w", id, err)
	}
	if p, from, err = e.inherited(ctx, trigger, rec, p, now); err != nil {
		return nil, d, "", fmt.Errorf("hrissync: planning %s: %w", id, err)
	}
	if from == "" {
		from = p.Dirty.RekeyFrom
	}
	// An unsure or damaged person, or one whose account the platform
	// binds to a previous id, gets every field rewritten.
	u, _ = e.propose(request{id: id, trigger: trigger}, p, d, cadence.All, p.Dirty.Unsure || p.Damaged || from != "")
	return u, d, from, nil
}
