//go:build ignore

// gen writes the sample export (org.csv, 300 people) and three months of
// change history (changes.csv) for whatif, deterministically (seeded):
//
//	cd examples/whatif/testdata && go run gen.go
//
// The export is the organisation as the replay starts; the hires of the
// history are not in it.
package main

import (
	"encoding/csv"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"time"
)

const people = 300

var (
	givenNames  = []string{"Ada", "Ben", "Chloé", "Dev", "Ewa", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena", "Mo", "Nia", "Omar", "Pia", "Quinn", "Rui", "Sara", "Tomás"}
	familyNames = []string{"Abara", "Berg", "Costa", "Dubois", "Eze", "Fischer", "García", "Hall", "Ito", "Jensen", "Kowalski", "Lee", "Müller", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Novak"}
	departments = []string{"Engineering", "Sales", "Support", "Finance", "People", "Marketing"}
	locations   = []struct{ name, tz string }{{"London", "Europe/London"}, {"Berlin", "Europe/Berlin"}, {"New York", "America/New_York"}, {"Singapore", "Asia/Singapore"}}
	roles       = []string{"Engineer", "Senior Engineer", "Account Executive", "Support Specialist", "Analyst", "Recruiter", "Designer", "Marketing Manager"}
	levels      = []string{"", "1", "2", "3", "4", "5"}
)

func main() {
	r := rand.New(rand.NewPCG(31, 2026))
	writeExport(r)
	writeHistory(r)
}

func id(n int) string { return fmt.Sprintf("w-%04d", n) }

// managers are the first 30 people; w-0001 reports to nobody.
func manager(r *rand.Rand, n int) string {
	switch {
	case n == 1:
		return ""
	case n <= 6:
		return id(1)
	case n <= 30:
		return id(2 + r.IntN(5))
	}
	return id(7 + r.IntN(24))
}

func writeExport(r *rand.Rand) {
	f, w := create("org.csv")
	w.Write([]string{"employee_id", "employee_number", "work_email", "first_name", "last_name", "status", "start_date", "termination_date", "job_title", "manager_id", "department", "location", "time_zone", "attr.skill_go", "attr.skill_sql"})
	for n := 1; n <= people; n++ {
		given, family := givenNames[r.IntN(len(givenNames))], familyNames[r.IntN(len(familyNames))]
		status := "active"
		switch x := r.IntN(100); {
		case x < 3:
			status = "leave"
		case x < 4:
			status = "suspended"
		}
		loc := locations[r.IntN(len(locations))]
		role := roles[r.IntN(len(roles))]
		if n <= 30 {
			role = "Manager"
		}
		start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(3800))
		w.Write([]string{id(n), fmt.Sprint(10000 + n), fmt.Sprintf("%s.%s.%d@example.com", lower(given), lower(family), n), given, family, status,
			start.Format(time.DateOnly), "", role, manager(r, n), departments[r.IntN(len(departments))], loc.name, loc.tz,
			levels[r.IntN(len(levels))], levels[r.IntN(len(levels))]})
	}
	finish(f, w)
}

func writeHistory(r *rand.Rand) {
	f, w := create("changes.csv")
	w.Write([]string{"entered_at", "effective_at", "employee_id", "field", "new_value"})
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const days = 90
	// Entry times: office hours on working days, sorted.
	var times []time.Time
	for len(times) < 330 {
		d := from.AddDate(0, 0, r.IntN(days))
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		times = append(times, d.Add(8*time.Hour+time.Duration(r.IntN(9*3600))*time.Second))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	gone := map[int]bool{} // terminated: no further changes
	next := people + 1     // the next hire's number
	row := func(entered, effective time.Time, dateOnly bool, n int, field, value string) {
		eff := effective.Format(time.RFC3339)
		if dateOnly {
			eff = effective.Format(time.DateOnly)
		}
		w.Write([]string{entered.Format(time.RFC3339), eff, id(n), field, value})
	}
	pick := func() int {
		for {
			if n := 2 + r.IntN(next-2); !gone[n] {
				return n
			}
		}
	}
	for _, t := range times {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		switch x := r.IntN(100); {
		case x < 30: // role change: from the 1st of next month, or backdated to the 1st of this one
			n := pick()
			eff := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			if r.IntN(4) == 0 {
				eff = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			}
			row(t, eff, true, n, "role", roles[r.IntN(len(roles))])
		case x < 52: // manager change, effective next Monday
			n := pick()
			eff := day.AddDate(0, 0, (8-int(day.Weekday()))%7+1)
			if m := manager(r, 31+r.IntN(people-30)); m != id(n) {
				row(t, eff, true, n, "manager_id", m)
			}
		case x < 62: // a move: department, or location with its time zone
			n := pick()
			if r.IntN(2) == 0 {
				row(t, day.AddDate(0, 0, 7), true, n, "department", departments[r.IntN(len(departments))])
			} else {
				loc := locations[r.IntN(len(locations))]
				row(t, day.AddDate(0, 0, 14), true, n, "location", loc.name)
				row(t, day.AddDate(0, 0, 14), true, n, "time_zone", loc.tz)
			}
		case x < 89: // a skill rating, effective at once
			n := pick()
			skill := []string{"attr.skill_go", "attr.skill_sql"}[r.IntN(2)]
			row(t, t, false, n, skill, levels[1+r.IntN(len(levels)-1)])
		case x < 95: // termination: last day within two weeks (or backdated a day), access ends at 17:00
			n := pick()
			if n <= 6 {
				continue // keep the top of the tree
			}
			last := day.AddDate(0, 0, r.IntN(15)-1)
			row(t, last.Add(17*time.Hour), false, n, "status", "terminated")
			row(t, last, true, n, "termination_date", last.Format(time.DateOnly))
			gone[n] = true
		default: // hire: pending now, starting on a Monday two to four weeks on
			n := next
			next++
			given, family := givenNames[r.IntN(len(givenNames))], familyNames[r.IntN(len(familyNames))]
			start := day.AddDate(0, 0, 14+r.IntN(15))
			start = start.AddDate(0, 0, (8-int(start.Weekday()))%7)
			loc := locations[r.IntN(len(locations))]
			row(t, t, false, n, "status", "pending")
			for _, kv := range [][2]string{
				{"employee_number", fmt.Sprint(10000 + n)}, {"first_name", given}, {"last_name", family},
				{"work_email", fmt.Sprintf("%s.%s.%d@example.com", lower(given), lower(family), n)},
				{"job_title", roles[r.IntN(len(roles))]}, {"manager_id", manager(r, 31+r.IntN(people-30))},
				{"department", departments[r.IntN(len(departments))]}, {"location", loc.name}, {"time_zone", loc.tz},
				{"start_date", start.Format(time.DateOnly)},
			} {
				row(t, t, false, n, kv[0], kv[1])
			}
			row(t, start, true, n, "status", "active")
		}
	}
	finish(f, w)
}

func lower(s string) string {
	b := []rune(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c > 127:
			b[i] = 'e'
		}
	}
	return string(b)
}

func create(name string) (*os.File, *csv.Writer) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	return f, csv.NewWriter(f)
}

func finish(f *os.File, w *csv.Writer) {
	w.Flush()
	if err := w.Error(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
