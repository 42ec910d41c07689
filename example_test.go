package hrissync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/retry"
	memstore "github.com/hrissync/hrissync/store/memory"
)

func Example() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)         // the Source
	platform := memory.NewPlatform(clock, 1) // the Sink
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Policy: cadence.Hybrid(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}

	hris.Load(hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	_ = eng.Reconcile(ctx, "w-42") // what a webhook for w-42 leads to
	_ = eng.Reconcile(ctx, "w-42") // a repeat changes nothing

	hris.Update("employee.terminated", "w-42", func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
	_ = eng.Reconcile(ctx, "w-42")

	acc, _ := platform.Account("w-42")
	c := platform.Counts()
	fmt.Println("active:", acc.Active, "status:", acc.Fields[hrissync.FieldStatus])
	fmt.Println("writes:", c.Writes, "create:", c.ByKind[hrissync.Create], "deactivate:", c.ByKind[hrissync.Deactivate])
	// Output:
	// active: false status: terminated
	// writes: 2 create: 1 deactivate: 1
}

// An engine running as a host runs it: Run in its own goroutine, each HR
// change handed to Notify (what a webhook handler does), and Shutdown on the
// way out.
func ExampleEngine_Run() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(ctx) }()
	<-eng.Started()

	// notify is the webhook: "look at this person now".
	notify := func(typ string, rec hrissync.Employee) {
		err := eng.Notify(ctx, hrissync.Event{
			ID: fmt.Sprintf("evt-%d", rec.Version.Seq), EmployeeID: rec.ID, Type: typ, OccurredAt: rec.Version.Time,
		})
		if err != nil {
			panic(err)
		}
		if err := eng.WaitIdle(ctx); err != nil { // the workers have applied it
			panic(err)
		}
		acc, _ := platform.Account(rec.ID)
		fmt.Println(typ+":", "active", acc.Active, "role", acc.Fields[hrissync.FieldRole])
	}

	notify("employee.created", hris.Put("employee.created", hrissync.Employee{
		ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive, Role: "Engineer",
	}))
	rec, _ := hris.Update("employee.updated", "w-42", func(e *hrissync.Employee) { e.Role = "Lead" })
	notify("employee.updated", rec)
	rec, _ = hris.Update("employee.terminated", "w-42", func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
	notify("employee.terminated", rec)

	// Like an http.Server's, a Run stopped by Shutdown returns ErrClosed.
	fmt.Println("shutdown:", eng.Shutdown(ctx), "run:", <-runErr)
	// Output:
	// employee.created: active true role Engineer
	// employee.updated: active true role Lead
	// employee.terminated: active false role Lead
	// shutdown: <nil> run: hrissync: engine closed
}

// An Employee in JSON: camelCase names, dates as YYYY-MM-DD, the version as
// an RFC 3339 time and its sequence, empty fields left out.
func ExampleEmployee_MarshalJSON() {
	e := hrissync.Employee{
		ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive,
		StartDate: hrissync.NewDate(2026, 1, 5), Attributes: map[string]string{"skill.go": "4"},
		Version: hrtype.Version{Time: time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC), Seq: 3},
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {
	//   "id": "w-42",
	//   "email": "ada@example.com",
	//   "status": "active",
	//   "startDate": "2026-01-05",
	//   "attributes": {
	//     "skill.go": "4"
	//   },
	//   "version": "2026-03-02T09:15:00Z",
	//   "versionSeq": 3
	// }
}

// Why does a leaver still have access? Explain says: the record no longer
// wants it, and the deactivation a reconcile would make is held by the
// termination budget until an operator approves it.
func ExampleEngine_Explain() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		TerminationLimit: hrissync.Budget{Count: 1}, // one leaver a day, then hold
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"w-1", "w-2"} {
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
		_ = eng.Reconcile(ctx, id)
	}
	for _, id := range []string{"w-1", "w-2"} {
		hris.Update("employee.terminated", id, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		_ = eng.Reconcile(ctx, id)
	}

	x, err := eng.Explain(ctx, "w-2")
	if err != nil {
		panic(err)
	}
	fmt.Println("record:", x.Record.Status, "access wanted:", x.Desired.Access, "account active:", x.Account.Active)
	for _, a := range x.Applied {
		if a.Value != "" {
			fmt.Println("applied:", a.Field, a.Value)
		}
	}
	for _, h := range x.Holds {
		fmt.Println("held by:", h.ID)
	}
	fmt.Println("next:", x.Next.Update.Kind, "held:", x.Next.Held)

	_, err = eng.Explain(ctx, "w-3")
	fmt.Println("w-3:", errors.Is(err, hrissync.ErrUnknownPerson))
	// Output:
	// record: terminated access wanted: false account active: true
	// applied: email w-2@example.com
	// applied: role Engineer
	// applied: status active
	// held by: held/terminated
	// next: deactivate held: held/terminated
	// w-3: true
}

// pager opens an incident on Alert and closes it on Resolve, matched by
// Incident, as a pager's deduplication key would be.
type pager struct{}

func (pager) Alert(_ context.Context, a hrissync.Alert) {
	fmt.Println("page:", a.Incident, a.Severity, a.EmployeeID)
}

func (pager) Resolve(_ context.Context, a hrissync.Alert) {
	fmt.Println("resolved:", a.Incident)
}

// An Alerter that is also a Resolver hears when each incident ends: here a
// leaver's deactivation is refused, pages as critical, and resolves once the
// platform takes it.
func ExampleResolver() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	refusing := false
	sink := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
		if refusing {
			return retry.Permanent(errors.New("403 forbidden"))
		}
		return platform.Apply(ctx, u)
	})
	eng, err := hrissync.New(hris, sink, memstore.New(), &hrissync.Config{
		Alerter:   pager{},
		GroupWait: -1, // page at once; a host keeps the default 30 s
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	hris.Load(hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive})
	_ = eng.Reconcile(ctx, "w-42")

	refusing = true
	hris.Update("employee.terminated", "w-42", func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
	fmt.Println("reconcile:", eng.Reconcile(ctx, "w-42"))

	refusing = false
	fmt.Println("reconcile:", eng.Reconcile(ctx, "w-42"))
	// Output:
	// page: default/dead/w-42 critical w-42
	// reconcile: 403 forbidden
	// resolved: default/dead/w-42
	// reconcile: <nil>
}

// HR converts a contractor to an employee under a new worker id, naming the
// old one: the account moves to the new id, and the old id's termination
// touches nothing.
func ExampleEmployee_previousIDs() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1) // a Rekeyer, as the SCIM sink is
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	hris.Load(hrissync.Employee{ID: "c-7", Email: "kim@example.com", Status: hrissync.StatusActive, Role: "Contractor"})
	_ = eng.Reconcile(ctx, "c-7")

	hris.Load(hrissync.Employee{ID: "e-1", PreviousIDs: []string{"c-7"}, Email: "kim@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	hris.Update("employee.terminated", "c-7", func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
	_ = eng.Reconcile(ctx, "e-1")
	_ = eng.Reconcile(ctx, "c-7")

	for id, a := range platform.Snapshot() {
		fmt.Println(id, "active:", a.Active, "role:", a.Fields[hrissync.FieldRole])
	}
	c := platform.Counts()
	fmt.Println("deactivations:", c.ByKind[hrissync.Deactivate])
	// Output:
	// e-1 active: true role: Engineer
	// deactivations: 0
}
