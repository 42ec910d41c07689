package hrissync

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hrissync/hrissync/cadence"
)

// desired is what the platform should hold for one person at one instant.
type desired struct {
	active  bool   // should have access now
	fields  Fields // nil when the person is not in the Source or out of scope
	version Version
	// due is the next instant at which the desired state changes by the
	// mere passing of time (a start date, a last day worked); zero if none.
	due time.Time
	// changedAt is when the newest change took effect: the record's
	// version time, or the date-driven transition if later.
	changedAt time.Time
}

// desire evaluates rec at now: effective dating, scope and mapping.
// rec == nil means the Source does not hold the person.
func (e *Engine) desire(rec *Employee, now time.Time) (desired, error) {
	if rec == nil || !e.cfg.InScope(*rec) {
		return desired{changedAt: now}, nil
	}
	d := desired{version: rec.Version, changedAt: rec.Version.Time}
	loc := e.cfg.Location
	effective := rec.Status
	var provisionAt, startAt, endAt time.Time
	if !rec.StartDate.IsZero() {
		startAt = rec.StartDate.Start(loc)
		provisionAt = rec.StartDate.AddDays(-e.cfg.PreHireDays).Start(loc)
	}
	if !rec.TerminationDate.IsZero() {
		endAt = rec.TerminationDate.Start(loc)
		if e.cfg.Cutover == CutoverEndOfDay {
			endAt = rec.TerminationDate.AddDays(1).Start(loc)
		}
	}
	// transition records a date-driven change that has happened (for
	// latency) or is still to come (the next due time).
	transition := func(at time.Time) {
		switch {
		case at.IsZero():
		case !at.After(now):
			if at.After(d.changedAt) {
				d.changedAt = at
			}
		case d.due.IsZero() || at.Before(d.due):
			d.due = at
		}
	}
	switch {
	case !endAt.IsZero() && !now.Before(endAt):
		effective = StatusTerminated
		transition(endAt)
	case rec.Status == StatusTerminated && endAt.IsZero():
		// Terminated with no last day given: at once.
	case rec.Status == StatusTerminated || rec.Status == StatusPending || (!startAt.IsZero() && now.Before(startAt)):
		// Not started yet, or leaving on a future date: which of the two
		// depends on the dates.
		switch {
		case rec.Status == StatusTerminated:
			effective = StatusActive
		case !startAt.IsZero() && now.Before(provisionAt):
			effective = StatusPending
			transition(provisionAt)
		case !startAt.IsZero() && now.Before(startAt):
			effective = StatusPending
			transition(provisionAt)
			transition(startAt)
		default:
			effective = StatusActive
			transition(provisionAt)
			transition(startAt)
		}
		transition(endAt)
	default:
		transition(endAt)
	}
	d.active = effective != StatusTerminated && (startAt.IsZero() || !now.Before(provisionAt))

	view := rec.Clone()
	view.Status = effective
	fields, err := e.cfg.Map(view)
	if err != nil {
		return desired{}, fmt.Errorf("mapping %s: %w", rec.ID, err)
	}
	for f := range fields {
		if e.cfg.Policy.Class(f) == cadence.Ignore || !e.carried(f) {
			delete(fields, f)
		}
	}
	d.fields = fields
	return d, nil
}

// carried reports whether the sink writes field.
func (e *Engine) carried(field string) bool { return e.carries == nil || e.carries(field) }

// uncarried names the fields of the standard record, and the attributes,
// that the policy would sync but the sink does not carry: said once at start
// so that a host sees plainly what reaches no platform.
func (e *Engine) uncarried() []string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(Employee{}.Fields())) {
		if e.cfg.Policy.Class(f) != cadence.Ignore && !e.carried(f) {
			out = append(out, f)
		}
	}
	if attr := AttributePrefix + "*"; e.cfg.Policy.Class(attr) != cadence.Ignore && !e.carried(attr) {
		out = append(out, attr)
	}
	return out
}
