package hrissync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/hrtype"
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
