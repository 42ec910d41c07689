package memory_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// The in-memory Store behind an engine, read back as the engine leaves it:
// dirty once an event is accepted, clean with the applied fields once the
// person is reconciled.
func Example() {
	ctx := context.Background()
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	st := memstore.New()
	eng, err := hrissync.New(hris, platform, st, &hrissync.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}

	rec := hris.Put("employee.created", hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	ev := hrissync.Event{ID: "evt-1", EmployeeID: "w-42", OccurredAt: rec.Version.Time}
	if err := eng.Notify(ctx, ev); err != nil {
		panic(err)
	}
	p, _ := st.Person(ctx, eng.Tenant(), "w-42")
	fmt.Println("after Notify: dirty", p.Dirty.Generation != 0, "event", p.Dirty.EventID, "account", p.Exists)

	if err := eng.Reconcile(ctx, "w-42"); err != nil {
		panic(err)
	}
	p, _ = st.Person(ctx, eng.Tenant(), "w-42")
	fmt.Println("after Reconcile: dirty", p.Dirty.Generation != 0, "account", p.Exists, "role", p.Applied[hrissync.FieldRole].Value)
	// Output:
	// after Notify: dirty true event evt-1 account false
	// after Reconcile: dirty false account true role Engineer
}
