package hrissync

import (
	"testing"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// BenchmarkDesireAndPlan is the per-person work of every trigger: evaluate
// the record now (dating, scope, mapping) and diff it against the applied
// state, here with one realtime field changed.
func BenchmarkDesireAndPlan(b *testing.B) {
	e, err := New(nopSource{}, SinkFunc(nil), nopStore{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := Employee{ID: "w-1", EmployeeNumber: "1", Email: "a@example.com", GivenName: "A", FamilyName: "B",
		Status: StatusActive, StartDate: NewDate(2020, 1, 6), Role: "Lead", ManagerID: "w-0", Department: "R&D",
		Location: "Paris", Attributes: map[string]string{"skill.go": "4", "performanceRating": "3"},
		Version: hrtype.Version{Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Seq: 2}}
	now := rec.Version.Time.Add(time.Minute)
	d0, _ := e.desire(&rec, now)
	p := store.Person{ID: "w-1", Exists: true, Active: true, Applied: map[string]store.Applied{}}
	for k, v := range d0.fields {
		p.Applied[k] = store.Applied{Value: v, Version: hrtype.Version{Time: rec.Version.Time, Seq: 1}}
	}
	p.Applied[FieldRole] = store.Applied{Value: "Engineer", Version: hrtype.Version{Time: rec.Version.Time, Seq: 1}}
	for b.Loop() {
		d, err := e.desire(&rec, now)
		if err != nil {
			b.Fatal(err)
		}
		if u, _ := e.propose(request{id: rec.ID, trigger: TriggerRealtime}, p, d, cadence.Realtime, false); u == nil || len(u.Changes) != 1 {
			b.Fatal("no write planned")
		}
	}
}
