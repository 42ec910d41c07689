package hrissync

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// summaryEngine is an engine whose desire and propose the summary's fast
// path is checked against.
func summaryEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(nopSource{}, SinkFunc(func(context.Context, Update) error { return nil }), nopStore{}, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// applied is the person a reconcile of rec onto held leaves in the Store,
// as a Store merges its commit (the version guard included).
func (e *Engine) appliedFrom(t *testing.T, held store.Person, rec Employee) store.Person {
	t.Helper()
	d, err := e.desire(&rec, e.cfg.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, applied := e.propose(request{id: rec.ID, trigger: TriggerBatch}, held, d, cadence.All, false)
	p := held.Clone()
	p.ID, p.Applied, p.Due = rec.ID, store.MergeApplied(held.Applied, applied), d.due
	if u != nil {
		p.Exists, p.Active = p.Exists || u.Kind == Create, u.Active
	}
	return p
}

func summaryRecord(now time.Time) Employee {
	return Employee{ID: "w-1", EmployeeNumber: "1", Email: "w1@example.com", GivenName: "Ada", FamilyName: "Lovelace",
		Status: StatusActive, StartDate: NewDate(2020, 1, 6), Role: "Engineer", Department: "R&D",
		Attributes: map[string]string{"skill.go": "4"}, Version: hrtype.Version{Time: now.Add(-time.Hour), Seq: 7}}
}

// TestSummarySettlesOnlyWhenSettled: wherever the summary's fast path
// settles a person, settled does too with the person read whole — and it
// does settle the person a batch finds as it last left them.
func TestSummarySettlesOnlyWhenSettled(t *testing.T) {
	e := summaryEngine(t, Config{})
	now := e.cfg.Clock.Now()
	rec := summaryRecord(now)
	synced := e.appliedFrom(t, store.Person{ID: rec.ID}, rec)
	if !synced.Exists || !synced.Active {
		t.Fatalf("the first reconcile left %+v, want an active account", synced)
	}
	newer := hrtype.Version{Time: now, Seq: 99}
	terminated := rec
	terminated.Status, terminated.TerminationDate = StatusTerminated, NewDate(2021, 1, 1)
	terminated.Version.Seq++
	deactivated := e.appliedFrom(t, synced, terminated)
	future := rec
	future.StartDate = Date{}
	future.TerminationDate = NewDate(now.Year()+1, 1, 1) // a leaver to come: a due time
	future.Version.Seq++
	leaving := e.appliedFrom(t, synced, future)
	if leaving.Due.IsZero() {
		t.Fatalf("a termination to come left no due time: %+v", leaving)
	}
	mapped := summaryEngine(t, Config{Map: func(r Employee) (Fields, error) {
		f := r.Fields()
		f["costCentre"] = "cc-" + r.Department // a field mapped since the last run
		return f, nil
	}})

	type want struct{ summary, settled bool }
	cases := []struct {
		name string
		e    *Engine
		p    store.Person
		rec  Employee
		want want
	}{
		{"as last left", e, synced, rec, want{true, true}},
		{"deactivated, as last left", e, deactivated, terminated, want{true, true}},
		{"a leaver to come, as last left", e, leaving, future, want{true, true}},
		{"dirty", e, with(synced, func(p *store.Person) { p.Dirty = store.Mark{Generation: 3} }), rec, want{false, false}},
		{"failed", e, with(synced, func(p *store.Person) { p.Failure = &store.Failure{Attempts: 1} }), rec, want{false, false}},
		{"due time moved", e, with(synced, func(p *store.Person) { p.Due = now.Add(time.Hour) }), rec, want{false, false}},
		{"due time gone", e, with(leaving, func(p *store.Person) { p.Due = time.Time{} }), future, want{false, false}},
		{"record changed", e, synced, with(rec, func(r *Employee) { r.Role = "Lead" }), want{false, false}},
		{"field applied differs", e, with(synced, func(p *store.Person) { p.Applied[FieldRole] = store.Applied{Value: "Lead", Version: rec.Version} }), rec, want{false, false}},
		{"field kept by the version guard", e, with(synced, func(p *store.Person) { p.Applied[FieldRole] = store.Applied{Value: "Lead", Version: newer} }), rec, want{false, true}},
		{"same values, newer versions", e, with(synced, func(p *store.Person) { p.Applied[FieldRole] = store.Applied{Value: rec.Role, Version: newer} }), rec, want{true, true}},
		{"a field no longer mapped", e, with(synced, func(p *store.Person) { p.Applied["gone"] = store.Applied{Value: "x"} }), rec, want{false, true}},
		{"a field newly mapped", mapped, synced, rec, want{false, false}},
		{"account disabled behind the record", e, with(synced, func(p *store.Person) { p.Active = false }), rec, want{false, false}},
		{"activity kept by the version guard", e, with(synced, func(p *store.Person) {
			p.Active, p.Applied[store.AppliedActivity] = false, store.Applied{Value: "false", Version: newer}
		}), rec, want{false, true}},
		{"no account", e, store.Person{ID: rec.ID}, rec, want{false, false}},
		{"damaged", e, store.Person{ID: rec.ID, Damaged: true}, rec, want{false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.rec
			summary := c.e.summarySettles(store.Summarize(c.p), &r)
			settled := c.e.settled(c.p, c.rec)
			if (want{summary, settled}) != c.want {
				t.Errorf("summary settles %v, settled %v; want %v, %v", summary, settled, c.want.summary, c.want.settled)
			}
		})
	}
	t.Run("unknown digest", func(t *testing.T) {
		s := store.Summarize(synced)
		s.Digest = ""
		if e.summarySettles(s, &rec) {
			t.Error("a summary without a digest settled the person")
		}
	})
}

// TestSummarySettlesNeverWrongly mutates the person a batch finds at
// random, and checks that the summary never settles one that settled, with
// the person whole, would not.
func TestSummarySettlesNeverWrongly(t *testing.T) {
	e := summaryEngine(t, Config{})
	now := e.cfg.Clock.Now()
	rec := summaryRecord(now)
	synced := e.appliedFrom(t, store.Person{ID: rec.ID}, rec)
	rng := rand.New(rand.NewPCG(1, 2))
	versions := []hrtype.Version{{}, rec.Version, {Time: rec.Version.Time, Seq: 1}, {Time: now, Seq: 100}}
	fields := []string{FieldRole, FieldEmail, FieldDepartment, store.AppliedActivity, "gone"}
	values := []string{"", "Engineer", "Lead", "true", "false", "w1@example.com", "R&D"}
	fast := 0
	for i := range 20000 {
		p := synced.Clone()
		r := rec
		for range rng.IntN(3) {
			switch rng.IntN(6) {
			case 0:
				f := fields[rng.IntN(len(fields))]
				p.Applied[f] = store.Applied{Value: values[rng.IntN(len(values))], Version: versions[rng.IntN(len(versions))]}
			case 1:
				delete(p.Applied, fields[rng.IntN(len(fields))])
			case 2:
				p.Active = !p.Active
			case 3:
				p.Exists = !p.Exists
			case 4:
				r.Role = values[rng.IntN(len(values))]
			case 5:
				r.Version = versions[rng.IntN(len(versions))]
			}
		}
		if e.summarySettles(store.Summarize(p), &r) {
			fast++
			if !e.settled(p, r) {
				t.Fatalf("case %d: the summary settles %+v for %+v, settled does not", i, p, r)
			}
		}
	}
	if fast == 0 {
		t.Error("the summary settled nobody")
	}
	t.Logf("%d of 20000 settled by their summary", fast)
}

func with[T any](v T, change func(*T)) T {
	if p, ok := any(&v).(*store.Person); ok {
		*p = p.Clone()
	}
	change(&v)
	return v
}
