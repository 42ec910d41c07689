package hrissync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
)

// FieldError is returned by a Sink when the platform refuses one field's
// value rather than the write as a whole: an email another account holds, a
// reference to something it does not know. The engine parks the field and
// writes the rest (docs/design.md §5.15). It is taken as permanent for that
// value: no retry of the same write follows at once.
type FieldError struct {
	Field string // a key of Update.Fields
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("hrissync: field %s refused: %v", e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// ParkedField is a field the platform refused for one person while the rest
// of the write landed: it is left out of that person's writes until Next,
// then tried again by the first reconcile after it, with a backoff doubling
// each time it is refused again.
type ParkedField struct {
	Sink       string // the sink that refused it, in an engine of several
	EmployeeID string
	Field      string
	Err        string    // the platform's last refusal
	Since      time.Time // first refused
	Refusals   int
	Next       time.Time // tried again by the first reconcile at or after it
}

// How long a parked field waits before it is tried again: parkBase, doubled
// at each refusal, at most parkMax.
const (
	parkBase = 5 * time.Minute
	parkMax  = time.Hour
)

// parking holds the parked fields, by person and field. It is in memory: after
// a restart a parked field is tried once more with the next write, and parked
// again if the platform still refuses it.
type parking struct {
	mu     sync.Mutex
	fields map[string]map[string]*ParkedField
}

func (p *parking) park(id, field string, cause error, now time.Time) ParkedField {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fields == nil {
		p.fields = map[string]map[string]*ParkedField{}
	}
	if p.fields[id] == nil {
		p.fields[id] = map[string]*ParkedField{}
	}
	pf := p.fields[id][field]
	if pf == nil {
		pf = &ParkedField{EmployeeID: id, Field: field, Since: now}
		p.fields[id][field] = pf
	}
	pf.Refusals++
	pf.Err = cause.Error()
	pf.Next = now.Add(min(parkBase<<(pf.Refusals-1), parkMax))
	return *pf
}

// waiting returns the person's parked fields not due for another try at now.
func (p *parking) waiting(id string, now time.Time) []ParkedField {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ParkedField
	for _, pf := range p.fields[id] {
		if now.Before(pf.Next) {
			out = append(out, *pf)
		}
	}
	return out
}

// settle forgets the person's parked fields for which landed says true,
// returning them.
func (p *parking) settle(id string, landed func(field string) bool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var done []string
	for f := range p.fields[id] {
		if landed(f) {
			done = append(done, f)
			delete(p.fields[id], f)
		}
	}
	if len(p.fields[id]) == 0 {
		delete(p.fields, id)
	}
	return done
}

// move gives id the parked fields of old (a re-key), returning their names.
func (p *parking) move(old, id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var moved []string
	for f, pf := range p.fields[old] {
		if p.fields[id] == nil {
			p.fields[id] = map[string]*ParkedField{}
		}
		pf.EmployeeID = id
		p.fields[id][f] = pf
		moved = append(moved, f)
	}
	delete(p.fields, old)
	return moved
}

func (p *parking) all() []ParkedField {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ParkedField
	for _, byField := range p.fields {
		for _, pf := range byField {
			out = append(out, *pf)
		}
	}
	slices.SortFunc(out, func(a, b ParkedField) int {
		return cmp.Or(cmp.Compare(a.EmployeeID, b.EmployeeID), cmp.Compare(a.Field, b.Field))
	})
	return out
}

// Parked lists the fields the platform refused while the rest of their
// person's write landed, by person then field.
//
// With several sinks they are every sink's, each naming its sink.
func (e *Engine) Parked() []ParkedField {
	if e.lanes == nil {
		return e.parking.all()
	}
	var out []ParkedField
	for _, l := range e.lanes {
		for _, pf := range l.parking.all() {
			pf.Sink = l.name
			out = append(out, pf)
		}
	}
	return out
}

// holdParked leaves out of the decided write the person's parked fields not
// due for another try, and forgets those the write no longer changes (the
// desired value moved, or the platform took it elsewhere).
func (e *Engine) holdParked(ctx context.Context, r request, now time.Time, c *decision) {
	u := c.update
	for _, f := range e.parking.settle(r.id, func(f string) bool { return u == nil || !changes(u, f) }) {
		e.resolve(ctx, parkedIncident(r.id, f))
	}
	if u == nil {
		return
	}
	for _, pf := range e.parking.waiting(r.id, now) {
		withhold(u, c.applied, pf.Field)
		c.parkedUntil = earliest(c.parkedUntil, pf.Next)
		c.parkedClasses |= e.cfg.Policy.Class(pf.Field)
	}
	if nothingLeft(u) {
		c.update = nil
	}
}

func parkedIncident(id, field string) string { return "parked/" + id + "/" + field }

// isolate is called with the sink's refusal of a decided write. When the
// refusal is one field's — the sink named it (a FieldError), or it did not
// say but the write changes several fields of an existing account and a
// bisection finds one — that field is parked and the rest written again, so
// that one bad value never holds back a termination or a role change. A
// deactivation is landed on its own first. It returns the error of the last
// write tried: nil when the rest landed.
func (e *Engine) isolate(ctx context.Context, r request, c *decision, err error) error {
	var fe *FieldError
	if !retry.IsPermanent(err) && !errors.As(err, &fe) {
		return err // a transient failure: the retry policy's
	}
	if c.update.Kind == Deactivate && len(c.update.Changes) > 0 {
		// Access ends first, whatever the fields.
		if derr := e.tryWithout(ctx, r, c, fieldsOf(c.update)); derr != nil {
			return err // refused even bare: not a field's doing
		}
	}
	for range len(c.update.Fields) + 1 {
		field, ok, ierr := e.culprit(ctx, r, c, err)
		if ierr != nil || !ok {
			return err
		}
		e.park(ctx, r.id, c, field, err, e.cfg.Clock.Now())
		if nothingLeft(c.update) {
			return nil
		}
		if err = e.apply(ctx, r, *c.update, 2); err == nil {
			return nil
		}
	}
	return err
}

// park leaves field out of the decided write for a while, raising its
// incident: the platform refused it (cause).
func (e *Engine) park(ctx context.Context, id string, c *decision, field string, cause error, now time.Time) {
	pf := e.parking.park(id, field, cause, now)
	withhold(c.update, c.applied, field)
	c.parkedUntil = earliest(c.parkedUntil, pf.Next)
	c.parkedClasses |= e.cfg.Policy.Class(field)
	e.log.Warn("field refused by the platform: parked, the rest written", "id", id, "field", field, "err", cause)
	e.incidents.raisePerson(ctx, parkedIncident(id, field), Alert{Kind: AlertFieldParked, Severity: e.fieldSeverity(field), EmployeeID: id, Err: cause,
		Message: fmt.Sprintf("%s: the platform refused %s; the rest of the write is applied, %s is tried again from %s",
			id, field, field, pf.Next.UTC().Format(time.RFC3339))})
}

// culprit names the field a refusal is about: the one a FieldError names, or
// the one a bisection of the write's changed fields finds. ok is false when
// the refusal is not a field's (a transient failure, a new account, a single
// changed field).
func (e *Engine) culprit(ctx context.Context, r request, c *decision, err error) (field string, ok bool, _ error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		// Even the write's only change: the field is parked on its own,
		// and the person is not dead-lettered for it.
		_, carried := c.update.Fields[fe.Field]
		return fe.Field, carried, nil
	}
	suspects := fieldsOf(c.update)
	// A new account cannot be bisected: the platform may refuse it for a
	// required field left out, not for the one that is wrong.
	if !retry.IsPermanent(err) || c.update.Kind == Create || len(suspects) == 0 || len(suspects) == 1 && c.update.Kind == Modify {
		return "", false, nil
	}
	// Invariant: the write without excluded was refused, and the culprit
	// is among suspects. Halve: without the second half, the write either
	// lands (the culprit is in that half) or is refused again (in the
	// first).
	var excluded []string
	landed := false // some write without a suspect was taken: a field is to blame
	for len(suspects) > 1 {
		a, b := suspects[:len(suspects)/2], suspects[len(suspects)/2:]
		err := e.tryWithout(ctx, r, c, append(slices.Clone(excluded), b...))
		switch {
		case err == nil:
			suspects, landed = b, true
		case errors.As(err, &fe) && slices.Contains(a, fe.Field):
			return fe.Field, true, nil
		case retry.IsPermanent(err):
			excluded, suspects = append(excluded, b...), a
		default:
			return "", false, err // the sink is failing for another reason
		}
	}
	if !landed {
		// Every write tried was refused: a platform refusing everything
		// (a revoked token) would otherwise have one innocent field
		// blamed. The last suspect is the culprit only if the write
		// without it is taken.
		switch err := e.tryWithout(ctx, r, c, append(slices.Clone(excluded), suspects[0])); {
		case retry.IsPermanent(err) && !errors.As(err, &fe):
			return "", false, nil // not a field's doing
		case err != nil && !retry.IsPermanent(err):
			return "", false, err
		}
	}
	return suspects[0], true, nil
}

// tryWithout applies the decided write without the given fields.
func (e *Engine) tryWithout(ctx context.Context, r request, c *decision, without []string) error {
	u := *c.update
	u.Changes, u.Fields = slices.Clone(u.Changes), maps.Clone(u.Fields)
	for _, f := range without {
		withhold(&u, nil, f)
	}
	return e.apply(ctx, r, u, 2)
}

// nothingLeft reports whether u, fields withheld, writes nothing.
func nothingLeft(u *Update) bool { return u.Kind == Modify && len(u.Changes) == 0 }

// fieldsOf lists the fields u changes.
func fieldsOf(u *Update) []string {
	out := make([]string, len(u.Changes))
	for i, ch := range u.Changes {
		out[i] = ch.Field
	}
	return out
}

// fieldSeverity is a parked field's: critical for a termination date, high
// for another field the policy keeps in step in real time (a role, a
// manager), low for an attribute.
func (e *Engine) fieldSeverity(field string) Severity {
	switch {
	case field == FieldTerminationDate:
		return SeverityCritical
	case e.cfg.Policy.Class(field).Has(cadence.Realtime):
		return SeverityHigh
	}
	return SeverityLow
}
