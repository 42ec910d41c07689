package memory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// An HRIS whose webhooks arrive twice and a platform that is down for ten
// minutes, on a fake clock: what a host's own test of its wiring looks like.
func Example() {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := clocktest.NewClock(t0) // nothing happens until it is advanced
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)

	// The scripted faults.
	hris.SetEventFaults(memory.EventFaults{Duplicate: 1})
	platform.SetFaults(memory.SinkFaults{Outages: []memory.Span{{From: t0, To: t0.Add(10 * time.Minute)}}})

	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Clock:  clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	hris.Subscribe(func(ev hrissync.Event) { // the webhook endpoint
		fmt.Println("webhook", ev.ID, ev.Type, ev.EmployeeID, eng.Notify(ctx, ev))
	})

	hris.Put("employee.created", hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive})
	clock.AdvanceTo(t0) // deliver what is due now
	fmt.Println("events:", eng.Stats().Events, "duplicates:", eng.Stats().Duplicates)

	// Reconcile stands in for the engine's workers.
	err = eng.Reconcile(ctx, "w-42")
	fmt.Println("during the outage:", errors.Is(err, memory.ErrOutage))
	clock.AdvanceTo(t0.Add(10 * time.Minute))
	fmt.Println("after it:", eng.Reconcile(ctx, "w-42"))

	c := platform.Counts()
	fmt.Println("attempts:", c.Attempts, "writes:", c.Writes)
	fmt.Println("in step:", len(memory.Diff(hris, platform, clock.Now())) == 0)
	// Output:
	// webhook evt-1 employee.created w-42 <nil>
	// webhook evt-1 employee.created w-42 <nil>
	// events: 1 duplicates: 1
	// during the outage: true
	// after it: <nil>
	// attempts: 2 writes: 1
	// in step: true
}
