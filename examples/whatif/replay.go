package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/sim"
)

// A history row changes the HR record when it takes effect: at effective_at,
// or at entered_at when it was entered later (a backdated change cannot
// reach anyone before HR enters it). From then on the HR system shows the
// new record and sends its webhook, and the replay measures every cadence's
// latency from then.

// leaver is one end of someone's access that the history brought about:
// a termination taking effect, the last day of a dated one ending in the
// person's time zone, a suspension.
type leaver struct {
	Employee string
	At       time.Time // when access should have ended
}

// timeline turns the export (the organisation at the start of the history)
// and the history into the simulator's replay. A manager id naming nobody
// the organisation holds by then is an error with its line: the platform
// would refuse the reference, and the replay would measure the input's
// fault rather than the cadence's. Dates are days in each person's time
// zone, else hr. A hire whose other rows take effect
// before its status row is pending until then: no access without a status.
func timeline(people map[string]hrissync.Employee, changes []Change, hr *time.Location) (*sim.Replay, error) {
	r := &sim.Replay{}
	records := map[string]hrissync.Employee{}
	for _, id := range slices.Sorted(maps.Keys(people)) {
		e := people[id].Clone()
		e.Version = hrtype.Version{} // the export's; the replay's HRIS stamps its own
		r.People = append(r.People, e)
		records[id] = e
	}
	var errs Errors
	for _, e := range r.People {
		if e.ManagerID != "" && records[e.ManagerID].ID == "" {
			errs.add(fmt.Errorf("export: %s: manager id %q is not in the export", e.ID, e.ManagerID))
		}
	}
	for _, loop := range managerLoops(records) {
		errs.add(fmt.Errorf("export: a manager loop, %s: fix it in the export (a platform refuses a manager it does not hold yet, so the naive references could not load it)", strings.Join(loop, " → ")))
	}
	if len(changes) == 0 {
		errs.add(errors.New("history: no change to replay"))
	}
	if n := len(changes); n > 0 {
		first, last := slices.MinFunc(changes, byApply), slices.MaxFunc(changes, byApply)
		// In seconds: a Duration saturates at 292 years.
		if days := (applyAt(last).Unix() - applyAt(first).Unix()) / 86400; days > maxDays {
			errs.add(fmt.Errorf("history: lines %d to %d take effect %d days apart: at most %d replay in reasonable time (a year takes seconds to minutes); split the history, or check the years",
				first.Line, last.Line, days, maxDays))
		}
	}
	rows := slices.Clone(changes)
	slices.SortStableFunc(rows, byApply)

	at := map[string]int{} // employee → their change at the current instant, an index in r.Changes
	for _, c := range rows {
		when := applyAt(c)
		if n := len(r.Changes); n > 0 && !r.Changes[n-1].At.Equal(when) {
			clear(at)
		}
		e, known := records[c.Employee]
		typ := "employee.updated"
		if !known {
			e, typ = hrissync.Employee{ID: c.Employee, Status: hrissync.StatusPending}, "employee.hired"
		}
		if c.Field == hrissync.FieldManagerID && c.Value != "" && records[c.Value].ID == "" {
			errs.add(&LineError{Line: c.Line, Column: "new_value", Err: fmt.Errorf("%w: manager id %q names nobody in the export or hired by then", ErrValue, c.Value)})
			continue
		}
		e = e.Clone()
		if apply(&e, c.Field, c.Value, when, hr) {
			typ = "employee.terminated"
		}
		records[c.Employee] = e
		if i, ok := at[c.Employee]; ok {
			r.Changes[i].Employee = e // one change of the record at one instant: one webhook
			if typ != "employee.updated" {
				r.Changes[i].Type = typ
			}
			continue
		}
		at[c.Employee] = len(r.Changes)
		r.Changes = append(r.Changes, sim.Change{At: when, Type: typ, Employee: e})
	}
	if len(errs.List) > 0 {
		return nil, &errs
	}
	return r, nil
}

// managerLoops are the loops of the manager references among people (one
// reporting to themselves, two to each other …), each from its smallest id
// back to it, in id order.
func managerLoops(people map[string]hrissync.Employee) [][]string {
	var loops [][]string
	done := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(people)) {
		onPath := map[string]int{}
		var path []string
		for cur := id; cur != "" && !done[cur]; cur = people[cur].ManagerID {
			if i, seen := onPath[cur]; seen {
				loop := slices.Clone(path[i:])
				first := slices.Index(loop, slices.Min(loop))
				loop = append(loop[first:], loop[:first]...)
				loops = append(loops, append(loop, loop[0]))
				break
			}
			onPath[cur] = len(path)
			path = append(path, cur)
		}
		for _, p := range path {
			done[p] = true
		}
	}
	return loops
}

// maxDays is the longest history replayed: the simulation's cost grows
// with the days (each cadence polls every hour of them).
const maxDays = 3660

func byApply(a, b Change) int { return applyAt(a).Compare(applyAt(b)) }

// applyAt is when a history row changes the record.
func applyAt(c Change) time.Time {
	if c.Effective.After(c.Entered) {
		return c.Effective
	}
	return c.Entered
}

// apply sets one field of e to v, as of at (hr the HR time zone), and reports whether it
// terminates e. A termination takes effect at once (Immediate), dated the
// day it takes effect unless the record already names an earlier last day;
// a status leaving terminated reinstates or rehires, undoing that.
func apply(e *hrissync.Employee, field, v string, at time.Time, hr *time.Location) (terminates bool) {
	date := func() hrissync.Date {
		d, _ := hrissync.ParseDate(v) // checked when the history was read
		return d
	}
	switch field {
	case hrissync.FieldStatus:
		s := hrissync.Status(strings.ToLower(v))
		was := e.Status
		e.Status = s
		switch {
		case s == hrissync.StatusTerminated && was != s:
			e.Immediate = true
			today := hrissync.DateOf(at.In(zone(*e, hr)))
			if e.TerminationDate.IsZero() || before(today, e.TerminationDate) {
				e.TerminationDate = today
			}
			return true
		case was == hrissync.StatusTerminated && s != was:
			e.Immediate = false
			if e.StartDate.IsZero() || !before(e.TerminationDate, e.StartDate) {
				e.TerminationDate = hrissync.Date{} // reinstated, not a rehire with a new start
			}
		}
	case hrissync.FieldStartDate:
		e.StartDate = date()
	case hrissync.FieldTerminationDate:
		e.TerminationDate = date()
	case hrissync.FieldEmployeeNumber:
		e.EmployeeNumber = v
	case hrissync.FieldEmail:
		e.Email = v
	case hrissync.FieldGivenName:
		e.GivenName = v
	case hrissync.FieldFamilyName:
		e.FamilyName = v
	case hrissync.FieldRole:
		e.Role = v
	case hrissync.FieldManagerID:
		e.ManagerID = v
	case hrissync.FieldDepartment:
		e.Department = v
	case hrissync.FieldLocation:
		e.Location = v
	case "timeZone":
		e.TimeZone = v
	case "immediate":
		e.Immediate = isTrue(v)
	default:
		name := strings.TrimPrefix(field, hrissync.AttributePrefix)
		if e.Attributes == nil {
			e.Attributes = map[string]string{}
		}
		if v == "" {
			delete(e.Attributes, name)
		} else {
			e.Attributes[name] = v
		}
	}
	return false
}

// zone is the location e's dates are days in: its own, else hr (also when
// the zone database does not know it; the history's check refuses those).
func zone(e hrissync.Employee, hr *time.Location) *time.Location {
	if loc, err := time.LoadLocation(e.TimeZone); err == nil && e.TimeZone != "" {
		return loc
	}
	return hr
}

// held reports whether the platform ends holding e's value, as the
// simulator's oracle judges it: no account, or a disabled one, holds no
// access, and a disabled account's fields are no longer due.
func held(rep *sim.Report, e *sim.Expectation) bool {
	a, ok := rep.Actual[e.EmployeeID]
	if e.Termination() {
		return !ok || !a.Active
	}
	if !ok {
		return false
	}
	if e.Field == "_active" {
		return strconv.FormatBool(a.Active) == e.Value
	}
	return !a.Active || a.Fields[e.Field] == e.Value
}

// before reports whether civil date a is earlier than b.
func before(a, b hrissync.Date) bool { return a.Start(time.UTC).Before(b.Start(time.UTC)) }

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "y", "1":
		return true
	}
	return false
}

// leavers are the ends of access the simulator's oracle expected in rep, in
// time order. The oracle judges the HR records, not the cadence, so every
// cadence's report has the same.
func leavers(rep *sim.Report) []leaver {
	var out []leaver
	for _, e := range rep.Expectations {
		if e.Termination() && !e.Superseded {
			out = append(out, leaver{Employee: e.EmployeeID, At: e.Since})
		}
	}
	slices.SortFunc(out, func(a, b leaver) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Employee, b.Employee)
	})
	return out
}

func (l leaver) key() string { return l.Employee + "@" + l.At.Format(time.RFC3339Nano) }

// accessEnds are the ends of access the oracle expected, by employee and
// instant.
func accessEnds(rep *sim.Report) map[string]*sim.Expectation {
	ends := map[string]*sim.Expectation{}
	for _, e := range rep.Expectations {
		if e.Termination() {
			ends[leaver{Employee: e.EmployeeID, At: e.Since}.key()] = e
		}
	}
	return ends
}

// result turns one cadence's simulation report into the report's Result;
// days begin at midnight in loc.
func result(name string, rep *sim.Report, leavers []leaver, loc *time.Location) Result {
	r := Result{
		Cadence: name, Needed: rep.Needed, Writes: rep.Writes, Attempts: rep.Attempts,
		SourceCalls: rep.SourceReads.Total(), AuditEntries: rep.AuditEntries, Lost: rep.Lost, Alerts: len(rep.Alerts),
		Latency: map[Class][]time.Duration{}, Never: map[Class]int{}, AlertKinds: map[string]int{},
	}
	for _, a := range rep.Alerts {
		r.AlertKinds[string(a.Kind)]++
	}
	r.Operations = r.Attempts + r.SourceCalls
	for _, e := range rep.Expectations {
		c := Attributes
		switch {
		case e.Termination():
			c = Termination
		case e.Class == cadence.Realtime:
			c = Realtime
		}
		switch {
		case e.Superseded:
		case !e.Applied.IsZero():
			r.Latency[c] = append(r.Latency[c], e.Latency())
		case !held(rep, e):
			r.Never[c]++
		}
	}
	for _, ds := range r.Latency {
		slices.Sort(ds)
	}
	ends := accessEnds(rep)
	for _, l := range leavers {
		x := Exposure{Employee: l.Employee, Effective: l.At, Ended: true}
		switch e := ends[l.key()]; {
		case e == nil || e.Superseded:
			// Access given back at the same instant (a rehire entered
			// with the termination): nothing to expose.
		case e.Applied.IsZero() && held(rep, e):
			// No write ended it, and none was needed: the account was
			// never made (a hire leaving before any cadence wrote).
		case e.Applied.IsZero():
			x.Exposure, x.Ended = rep.End.Sub(e.Since), false
		default:
			x.Exposure = e.Latency()
		}
		r.Exposures = append(r.Exposures, x)
	}
	for _, d := range rep.Daily {
		r.Daily = append(r.Daily, DayOps{Day: d.Date.Start(loc), Attempts: d.Attempts, SourceCalls: d.SourceCalls})
	}
	return r
}
