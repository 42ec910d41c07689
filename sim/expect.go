package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
)

// Expectation is one value the platform must come to hold: a field of one
// person (or its activity, Field "_active"), from the moment HR changed it or
// it took effect.
type Expectation struct {
	EmployeeID, Field, Value string
	// Class is the field's class under the hybrid policy, so that every
	// cadence is reported on the same categories.
	Class cadence.Class
	Since time.Time // when HR made the change, or it took effect
	// EventID is the webhook the change emitted; empty for a change that
	// took effect by date.
	EventID string
	Applied time.Time // when the platform first held it; zero if never
	// Superseded: a newer value came before this one was written, and the
	// write carried the newer one (coalescing).
	Superseded bool
	Trigger    hrissync.Trigger // the trigger of the write that applied it
	// Hidden: the 404 outage (Faults.NotFound) hid the person when the
	// change fell due, or while its write was being retried.
	Hidden bool
}

// Termination reports whether e is the end of someone's access.
func (e *Expectation) Termination() bool { return e.Field == activeField && e.Value == "false" }

// Latency is how long the platform took to hold the value.
func (e *Expectation) Latency() time.Duration { return e.Applied.Sub(e.Since) }

var hybrid = cadence.Hybrid()

func classOf(field string) cadence.Class {
	if field == activeField {
		return cadence.Realtime
	}
	if src, ok := audienceSource[field]; ok {
		return hybrid.Class(src) // a group follows its field
	}
	return hybrid.Class(field)
}

func key(id, field string) string { return id + "\x00" + field }

// observe evaluates one person after a change or at a moment a date takes
// effect, and records what each platform must now hold.
func (s *simulation) observe(id string) {
	if e, ok := s.record(id); ok {
		s.observeRecord(e)
	}
}

// record is id's record as HR last wrote it: the HRIS's, unless the HRIS
// does not show HR's latest change yet (Replay.SourceDelay).
func (s *simulation) record(id string) (hrissync.Employee, bool) {
	s.mu.Lock()
	e, ahead := s.ahead[id]
	s.mu.Unlock()
	if ahead {
		return e, true
	}
	return s.hris.Employee(id)
}

// observeRecord is observe of the record e: the HR system's, which the
// HRIS as the engine reads it may show only later (Replay.SourceDelay).
func (s *simulation) observeRecord(e hrissync.Employee) {
	id, now := e.ID, s.clock.Now()
	v := expect(e, now, s.cfg.Location, leadDays, s.cfg.Audiences)
	event := ""
	if e.Version.Time.Equal(now) {
		event = eventID(e)
	}
	for _, t := range s.targets {
		s.mu.Lock()
		prev := t.expected[id]
		next, due := prev.next(t.view(e, v))
		if !prev.exists && next.exists {
			t.created[id] = now
		}
		if prev.exists && !next.active && !t.written[id] && t.created[id].Equal(now) {
			// Access given and taken back within one instant (a
			// reorganisation moving someone into a platform's scope
			// and out again), before anything was written: no engine
			// could see it, and none should create the account.
			t.forget(id, now)
			next, due = platformView{}, nil
		}
		t.expected[id] = next
		for f, val := range due {
			k := key(id, f)
			t.supersede(k, now)
			t.pending[k] = append(t.pending[k], &Expectation{
				EmployeeID: id, Field: f, Value: val, Class: classOf(f), Since: now, EventID: event,
			})
		}
		s.mu.Unlock()
		if len(due) > 0 {
			// The engine may have written at this very instant, before
			// this observation: match against what the platform holds.
			if acc, ok := t.platform.Account(id); ok {
				s.mu.Lock()
				for f := range due {
					held := acc.Fields[f]
					if f == activeField {
						held = boolString(acc.Active)
					}
					t.match(id, f, held, now, "")
				}
				s.mu.Unlock()
			}
		}
	}
	for _, t := range transitions(e, now, s.cfg.Location, leadDays) {
		s.clock.AfterFunc(t.Sub(now), func() { s.observe(id) })
	}
}

func eventID(e hrissync.Employee) string { return "evt-" + strconv.FormatInt(e.Version.Seq, 10) }

// applied is t's platform's OnWrite hook: it meets the expectations the
// write satisfies.
func (s *simulation) applied(t *target, u hrissync.Update, at time.Time) {
	premature, stray := false, false
	if e, ok := s.record(u.EmployeeID); ok {
		_, active := effective(e, at, s.cfg.Location, leadDays)
		scoped := t.scoped(e)
		premature = (active && scoped) != u.Active
		stray = !scoped && u.Active
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if premature {
		t.premature++
		if !u.Active {
			t.falselyOff++
		}
	}
	if stray {
		t.strays++
	}
	t.written[u.EmployeeID] = true
	t.writeTimes = append(t.writeTimes, at)
	for _, c := range u.Changes {
		t.match(u.EmployeeID, c.Field, c.New, at, u.Trigger)
	}
	t.match(u.EmployeeID, activeField, boolString(u.Active), at, u.Trigger)
}

// supersede marks the values of k still pending since at as superseded: a
// newer value came at the same instant, before any engine could read the
// older one. The simulation's mu must be held.
func (t *target) supersede(k string, at time.Time) {
	list := t.pending[k]
	i := 0
	for i < len(list) && list[i].Since.Equal(at) {
		list[i].Superseded = true
		t.done = append(t.done, list[i])
		i++
	}
	if i == 0 {
		return
	}
	if i == len(list) {
		delete(t.pending, k)
		return
	}
	t.pending[k] = list[i:]
}

// forget drops what the oracle expects of id's account, given at at: every
// value still pending since then is superseded. The simulation's mu must be
// held.
func (t *target) forget(id string, at time.Time) {
	for k := range t.pending {
		if strings.HasPrefix(k, id+"\x00") {
			t.supersede(k, at)
		}
	}
	delete(t.expected, id)
	delete(t.created, id)
}

// match marks the first pending expectation of (id, field) with value val as
// applied at at, and those before it as superseded. The simulation's mu must
// be held.
func (t *target) match(id, field, val string, at time.Time, trig hrissync.Trigger) {
	k := key(id, field)
	list := t.pending[k]
	for i, e := range list {
		if e.Value != val {
			continue
		}
		for _, old := range list[:i] {
			old.Superseded = true
			t.done = append(t.done, old)
		}
		e.Applied, e.Trigger = at, trig
		t.done = append(t.done, e)
		t.pending[k] = list[i+1:]
		if len(t.pending[k]) == 0 {
			delete(t.pending, k)
		}
		return
	}
}
