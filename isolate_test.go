package hrissync_test

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
)

// count returns how many alerts of kind were raised.
func (a *alerts) count(kind hrissync.AlertKind) int {
	n := 0
	for _, k := range a.kinds() {
		if k == kind {
			n++
		}
	}
	return n
}

// An email another account holds (the sink names the field) is parked; the
// promotion in the same write lands at once, and the email lands once the
// conflict clears, on the field's own retry.
func TestRefusedFieldIsParkedAndTheRestLands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		taken := errors.New("409 uniqueness: email held by another account")
		r.lms.setFail(func(u hrissync.Update) error {
			if u.Fields[hrissync.FieldEmail] == "ally@example.com" {
				return &hrissync.FieldError{Field: hrissync.FieldEmail, Err: taken}
			}
			return nil
		})
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role, e.Email = "Lead", "ally@example.com" })
		r.notify(a.ID)

		acct := r.mustAccount(a.ID)
		if acct.Fields[hrissync.FieldRole] != "Lead" || acct.Fields[hrissync.FieldEmail] != "alice@example.com" {
			t.Fatalf("account = %v, want the role landed and the old email kept", acct.Fields)
		}
		parked := r.eng.Parked()
		if len(parked) != 1 || parked[0].EmployeeID != a.ID || parked[0].Field != hrissync.FieldEmail || parked[0].Refusals != 1 {
			t.Fatalf("parked = %+v, want alice's email", parked)
		}
		r.sleep(30 * time.Second) // the incident's group wait
		if n := r.alerts.count(hrissync.AlertFieldParked); n != 1 {
			t.Errorf("%d field-parked alerts, want 1", n)
		}
		if n := r.alerts.count(hrissync.AlertRetriesExhausted); n != 0 {
			t.Errorf("the person was dead-lettered (%d alerts) although the rest landed", n)
		}
		if dead, _ := r.eng.DeadLetters(t.Context()); len(dead) != 0 {
			t.Errorf("dead letters = %v", dead)
		}

		// The field's retry comes after its backoff, and is refused again:
		// parked once more, no new incident.
		calls := len(r.lms.allCalls())
		r.sleep(5*time.Minute + time.Second)
		if n := len(r.lms.allCalls()) - calls; n != 1 {
			t.Errorf("%d sink calls at the field's retry, want 1", n)
		}
		if p := r.eng.Parked(); len(p) != 1 || p[0].Refusals != 2 {
			t.Errorf("parked after a second refusal = %+v, want 2 refusals", p)
		}
		if n := r.alerts.count(hrissync.AlertFieldParked); n != 1 {
			t.Errorf("%d field-parked alerts after a second refusal, want still 1", n)
		}
		// The other account lets the email go: the next retry lands it.
		r.lms.setFail(nil)
		r.sleep(10*time.Minute + time.Second)
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldEmail]; got != "ally@example.com" {
			t.Errorf("email = %q once the conflict cleared, want ally@example.com", got)
		}
		if p := r.eng.Parked(); len(p) != 0 {
			t.Errorf("still parked: %+v", p)
		}
	})
}

// A write refused without a field named is bisected: the one value the
// platform refuses is found and parked, the rest lands, in a number of sink
// calls logarithmic in the fields changed.
func TestRefusalWithoutAFieldIsBisected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Policy: cadence.RealtimeOnly()})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(u hrissync.Update) error {
			if slices.ContainsFunc(u.Changes, func(c hrissync.Change) bool { return c.Field == hrissync.FieldDepartment }) {
				return retry.Permanent(errors.New("400 invalidValue"))
			}
			return nil
		})
		calls := len(r.lms.allCalls())
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Role, e.Department, e.Location, e.FamilyName = "Lead", "No Such Dept", "Lyon", "Archer-Smith"
		})
		r.notify(a.ID)
		got := r.mustAccount(a.ID).Fields
		want := map[string]string{hrissync.FieldRole: "Lead", hrissync.FieldLocation: "Lyon", hrissync.FieldFamilyName: "Archer-Smith", hrissync.FieldDepartment: "R&D"}
		for f, v := range want {
			if got[f] != v {
				t.Errorf("%s = %q, want %q", f, got[f], v)
			}
		}
		if p := r.eng.Parked(); len(p) != 1 || p[0].Field != hrissync.FieldDepartment {
			t.Errorf("parked = %+v, want the department", p)
		}
		// The write, two halvings of four fields (both refused), the write
		// without the department that proves it the culprit, the rest:
		// five calls.
		if n := len(r.lms.allCalls()) - calls; n != 5 {
			t.Errorf("%d sink calls, want 5", n)
		}
	})
}

// A platform refusing every write (a revoked token) is not a field's doing:
// no innocent field is parked, the person is dead-lettered once, and the
// bisection gives up after its halvings and one proof.
func TestRefusingEverythingParksNoField(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("403 token revoked")) })
		calls := len(r.lms.allCalls())
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Role, e.Department, e.Location, e.FamilyName = "Lead", "Ops", "Lyon", "Archer-Smith"
		})
		if err := r.eng.Reconcile(t.Context(), a.ID); err == nil { // every class, as a batch would
			t.Fatal("the refused write succeeded")
		}
		r.sleep(time.Minute)
		if p := r.eng.Parked(); len(p) != 0 {
			t.Errorf("parked = %+v, want none: the platform refuses everything", p)
		}
		if n := len(r.lms.allCalls()) - calls; n != 4 {
			t.Errorf("%d sink calls, want 4: the write, two halvings, one proof", n)
		}
		if got := kindsOf(r.alerts.raised()); !slices.Equal(got, []string{"retries-exhausted w-001 high"}) {
			t.Errorf("alerts = %q, want the dead letter's alone", got)
		}
	})
}

// When the platform refuses a manager's own account, a report's role change
// and termination date still land: the manager reference is parked.
func TestReportLandsWhileItsManagerIsParked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		rep := alice()
		rep.ID = "w-200"
		r.hr.put(rep)
		r.notify(rep.ID)
		m := alice()
		m.ID, m.Email = "w-100", "boss@example.com"
		r.hr.put(m)
		r.lms.setFail(func(u hrissync.Update) error {
			if u.EmployeeID == "w-100" {
				return retry.Permanent(errors.New("400: the platform refuses this account"))
			}
			return nil
		})
		// Promoted, reporting to w-100, leaving at the end of the month.
		r.hr.update(rep.ID, func(e *hrissync.Employee) {
			e.ManagerID, e.Role, e.TerminationDate = "w-100", "Lead", hrissync.DateOf(time.Now()).AddDays(30)
		})
		r.notify(rep.ID)
		acct := r.mustAccount(rep.ID)
		if !acct.Active || acct.Fields[hrissync.FieldRole] != "Lead" || acct.Fields[hrissync.FieldTerminationDate] == "" {
			t.Errorf("report = %+v, want its role and termination date", acct)
		}
		if acct.Fields[hrissync.FieldManagerID] != "" {
			t.Errorf("the report refers to a manager the platform does not hold: %q", acct.Fields[hrissync.FieldManagerID])
		}
		if p := r.eng.Parked(); len(p) != 1 || p[0].EmployeeID != rep.ID || p[0].Field != hrissync.FieldManagerID {
			t.Errorf("parked = %+v, want the report's manager", p)
		}
	})
}

// A deactivation refused for a field's sake lands first, bare: access ends
// whatever the platform thinks of the other values.
func TestDeactivationLandsBeforeItsFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Policy: cadence.RealtimeOnly()})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(u hrissync.Update) error {
			if slices.ContainsFunc(u.Changes, func(c hrissync.Change) bool { return c.Field == hrissync.FieldLocation }) {
				return retry.Permanent(errors.New("400 invalidValue"))
			}
			return nil
		})
		before := len(r.lms.allCalls())
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Location = "Atlantis"
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
		})
		r.notify(a.ID)
		acct := r.mustAccount(a.ID)
		if acct.Active {
			t.Fatal("the leaver still has access")
		}
		if acct.Fields[hrissync.FieldTerminationDate] == "" || acct.Fields[hrissync.FieldLocation] != "Paris" {
			t.Errorf("account = %v, want the termination date landed and the location parked", acct.Fields)
		}
		if p := r.eng.Parked(); len(p) != 1 || p[0].Field != hrissync.FieldLocation {
			t.Errorf("parked = %+v, want the location", p)
		}
		// The call after the refusal is the bare deactivation, and lands.
		calls := r.lms.allCalls()[before:]
		if len(calls) < 2 || calls[1].err != nil || calls[1].u.Kind != hrissync.Deactivate || len(calls[1].u.Changes) != 0 {
			t.Errorf("the call after the refusal = %+v, want a bare deactivation that lands", calls[1:])
		}
	})
}
