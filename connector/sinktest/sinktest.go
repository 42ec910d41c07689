// Package sinktest is the conformance suite for hrissync.Sink
// implementations: what the engine relies on a learning platform connector to
// do. A Sink passes by running
//
//	sinktest.Run(t, func(t *testing.T) sinktest.Harness { … })
//
// where the Harness gives a fresh, empty platform and a way to look inside it.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
)

// Harness is one empty platform behind the Sink under test.
type Harness struct {
	Sink hrissync.Sink
	// Account returns what the platform holds for a worker, with its
	// fields under hrissync's Field names, and the platform's own id of
	// the account.
	Account func(employeeID string) (acc hrissync.Account, platformID string, ok bool)
	// Accounts counts the accounts the platform holds.
	Accounts func() int
	// Seed puts an account in the platform that hrissync did not create —
	// made by SSO or a CSV import — with a's fields, bound to no worker
	// where the platform has such a notion.
	Seed func(a hrissync.Account) error
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Create", testCreate},
		{"Update", testUpdate},
		{"DeactivateReactivate", testDeactivateReactivate},
		{"Adoption", testAdoption},
		{"ManagerReference", testManagerReference},
		{"IdempotentReapply", testIdempotent},
		{"ConcurrentApplies", testConcurrent},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newHarness(t)) })
	}
}

var v0 = hrissync.Version{Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Seq: 1}

// Person returns a desired record for id.
func Person(id string) hrissync.Employee {
	return hrissync.Employee{
		ID: id, EmployeeNumber: "N" + id, Email: id + "@example.com", GivenName: "Given " + id, FamilyName: "Family",
		Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: "Engineer",
		Department: "R&D", Location: "Paris", Attributes: map[string]string{"skill.go": "4"}, Version: v0,
	}
}

// update builds the Update the engine would send for e.
func update(kind hrissync.UpdateKind, e hrissync.Employee, old hrissync.Fields) hrissync.Update {
	f := e.Fields()
	u := hrissync.Update{Tenant: "t", EmployeeID: e.ID, Kind: kind, Fields: f, Version: e.Version,
		Trigger: hrissync.TriggerRealtime, Active: e.Status != hrissync.StatusTerminated}
	for k, v := range f {
		if old[k] != v {
			u.Changes = append(u.Changes, hrissync.Change{Field: k, Old: old[k], New: v})
		}
	}
	return u
}

func apply(t *testing.T, h Harness, u hrissync.Update) {
	t.Helper()
	if err := h.Sink.Apply(context.Background(), u); err != nil {
		t.Fatalf("Apply %s %s: %v", u.Kind, u.EmployeeID, err)
	}
}

// check compares the platform's account with e's fields.
func check(t *testing.T, h Harness, e hrissync.Employee, active bool) string {
	t.Helper()
	acc, pid, ok := h.Account(e.ID)
	if !ok {
		t.Fatalf("no account for %s", e.ID)
	}
	if acc.Active != active {
		t.Errorf("%s active = %v, want %v", e.ID, acc.Active, active)
	}
	for k, v := range e.Fields() {
		if acc.Fields[k] != v {
			t.Errorf("%s %s = %q, want %q", e.ID, k, acc.Fields[k], v)
		}
	}
	return pid
}

func testCreate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(hrissync.Create, e, nil))
	check(t, h, e, true)
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d, want 1", n)
	}
}

func testUpdate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(hrissync.Create, e, nil))
	old := e.Fields()
	e.Role, e.Department, e.Attributes = "Lead", "Platform", map[string]string{"skill.go": "5", "performanceRating": "3"}
	e.Version.Seq++
	apply(t, h, update(hrissync.Modify, e, old))
	check(t, h, e, true)
}

func testDeactivateReactivate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(hrissync.Create, e, nil))
	_, first, _ := h.Account(e.ID)
	old := e.Fields()
	e.Status = hrissync.StatusTerminated
	apply(t, h, update(hrissync.Deactivate, e, old))
	check(t, h, e, false)
	old = e.Fields()
	e.Status = hrissync.StatusActive
	apply(t, h, update(hrissync.Reactivate, e, old))
	if pid := check(t, h, e, true); pid != first {
		t.Errorf("the rehire got account %q, want the same account %q", pid, first)
	}
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d after a rehire, want 1", n)
	}
}

func testAdoption(t *testing.T, h Harness) {
	e := Person("w-1")
	seeded := e.Fields()
	seeded[hrissync.FieldRole] = "from SSO"
	if err := h.Seed(hrissync.Account{EmployeeID: e.ID, Active: true, Fields: seeded}); err != nil {
		t.Fatal(err)
	}
	_, before, _ := h.Account(e.ID)
	apply(t, h, update(hrissync.Create, e, nil))
	if pid := check(t, h, e, true); before != "" && pid != before {
		t.Errorf("adopted account %q, want the seeded %q", pid, before)
	}
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d: the existing account was not adopted", n)
	}
}

func testManagerReference(t *testing.T, h Harness) {
	boss, report := Person("w-boss"), Person("w-report")
	report.ManagerID = boss.ID
	err := h.Sink.Apply(context.Background(), update(hrissync.Create, report, nil))
	var missing *hrissync.MissingManagerError
	if !errors.As(err, &missing) || missing.ManagerID != boss.ID {
		t.Fatalf("creating a report before the manager: %v, want *hrissync.MissingManagerError", err)
	}
	apply(t, h, update(hrissync.Create, boss, nil))
	apply(t, h, update(hrissync.Create, report, nil))
	check(t, h, report, true)
}

func testIdempotent(t *testing.T, h Harness) {
	e := Person("w-1")
	u := update(hrissync.Create, e, nil)
	apply(t, h, u)
	apply(t, h, u) // a repeat after a crash between the write and its commit
	check(t, h, e, true)
	old := e.Fields()
	e.Status = hrissync.StatusTerminated
	d := update(hrissync.Deactivate, e, old)
	apply(t, h, d)
	apply(t, h, d)
	check(t, h, e, false)
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d after repeats, want 1", n)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- h.Sink.Apply(context.Background(), update(hrissync.Create, Person(fmt.Sprintf("w-%02d", i)), nil))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := h.Accounts(); got != n {
		t.Errorf("accounts = %d, want %d", got, n)
	}
	for i := range n {
		check(t, h, Person(fmt.Sprintf("w-%02d", i)), true)
	}
}
