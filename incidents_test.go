package hrissync_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

// callsFor counts the sink calls made for one person.
func callsFor(r *rig, id string) int {
	n := 0
	for _, c := range r.lms.allCalls() {
		if c.u.EmployeeID == id {
			n++
		}
	}
	return n
}

// A write that keeps failing is one incident for as long as it fails: its
// retries run out once, then each poll and batch tries it once more, without
// a new series of retries or a new page. It resolves when the write lands.
func TestOnePageForAPersonFailingThroughPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(hrissync.Update) error { return errUnavailable })
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		before := callsFor(r, a.ID)
		r.notify(a.ID)

		r.sleep(3*time.Hour + 5*time.Minute) // polls at 01:00, 02:00, 03:00; the batch at 02:00
		// Four attempts of the webhook's series, then one per poll (the
		// 02:00 batch finds her tried by the poll of the same instant) —
		// before, each poll began a series of four.
		if n := callsFor(r, a.ID) - before; n != 4+3 {
			t.Errorf("%d sink calls in 3 hours, want 7: four, then one per poll", n)
		}
		raised := r.alerts.raised()
		if len(raised) != 1 || raised[0].Kind != hrissync.AlertRetriesExhausted || raised[0].EmployeeID != a.ID ||
			raised[0].Severity != hrissync.SeverityHigh || raised[0].Incident != "default/dead/"+a.ID {
			t.Fatalf("alerts = %+v, want one high retries-exhausted alert for %s", raised, a.ID)
		}
		if dead, _ := r.eng.DeadLetters(t.Context()); len(dead) != 1 || dead[0].Failure.Attempts != 7 {
			t.Errorf("dead letters = %+v, want alice with her 7 attempts counted", dead)
		}

		r.lms.setFail(nil)
		r.sleep(time.Hour) // the 04:00 poll lands it
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; got != "Lead" {
			t.Fatalf("role = %q after the sink recovered, want Lead", got)
		}
		ended := r.alerts.ended()
		if len(ended) != 1 || ended[0].Incident != "default/dead/"+a.ID || !ended[0].At.Equal(time.Date(2000, 1, 1, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("resolutions = %+v, want alice's incident, at 04:00", ended)
		}
		if open := r.eng.Incidents(); len(open) != 0 {
			t.Errorf("incidents still open: %+v", open)
		}
		if n := len(r.alerts.raised()); n != 1 {
			t.Errorf("%d alerts, want still 1", n)
		}
	})
}

// While one person is stuck on a permanent refusal, another's failed
// termination pages on its own, critical: dead letters do not share one
// incident.
func TestSecondPersonsFailedTerminationPagesWhileTheFirstIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		r.notify(a.ID)
		r.notify(b.ID)
		r.lms.setFail(func(u hrissync.Update) error { return retry.Permanent(errors.New("400 refused")) })
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		r.sleep(90 * time.Minute) // alice's page, and a poll trying her again

		r.hr.update(b.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		r.notify(b.ID)
		r.sleep(time.Minute)
		raised := r.alerts.raised()
		var got []string
		for _, al := range raised {
			got = append(got, fmt.Sprintf("%s %s %s", al.Kind, al.EmployeeID, al.Severity))
		}
		want := []string{"retries-exhausted w-001 high", "retries-exhausted w-002 critical"}
		if !slices.Equal(got, want) {
			t.Errorf("alerts = %q, want %q", got, want)
		}
		if acct := r.mustAccount(b.ID); !acct.Active {
			t.Fatal("the test's sink let the deactivation through")
		}
	})
}

// A platform refusing every write (its credentials revoked) fails a
// thousand people at once: one roll-up pages, naming each leaver whose
// access stays, and one resolution ends it when the platform is back.
func TestPlatformOutageRollsUpAndResolvesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Concurrency: 8})
		staff(r, 1000)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("403 token revoked")) })
		var leavers []string
		for i := range 1000 {
			id := fmt.Sprintf("w-%04d", i)
			r.hr.update(id, func(e *hrissync.Employee) {
				if i%100 == 7 {
					e.Status = hrissync.StatusTerminated
					leavers = append(leavers, id)
				} else {
					e.Role = "Lead"
				}
			})
		}
		r.sleep(time.Hour + time.Minute) // the 01:00 poll finds them all changed

		raised := r.alerts.raised()
		if len(raised) != 1 {
			t.Fatalf("%d alerts (%v), want one roll-up", len(raised), kindsOf(raised))
		}
		up := raised[0]
		if up.Kind != hrissync.AlertRollUp || up.Count != 1000 || up.Severity != hrissync.SeverityCritical ||
			!slices.Equal(up.Critical, leavers) {
			t.Fatalf("roll-up = kind %s count %d severity %s critical %v, want 1000 people, critical %v",
				up.Kind, up.Count, up.Severity, up.Critical, leavers)
		}
		if open := r.eng.Incidents(); len(open) != 1001 {
			t.Errorf("%d incidents open, want each person's and the roll-up", len(open))
		}

		r.lms.setFail(nil)
		r.sleep(time.Hour) // the 02:00 poll and batch land everyone
		for _, id := range leavers {
			if r.mustAccount(id).Active {
				t.Fatalf("leaver %s still active after the platform came back", id)
			}
		}
		ended := r.alerts.ended()
		if len(ended) != 1 || ended[0].Incident != up.Incident || ended[0].Kind != hrissync.AlertRollUp {
			t.Errorf("resolutions = %v, want the roll-up's alone", kindsOf(ended))
		}
		if n := len(r.alerts.raised()); n != 1 {
			t.Errorf("%d alerts in all, want the one roll-up", n)
		}
	})
}

// A person's incident that ends within the group wait never pages.
func TestIncidentEndingWithinTheGroupWaitNeverPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{GroupWait: 10 * time.Minute})
		a := r.hr.put(alice())
		r.lms.setFail(func(hrissync.Update) error { return errUnavailable })
		r.notify(a.ID)
		r.sleep(5 * time.Minute) // dead-lettered at 3 min
		if open := r.eng.Incidents(); len(open) != 1 || open[0].EmployeeID != a.ID {
			t.Fatalf("incidents = %+v, want alice's waiting for its group", open)
		}
		r.lms.setFail(nil)
		if err := r.eng.Replay(t.Context(), a.ID); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.sleep(time.Hour)
		if raised, ended := r.alerts.raised(), r.alerts.ended(); len(raised)+len(ended) != 0 {
			t.Errorf("alerts %v, resolutions %v; want none", kindsOf(raised), kindsOf(ended))
		}
	})
}

func kindsOf(as []hrissync.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %s %s", a.Kind, a.EmployeeID, a.Severity))
	}
	return out
}

// A platform answering 503 to everyone opens the circuit breaker: writes
// wait without using up their attempts, nobody is dead-lettered, and the
// circuit's alert is the one page, resolved once when the platform is back.
func TestOutageBehindTheBreakerPagesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Concurrency: 8})
		staff(r, 200)
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.lms.setFail(func(hrissync.Update) error { return errUnavailable })
		for i := range 200 {
			r.hr.update(fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.Role = "Lead" })
		}
		r.sleep(3 * time.Hour)
		if got := kindsOf(r.alerts.raised()); !slices.Equal(got, []string{"circuit-open  warning"}) {
			t.Errorf("alerts = %q, want the circuit's alone", got)
		}
		r.lms.setFail(nil)
		r.sleep(2 * time.Hour)
		if got := kindsOf(r.alerts.ended()); !slices.Equal(got, []string{"circuit-open  warning"}) {
			t.Errorf("resolutions = %q, want the circuit's alone", got)
		}
		if open := r.eng.Incidents(); len(open) != 0 {
			t.Errorf("incidents still open: %v", kindsOf(open))
		}
		for i := range 200 {
			if got := r.mustAccount(fmt.Sprintf("w-%04d", i)).Fields[hrissync.FieldRole]; got != "Lead" {
				t.Fatalf("w-%04d's role = %q after the outage, want Lead", i, got)
			}
		}
	})
}

// An incident still waiting for its group when the engine stops is alerted
// then: the next engine would not know of it.
func TestWaitingIncidentIsAlertedAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{GroupWait: time.Hour})
		a := r.hr.put(alice())
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("400 refused")) })
		r.notify(a.ID)
		if n := len(r.alerts.raised()); n != 0 {
			t.Fatalf("%d alerts within the group wait, want none yet", n)
		}
		if err := r.eng.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := kindsOf(r.alerts.raised()); !slices.Equal(got, []string{"retries-exhausted w-001 high"}) {
			t.Errorf("alerts at shutdown = %q, want alice's", got)
		}
	})
}

// A person stuck on a refused role change who then leaves is a leaver whose
// access stays: the open incident is escalated to critical and paged again,
// under the same Incident.
func TestStuckPersonWhoLeavesIsEscalatedToCritical(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("403 forbidden")) })
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		r.sleep(time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		r.sleep(time.Hour) // the poll tries the dead letter: now a deactivation
		raised := r.alerts.raised()
		if got := kindsOf(raised); !slices.Equal(got, []string{"retries-exhausted w-001 high", "retries-exhausted w-001 critical"}) {
			t.Fatalf("alerts = %q, want the high page, then its escalation", got)
		}
		if raised[0].Incident != raised[1].Incident {
			t.Errorf("the escalation is incident %q, the page %q: want one incident", raised[1].Incident, raised[0].Incident)
		}
		if open := r.eng.Incidents(); len(open) != 1 || open[0].Severity != hrissync.SeverityCritical {
			t.Errorf("incidents = %v, want alice's, critical", kindsOf(open))
		}
	})
}

// The roll-up's threshold counts people, as its Count does: one person with
// many refused fields is one person failing.
func TestRollUpCountsPeople(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{RollUp: 1})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(u hrissync.Update) error {
			for _, f := range []string{hrissync.FieldRole, hrissync.FieldEmail, hrissync.FieldManagerID} {
				if _, ok := u.Fields[f]; ok && slices.ContainsFunc(u.Changes, func(c hrissync.Change) bool { return c.Field == f }) {
					return &hrissync.FieldError{Field: f, Err: errors.New("409 conflict")}
				}
			}
			return nil
		})
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role, e.Email = "Lead", "ally@example.com" })
		r.notify(a.ID)
		r.sleep(time.Minute)
		got := kindsOf(r.alerts.raised())
		if want := []string{"field-parked w-001 high", "field-parked w-001 high"}; !slices.Equal(got, want) {
			t.Errorf("alerts = %q, want each field's page: one person is within the roll-up's 1", got)
		}
	})
}

// A dead letter of attributes alone is low: nobody's access or role is at
// stake.
func TestAttributeDeadLetterIsLow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("400 invalid")) })
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Attributes = map[string]string{"skill.go": "5", "performanceRating": "3"}
		})
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.sleep(time.Minute)
		if got := kindsOf(r.alerts.raised()); !slices.Equal(got, []string{"retries-exhausted w-001 low"}) {
			t.Errorf("alerts = %q, want one low page", got)
		}
	})
}
