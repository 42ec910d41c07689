package memory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sinktest"
	"github.com/hrissync/hrissync/retry"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestHRISEventFaults(t *testing.T) {
	clock := clocktest.NewClock(t0)
	h := memory.NewHRIS(clock, 3)
	h.SetEventFaults(memory.EventFaults{Lost: 0.2, Duplicate: 0.3, MaxDelay: time.Minute})
	var got []hrissync.Event
	h.Subscribe(func(ev hrissync.Event) { got = append(got, ev) })
	for i := range 1000 {
		h.Put("employee.updated", hrissync.Employee{ID: "w-1", Role: string(rune('a' + i%26))})
	}
	clock.AdvanceTo(t0.Add(2 * time.Minute))
	lost, sent := 0, 0
	for _, d := range h.Deliveries() {
		if d.Lost {
			lost++
		}
		sent += len(d.Delivered)
	}
	if lost < 150 || lost > 250 {
		t.Errorf("lost %d of 1000, want about 200", lost)
	}
	if sent != len(got) || sent < 1000-lost+200 {
		t.Errorf("delivered %d (sent %d) for %d kept events, want about 30 %% duplicates", len(got), sent, 1000-lost)
	}
	reordered := false
	for i := 1; i < len(got); i++ {
		if got[i].OccurredAt.Before(got[i-1].OccurredAt) || got[i].ID < got[i-1].ID {
			reordered = true
		}
	}
	if !reordered {
		t.Error("no delivery overtook another")
	}
}

func TestHRISOutageAndOrder(t *testing.T) {
	clock := clocktest.NewClock(t0)
	h := memory.NewHRIS(clock, 1)
	h.Load(hrissync.Employee{ID: "w-3"}, hrissync.Employee{ID: "w-1"}, hrissync.Employee{ID: "w-2"})
	var ids []string
	for e, err := range h.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != 3 || ids[0] != "w-1" || ids[2] != "w-3" {
		t.Errorf("List order = %v, want ascending IDs", ids)
	}
	h.AddOutage(memory.Span{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)})
	clock.AdvanceTo(t0.Add(90 * time.Minute))
	if _, err := h.Get(context.Background(), "w-1"); !errors.Is(err, memory.ErrOutage) {
		t.Errorf("Get during outage = %v", err)
	}
	for _, err := range h.ChangedSince(context.Background(), t0) {
		if !errors.Is(err, memory.ErrOutage) {
			t.Errorf("ChangedSince during outage = %v", err)
		}
	}
	clock.AdvanceTo(t0.Add(2 * time.Hour))
	if _, err := h.Get(context.Background(), "w-9"); !errors.Is(err, hrissync.ErrNotFound) {
		t.Errorf("Get unknown = %v, want ErrNotFound", err)
	}
}

func TestPlatformFaultsAndCounts(t *testing.T) {
	clock := clocktest.NewClock(t0)
	p := memory.NewPlatform(clock, 1)
	p.SetFaults(memory.SinkFaults{
		Throttles: []memory.Throttle{{Span: memory.Span{From: t0, To: t0.Add(time.Minute)}, RetryAfter: 20 * time.Second}},
	})
	ctx := context.Background()
	create := hrissync.Update{EmployeeID: "w-1", Kind: hrissync.Create, Active: true,
		Changes: []hrissync.Change{{Field: "role", New: "dev"}}, Fields: hrissync.Fields{"role": "dev"}}
	err := p.Apply(ctx, create)
	if after, ok := retry.After(err); !ok || after != 20*time.Second {
		t.Fatalf("during throttle: %v, want RetryAfter 20s", err)
	}
	clock.AdvanceTo(t0.Add(time.Minute))
	if err := p.Apply(ctx, create); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, create); err != nil { // a repeat: idempotent, wasted
		t.Fatal(err)
	}
	report := hrissync.Update{EmployeeID: "w-2", Kind: hrissync.Create, Active: true, Fields: hrissync.Fields{hrissync.FieldManagerID: "w-9"}}
	var mm *hrissync.MissingManagerError
	if err := p.Apply(ctx, report); !errors.As(err, &mm) || mm.ManagerID != "w-9" {
		t.Errorf("unknown manager: %v, want MissingManagerError", err)
	}
	c := p.Counts()
	if c.Attempts != 4 || c.Writes != 2 || c.Changed != 1 {
		t.Errorf("counts = %+v, want 4 attempts, 2 writes, 1 that changed something", c)
	}
	p.SetFaults(memory.SinkFaults{ErrorRate: 1})
	if err := p.Apply(ctx, create); !errors.Is(err, memory.ErrInjected) {
		t.Errorf("at error rate 1: %v", err)
	}
}

func TestPlatformConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		p := memory.NewPlatform(hrissync.RealClock{}, 1)
		return sinktest.Harness{
			Sink: p,
			Account: func(id string) (hrissync.Account, string, bool) {
				a, ok := p.Account(id)
				return a.Account, id, ok
			},
			Accounts: func() int { return len(p.Snapshot()) },
			Seed:     func(a hrissync.Account) error { p.Seed(a); return nil },
		}
	})
}

// Snapshot is the records as they stood at the clock's now: a change made
// after it is not in the list, and no record is newer than its time.
func TestHRISSnapshot(t *testing.T) {
	clock := clocktest.NewClock(t0)
	h := memory.NewHRIS(clock, 1)
	h.Load(hrissync.Employee{ID: "w-2", Role: "a"}, hrissync.Employee{ID: "w-1", Role: "a"})
	clock.AdvanceTo(t0.Add(time.Hour))
	asOf, list, err := h.Snapshot(context.Background())
	if err != nil || !asOf.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Snapshot = %v, %v; want the clock's now", asOf, err)
	}
	clock.AdvanceTo(t0.Add(2 * time.Hour))
	h.Put("employee.updated", hrissync.Employee{ID: "w-1", Role: "b"})
	var ids []string
	for e, err := range list {
		if err != nil {
			t.Fatal(err)
		}
		if e.Role != "a" || asOf.Before(e.Version.Time) {
			t.Errorf("%s: %+v, newer than the snapshot's %v", e.ID, e, asOf)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != 2 || ids[0] != "w-1" || ids[1] != "w-2" {
		t.Errorf("ids = %v, want w-1, w-2", ids)
	}
	h.AddOutage(memory.Span{From: t0, To: t0.Add(24 * time.Hour)})
	if _, _, err := h.Snapshot(context.Background()); !errors.Is(err, memory.ErrOutage) {
		t.Errorf("Snapshot in an outage = %v", err)
	}
}

// A report can refer to a manager only if the platform holds the manager:
// one who left before ever being provisioned has no account, and no
// reference to them is owed. One with an account, even disabled, is owed.
func TestDiffOwesNoReferenceToAManagerWithoutAccount(t *testing.T) {
	clock := clocktest.NewClock(t0)
	h := memory.NewHRIS(clock, 1)
	p := memory.NewPlatform(clock, 1)
	left := hrissync.DateOf(t0).AddDays(-2)
	h.Load(
		hrissync.Employee{ID: "w-1", Status: hrissync.StatusTerminated, TerminationDate: left},
		hrissync.Employee{ID: "w-2", Status: hrissync.StatusActive, ManagerID: "w-1"},
	)
	put := func(u hrissync.Update) {
		t.Helper()
		if err := p.Apply(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	put(hrissync.Update{EmployeeID: "w-2", Kind: hrissync.Create, Active: true,
		Changes: []hrissync.Change{{Field: hrissync.FieldStatus, New: string(hrissync.StatusActive)}}})
	if d := memory.Diff(h, p, t0); len(d) != 0 {
		t.Errorf("differences %q, want none: the manager left before having an account", d)
	}
	p.Seed(hrissync.Account{EmployeeID: "w-1"}) // a disabled account
	if d := memory.Diff(h, p, t0); len(d) != 1 || !strings.HasPrefix(d[0], "w-2 fields") {
		t.Errorf("differences %q, want w-2's missing manager reference", d)
	}
}
