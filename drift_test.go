package hrissync_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// TestDriftFoundAndRepaired: accounts changed by hand in the platform — a
// field edited, an account disabled, a leaver's account re-enabled, one
// deleted, one made up — are found; the repair restores what HR says and
// leaves the made-up account alone.
func TestDriftFoundAndRepaired(t *testing.T) {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	for i := range 10 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"})
	}
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := hris.Update("leave", "w-0003", func(e *hrissync.Employee) { e.TerminationDate = hrissync.NewDate(2021, 1, 1) }); err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil { // the leaver's account is disabled
		t.Fatal(err)
	}
	edit := func(id string, f func(*hrissync.Account)) {
		a, ok := platform.Account(id)
		if !ok {
			t.Fatalf("no account %s", id)
		}
		f(&a.Account)
		platform.Seed(a.Account)
	}
	edit("w-0001", func(a *hrissync.Account) { a.Fields[hrissync.FieldRole] = "Hacker" })
	edit("w-0002", func(a *hrissync.Account) { a.Active = false })
	edit("w-0003", func(a *hrissync.Account) { a.Active = true }) // a leaver let back in
	platform.Delete("w-0004")
	platform.Seed(hrissync.Account{EmployeeID: "x-admin", Active: true, Fields: hrissync.Fields{"email": "admin@example.com"}})
	writes := platform.Counts().Attempts

	found, err := eng.CheckDrift(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	want := hrissync.Drift{
		Changed: map[string][]string{"w-0001": {hrissync.FieldRole}, "w-0002": {"active"}, "w-0003": {"active"}},
		Unknown: []string{"x-admin"},
		Missing: []string{"w-0004"},
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Fatalf("drift (-want +got):\n%s", diff)
	}
	if n := platform.Counts().Attempts; n != writes {
		t.Fatalf("checking wrote %d times", n-writes)
	}

	repaired, err := eng.CheckDrift(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"w-0001", "w-0002", "w-0003", "w-0004"}, repaired.Repaired); diff != "" || len(repaired.Failed) != 0 {
		t.Fatalf("repaired (-want +got):\n%s\nfailed: %v", diff, repaired.Failed)
	}
	for id, active := range map[string]bool{"w-0001": true, "w-0002": true, "w-0003": false, "w-0004": true} {
		a, ok := platform.Account(id)
		if !ok || a.Active != active || (active && a.Fields[hrissync.FieldRole] != "Engineer") {
			t.Errorf("%s after repair: %+v (exists %v), want active=%v role Engineer", id, a.Account, ok, active)
		}
	}
	if _, ok := platform.Account("x-admin"); !ok {
		t.Error("the repair removed an account the engine does not know")
	}
	again, err := eng.CheckDrift(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Changed) != 0 || len(again.Missing) != 0 || len(again.Unknown) != 1 {
		t.Errorf("drift after the repair: %+v", again)
	}
}
