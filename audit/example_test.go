package audit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/audit"
)

func Example() {
	var log audit.Memory
	e := audit.Entry{
		ID: "t1/w-42/1", Tenant: "t1", EmployeeID: "w-42", Action: audit.ActionDeactivate,
		Changes:       []audit.Change{{Field: "status", Old: "active", New: "terminated"}},
		Trigger:       "realtime",
		SourceChanged: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),
		Applied:       time.Date(2026, 3, 6, 0, 0, 2, 0, time.UTC),
		Attempts:      1, Outcome: "applied",
	}
	// The engine may hand the same entry over twice after a crash.
	_ = log.Record(context.Background(), []audit.Entry{e})
	_ = log.Record(context.Background(), []audit.Entry{e})
	for _, e := range log.Entries() {
		fmt.Println(e.EmployeeID, e.Action, e.Changes[0].New, e.Applied.Sub(e.SourceChanged))
	}
	// Output:
	// w-42 deactivate terminated 2s
}
