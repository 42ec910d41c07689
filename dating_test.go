package hrissync_test

import (
	"context"
	"slices"
	"strings"
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

// A manager who left before ever being provisioned gets no account, so a
// report's reference to them is withheld (the platform could not resolve
// it) — and set by the next batch once they are rehired.
func TestReportOfAManagerWhoLeftBeforeProvisioning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		m := alice()
		m.ID, m.Email = "w-100", "boss@example.com"
		m.TerminationDate = hrissync.DateOf(time.Now()).AddDays(-3)
		r.hr.put(m)
		rep := alice()
		rep.ID, rep.ManagerID = "w-200", "w-100"
		r.hr.put(rep)
		r.notify(rep.ID)
		if _, ok := r.lms.account("w-100"); ok {
			t.Fatal("an account was made for a manager who had left")
		}
		if got, ok := r.mustAccount("w-200").Fields[hrissync.FieldManagerID]; ok {
			t.Fatalf("report's manager = %q, want none: the platform holds no such account", got)
		}
		x, err := r.eng.Explain(context.Background(), "w-200")
		if err != nil || x.Next.Update != nil || !strings.Contains(x.Next.Why, "w-100 has no account") {
			t.Errorf("Explain: next %+v, %v; want no write, and why the reference is left out", x.Next, err)
		}

		// Another report is moved to the manager who left: the platform
		// must not go on naming the one HR replaced.
		boss := alice()
		boss.ID, boss.Email = "w-300", "other@example.com"
		r.hr.put(boss)
		moved := alice()
		moved.ID, moved.ManagerID = "w-400", "w-300"
		r.hr.put(moved)
		r.notify(moved.ID)
		if got := r.mustAccount("w-400").Fields[hrissync.FieldManagerID]; got != "w-300" {
			t.Fatalf("second report's manager = %q, want w-300", got)
		}
		moved.ManagerID = "w-100"
		r.hr.put(moved)
		r.notify(moved.ID)
		if got := r.mustAccount("w-400").Fields[hrissync.FieldManagerID]; got != "" {
			t.Errorf("moved to a manager without account, the report's manager = %q, want cleared", got)
		}
		before := len(r.lms.allCalls())
		if err := r.eng.Batch(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(r.lms.allCalls()) - before; n != 0 {
			t.Errorf("a batch with nothing it can change made %d sink calls", n)
		}

		m.TerminationDate, m.Status = hrissync.Date{}, hrissync.StatusActive // rehired
		r.hr.put(m)
		if err := r.eng.Batch(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for _, id := range []string{"w-200", "w-400"} {
			if got := r.mustAccount(id).Fields[hrissync.FieldManagerID]; got != "w-100" {
				t.Errorf("after the rehire, %s's manager = %q, want w-100", id, got)
			}
		}
	})
}

// A leaver moved in the same change to a manager without an account: their
// access ends at once, without the reference (a platform resolving it would
// refuse the whole deactivation), and their rehire reactivates them.
func TestLeaverMovedToAManagerWithoutAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		// Like a SCIM platform, this one resolves a reference on every
		// write, a deactivation's too.
		r.lms.setFail(func(u hrissync.Update) error {
			if m := u.Fields[hrissync.FieldManagerID]; m != "" && r.lms.accounts[m] == nil {
				return &hrissync.MissingManagerError{EmployeeID: u.EmployeeID, ManagerID: m}
			}
			return nil
		})
		m := alice()
		m.ID, m.Email = "w-100", "boss@example.com"
		m.TerminationDate = hrissync.DateOf(time.Now()).AddDays(-3)
		r.hr.put(m)
		rep := alice()
		rep.ID = "w-200"
		r.hr.put(rep)
		r.notify(rep.ID)

		rep.ManagerID, rep.TerminationDate = "w-100", hrissync.DateOf(time.Now()).AddDays(-1)
		r.hr.put(rep)
		r.notify(rep.ID)
		if a := r.mustAccount("w-200"); a.Active {
			t.Fatalf("the leaver's account is still active: %v", r.lms.allCalls())
		}
		rep.TerminationDate, rep.Status = hrissync.Date{}, hrissync.StatusActive
		r.hr.put(rep)
		r.notify(rep.ID)
		if a := r.mustAccount("w-200"); !a.Active || a.Fields[hrissync.FieldManagerID] != "" {
			t.Errorf("after the rehire: active %v, manager %q; want active, no manager", a.Active, a.Fields[hrissync.FieldManagerID])
		}
		for _, c := range r.lms.allCalls() {
			if c.err != nil {
				t.Errorf("%s of %s refused: %v", c.u.Kind, c.u.EmployeeID, c.err)
			}
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
