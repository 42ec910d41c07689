package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// After a crash in the middle of an append, OpenLog cuts the torn line off
// and records the cut; Check reports it as a note, not damage.
func ExampleCheck() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")
	log, _ := audit.OpenLog(context.Background(), path, nil)
	for i := range 3 {
		_ = log.Record(context.Background(), []audit.Entry{{ID: fmt.Sprint("e", i), Tenant: "acme", Action: audit.ActionUpdate}})
	}
	anchors := log.Heads() // what the engine acknowledges into its Store
	log.Close()

	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"tenant":"acme","prev":"9f8`) // the kill came here
	f.Close()

	log, err := audit.OpenLog(context.Background(), path, &audit.LogOptions{Anchors: anchors})
	if err != nil {
		fmt.Println(err)
		return
	}
	log.Close()
	r, _ := audit.Check(audit.CheckOptions{Anchors: anchors}, path)
	for _, f := range r.Findings {
		fmt.Printf("%v: tenant %s entry %d, %d bytes dropped\n", f.Kind, f.Tenant, f.Seq, f.Recovery.BytesDropped)
	}
	fmt.Println("damage:", r.Err())
	// Output:
	// torn tail recovered: tenant acme entry 4, 36 bytes dropped
	// damage: <nil>
}
