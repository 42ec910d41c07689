package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
)

// planDay schedules the day's HR changes at random working hours in the zone
// of the people changed: HR in Sydney edits its people while New York
// sleeps.
func (s *simulation) planDay(day int, date hrissync.Date) {
	c, n := s.cfg.Churn, float64(s.cfg.People)
	at := func(rate float64, change func(zone string)) {
		for range count(s.rng, rate) {
			zone := s.pickZone()
			t := workingTime(s.rng, date, s.locOf(zone))
			if t.Before(s.clock.Now()) {
				t = t.Add(24 * time.Hour) // the zone's day had begun: its next one
			}
			if !t.Before(s.lastChange) {
				continue // past the days of changes: the last batch has run
			}
			s.clock.AfterFunc(t.Sub(s.clock.Now()), func() { change(zone) })
		}
	}
	at(c.Hires*n, s.hire)
	at(c.Leavers*n, s.leave)
	at(c.Rehires*float64(s.count(s.leaver)), s.rehire)
	at(c.Suspensions*n, s.suspend)
	at(c.Conversions*n, s.convert)
	at(c.RoleChanges*n, s.changeRole)
	at(c.ManagerChanges*n, s.changeManager)
	at(c.SkillUpdates*n, s.rateSkill)
	at(c.RatingUpdates*n, s.ratePerformance)
	if c.ReorgDay == day && c.ReorgShare > 0 {
		s.clock.AfterFunc(date.Start(s.cfg.Location).Add(10*time.Hour).Sub(s.clock.Now()), s.reorganise)
	}
}

// pickZone draws a worker's time zone by the configured shares: "" is the
// HR zone.
func (s *simulation) pickZone() string {
	r := s.zrng.Float64()
	for _, z := range s.cfg.Zones {
		if r < z.Share {
			return z.Name
		}
		r -= z.Share
	}
	return ""
}

// locOf is the location of a zone name ("" is the HR zone).
func (s *simulation) locOf(zone string) *time.Location {
	return zoneOf(hrissync.Employee{TimeZone: zone}, s.cfg.Location)
}

// todayIn is today's date in zone.
func (s *simulation) todayIn(zone string) hrissync.Date {
	return hrissync.DateOf(s.clock.Now().In(s.locOf(zone)))
}

// working reports whether e is at work today with no last day to come.
func (s *simulation) working(e hrissync.Employee) bool {
	status, active := effective(e, s.clock.Now(), s.cfg.Location, leadDays)
	return active && status == hrissync.StatusActive && (e.TerminationDate.IsZero() || rehired(e))
}

// leaver reports whether e has left and is not rehired.
func (s *simulation) leaver(e hrissync.Employee) bool {
	_, active := effective(e, s.clock.Now(), s.cfg.Location, leadDays)
	return !active && !rehired(e) && (e.Status == hrissync.StatusTerminated || !e.TerminationDate.IsZero())
}

// in restricts keep to the people of zone.
func in(zone string, keep func(hrissync.Employee) bool) func(hrissync.Employee) bool {
	return func(e hrissync.Employee) bool { return e.TimeZone == zone && keep(e) }
}

func (s *simulation) count(keep func(hrissync.Employee) bool) int {
	n := 0
	for _, e := range s.hris.Employees() {
		if keep(e) {
			n++
		}
	}
	return n
}

// anyone picks a random person that keep accepts: by sampling, as most
// people qualify, and by a full scan when sampling finds no one.
func (s *simulation) anyone(keep func(hrissync.Employee) bool) (hrissync.Employee, bool) {
	for range 64 {
		if e, ok := s.hris.Employee(s.org.idOf(1 + s.rng.IntN(s.org.nextID))); ok && keep(e) {
			return e, true
		}
	}
	people := slices.DeleteFunc(s.hris.Employees(), func(e hrissync.Employee) bool { return !keep(e) })
	if len(people) == 0 {
		return hrissync.Employee{}, false
	}
	return pick(s.rng, people), true
}

// managerFor picks a manager for id among the people at work with a lower
// ID, so that the manager tree never loops: by sampling, then by a scan of
// the lower IDs when sampling finds no one.
func (s *simulation) managerFor(id string) string {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "w-"))
	if err != nil || n <= 1 {
		return ""
	}
	ok := func(i int) (string, bool) {
		m, found := s.hris.Employee(s.org.idOf(i))
		return m.ID, found && s.working(m)
	}
	for range 64 {
		if m, good := ok(1 + s.rng.IntN(n-1)); good {
			return m
		}
	}
	for i := 1; i < n; i++ {
		if m, good := ok(i); good {
			return m
		}
	}
	return ""
}

// put records a change in the HRIS (which emits its webhook), in the
// stale exports' history and in the oracle.
func (s *simulation) put(typ string, e hrissync.Employee) {
	s.src.remember(s.hris.Put(typ, e))
	s.observe(e.ID)
}

func (s *simulation) update(typ string, e hrissync.Employee, change func(*hrissync.Employee)) {
	e = e.Clone()
	change(&e)
	s.put(typ, e)
}

// hire dates a new hire in zone; some are withdrawn before they start.
func (s *simulation) hire(zone string) {
	lead := max(s.cfg.Churn.HireLeadDays, 1)
	days := 1 + s.rng.IntN(lead)
	e := s.org.person(s.todayIn(zone).AddDays(days), "", hrissync.StatusPending)
	e.TimeZone = zone
	e.ManagerID = s.managerFor(e.ID)
	s.put("employee.hired", e)
	if s.rng.Float64() < s.cfg.Churn.Withdrawals {
		// Withdrawn before the start: the date is cleared, the status
		// stays pending, and an account provisioned ahead goes.
		after := time.Duration(s.rng.Int64N(int64(days) * int64(24*time.Hour)))
		id := e.ID
		s.clock.AfterFunc(after, func() {
			cur, ok := s.hris.Employee(id)
			if !ok || cur.Status != hrissync.StatusPending || cur.StartDate.IsZero() || !s.clock.Now().Before(cur.StartDate.Start(s.locOf(zone))) {
				return
			}
			s.count1(&s.withdrawn)
			s.update("employee.hire_withdrawn", cur, func(e *hrissync.Employee) { e.StartDate = hrissync.Date{} })
		})
	}
}

// leave dates a last day in the leaver's zone; some leavers are dismissed
// at once (status terminated, marked Immediate).
func (s *simulation) leave(zone string) {
	e, ok := s.anyone(in(zone, s.working))
	if !ok || e.ManagerID == "" {
		return
	}
	if s.rng.Float64() < s.cfg.Churn.Immediate {
		s.count1(&s.immediate)
		s.update("employee.dismissed", e, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, s.todayIn(zone), true
		})
		return
	}
	last := s.todayIn(zone).AddDays(s.rng.IntN(max(s.cfg.Churn.NoticeDays, 1)))
	s.update("employee.terminated", e, func(e *hrissync.Employee) { e.TerminationDate = last })
}

// rehire gives a leaver a new start date; HR keeps the old last day on
// some, clears it on the others.
func (s *simulation) rehire(zone string) {
	e, ok := s.anyone(in(zone, s.leaver))
	if !ok {
		return
	}
	start := s.todayIn(zone).AddDays(7 + s.rng.IntN(14))
	keep := s.rng.Float64() < s.cfg.Churn.KeepDate
	if keep {
		s.count1(&s.keptDate)
	}
	s.update("employee.rehired", e, func(e *hrissync.Employee) {
		e.Status, e.StartDate, e.Immediate = hrissync.StatusPending, start, false
		if !keep {
			e.TerminationDate = hrissync.Date{}
		}
		e.ManagerID = s.managerFor(e.ID)
	})
}

// convert re-keys someone at work, as HR does when a contractor becomes an
// employee: the record moves to a new worker id naming the old one
// (PreviousIDs), and the old id leaves the HRIS. Only someone nobody reports
// to, so that no report's manager reference has to move with them.
func (s *simulation) convert(zone string) {
	e, ok := s.anyone(in(zone, func(e hrissync.Employee) bool { return s.working(e) && !s.manages(e.ID) }))
	if !ok {
		return
	}
	old := e.ID
	e = e.Clone()
	e.ID, e.PreviousIDs = s.org.id(), []string{old}
	s.hris.Remove(old)
	s.retire(old, e.ID)
	s.put("employee.converted", e)
}

// manages reports whether anyone in the HRIS reports to id.
func (s *simulation) manages(id string) bool {
	return slices.ContainsFunc(s.hris.Employees(), func(e hrissync.Employee) bool { return e.ManagerID == id })
}

// retire ends what the oracle expects of an id HR re-keyed to id: no account
// of its own, and nothing left to write under it — the new id's
// expectations take over.
func (s *simulation) retire(old, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.converted = append(s.converted, [2]string{old, id})
	for _, t := range s.targets {
		delete(t.expected, old)
		for k, list := range t.pending {
			if strings.HasPrefix(k, old+"\x00") {
				for _, e := range list {
					e.Superseded = true
					t.done = append(t.done, e)
				}
				delete(t.pending, k)
			}
		}
	}
}

// suspend suspends someone at work, and reinstates them one to five days
// later.
func (s *simulation) suspend(zone string) {
	e, ok := s.anyone(in(zone, s.working))
	if !ok {
		return
	}
	s.count1(&s.suspended)
	s.update("employee.suspended", e, func(e *hrissync.Employee) { e.Status = hrissync.StatusSuspended })
	after := time.Duration(1+s.rng.IntN(5))*24*time.Hour + time.Duration(s.rng.Int64N(int64(2*time.Hour)))
	s.clock.AfterFunc(after, func() {
		if cur, ok := s.hris.Employee(e.ID); ok && cur.Status == hrissync.StatusSuspended {
			s.update("employee.reinstated", cur, func(e *hrissync.Employee) { e.Status = hrissync.StatusActive })
		}
	})
}

func (s *simulation) count1(n *int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*n++
}

func (s *simulation) changeRole(zone string) {
	if e, ok := s.anyone(in(zone, s.working)); ok {
		s.update("employee.role_changed", e, func(e *hrissync.Employee) { e.Role = pick(s.rng, roles) })
	}
}

func (s *simulation) changeManager(zone string) {
	if e, ok := s.anyone(in(zone, func(e hrissync.Employee) bool { return s.working(e) && e.ManagerID != "" })); ok {
		if m := s.managerFor(e.ID); m != "" {
			s.update("employee.manager_changed", e, func(e *hrissync.Employee) { e.ManagerID = m })
		}
	}
}

// rateSkill is an assessment: an assessor rates one to four skills of one
// person, saving each in turn over the following hour or so, and each save
// is a change (and a webhook) of its own.
func (s *simulation) rateSkill(zone string) {
	e, ok := s.anyone(in(zone, s.working))
	if !ok {
		return
	}
	order := s.rng.Perm(len(skills))[:1+s.rng.IntN(4)]
	at := time.Duration(0)
	for _, i := range order {
		skill, rating := skills[i], fmt.Sprint(1+s.rng.IntN(5))
		s.clock.AfterFunc(at, func() {
			if cur, ok := s.hris.Employee(e.ID); ok && s.working(cur) {
				s.update("employee.skill_rated", cur, func(e *hrissync.Employee) { e.Attributes[skill] = rating })
			}
		})
		at += 5*time.Minute + time.Duration(s.rng.Int64N(int64(30*time.Minute)))
	}
}

func (s *simulation) ratePerformance(zone string) {
	if e, ok := s.anyone(in(zone, s.working)); ok {
		s.update("employee.performance_rated", e, func(e *hrissync.Employee) {
			e.Attributes["performanceRating"] = fmt.Sprint(1 + s.rng.IntN(5))
		})
	}
}

// reorganise moves a share of the people to a new department and manager at
// once: a burst of realtime manager changes.
func (s *simulation) reorganise() {
	moves := int(s.cfg.Churn.ReorgShare * float64(s.cfg.People))
	for range moves {
		if e, ok := s.anyone(func(e hrissync.Employee) bool { return s.working(e) && e.ManagerID != "" }); ok {
			m := s.managerFor(e.ID)
			s.update("employee.reorganised", e, func(e *hrissync.Employee) {
				e.Department = pick(s.rng, departments)
				if m != "" {
					e.ManagerID = m
				}
			})
		}
	}
}

// storm schedules the storm's manager changes, evenly over its span.
func (s *simulation) storm() {
	st := s.cfg.Storm
	var people []hrissync.Employee
	for _, e := range s.hris.Employees() {
		if len(people) == st.People {
			break
		}
		if s.working(e) && e.ManagerID != "" {
			people = append(people, e)
		}
	}
	if len(people) == 0 {
		return
	}
	step := st.Within / time.Duration(max(st.Changes, 1))
	for i := range st.Changes {
		id := people[i%len(people)].ID
		s.clock.AfterFunc(time.Duration(i)*step, func() {
			if e, ok := s.hris.Employee(id); ok {
				if m := s.managerFor(id); m != "" {
					s.update("employee.reorganised", e, func(e *hrissync.Employee) { e.ManagerID = m })
				}
			}
		})
	}
}
