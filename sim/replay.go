package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
)

// Replay is a recorded organisation to simulate in place of a generated
// one: its people at the start and the HR changes that followed, so that a
// team can compare the cadences on its own history (examples/whatif). The
// churn and the storm are not drawn; every fault of Config.Faults still
// applies.
type Replay struct {
	// People are the organisation at Config.Start, loaded in the initial
	// batch before anything is measured.
	People []hrissync.Employee
	// Changes are the HR changes, in the order of their At.
	Changes []Change
	// SourceDelay is the Source's own lag: a unified HR API that copies
	// the HR system on its own schedule shows each change, and sends its
	// webhook, this long after HR made it. Latencies still count from
	// HR's change.
	SourceDelay time.Duration
}

// Change is one recorded HR change: the whole record as it stands after it,
// which the HR system shows from At on (and announces with a webhook of
// Type, default "employee.updated"). A record whose ID the HRIS does not
// hold yet is a hire.
type Change struct {
	At       time.Time
	Type     string
	Employee hrissync.Employee
}

// errReplay wraps the errors of a Replay that cannot be simulated.
var errReplay = errors.New("sim: replay")

// withReplay checks r and sets the defaults it implies: People, Start (the
// midnight before the first change, leaving a minute for the initial load)
// and Days (through the day of the last change; the settle time covers the
// night after it).
func (c Config) withReplay() (Config, error) {
	r := c.Replay
	switch {
	case c.Storm != nil:
		return c, fmt.Errorf("%w: a storm is drawn on a generated organisation, not a replayed one", errReplay)
	case r.SourceDelay < 0:
		return c, fmt.Errorf("%w: negative source delay %s", errReplay, r.SourceDelay)
	}
	ids := map[string]bool{}
	for _, e := range r.People {
		switch {
		case e.ID == "":
			return c, fmt.Errorf("%w: a person with no ID", errReplay)
		case ids[e.ID]:
			return c, fmt.Errorf("%w: person %q given twice", errReplay, e.ID)
		}
		ids[e.ID] = true
	}
	for i, ch := range r.Changes {
		switch {
		case ch.Employee.ID == "":
			return c, fmt.Errorf("%w: change %d: no employee ID", errReplay, i)
		case ch.At.IsZero():
			return c, fmt.Errorf("%w: change %d (%s): no time", errReplay, i, ch.Employee.ID)
		case i > 0 && ch.At.Before(r.Changes[i-1].At):
			return c, fmt.Errorf("%w: change %d (%s) at %s is before the one ahead of it", errReplay, i, ch.Employee.ID, ch.At.Format(time.RFC3339))
		}
	}
	c.People = len(r.People)
	if len(r.Changes) == 0 {
		return c, nil
	}
	first, last := r.Changes[0].At.In(c.Location), r.Changes[len(r.Changes)-1].At.Add(r.SourceDelay)
	if c.Start.IsZero() {
		c.Start = hrissync.DateOf(first).Start(c.Location)
		if first.Before(c.Start.Add(initialLoad)) {
			c.Start = hrissync.DateOf(first).AddDays(-1).Start(c.Location)
		}
	}
	if !first.After(c.Start.Add(initialLoad)) {
		return c, fmt.Errorf("%w: the first change, at %s, is not after the initial load at %s",
			errReplay, first.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	}
	if c.Days == 0 {
		for !c.Start.AddDate(0, 0, c.Days).After(last) {
			c.Days++
		}
	}
	return c, nil
}

// initialLoad is how long the initial load has before the changes begin.
const initialLoad = time.Minute

// people are the people at the start of a replay, cloned.
func (r *Replay) people() []hrissync.Employee {
	out := make([]hrissync.Employee, len(r.People))
	for i, e := range r.People {
		out[i] = e.Clone()
	}
	return out
}

// replay schedules the recorded changes on the clock. Each is observed by
// the oracle at its At, and reaches the HRIS (and its webhook goes out)
// SourceDelay later.
func (s *simulation) replay() {
	r := s.cfg.Replay
	for _, ch := range r.Changes {
		e, typ := ch.Employee.Clone(), ch.Type
		if typ == "" {
			typ = "employee.updated"
		}
		s.clock.AfterFunc(ch.At.Sub(s.clock.Now()), func() {
			if r.SourceDelay == 0 {
				s.put(typ, e)
				return
			}
			seen := e
			seen.Version = hrtype.Version{Time: ch.At} // as HR wrote it; the HRIS stamps its own
			s.mu.Lock()
			s.ahead[e.ID] = seen
			s.mu.Unlock()
			s.observeRecord(seen)
			s.clock.AfterFunc(r.SourceDelay, func() {
				s.src.remember(s.hris.Put(typ, e))
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.ahead[e.ID].Version.Time.Equal(ch.At) {
					delete(s.ahead, e.ID) // no later change is still on its way
				}
			})
		})
	}
}

// dayMarks samples the counters at each midnight of the run, for the
// report's Daily.
func (s *simulation) dayMarks() {
	for day := 1; ; day++ {
		at := hrissync.DateOf(s.cfg.Start).AddDays(day).Start(s.cfg.Location)
		if at.After(s.end) {
			return
		}
		s.clock.AfterFunc(at.Sub(s.clock.Now()), func() {
			m := s.mark(at) // outside mu: the platform calls into the oracle under its own lock
			s.mu.Lock()
			defer s.mu.Unlock()
			s.marks = append(s.marks, m)
		})
	}
}

// dayMark is the counters at one instant.
type dayMark struct {
	at       time.Time
	attempts int64 // the first platform's
	writes   int64
	reads    int64 // Source calls as the Source saw them
}

func (s *simulation) mark(at time.Time) dayMark {
	c := s.platform.Counts()
	return dayMark{at: at, attempts: c.Attempts, writes: c.Writes, reads: s.reads.reads().Total()}
}

// Day is one day's traffic of a run: from midnight in Config.Location (the
// first from the end of the initial load, the last to the end of the
// run).
type Day struct {
	Date hrissync.Date
	// Attempts are the platform's calls, failed ones included; Writes
	// those that succeeded; SourceCalls the Source's calls as it saw them.
	Attempts, Writes, SourceCalls int64
}

// days turns the marks (the first at the end of the initial load, then one
// per midnight, then the end) into Days.
func days(marks []dayMark, loc *time.Location) []Day {
	var out []Day
	for i := 1; i < len(marks); i++ {
		a, b := marks[i-1], marks[i]
		if !b.at.After(a.at) {
			continue // the run ended at a midnight
		}
		out = append(out, Day{Date: hrissync.DateOf(a.at.In(loc)), Attempts: b.attempts - a.attempts,
			Writes: b.writes - a.writes, SourceCalls: b.reads - a.reads})
	}
	return out
}
