package hrissync_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

// A leaver beyond the termination budget keeps their access: Explain says
// the record no longer wants it, that the deactivation is what a reconcile
// would make, and that the budget's hold keeps it back — with the id an
// approval takes. Once approved, Explain shows the account deactivated and
// nothing left to do.
func TestExplainShowsAHeldLeaverAndTheDeactivation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 1}})
		ids := hire(r, 4)
		terminate(r, ids[0]) // within the budget
		terminate(r, ids[1]) // held
		held := ids[1]

		x, err := r.eng.Explain(t.Context(), held)
		if err != nil {
			t.Fatal(err)
		}
		if !x.Account.Exists || !x.Account.Active || x.Desired.Access || x.Record == nil || x.Record.Status != hrissync.StatusTerminated {
			t.Errorf("account %+v, desired access %t, record %+v: want an active account the record no longer wants", x.Account, x.Desired.Access, x.Record)
		}
		if len(x.Holds) != 1 || x.Holds[0].ID != "held/terminated" || x.Holds[0].Budget != hrissync.BudgetTerminated || x.Holds[0].Since.IsZero() {
			t.Errorf("holds = %+v, want the terminated budget's", x.Holds)
		}
		if u := x.Next.Update; u == nil || u.Kind != hrissync.Deactivate || u.Active || x.Next.Held != "held/terminated" ||
			!strings.Contains(x.Next.Why, `ApproveDeletions("held/terminated")`) {
			t.Errorf("next step = %+v, want a held deactivation", x.Next)
		}
		if i := slices.IndexFunc(x.Applied, func(a hrissync.AppliedField) bool { return a.Field == hrissync.FieldRole }); i < 0 ||
			x.Applied[i].Value != "Engineer" || x.Applied[i].Version.IsZero() {
			t.Errorf("applied = %+v, want the role with its version", x.Applied)
		}
		if x.Waiting == nil {
			t.Error("a held person is not shown waiting for a reconcile")
		}

		// A third leaver is not held yet: Explain says the budget would
		// hold the deactivation, without spending it.
		r.hr.update(ids[2], func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
		})
		x, err = r.eng.Explain(t.Context(), ids[2])
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Holds) != 0 || x.Next.Held != "held/terminated" || x.Next.Update == nil || x.Next.Update.Kind != hrissync.Deactivate {
			t.Errorf("a leaver the budget would hold: holds %+v, next %+v", x.Holds, x.Next)
		}
		if got := r.eng.Holds()[hrissync.BudgetTerminated]; !slices.Equal(got, []string{held}) {
			t.Errorf("Explain changed the holds: %v", got)
		}

		if err := r.eng.ApproveDeletions(t.Context(), "held/terminated", "ops@example.com", held); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		x, err = r.eng.Explain(t.Context(), held)
		if err != nil {
			t.Fatal(err)
		}
		if x.Account.Active || len(x.Holds) != 0 || x.Next.Update != nil || x.Next.Held != "" {
			t.Errorf("after approval: account %+v, holds %+v, next %+v", x.Account, x.Holds, x.Next)
		}
	})
}

// Explain shows a dead letter's attempts and last error with the write still
// owed, a parked field, a future leaving date as a scheduled deactivation,
// and what the Store holds when the Source is down; someone nobody holds is
// ErrUnknownPerson.
func TestExplainFailuresAndUnknownPeople(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		ids := hire(r, 3)
		dead, parked, leaving := ids[0], ids[1], ids[2]
		refused := errors.New("400 invalid role")
		taken := errors.New("409 uniqueness: email held by another account")
		r.lms.setFail(func(u hrissync.Update) error {
			switch {
			case u.EmployeeID == dead:
				return retry.Permanent(refused)
			case u.Fields[hrissync.FieldEmail] == "taken@example.com":
				return &hrissync.FieldError{Field: hrissync.FieldEmail, Err: taken}
			}
			return nil
		})
		r.hr.update(dead, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(dead)
		r.hr.update(parked, func(e *hrissync.Employee) { e.Email = "taken@example.com" })
		r.notify(parked)
		lastDay := hrissync.DateOf(time.Now().Add(30 * 24 * time.Hour))
		r.hr.update(leaving, func(e *hrissync.Employee) { e.TerminationDate = lastDay })
		r.notify(leaving)

		x, err := r.eng.Explain(t.Context(), dead)
		if err != nil {
			t.Fatal(err)
		}
		if a := x.Attempts; a == nil || !a.Dead || a.Count < 1 || !strings.Contains(a.LastErr, "400 invalid role") {
			t.Errorf("attempts = %+v, want dead-lettered with the platform's error", a)
		}
		if in := x.Incidents; len(in) != 1 || in[0].Incident != "default/dead/"+dead || in[0].Severity != hrissync.SeverityHigh {
			t.Errorf("incidents = %+v, want the dead letter's, high (a role is realtime)", in)
		}
		if u := x.Next.Update; u == nil || u.Kind != hrissync.Modify || len(u.Changes) != 1 || u.Changes[0].New != "Lead" ||
			!strings.Contains(x.Next.Why, "dead-lettered") {
			t.Errorf("next step = %+v, want the role change still owed", x.Next)
		}

		x, err = r.eng.Explain(t.Context(), parked)
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Parked) != 1 || x.Parked[0].Field != hrissync.FieldEmail || !strings.Contains(x.Parked[0].Err, "409") {
			t.Errorf("parked = %+v, want the email", x.Parked)
		}
		if in := x.Incidents; len(in) != 1 || in[0].Kind != hrissync.AlertFieldParked || in[0].EmployeeID != parked {
			t.Errorf("incidents = %+v, want the parked email's", in)
		}
		if x.Next.Update != nil || !strings.Contains(x.Next.Why, "parked") {
			t.Errorf("next step = %+v, want nothing but the parked field", x.Next)
		}

		x, err = r.eng.Explain(t.Context(), leaving)
		if err != nil {
			t.Fatal(err)
		}
		if x.Due.IsZero() || x.DueKind != hrissync.Deactivate || !x.Account.Active || x.Next.Update != nil {
			t.Errorf("due %v (%v), account %+v, next %+v: want a scheduled deactivation and nothing to do now", x.Due, x.DueKind, x.Account, x.Next)
		}

		if _, err := r.eng.Explain(t.Context(), "w-9999"); !errors.Is(err, hrissync.ErrUnknownPerson) {
			t.Errorf("explaining nobody: %v, want ErrUnknownPerson", err)
		}

		down := errors.New("503 HRIS down")
		r.hr.setDown(down)
		x, err = r.eng.Explain(t.Context(), leaving)
		if !errors.Is(err, down) || errors.Is(err, hrissync.ErrUnknownPerson) {
			t.Errorf("explaining with the Source down: %v, want its error", err)
		}
		if !x.Account.Active || len(x.Applied) == 0 || x.Due.IsZero() || x.Record != nil {
			t.Errorf("with the Source down: account %+v, %d applied, record %v: want the Store's part", x.Account, len(x.Applied), x.Record)
		}
	})
}
