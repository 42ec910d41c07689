package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
)

// planDay schedules the day's HR changes at random working hours.
func (s *simulation) planDay(day int, date hrissync.Date) {
	c, n := s.cfg.Churn, float64(s.cfg.People)
	at := func(rate float64, change func()) {
		for range count(s.rng, rate) {
			t := workingTime(s.rng, date, s.cfg.Location)
			s.clock.AfterFunc(t.Sub(s.clock.Now()), change)
		}
	}
	at(c.Hires*n, s.hire)
	at(c.Leavers*n, s.leave)
	at(c.Rehires*float64(s.count(s.leaver)), s.rehire)
	at(c.RoleChanges*n, s.changeRole)
	at(c.ManagerChanges*n, s.changeManager)
	at(c.SkillUpdates*n, s.rateSkill)
	at(c.RatingUpdates*n, s.ratePerformance)
	if c.ReorgDay == day && c.ReorgShare > 0 {
		s.clock.AfterFunc(date.Start(s.cfg.Location).Add(10*time.Hour).Sub(s.clock.Now()), s.reorganise)
	}
}

func (s *simulation) today() hrissync.Date { return hrissync.DateOf(s.clock.Now().In(s.cfg.Location)) }

// working reports whether e is at work today with no last day set.
func (s *simulation) working(e hrissync.Employee) bool {
	status, active := effective(e, s.clock.Now(), s.cfg.Location, leadDays)
	return active && status == hrissync.StatusActive && e.TerminationDate.IsZero()
}

// leaver reports whether e has left.
func (s *simulation) leaver(e hrissync.Employee) bool {
	_, active := effective(e, s.clock.Now(), s.cfg.Location, leadDays)
	return !active && (e.Status == hrissync.StatusTerminated || !e.TerminationDate.IsZero())
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

// put records a change in the HRIS (which emits its webhook) and in the
// oracle.
func (s *simulation) put(typ string, e hrissync.Employee) {
	s.hris.Put(typ, e)
	s.observe(e.ID)
}

func (s *simulation) update(typ string, e hrissync.Employee, change func(*hrissync.Employee)) {
	e = e.Clone()
	change(&e)
	s.put(typ, e)
}

func (s *simulation) hire() {
	lead := max(s.cfg.Churn.HireLeadDays, 1)
	start := s.today().AddDays(1 + s.rng.IntN(lead))
	e := s.org.person(start, "", hrissync.StatusPending)
	e.ManagerID = s.managerFor(e.ID)
	s.put("employee.hired", e)
}

func (s *simulation) leave() {
	if e, ok := s.anyone(s.working); ok && e.ManagerID != "" {
		last := s.today().AddDays(s.rng.IntN(max(s.cfg.Churn.NoticeDays, 1)))
		s.update("employee.terminated", e, func(e *hrissync.Employee) { e.TerminationDate = last })
	}
}

func (s *simulation) rehire() {
	if e, ok := s.anyone(s.leaver); ok {
		start := s.today().AddDays(7 + s.rng.IntN(14))
		s.update("employee.rehired", e, func(e *hrissync.Employee) {
			e.Status, e.StartDate, e.TerminationDate = hrissync.StatusPending, start, hrissync.Date{}
			e.ManagerID = s.managerFor(e.ID)
		})
	}
}

func (s *simulation) changeRole() {
	if e, ok := s.anyone(s.working); ok {
		s.update("employee.role_changed", e, func(e *hrissync.Employee) { e.Role = pick(s.rng, roles) })
	}
}

func (s *simulation) changeManager() {
	if e, ok := s.anyone(func(e hrissync.Employee) bool { return s.working(e) && e.ManagerID != "" }); ok {
		if m := s.managerFor(e.ID); m != "" {
			s.update("employee.manager_changed", e, func(e *hrissync.Employee) { e.ManagerID = m })
		}
	}
}

// rateSkill is an assessment: an assessor rates one to four skills of one
// person, saving each in turn over the following hour or so, and each save
// is a change (and a webhook) of its own.
func (s *simulation) rateSkill() {
	e, ok := s.anyone(s.working)
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

func (s *simulation) ratePerformance() {
	if e, ok := s.anyone(s.working); ok {
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
