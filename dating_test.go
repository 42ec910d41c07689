package hrissync_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
)

// The bubble starts at 2000-01-01 00:00 UTC: 1999-12-31 19:00 in New York.
func newYork(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestFutureTerminationAtEndOfLastDayNotBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ny := newYork(t)
		r := start(t, hrissync.Config{Location: ny})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.NewDate(2000, 1, 3) })
		r.notify(a.ID)
		if acc := r.mustAccount(a.ID); !acc.Active || acc.Fields[hrissync.FieldTerminationDate] != "2000-01-03" {
			t.Fatalf("account = %+v, want active with the termination date set", acc)
		}
		cutover := time.Date(2000, 1, 4, 0, 0, 0, 0, ny) // the end of 3 January in New York
		r.sleep(cutover.Sub(time.Now()) - time.Second)
		if !r.mustAccount(a.ID).Active {
			t.Fatalf("deactivated before the end of the last day (now %s)", time.Now().In(ny))
		}
		r.sleep(time.Second)
		w := r.lms.writes()
		last := w[len(w)-1]
		if r.mustAccount(a.ID).Active || last.Kind != hrissync.Deactivate {
			t.Fatalf("not deactivated at the cutover: last write %+v", last)
		}
		calls := r.lms.allCalls()
		if at := calls[len(calls)-1].at; !at.Equal(cutover) {
			t.Errorf("deactivated at %s, want exactly %s", at.In(ny), cutover)
		}
	})
}

func TestTerminationAtStartOfDayWhenConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ny := newYork(t)
		r := start(t, hrissync.Config{Location: ny, Cutover: hrissync.CutoverStartOfDay})
		a := r.hr.put(alice())
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.NewDate(2000, 1, 3) })
		r.notify(a.ID)
		r.sleep(time.Date(2000, 1, 3, 0, 0, 0, 0, ny).Sub(time.Now()))
		if r.mustAccount(a.ID).Active {
			t.Error("still active at the start of the last day")
		}
	})
}

func TestPreHireAndRehire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ny := newYork(t)
		r := start(t, hrissync.Config{Location: ny, PreHireDays: 7})
		h := alice()
		h.Status, h.StartDate = hrissync.StatusPending, hrissync.NewDate(2000, 1, 20)
		h = r.hr.put(h)
		r.notify(h.ID)
		if _, ok := r.lms.account(h.ID); ok {
			t.Fatal("hire provisioned weeks before the start")
		}
		provision := time.Date(2000, 1, 13, 0, 0, 0, 0, ny)
		r.sleep(provision.Sub(time.Now()) - time.Second)
		if _, ok := r.lms.account(h.ID); ok {
			t.Fatal("hire provisioned before the lead time")
		}
		r.sleep(time.Second)
		acc := r.mustAccount(h.ID)
		if !acc.Active || acc.Fields[hrissync.FieldStatus] != "pending" {
			t.Fatalf("at the lead time: %+v, want active with status pending", acc)
		}
		r.sleep(time.Date(2000, 1, 20, 0, 0, 0, 0, ny).Sub(time.Now()))
		if s := r.mustAccount(h.ID).Fields[hrissync.FieldStatus]; s != "active" {
			t.Errorf("status on the start date = %q, want active", s)
		}

		// She leaves, and is rehired a month later: same account.
		r.hr.update(h.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		r.notify(h.ID)
		r.hr.update(h.ID, func(e *hrissync.Employee) {
			e.Status, e.StartDate = hrissync.StatusPending, hrissync.NewDate(2000, 3, 1)
		})
		r.notify(h.ID)
		if r.mustAccount(h.ID).Active {
			t.Fatal("rehire reactivated before the lead time")
		}
		r.sleep(time.Date(2000, 2, 23, 0, 0, 1, 0, ny).Sub(time.Now()))
		var kinds []hrissync.UpdateKind
		for _, u := range r.lms.writes() {
			kinds = append(kinds, u.Kind)
		}
		want := []hrissync.UpdateKind{hrissync.Create, hrissync.Modify, hrissync.Deactivate, hrissync.Reactivate}
		if !slices.Equal(kinds, want) {
			t.Errorf("writes = %v, want %v (the rehire reactivates the same account)", kinds, want)
		}
	})
}

func TestManagerProvisionedBeforeReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		m := alice()
		m.ID, m.Email = "w-100", "boss@example.com"
		r.hr.put(m)
		rep := alice()
		rep.ID, rep.ManagerID = "w-200", "w-100"
		r.hr.put(rep)
		r.notify(rep.ID) // the manager's own event has not come
		var order []string
		for _, c := range r.lms.allCalls() {
			if c.err != nil {
				t.Errorf("failed call for %s: %v", c.u.EmployeeID, c.err)
			}
			order = append(order, c.u.EmployeeID)
		}
		if !slices.Equal(order, []string{"w-100", "w-200"}) {
			t.Fatalf("writes in order %v, want the manager first", order)
		}
		if got := r.mustAccount("w-200").Fields[hrissync.FieldManagerID]; got != "w-100" {
			t.Errorf("report's manager = %q", got)
		}
	})
}

func TestManagerCycleReportedNotLooped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := alice()
		a.ID, a.ManagerID = "w-a", "w-b"
		b := alice()
		b.ID, b.ManagerID = "w-b", "w-a"
		r.hr.put(a)
		r.hr.put(b)
		r.notify("w-a")
		r.sleep(time.Minute)
		if got := r.mustAccount("w-a").Fields[hrissync.FieldManagerID]; got != "w-b" {
			t.Errorf("w-a manager = %q, want w-b", got)
		}
		if got := r.mustAccount("w-b").Fields[hrissync.FieldManagerID]; got != "w-a" {
			t.Errorf("w-b manager = %q, want w-a once the loop was broken", got)
		}
		if n := len(r.lms.allCalls()); n != 3 {
			t.Errorf("sink calls = %d, want 3 (w-b bare, w-a, w-b's manager)", n)
		}
	})
}
