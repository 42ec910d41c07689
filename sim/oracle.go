package sim

import (
	"maps"
	"time"

	"github.com/hrissync/hrissync"
)

// The oracle says what the learning platform should hold. It is written
// apart from the engine's own evaluation, from the rules in docs/design.md §5, so
// that the simulation checks the engine against the rules rather than
// against itself.

// activeField is the pseudo-field of an expectation about access.
const activeField = "_active"

// view is what the platform should show for one person.
type view struct {
	active bool
	fields hrissync.Fields
}

// expect evaluates e at now: access ends at the end of the last day worked in
// loc, starts leadDays before the start date, and the status shown is the
// effective one.
func expect(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int) view {
	status, active := effective(e, now, loc, leadDays)
	v := e.Clone()
	v.Status = status
	return view{active: active, fields: v.Fields()}
}

// effective is the status e shows at now, and whether it grants access.
func effective(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int) (hrissync.Status, bool) {
	status := e.Status
	var provision, start, end time.Time
	if !e.StartDate.IsZero() {
		start = e.StartDate.Start(loc)
		provision = e.StartDate.AddDays(-leadDays).Start(loc)
	}
	if !e.TerminationDate.IsZero() {
		end = e.TerminationDate.AddDays(1).Start(loc)
	}
	switch {
	case !end.IsZero() && !now.Before(end):
		status = hrissync.StatusTerminated
	case status == hrissync.StatusTerminated && end.IsZero():
	case status == hrissync.StatusTerminated:
		status = hrissync.StatusActive // leaving on a future date
	case !start.IsZero() && now.Before(start):
		status = hrissync.StatusPending
	case status == hrissync.StatusPending:
		status = hrissync.StatusActive
	}
	return status, status != hrissync.StatusTerminated && (provision.IsZero() || !now.Before(provision))
}

// transitions are the future instants at which expect(e, ·) may change by
// itself.
func transitions(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int) []time.Time {
	var out []time.Time
	add := func(t time.Time) {
		if t.After(now) {
			out = append(out, t)
		}
	}
	if !e.StartDate.IsZero() {
		add(e.StartDate.AddDays(-leadDays).Start(loc))
		add(e.StartDate.Start(loc))
	}
	if !e.TerminationDate.IsZero() {
		add(e.TerminationDate.AddDays(1).Start(loc))
	}
	return out
}

// platformView is what a perfect engine would have written so far for one
// person: an account exists once access was first due, and a disabled
// account's fields stay as they were when it was disabled.
type platformView struct {
	exists bool
	view
}

// next returns the platform view after the HR view becomes v, and the
// field values (and activity) a write must bring, if any.
func (p platformView) next(v view) (platformView, map[string]string) {
	switch {
	case !p.exists && !v.active, p.exists && !p.active && !v.active:
		return p, nil // no account due, or a disabled one stays as it was
	}
	due := map[string]string{}
	for f, val := range v.fields {
		if p.fields[f] != val {
			due[f] = val
		}
	}
	if !p.exists || p.active != v.active {
		due[activeField] = boolString(v.active)
	}
	return platformView{exists: true, view: view{active: v.active, fields: maps.Clone(v.fields)}}, due
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
