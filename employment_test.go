package hrissync

import (
	"testing"
	"time"

	"github.com/hrissync/hrissync/hrtype"
)

// The employment table (docs/design.md §5.12): each HR situation, the status
// the platform is shown and whether the person has access, at instants
// before, at and after the moments that matter, on the days of the person's
// time zone. The engine is in New York, with the defaults: PreHireDays 7,
// access ending at the end of the last day worked. Records are written on
// 1 June 2026 at 09:00 unless a row says otherwise.

// moment is what the table gives at one instant.
type moment struct {
	at     string // "2006-01-02 15:04:05" in the row's zone
	status Status // the effective status shown to the platform
	access bool
	next   string // when the state changes next, in the row's zone; "" for never
}

type situation struct {
	name     string
	cfg      Config   // Cutover, Immediate; Location is New York
	rec      Employee // ID and Version are filled in
	written  string   // when HR wrote the record, in the row's zone
	zone     string   // the zone of the instants; default America/New_York
	conflict bool     // desire reports the record as contradicting itself
	moments  []moment
}

var employmentTable = []situation{
	{
		name:    "active: access",
		rec:     Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6)},
		moments: []moment{{"2026-06-10 12:00:00", StatusActive, true, ""}},
	},
	{
		name: "pending start: provisioned PreHireDays before the start date, active on it",
		rec:  Employee{Status: StatusPending, StartDate: NewDate(2026, 6, 15)},
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-14 23:59:59", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name: "status active before the start date: pending all the same",
		rec:  Employee{Status: StatusActive, StartDate: NewDate(2026, 6, 15)},
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name:    "leave: keeps access",
		rec:     Employee{Status: StatusLeave, StartDate: NewDate(2020, 1, 6)},
		moments: []moment{{"2026-06-10 12:00:00", StatusLeave, true, ""}},
	},
	{
		name:    "suspended: no access while suspended, from the moment HR says so",
		rec:     Employee{Status: StatusSuspended, StartDate: NewDate(2020, 1, 6)},
		written: "2026-06-10 09:00:00",
		moments: []moment{{"2026-06-10 09:00:00", StatusSuspended, false, ""}},
	},
	{
		name: "suspended with a last day to come: terminated once it ends",
		rec:  Employee{Status: StatusSuspended, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12)},
		moments: []moment{
			{"2026-06-12 12:00:00", StatusSuspended, false, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name: "termination dated in the future: access until the last day ends",
		rec:  Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12)},
		moments: []moment{
			{"2026-06-10 12:00:00", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
			{"2027-01-01 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name: "status terminated ahead of a last day to come: the same",
		rec:  Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12)},
		moments: []moment{
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name: "termination dated in the future, CutoverStartOfDay: access ends as the last day begins",
		cfg:  Config{Cutover: CutoverStartOfDay},
		rec:  Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12)},
		moments: []moment{
			{"2026-06-11 23:59:59", StatusActive, true, "2026-06-12 00:00:00"},
			{"2026-06-12 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:    "termination dated today: access until today ends",
		rec:     Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 10)},
		written: "2026-06-10 10:00:00",
		moments: []moment{
			{"2026-06-10 10:00:00", StatusActive, true, "2026-06-11 00:00:00"},
			{"2026-06-11 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:    "termination dated in the past: no access, at once",
		rec:     Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 5)},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name:    "status terminated with no last day given: no access, at once",
		rec:     Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6)},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name: "immediate termination marked by the HRIS: at once, not at the end of the last day",
		rec: Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 10),
			Immediate: true},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name: "immediate termination with a last day to come: at once all the same",
		rec: Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 30),
			Immediate: true},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name: "immediate termination by the host's rule: at once",
		cfg:  Config{Immediate: dismissedForCause},
		rec: Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 10),
			Attributes: map[string]string{"terminationReason": "cause"}},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name: "the host's rule not met: access until the last day ends",
		cfg:  Config{Immediate: dismissedForCause},
		rec: Employee{Status: StatusTerminated, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 10),
			Attributes: map[string]string{"terminationReason": "resignation"}},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusActive, true, "2026-06-11 00:00:00"}},
	},
	{
		name: "rehire keeping the old termination date: access again from the new pre-hire day",
		rec:  Employee{Status: StatusPending, StartDate: NewDate(2026, 6, 15), TerminationDate: NewDate(2026, 3, 31)},
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
			{"2027-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name: "rehire keeping the old date, status already active: the same",
		rec:  Employee{Status: StatusActive, StartDate: NewDate(2026, 6, 15), TerminationDate: NewDate(2026, 3, 31)},
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name: "rehire clearing the old date: the same",
		rec:  Employee{Status: StatusPending, StartDate: NewDate(2026, 6, 15)},
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name: "rehire arranged before the last day: access to the end of it, and again from the new pre-hire day",
		rec:  Employee{Status: StatusActive, StartDate: NewDate(2026, 7, 1), TerminationDate: NewDate(2026, 6, 12)},
		moments: []moment{
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusPending, false, "2026-06-24 00:00:00"},
			{"2026-06-24 00:00:00", StatusPending, true, "2026-07-01 00:00:00"},
			{"2026-07-01 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name:    "a pre-hire who never starts, the start date withdrawn and the status left pending: no access",
		rec:     Employee{Status: StatusPending},
		written: "2026-06-10 10:00:00",
		moments: []moment{
			{"2026-06-10 10:00:00", StatusPending, false, ""},
			{"2026-07-01 00:00:00", StatusPending, false, ""},
		},
	},
	{
		name:    "a pre-hire who never starts, the start date withdrawn and the status terminated: no access",
		rec:     Employee{Status: StatusTerminated},
		written: "2026-06-10 10:00:00",
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name:     "contradiction: status terminated, a start date to come, no last day: no access, reported",
		rec:      Employee{Status: StatusTerminated, StartDate: NewDate(2026, 6, 15)},
		written:  "2026-06-10 10:00:00",
		conflict: true,
		moments: []moment{
			{"2026-06-10 10:00:00", StatusTerminated, false, ""},
			{"2026-06-15 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:     "contradiction: status terminated, a start date after the last day worked: no access, reported",
		rec:      Employee{Status: StatusTerminated, StartDate: NewDate(2026, 6, 15), TerminationDate: NewDate(2026, 3, 31)},
		conflict: true,
		moments: []moment{
			{"2026-06-08 00:00:00", StatusTerminated, false, ""},
			{"2026-06-15 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:     "contradiction: status active, written after the last day worked had ended: no access, reported",
		rec:      Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 5)},
		written:  "2026-06-10 10:00:00",
		conflict: true,
		moments:  []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name:    "status active, written before the last day ended: a dated leaving, no contradiction",
		rec:     Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 5)},
		moments: []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		name:     "contradiction: marked immediate with no termination: no access, reported",
		rec:      Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), Immediate: true},
		conflict: true,
		moments:  []moment{{"2026-06-10 10:00:00", StatusTerminated, false, ""}},
	},
	{
		// 00:00 on 13 June in Sydney is 10:00 on 12 June in New York.
		name:    "a worker in Sydney leaves at the end of the last day in Sydney, not in New York",
		rec:     Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12), TimeZone: "Australia/Sydney"},
		zone:    "Australia/Sydney",
		written: "2026-06-01 09:00:00",
		moments: []moment{
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:    "a worker in Sydney is provisioned and starts on Sydney's days",
		rec:     Employee{Status: StatusPending, StartDate: NewDate(2026, 6, 15), TimeZone: "Australia/Sydney"},
		zone:    "Australia/Sydney",
		written: "2026-06-01 09:00:00",
		moments: []moment{
			{"2026-06-07 23:59:59", StatusPending, false, "2026-06-08 00:00:00"},
			{"2026-06-08 00:00:00", StatusPending, true, "2026-06-15 00:00:00"},
			{"2026-06-15 00:00:00", StatusActive, true, ""},
		},
	},
	{
		name:    "a worker in Sydney, CutoverStartOfDay: access ends as the last day begins in Sydney",
		cfg:     Config{Cutover: CutoverStartOfDay},
		rec:     Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12), TimeZone: "Australia/Sydney"},
		zone:    "Australia/Sydney",
		written: "2026-06-01 09:00:00",
		moments: []moment{
			{"2026-06-11 23:59:59", StatusActive, true, "2026-06-12 00:00:00"},
			{"2026-06-12 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		// 23:59 on 12 June in Los Angeles is 02:59 on 13 June in New York.
		name:    "a worker in Los Angeles keeps access past midnight in New York",
		rec:     Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12), TimeZone: "America/Los_Angeles"},
		zone:    "America/Los_Angeles",
		written: "2026-06-01 09:00:00",
		moments: []moment{
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:     "a time zone not recognised: the engine's Location decides, reported",
		rec:      Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12), TimeZone: "Mars/Olympus_Mons"},
		conflict: true,
		moments: []moment{
			{"2026-06-12 23:59:59", StatusActive, true, "2026-06-13 00:00:00"},
			{"2026-06-13 00:00:00", StatusTerminated, false, ""},
		},
	},
	{
		name:     "the machine's zone (Local) is not a worker's: the engine's Location decides, reported",
		rec:      Employee{Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12), TimeZone: "Local"},
		conflict: true,
		moments:  []moment{{"2026-06-13 00:00:00", StatusTerminated, false, ""}},
	},
}

// dismissedForCause is a host's rule for immediate terminations.
func dismissedForCause(e Employee) bool { return e.Attributes["terminationReason"] == "cause" }

func TestEmploymentTable(t *testing.T) {
	newYork := loadZone(t, "America/New_York")
	for _, s := range employmentTable {
		t.Run(s.name, func(t *testing.T) {
			cfg := s.cfg
			cfg.Location = newYork
			e, err := New(nopSource{}, SinkFunc(nil), nopStore{}, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			zone := newYork
			if s.zone != "" {
				zone = loadZone(t, s.zone)
			}
			written := s.written
			if written == "" {
				written = "2026-06-01 09:00:00"
			}
			rec := s.rec
			rec.ID, rec.Version = "w-1", hrtype.Version{Time: instant(t, zone, written), Seq: 1}
			for _, m := range s.moments {
				now := instant(t, zone, m.at)
				d, err := e.desire(&rec, now)
				if err != nil {
					t.Fatal(err)
				}
				got := moment{at: m.at, status: Status(d.fields[FieldStatus]), access: d.active}
				if !d.due.IsZero() {
					got.next = d.due.In(zone).Format(time.DateTime)
				}
				if got != m {
					t.Errorf("at %s (%s): got %s, access %t, next change %q; want %s, access %t, next change %q",
						m.at, zone, got.status, got.access, got.next, m.status, m.access, m.next)
				}
				if (d.conflict != "") != s.conflict {
					t.Errorf("at %s: conflict %q, want one: %t", m.at, d.conflict, s.conflict)
				}
			}
		})
	}
}

// A date-driven change is measured from the moment it took effect — the end
// of the last day in the worker's own zone — not from when HR wrote it.
func TestEmploymentChangeTakesEffectAtItsMoment(t *testing.T) {
	sydney := loadZone(t, "Australia/Sydney")
	e, err := New(nopSource{}, SinkFunc(nil), nopStore{}, &Config{Location: loadZone(t, "America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	rec := Employee{ID: "w-1", Status: StatusActive, StartDate: NewDate(2020, 1, 6), TerminationDate: NewDate(2026, 6, 12),
		TimeZone: "Australia/Sydney", Version: hrtype.Version{Time: instant(t, sydney, "2026-06-01 09:00:00")}}
	d, err := e.desire(&rec, instant(t, sydney, "2026-06-13 01:30:00"))
	if err != nil {
		t.Fatal(err)
	}
	if want := instant(t, sydney, "2026-06-13 00:00:00"); !d.changedAt.Equal(want) {
		t.Errorf("changedAt = %s, want the end of the last day in Sydney, %s", d.changedAt.In(sydney), want)
	}
}

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func instant(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	at, err := time.ParseInLocation(time.DateTime, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
