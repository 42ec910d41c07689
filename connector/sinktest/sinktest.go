// Package sinktest is the conformance suite for hrissync.Sink
// implementations: what the engine relies on a learning platform connector to
// do. A Sink passes by running
//
//	sinktest.Run(t, func(t *testing.T) sinktest.Harness { … })
//
// where the Harness gives a fresh, empty platform and a way to look inside it.
//
// A Sink that implements hrissync.FieldCarrier is given, and judged on, only
// the fields it carries, as the engine would. The Harness's optional hooks
// make the platform misbehave the way real ones do — drop an attribute it
// does not know, refuse one, throttle — and the cases that need a hook the
// Harness leaves nil are skipped.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/retry"
)

// Activity names the account's activity (active or not) for Harness.Drops
// and Harness.Refuses.
const Activity = "(active)"

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

	// Optional hooks.

	// Restart returns a new Sink over the same platform, as after a
	// process restart: whatever the Sink kept in memory is gone.
	Restart func() hrissync.Sink
	// Drops makes the platform accept every later write yet silently not
	// hold field (a hrissync field name, or Activity): what providers do
	// with an attribute they do not know. The Sink must not report such a
	// write as a success.
	Drops func(field string)
	// Refuses makes the platform refuse, with an error, every later write
	// that would change field.
	Refuses func(field string)
	// Throttle makes the platform answer every later request as
	// throttled, asking for a pause of after (HTTP 429 with Retry-After).
	Throttle func(after time.Duration)
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
		{"ChangedEmail", testChangedEmail},
		{"ClearedValues", testClearedValues},
		{"ClearedManagerIsRemoved", testClearedManager},
		{"AdoptionOfAnInactiveAccountNeverDuplicates", testInactiveAdoption},
		{"AccountOfAnotherWorkerIsNotTaken", testAnotherWorkersAccount},
		{"RestartFindsTheSameAccount", testRestart},
		{"DroppedFieldIsAnError", testDroppedField},
		{"IgnoredDeactivationIsAnError", testIgnoredDeactivation},
		{"DeactivationLandsDespiteARefusedChange", testDeactivationDespiteRefusal},
		{"ThrottleIsRetryAfter", testThrottle},
		{"Engine", testEngine},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newHarness(t)) })
	}
}

var v0 = hrtype.Version{Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Seq: 1}

// Person returns a desired record for id.
func Person(id string) hrissync.Employee {
	return hrissync.Employee{
		ID: id, EmployeeNumber: "N" + id, Email: id + "@example.com", GivenName: "Given " + id, FamilyName: "Family",
		Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: "Engineer",
		Department: "R&D", Location: "Paris", Attributes: map[string]string{"skill.go": "4"}, Version: v0,
	}
}

// carries reports whether h's Sink carries field.
func carries(h Harness, field string) bool {
	if c, ok := h.Sink.(hrissync.FieldCarrier); ok {
		return c.Carries(field)
	}
	return true
}

// fields returns the fields of e that h's Sink carries.
func fields(h Harness, e hrissync.Employee) hrissync.Fields {
	f := e.Fields()
	for k := range f {
		if !carries(h, k) {
			delete(f, k)
		}
	}
	return f
}

// update builds the Update the engine would send h for e: only the fields
// the sink carries.
func update(h Harness, kind hrissync.UpdateKind, e hrissync.Employee, old hrissync.Fields) hrissync.Update {
	f := fields(h, e)
	u := hrissync.Update{Tenant: "t", EmployeeID: e.ID, Kind: kind, Fields: f, Version: e.Version,
		Trigger: hrissync.TriggerRealtime, Active: e.Status != hrissync.StatusTerminated}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if old[k] != f[k] {
			u.Changes = append(u.Changes, hrissync.Change{Field: k, Old: old[k], New: f[k]})
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

// check compares the platform's account with the fields of e the sink
// carries.
func check(t *testing.T, h Harness, e hrissync.Employee, active bool) string {
	t.Helper()
	acc, pid, ok := h.Account(e.ID)
	if !ok {
		t.Fatalf("no account for %s", e.ID)
	}
	if acc.Active != active {
		t.Errorf("%s active = %v, want %v", e.ID, acc.Active, active)
	}
	for k, v := range fields(h, e) {
		if acc.Fields[k] != v {
			t.Errorf("%s %s = %q, want %q", e.ID, k, acc.Fields[k], v)
		}
	}
	return pid
}

func accounts(t *testing.T, h Harness, want int) {
	t.Helper()
	if n := h.Accounts(); n != want {
		t.Errorf("accounts = %d, want %d", n, want)
	}
}

func testCreate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	check(t, h, e, true)
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d, want 1", n)
	}
}

func testUpdate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	old := fields(h, e)
	e.Role, e.Department, e.Attributes = "Lead", "Platform", map[string]string{"skill.go": "5", "performanceRating": "3"}
	e.Version.Seq++
	apply(t, h, update(h, hrissync.Modify, e, old))
	check(t, h, e, true)
}

func testDeactivateReactivate(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	_, first, _ := h.Account(e.ID)
	old := fields(h, e)
	e.Status = hrissync.StatusTerminated
	apply(t, h, update(h, hrissync.Deactivate, e, old))
	check(t, h, e, false)
	old = fields(h, e)
	e.Status = hrissync.StatusActive
	apply(t, h, update(h, hrissync.Reactivate, e, old))
	if pid := check(t, h, e, true); pid != first {
		t.Errorf("the rehire got account %q, want the same account %q", pid, first)
	}
	if n := h.Accounts(); n != 1 {
		t.Errorf("accounts = %d after a rehire, want 1", n)
	}
}

func testAdoption(t *testing.T, h Harness) {
	e := Person("w-1")
	seeded := fields(h, e)
	seeded[hrissync.FieldRole] = "from SSO"
	if err := h.Seed(hrissync.Account{EmployeeID: e.ID, Active: true, Fields: seeded}); err != nil {
		t.Fatal(err)
	}
	_, before, _ := h.Account(e.ID)
	apply(t, h, update(h, hrissync.Create, e, nil))
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
	err := h.Sink.Apply(context.Background(), update(h, hrissync.Create, report, nil))
	var missing *hrissync.MissingManagerError
	if !errors.As(err, &missing) || missing.ManagerID != boss.ID {
		t.Fatalf("creating a report before the manager: %v, want *hrissync.MissingManagerError", err)
	}
	apply(t, h, update(h, hrissync.Create, boss, nil))
	apply(t, h, update(h, hrissync.Create, report, nil))
	check(t, h, report, true)
}

func testIdempotent(t *testing.T, h Harness) {
	e := Person("w-1")
	u := update(h, hrissync.Create, e, nil)
	apply(t, h, u)
	apply(t, h, u) // a repeat after a crash between the write and its commit
	check(t, h, e, true)
	old := fields(h, e)
	e.Status = hrissync.StatusTerminated
	d := update(h, hrissync.Deactivate, e, old)
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
			errs <- h.Sink.Apply(context.Background(), update(h, hrissync.Create, Person(fmt.Sprintf("w-%02d", i)), nil))
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

func testChangedEmail(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	_, first, _ := h.Account(e.ID)
	old := fields(h, e)
	e.Email = "renamed." + e.Email
	e.Version.Seq++
	apply(t, h, update(h, hrissync.Modify, e, old))
	if pid := check(t, h, e, true); pid != first {
		t.Errorf("after an email change the person has account %q, want the same %q", pid, first)
	}
	accounts(t, h, 1)
}

func testClearedValues(t *testing.T, h Harness) {
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	old := fields(h, e)
	e.Role, e.Department, e.FamilyName = "", "", ""
	e.Version.Seq++
	apply(t, h, update(h, hrissync.Modify, e, old))
	check(t, h, e, true)
	old = fields(h, e)
	e.Role, e.Department, e.FamilyName = "Lead", "Platform", "Family"
	e.Version.Seq++
	apply(t, h, update(h, hrissync.Modify, e, old))
	check(t, h, e, true)
}

func testClearedManager(t *testing.T, h Harness) {
	if !carries(h, hrissync.FieldManagerID) {
		t.Skip("the sink does not carry the manager")
	}
	boss, report := Person("w-boss"), Person("w-report")
	report.ManagerID = boss.ID
	apply(t, h, update(h, hrissync.Create, boss, nil))
	apply(t, h, update(h, hrissync.Create, report, nil))
	check(t, h, report, true)
	old := fields(h, report)
	report.ManagerID = ""
	report.Version.Seq++
	apply(t, h, update(h, hrissync.Modify, report, old))
	check(t, h, report, true)
}

// An inactive account the platform holds for the person (a leaver's, made
// by SSO) is either adopted whole or reported; never is a second account
// made beside it.
func testInactiveAdoption(t *testing.T, h Harness) {
	e := Person("w-1")
	if err := h.Seed(hrissync.Account{EmployeeID: e.ID, Active: false, Fields: fields(h, e)}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the engine's retry, if the first was refused
		if err := h.Sink.Apply(context.Background(), update(h, hrissync.Create, e, nil)); err == nil {
			check(t, h, e, true)
		}
		accounts(t, h, 1)
	}
}

// A mailbox reused for a new hire must not hand them a leaver's account.
func testAnotherWorkersAccount(t *testing.T, h Harness) {
	leaver := Person("w-1")
	apply(t, h, update(h, hrissync.Create, leaver, nil))
	old := fields(h, leaver)
	leaver.Status = hrissync.StatusTerminated
	apply(t, h, update(h, hrissync.Deactivate, leaver, old))
	_, first, _ := h.Account(leaver.ID)

	hire := Person("w-2")
	hire.Email = leaver.Email
	err := h.Sink.Apply(context.Background(), update(h, hrissync.Create, hire, nil))
	if acc, pid, ok := h.Account(leaver.ID); !ok || pid != first || acc.Active {
		t.Errorf("the leaver's account after the new hire: %q active=%v found=%v, want %q inactive", pid, acc.Active, ok, first)
	}
	if _, pid, ok := h.Account(hire.ID); ok && pid == first {
		t.Errorf("the new hire was given the leaver's account %q", pid)
	}
	if err == nil {
		check(t, h, hire, true)
	}
}

func testRestart(t *testing.T, h Harness) {
	if h.Restart == nil {
		t.Skip("the Harness has no Restart")
	}
	ctx := context.Background()
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	_, first, _ := h.Account(e.ID)

	// The engine lost its commit and repeats the create after a restart.
	if err := h.Restart().Apply(ctx, update(h, hrissync.Create, e, nil)); err != nil {
		t.Fatalf("repeated create after a restart: %v", err)
	}
	accounts(t, h, 1)
	old := fields(h, e)
	e.Role = "Lead"
	e.Version.Seq++
	if err := h.Restart().Apply(ctx, update(h, hrissync.Modify, e, old)); err != nil {
		t.Fatalf("update after a restart: %v", err)
	}
	old = fields(h, e)
	e.Status = hrissync.StatusTerminated
	if err := h.Restart().Apply(ctx, update(h, hrissync.Deactivate, e, old)); err != nil {
		t.Fatalf("deactivation after a restart: %v", err)
	}
	if pid := check(t, h, e, false); pid != first {
		t.Errorf("account %q, want the same %q", pid, first)
	}
	accounts(t, h, 1)
}

// droppable picks a carried field for the hooks: the role where carried.
func droppable(t *testing.T, h Harness) string {
	for _, f := range []string{hrissync.FieldRole, hrissync.FieldDepartment, hrissync.FieldGivenName, hrissync.FieldEmail} {
		if carries(h, f) {
			return f
		}
	}
	t.Skip("the sink carries none of the usual fields")
	return ""
}

// A platform that acknowledges a write but does not hold a field: the Sink
// must say so, or the engine would record as applied what the platform
// does not hold. A repeat must not make a second account.
func testDroppedField(t *testing.T, h Harness) {
	if h.Drops == nil {
		t.Skip("the Harness has no Drops")
	}
	f := droppable(t, h)
	ctx := context.Background()
	known := Person("w-0")
	apply(t, h, update(h, hrissync.Create, known, nil))
	h.Drops(f)

	old := fields(h, known)
	known.Role, known.Department, known.GivenName, known.Email = "Lead", "Platform", "Renamed", "renamed."+known.Email
	known.Version.Seq++
	if err := h.Sink.Apply(ctx, update(h, hrissync.Modify, known, old)); err == nil {
		t.Errorf("update: the platform dropped %s, yet Apply returned nil", f)
	}
	e := Person("w-1")
	for range 2 { // the create, then the engine's retry
		if err := h.Sink.Apply(ctx, update(h, hrissync.Create, e, nil)); err == nil {
			t.Errorf("create: the platform dropped %s, yet Apply returned nil", f)
		}
	}
	accounts(t, h, 2)
}

func testIgnoredDeactivation(t *testing.T, h Harness) {
	if h.Drops == nil {
		t.Skip("the Harness has no Drops")
	}
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	h.Drops(Activity)
	old := fields(h, e)
	e.Status = hrissync.StatusTerminated
	for range 2 {
		if err := h.Sink.Apply(context.Background(), update(h, hrissync.Deactivate, e, old)); err == nil {
			t.Error("the platform kept the account active, yet the deactivation returned nil")
		}
	}
	if acc, _, _ := h.Account(e.ID); !acc.Active {
		t.Error("the harness's Drops(Activity) did not keep the account active")
	}
}

// A termination carries every changed field; one the platform refuses must
// not take the deactivation down with it.
func testDeactivationDespiteRefusal(t *testing.T, h Harness) {
	if h.Refuses == nil {
		t.Skip("the Harness has no Refuses")
	}
	f := droppable(t, h)
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	before, _, _ := h.Account(e.ID)
	h.Refuses(f)
	old := fields(h, e)
	e.Status = hrissync.StatusTerminated
	e.Role, e.Department, e.GivenName, e.Email = "Lead", "Platform", "Renamed", "renamed."+e.Email
	e.Version.Seq++
	for range 2 { // the write, then the engine's retry
		if err := h.Sink.Apply(context.Background(), update(h, hrissync.Deactivate, e, old)); err == nil {
			t.Errorf("the platform refused %s, yet Apply returned nil", f)
		}
		acc, _, _ := h.Account(e.ID)
		if acc.Active {
			t.Fatal("the account is still active: the refused change took the deactivation down with it")
		}
		if acc.Fields[f] != before.Fields[f] {
			t.Errorf("%s = %q, want the refused change not applied (%q)", f, acc.Fields[f], before.Fields[f])
		}
	}
	accounts(t, h, 1)
}

func testThrottle(t *testing.T, h Harness) {
	if h.Throttle == nil {
		t.Skip("the Harness has no Throttle")
	}
	ctx := context.Background()
	e := Person("w-1")
	apply(t, h, update(h, hrissync.Create, e, nil))
	h.Throttle(0) // "Retry-After: 0": the engine, not the sink, sets a floor
	old := fields(h, e)
	e.Role = "Lead"
	e.Version.Seq++
	for _, u := range []hrissync.Update{update(h, hrissync.Modify, e, old), update(h, hrissync.Create, Person("w-2"), nil)} {
		err := h.Sink.Apply(ctx, u)
		if after, ok := retry.After(err); !ok || after != 0 || retry.IsPermanent(err) {
			t.Errorf("%s under throttling: %v, want a retry.RetryAfter of 0, not permanent", u.Kind, err)
		}
	}
	accounts(t, h, 1)
}
