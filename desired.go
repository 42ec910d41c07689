package hrissync

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
)

// desired is what the platform should hold for one person at one instant.
type desired struct {
	active  bool   // should have access now
	fields  Fields // nil when the person is not in the Source or out of scope
	version hrtype.Version
	// due is the next instant at which the desired state changes by the
	// mere passing of time (a start date, a last day worked); zero if none.
	due time.Time
	// changedAt is when the newest change took effect: the record's
	// version time, or the date-driven transition if later.
	changedAt time.Time
	// conflict, when not empty, says in words why the record cannot be
	// read as it stands: its status and dates contradict each other, or
	// its time zone is not recognised (docs/design.md §5.12). The words
	// name no field values, only the kind of contradiction. desire has
	// already chosen the reading with less access — no access at all for a
	// contradiction, the engine's Location for a time zone — so the write
	// planned from d is the safe one and is made as usual. The engine
	// raises the conflict as an alert naming the person, once for each
	// record version that carries it rather than at every reconcile, and
	// counts a deactivation that a contradiction causes against the
	// deactivation budget (docs/design.md §5.11).
	conflict string
}

// desire evaluates rec at now: effective dating (the employment table of
// docs/design.md §5.12, in the person's time zone), scope and mapping.
// rec == nil means the Source does not hold the person.
func (e *Engine) desire(rec *Employee, now time.Time) (desired, error) {
	if rec == nil || !e.cfg.InScope(*rec) {
		return desired{changedAt: now}, nil
	}
	d := desired{version: rec.Version, changedAt: rec.Version.Time}
	w, notes := e.employment(rec, now)
	d.conflict = strings.Join(notes, "; ")
	cur := w.at(now)
	d.active = cur.access
	// The state changes only at the record's instants: the first one to
	// come that changes it is due; the latest past one that changed it,
	// if after the record was written, is when the change took effect.
	for _, t := range w.instants() {
		switch {
		case t.After(now):
			if d.due.IsZero() && w.at(t) != cur {
				d.due = t
			}
		case t.After(d.changedAt) && w.at(t) != w.at(t.Add(-time.Nanosecond)):
			d.changedAt = t
		}
	}

	view := rec.Clone()
	view.Status = cur.status
	fields, err := e.cfg.Map(view)
	if err != nil {
		return desired{}, fmt.Errorf("mapping %s: %w", rec.ID, err)
	}
	if err := e.groupFields(view, fields); err != nil {
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

// employment is a record's status and dates resolved to instants in the
// person's time zone: what the employment table reads.
type employment struct {
	recorded Status
	// provision, start and end are the first instant of access before the
	// start date (PreHireDays earlier), of the start date, and the
	// termination's cutover; zero when the record has no such date.
	provision, start, end time.Time
	// leftAtOnce: status terminated with no last day given.
	leftAtOnce bool
	// immediate: the termination takes effect at once, not at end.
	immediate bool
	// rehire: a start date after the last day worked. The termination
	// ended an earlier employment; a new one begins at start.
	rehire bool
	// contradiction: status and dates disagree; no access at any instant.
	contradiction bool
}

// employmentState is what the table gives at one instant.
type employmentState struct {
	status Status // the effective status, as Map sees it
	access bool
}

// employment resolves rec in the person's time zone and judges it; notes
// are the record's conflicts in words (see desired.conflict).
func (e *Engine) employment(rec *Employee, now time.Time) (employment, []string) {
	var notes []string
	loc := e.cfg.Location
	if rec.TimeZone != "" {
		if l, err := e.cfg.zones.load(rec.TimeZone); err == nil {
			loc = l
		} else {
			notes = append(notes, "time zone not recognised: its dates are read in the engine's Location")
		}
	}
	w := employment{recorded: rec.Status}
	if !rec.StartDate.IsZero() {
		w.start = rec.StartDate.Start(loc)
		w.provision = rec.StartDate.AddDays(-e.cfg.PreHireDays).Start(loc)
	}
	terminates := rec.Status == StatusTerminated || !rec.TerminationDate.IsZero()
	if !rec.TerminationDate.IsZero() {
		w.end = rec.TerminationDate.Start(loc)
		if e.cfg.Cutover == CutoverEndOfDay {
			w.end = rec.TerminationDate.AddDays(1).Start(loc)
		}
	}
	w.leftAtOnce = rec.Status == StatusTerminated && rec.TerminationDate.IsZero()
	w.immediate = terminates && (rec.Immediate || e.cfg.Immediate != nil && e.cfg.Immediate(*rec))
	w.rehire = !rec.StartDate.IsZero() && !rec.TerminationDate.IsZero() &&
		rec.TerminationDate.Start(time.UTC).Before(rec.StartDate.Start(time.UTC))

	// A contradiction is judged as of when HR wrote the record: what its
	// status said then against what its dates said then. A record with no
	// version is judged now.
	written := rec.Version.Time
	if written.IsZero() {
		written = now
	}
	contradiction := func(why string) {
		w.contradiction = true
		notes = append(notes, why)
	}
	switch {
	case rec.Status == StatusTerminated && w.rehire:
		contradiction("status terminated, but the start date is after the last day worked: a rehire not marked as one, or a leaver whose new start date stayed?")
	case rec.Status == StatusTerminated && w.start.After(written):
		contradiction("status terminated, but the start date had not come when the record was written: a withdrawn hire, or a hire marked terminated?")
	case rec.Status != StatusTerminated && rec.Status != StatusSuspended && !rec.TerminationDate.IsZero() && !w.rehire &&
		!rec.TerminationDate.AddDays(1).Start(loc).After(written):
		contradiction("a working status, but the last day worked had ended when the record was written: a leaver not marked, or a cancelled termination whose date stayed?")
	case rec.Immediate && !terminates:
		contradiction("marked for immediate termination, but the record carries no termination")
	}
	return w, notes
}

// instants are the moments at which w's state may change, in order.
func (w employment) instants() []time.Time {
	var out []time.Time
	for _, t := range []time.Time{w.provision, w.start, w.end} {
		if !t.IsZero() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// at is the employment table (docs/design.md §5.12) at instant t.
func (w employment) at(t time.Time) employmentState {
	if w.contradiction {
		return employmentState{StatusTerminated, false}
	}
	left := w.leftAtOnce || w.immediate || !w.end.IsZero() && !t.Before(w.end)
	var s employmentState
	switch {
	case w.rehire && !t.Before(w.provision):
		s = w.hired(t) // the new employment
	case w.rehire && left:
		// Between employments: as a rehire whose old date was cleared.
		s = employmentState{StatusPending, false}
	case w.rehire:
		s = employmentState{working(w.recorded), true} // still in the earlier one
	case left:
		s = employmentState{StatusTerminated, false}
	default:
		s = w.hired(t)
	}
	if w.recorded == StatusSuspended && s.status != StatusTerminated {
		s = employmentState{StatusSuspended, false}
	}
	return s
}

// hired is the state at t of an employment that has not ended.
func (w employment) hired(t time.Time) employmentState {
	switch {
	case !w.start.IsZero() && t.Before(w.provision):
		return employmentState{StatusPending, false} // no account yet
	case !w.start.IsZero() && t.Before(w.start):
		return employmentState{StatusPending, true} // provisioned ahead of the start
	case w.start.IsZero() && w.recorded == StatusPending:
		return employmentState{StatusPending, false} // a hire with no start date, or one withdrawn
	}
	return employmentState{working(w.recorded), true}
}

// working is the status shown while employed: a hire whose start date has
// come is active, as is a leaver whose last day has not.
func working(s Status) Status {
	if s == StatusPending || s == StatusTerminated {
		return StatusActive
	}
	return s
}

// zones loads and remembers IANA time zones by name, failures included: a
// batch reads the same few zones for every person. Safe for concurrent use.
type zones struct {
	mu    sync.Mutex
	known map[string]zone
}

type zone struct {
	loc *time.Location
	err error
}

// zonesKept bounds what zones remembers: there are some 600 IANA names, and
// names not recognised, which HR data can hold in any number, are loaded
// again beyond it rather than kept.
const zonesKept = 1024

func newZones() *zones { return &zones{known: map[string]zone{}} }

// load returns the zone named name. "Local" is refused: a worker's zone
// cannot depend on the machine the engine runs on.
func (z *zones) load(name string) (*time.Location, error) {
	if z != nil {
		z.mu.Lock()
		defer z.mu.Unlock()
		if k, ok := z.known[name]; ok {
			return k.loc, k.err
		}
	}
	var k zone
	if name == "Local" {
		k.err = errors.New("hrissync: time zone Local is the machine's, not a worker's")
	} else {
		k.loc, k.err = time.LoadLocation(name)
	}
	if z != nil && len(z.known) < zonesKept {
		z.known[name] = k
	}
	return k.loc, k.err
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
