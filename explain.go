package hrissync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// ErrUnknownPerson: Explain was asked about someone neither the Source nor
// the Store knows — most often a mistyped id.
var ErrUnknownPerson = errors.New("hrissync: unknown person")

// Explanation is one person's state as the engine sees it, put together to
// answer the first support ticket of every rollout: "why does this person
// still have access?" (or not yet, or the wrong role). It holds the person's
// values: show it only behind the host's authentication.
type Explanation struct {
	ID string
	At time.Time // when it was put together: "now" below
	// Record is the person's record in the Source now; nil when the Source
	// does not hold them, or could not be read (Explain's error says so).
	Record *Employee
	// Desired is what the platform should hold now, from Record: effective
	// dating, scope, mapping and the cadence policy applied, as a
	// reconcile works it out. Zero when the Source could not be read.
	Desired Desired
	// Account is the platform's account as the Store last recorded it.
	Account AccountState
	// Applied is what the engine last wrote, per field in name order.
	Applied []AppliedField
	// Due is when a dated change in the record (a start date, a last day
	// worked) next takes effect, and DueKind the write it then makes (a
	// Deactivate at a termination's end); zero: none.
	Due     time.Time
	DueKind UpdateKind
	// Waiting is the person's dirty mark: a reconcile is owed them. nil:
	// clean.
	Waiting *Waiting
	// Attempts is the current run of failed writes; nil: none failed
	// since the last one landed.
	Attempts *Attempts
	// Holds are the holds keeping the person's access: a deactivation
	// budget's, or a batch run's waiting for deletion approval.
	Holds []PersonHold
	// Parked are the person's fields the platform refused while the rest
	// of the write landed.
	Parked []ParkedField
	// Incidents are the person's open incidents (a dead letter, a parked
	// field), as the Alerter heard or will hear of them.
	Incidents []Alert
	// Next is what a reconcile would do now, or why nothing.
	Next NextStep
}

// Desired is the state a person's record asks of the platform now.
type Desired struct {
	Access  bool   // the person should have access
	Fields  Fields // the mapped fields the policy keeps; nil: none wanted
	Version hrtype.Version
	// Conflict, if not empty, says why the record could not be read as it
	// stands; the reading with less access was taken.
	Conflict string
}

// AccountState is an account as the Store knows it.
type AccountState struct {
	Exists, Active bool
	// Version is the record version that last set the activity.
	Version hrtype.Version
}

// AppliedField is one field as the engine last wrote it. Version.Time is
// when HR made the value (the Store keeps no time per write; the audit log
// has it).
type AppliedField struct {
	Field, Value string
	Version      hrtype.Version
}

// Waiting is why a reconcile is owed.
type Waiting struct {
	Since   time.Time
	Trigger Trigger
	// Unsure: a write may have landed unrecorded, so the next one
	// rewrites every field.
	Unsure bool
}

// Attempts is a run of failed writes.
type Attempts struct {
	Count   int
	LastErr string
	At      time.Time // the last
	Dead    bool      // retries ran out: dead-lettered
}

// PersonHold is one hold on a person's deactivation.
type PersonHold struct {
	// ID is what ApproveDeletions takes: "held/" + Budget, or a held
	// batch run's ID.
	ID     string
	Budget string
	Since  time.Time
}

// NextStep is what a reconcile of the person would do now.
type NextStep struct {
	// Update is the write, parked fields left out; nil: none.
	Update *Update
	// Held is set when the write ends access and a hold keeps it back:
	// the ID ApproveDeletions takes to let it go.
	Held string
	// Why says it in words, for an operator.
	Why string
}

// Explain answers, for one person, "why does this person still have
// access?": their record in the Source now and what it asks of the platform,
// what the engine applied, their due time, dirty mark and failed attempts,
// the holds and parked fields keeping a write back, and the write a
// reconcile would make now. It reads the Source (one Get) and the Store, and
// changes nothing.
//
// Someone neither holds gives an error wrapping ErrUnknownPerson. A Source
// that fails gives its error, with the Store's part of the Explanation
// filled in.
func (e *Engine) Explain(ctx context.Context, id string) (Explanation, error) {
	if e.lanes != nil {
		return Explanation{}, ErrSeveralSinks
	}
	now := e.cfg.Clock.Now()
	x := Explanation{ID: id, At: now}
	p, err := e.store.Person(ctx, e.cfg.Tenant, id)
	if err != nil {
		return x, fmt.Errorf("hrissync: explaining %s: reading its state: %w", id, err)
	}
	if err := e.explainStored(ctx, &x, p); err != nil {
		return x, err
	}
	if to := p.MovedTo(); to != "" {
		x.Next.Why = "HR re-keyed this id to " + to + ": the account is " + to + "'s, and this id's own records touch nothing"
		return x, nil
	}

	var rec *Employee
	switch got, err := e.src.Get(ctx, id); {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		x.Next.Why = "the Source could not be read: " + err.Error()
		return x, fmt.Errorf("hrissync: explaining %s: reading the source: %w", id, err)
	default:
		rec, x.Record = &got, &got
	}
	if rec == nil && !known(p) {
		return x, fmt.Errorf("%w: neither the Source nor the Store holds %q", ErrUnknownPerson, id)
	}

	u, d, from, err := e.wouldWrite(ctx, id, TriggerRealtime, rec, p, now)
	if err != nil {
		x.Next.Why = err.Error()
		return x, err
	}
	x.Desired = Desired{Access: d.active, Fields: d.fields, Version: d.version, Conflict: d.conflict}
	if rec != nil && newerApplied(p, d.version) {
		d.due = p.Due // as decide keeps it: an older record does not move it
	}
	if x.Due = d.due; !x.Due.IsZero() && rec != nil {
		if then, err := e.desire(rec, x.Due); err == nil {
			x.DueKind = dueKind(p.Exists, d.active, then.active)
		}
	}
	var parkedUntil time.Time
	var withheld string
	if u != nil {
		for _, pf := range e.parking.waiting(id, now) {
			withhold(u, nil, pf.Field)
			parkedUntil = earliest(parkedUntil, pf.Next)
		}
		if withheld, err = e.unreferable(ctx, u, now); err != nil {
			return x, fmt.Errorf("hrissync: explaining %s: %w", id, err)
		} else if withheld != "" {
			unrefer(u, nil)
		}
		if nothingLeft(u) || u.Kind == Modify && len(u.Changes) == 0 {
			u = nil
		}
	}
	x.Next, err = e.nextStep(ctx, x, p, rec, u, parkedUntil, withheld)
	if from != "" && p.Dirty.RekeyFrom == "" {
		x.Next.Why += "; the account of " + from + " moves here (a re-key), its history kept, and is rebound on the platform"
	}
	return x, err
}

// unreferable says why the manager reference u carries would be left out
// or cleared, as managerFirst does: its manager has no account and is not to
// have one now (for a deactivation: has none). "" when the reference can be
// set, the manager provisioned first if need be.
func (e *Engine) unreferable(ctx context.Context, u *Update, now time.Time) (string, error) {
	m := u.Fields[FieldManagerID]
	if m == "" || u.Kind == Modify && !changes(u, FieldManagerID) {
		return "", nil
	}
	if mp, err := e.store.Person(ctx, e.cfg.Tenant, m); err != nil || mp.Exists {
		return "", err
	}
	if !u.Active {
		return m + " has no account, and a deactivation does not wait for one", nil
	}
	rec, err := e.src.Get(ctx, m)
	switch {
	case errors.Is(err, ErrNotFound):
		return m + " is not in the Source", nil
	case err != nil:
		return "", fmt.Errorf("reading manager %s: %w", m, err)
	}
	if d, err := e.desire(&rec, now); err != nil || d.active {
		return "", nil
	}
	return m + " has no account and is not to have one (left before being provisioned, out of scope or not started)", nil
}

// explainStored fills in what the Store and the engine's memory hold.
func (e *Engine) explainStored(ctx context.Context, x *Explanation, p store.Person) error {
	x.Due = p.Due
	x.Account = AccountState{Exists: p.Exists, Active: p.Active, Version: p.Applied[store.AppliedActivity].Version}
	for f, a := range p.Applied {
		if f != store.AppliedActivity {
			x.Applied = append(x.Applied, AppliedField{Field: f, Value: a.Value, Version: a.Version})
		}
	}
	slices.SortFunc(x.Applied, func(a, b AppliedField) int { return strings.Compare(a.Field, b.Field) })
	if p.Dirty.Generation != 0 || p.Damaged {
		x.Waiting = &Waiting{Since: p.Dirty.Since, Trigger: Trigger(p.Dirty.Trigger), Unsure: p.Dirty.Unsure || p.Damaged}
	}
	if f := p.Failure; f != nil {
		x.Attempts = &Attempts{Count: f.Attempts, LastErr: f.Err, At: f.At, Dead: f.Dead}
	}
	for budget, since := range e.budgets.heldSince(x.ID) {
		x.Holds = append(x.Holds, PersonHold{ID: HoldPrefix + budget, Budget: budget, Since: since})
	}
	switch run, err := e.store.LastBatchRun(ctx, e.cfg.Tenant); {
	case err == nil && run.Status == store.BatchHeld && slices.Contains(run.Leavers, x.ID):
		x.Holds = append(x.Holds, PersonHold{ID: run.ID, Budget: BudgetVanished, Since: run.Started})
	case err != nil && !errors.Is(err, ErrNotFound):
		return fmt.Errorf("hrissync: explaining %s: reading the last batch run: %w", x.ID, err)
	}
	slices.SortFunc(x.Holds, func(a, b PersonHold) int { return cmp.Compare(a.ID, b.ID) })
	for _, pf := range e.parking.all() {
		if pf.EmployeeID == x.ID {
			x.Parked = append(x.Parked, pf)
		}
	}
	for _, a := range e.Incidents() {
		if a.EmployeeID == x.ID {
			x.Incidents = append(x.Incidents, a)
		}
	}
	return nil
}

// known reports whether the Store holds anything of p.
func known(p store.Person) bool {
	return p.Exists || len(p.Applied) > 0 || p.Dirty.Generation != 0 || !p.Due.IsZero() || p.Failure != nil || p.Damaged
}

// dueKind is the write a dated change makes to the person's access: from
// access now to access then.
func dueKind(exists, now, then bool) UpdateKind {
	switch {
	case now && !then:
		return Deactivate
	case !now && then && exists:
		return Reactivate
	case !now && then:
		return Create
	}
	return Modify
}

// nextStep says what a reconcile would do now with the write u (nil: none
// needed), and why.
// withheld: why the manager reference u would set is left out, if it is.
func (e *Engine) nextStep(ctx context.Context, x Explanation, p store.Person, rec *Employee, u *Update, parkedUntil time.Time, withheld string) (NextStep, error) {
	next := NextStep{Update: u}
	var why []string
	revoking := u != nil && u.Kind == Deactivate && p.Active
	switch {
	case u == nil && !parkedUntil.IsZero():
		why = append(why, "only parked fields differ: they are tried again from "+parkedUntil.UTC().Format(time.RFC3339))
	case u == nil && withheld != "":
		why = append(why, "only the manager reference differs, and it cannot be set: "+withheld)
	case u == nil:
		why = append(why, "nothing to write: the platform holds what the record asks")
	case rec == nil && p.Exists && p.Active:
		// decide's vanished: a 404 alone never deactivates.
		why = append(why, "the Source does not hold this person: a webhook or poll keeps the account; "+
			"the next batch deactivates it once its full list confirms they are gone (under the deletion limit), or a replay does now")
	default:
		fields := make([]string, len(u.Changes))
		for i, c := range u.Changes {
			fields[i] = c.Field
		}
		w := "a reconcile now would " + u.Kind.String() + " the account"
		if len(fields) > 0 {
			w += " (" + strings.Join(fields, ", ") + ")"
		}
		why = append(why, w)
		if withheld != "" {
			why = append(why, "the manager reference is left out or cleared: "+withheld)
		}
	}
	if revoking && len(x.Holds) > 0 {
		h := x.Holds[0]
		next.Held = h.ID
		why = append(why, fmt.Sprintf("held beyond the %s budget since %s: access is kept until an operator approves (ApproveDeletions(%q)) or the window has room",
			h.Budget, h.Since.UTC().Format(time.RFC3339), h.ID))
	} else if revoking {
		budget := budgetOf(rec, e.cfg.InScope)
		held, err := e.budgets.wouldHold(ctx, budget, x.ID)
		if err != nil {
			return next, fmt.Errorf("hrissync: explaining %s: %w", x.ID, err)
		}
		if held {
			next.Held = HoldPrefix + budget
			why = append(why, fmt.Sprintf("the %s budget is spent: the deactivation would be held, access kept until an operator approves (ApproveDeletions(%q))",
				budget, next.Held))
		}
	}
	if a := x.Attempts; a != nil && a.Dead {
		why = append(why, fmt.Sprintf("dead-lettered after %d attempts (%s): the next poll, batch or a replay tries again", a.Count, a.LastErr))
	} else if a != nil {
		why = append(why, fmt.Sprintf("%d attempts failed (%s): retried on the retry policy's schedule", a.Count, a.LastErr))
	}
	if from := p.Dirty.RekeyFrom; from != "" {
		why = append(why, "the account moved here from "+from+" (a re-key): the platform binds it to "+from+" until the next write rebinds it")
	}
	if p.Damaged {
		why = append(why, "the Store could not decode this person's state: a reconcile rebuilds it with a full rewrite")
	}
	if x.Desired.Conflict != "" {
		why = append(why, "the record contradicts itself ("+x.Desired.Conflict+"): read as without access")
	}
	next.Why = strings.Join(why, "; ")
	return next, nil
}
