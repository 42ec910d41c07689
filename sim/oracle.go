package sim

import (
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
)

// The oracle says what the learning platform should hold. It is written
// apart from the engine's own evaluation, from the employment table of
// docs/design.md §5.12, so that the simulation checks the engine against the
// rules rather than against itself.

// activeField is the pseudo-field of an expectation about access.
const activeField = "_active"

// view is what the platform should show for one person.
type view struct {
	active bool
	fields hrissync.Fields
}

// expect evaluates e at now by the employment table, in e's own time zone
// (the HR zone loc when the record names none): the status shown is the
// effective one.
// With audiences, the groups the organisation keeps are fields too.
func expect(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int, audiences bool) view {
	status, active := effective(e, now, loc, leadDays)
	v := e.Clone()
	v.Status = status
	fields := v.Fields()
	if audiences {
		maps.Copy(fields, audienceFields(e))
	}
	return view{active: active, fields: fields}
}

// The organisation's audiences: a group per department, and one of the
// managers (a role naming "Manager"), each following its field's class.
// Written here from the rules as a host states them, apart from the
// engine's GroupRule helpers.
var audienceSource = map[string]string{
	hrissync.GroupPrefix + "department": hrissync.FieldDepartment,
	hrissync.GroupPrefix + "managers":   hrissync.FieldRole,
}

// Audiences are the rules the engine is given for them.
func audiences() []hrissync.GroupRule {
	return []hrissync.GroupRule{
		hrissync.ByValue("department", hrissync.FieldDepartment, nil),
		hrissync.When("managers", hrissync.FieldRole, "Managers", func(e hrissync.Employee) bool { return strings.Contains(e.Role, "Manager") }),
	}
}

func audienceFields(e hrissync.Employee) hrissync.Fields {
	f := hrissync.Fields{hrissync.GroupPrefix + "department": "", hrissync.GroupPrefix + "managers": ""}
	if e.Department != "" {
		f[hrissync.GroupPrefix+"department"] = "department:" + e.Department + "\x1f" + e.Department
	}
	if strings.Contains(e.Role, "Manager") {
		f[hrissync.GroupPrefix+"managers"] = "managers\x1fManagers"
	}
	return f
}

// zoneCache remembers the workers' zones by name.
var zoneCache sync.Map // name → *time.Location

// zoneOf is the zone e's dates are days in: its own, else hr. A name the
// zone database does not know reads as hr (the simulation makes none).
func zoneOf(e hrissync.Employee, hr *time.Location) *time.Location {
	if e.TimeZone == "" || e.TimeZone == "Local" {
		return hr
	}
	if l, ok := zoneCache.Load(e.TimeZone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		return hr
	}
	zoneCache.Store(e.TimeZone, l)
	return l
}

// moments are a record's dates as instants in the person's zone: the first
// instant of access ahead of the start (leadDays before it), the start, and
// the cutover at the end of the last day worked. Zero when the date is not
// set.
type moments struct {
	provision, start, cutover time.Time
}

func momentsOf(e hrissync.Employee, hr *time.Location, leadDays int) moments {
	loc := zoneOf(e, hr)
	var m moments
	if !e.StartDate.IsZero() {
		m.start = e.StartDate.Start(loc)
		m.provision = e.StartDate.AddDays(-leadDays).Start(loc)
	}
	if !e.TerminationDate.IsZero() {
		m.cutover = e.TerminationDate.AddDays(1).Start(loc) // the day is worked to its end
	}
	return m
}

// before reports whether civil date a is earlier than b.
func before(a, b hrissync.Date) bool {
	return a.Start(time.UTC).Before(b.Start(time.UTC))
}

// rehired reports a start date after the last day worked: the termination
// ended an earlier employment, whether HR kept its date or not.
func rehired(e hrissync.Employee) bool {
	return !e.StartDate.IsZero() && !e.TerminationDate.IsZero() && before(e.TerminationDate, e.StartDate)
}

// contradicts reports whether e's status and dates disagree, judged when HR
// wrote it (its version; now if it has none): such a record gives no access.
func contradicts(e hrissync.Employee, m moments, now time.Time) bool {
	written := e.Version.Time
	if written.IsZero() {
		written = now
	}
	terminated := e.Status == hrissync.StatusTerminated
	working := !terminated && e.Status != hrissync.StatusSuspended
	switch {
	case terminated && rehired(e): // a rehire not marked as one
		return true
	case terminated && !m.start.IsZero() && m.start.After(written): // a hire marked terminated
		return true
	case working && !m.cutover.IsZero() && !rehired(e) && !written.Before(m.cutover): // a leaver not marked
		return true
	case e.Immediate && !terminated && e.TerminationDate.IsZero(): // immediate, but no termination
		return true
	}
	return false
}

// effective is the status e shows at now, and whether it grants access: the
// employment table of docs/design.md §5.12, row by row.
func effective(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int) (hrissync.Status, bool) {
	m := momentsOf(e, loc, leadDays)
	if contradicts(e, m, now) {
		return hrissync.StatusTerminated, false
	}
	terminated := e.Status == hrissync.StatusTerminated
	// employed is the state of an employment that has not ended: none
	// before the pre-hire day, pending (provisioned) until the start, then
	// as recorded, a pending or terminated status reading active.
	employed := func() (hrissync.Status, bool) {
		switch {
		case !m.start.IsZero() && now.Before(m.provision):
			return hrissync.StatusPending, false
		case !m.start.IsZero() && now.Before(m.start):
			return hrissync.StatusPending, true
		case m.start.IsZero() && e.Status == hrissync.StatusPending:
			return hrissync.StatusPending, false // not dated, or withdrawn
		case e.Status == hrissync.StatusPending, terminated:
			return hrissync.StatusActive, true
		}
		return e.Status, true
	}
	// ended: the termination on file has taken effect.
	ended := terminated && e.TerminationDate.IsZero() ||
		e.Immediate && (terminated || !e.TerminationDate.IsZero()) ||
		!m.cutover.IsZero() && !now.Before(m.cutover)
	var status hrissync.Status
	var access bool
	switch {
	case rehired(e) && !now.Before(m.provision):
		status, access = employed() // the new employment
	case rehired(e) && ended:
		status, access = hrissync.StatusPending, false // between employments
	case rehired(e):
		status, access = e.Status, true // still in the earlier one
		if status == hrissync.StatusPending {
			status = hrissync.StatusActive
		}
	case ended:
		status, access = hrissync.StatusTerminated, false
	default:
		status, access = employed()
	}
	if e.Status == hrissync.StatusSuspended && status != hrissync.StatusTerminated {
		return hrissync.StatusSuspended, false // at once, while it says so
	}
	return status, access
}

// transitions are the future instants at which expect(e, ·) may change by
// itself: the person's pre-hire day, start and cutover, in their zone.
func transitions(e hrissync.Employee, now time.Time, loc *time.Location, leadDays int) []time.Time {
	var out []time.Time
	m := momentsOf(e, loc, leadDays)
	for _, t := range []time.Time{m.provision, m.start, m.cutover} {
		if !t.IsZero() && t.After(now) {
			out = append(out, t)
		}
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
