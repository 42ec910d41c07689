package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync/audit"
)

// A person HR re-keyed twice (c-1 → e-1 → x-1) is one history: asking for
// any of the ids finds all three, and nobody else.
func TestAliasesFollowReKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.OpenLog(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	entry := func(id, employee, action string, changes ...audit.Change) audit.Entry {
		return audit.Entry{ID: id, Tenant: "default", EmployeeID: employee, Action: action, Changes: changes,
			Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied"}
	}
	err = log.Record(ctx, []audit.Entry{
		entry("1", "c-1", audit.ActionCreate, audit.Change{Field: "role", New: "Contractor"}),
		entry("2", "w-9", audit.ActionCreate, audit.Change{Field: "role", New: "Engineer"}),
		entry("3", "e-1", audit.ActionRekey, audit.Change{Field: audit.ChangeEmployeeID, Old: "c-1", New: "e-1"}),
		entry("4", "x-1", audit.ActionRekey, audit.Change{Field: audit.ChangeEmployeeID, Old: "e-1", New: "x-1"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := audit.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, asked := range []string{"c-1", "e-1", "x-1"} {
		ids, err := aliases(files, asked, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]bool{"c-1": true, "e-1": true, "x-1": true}, ids); d != "" {
			t.Errorf("aliases of %s (-want +got):\n%s", asked, d)
		}
	}
	if ids, _ := aliases(files, "w-9", ""); len(ids) != 1 {
		t.Errorf("aliases of w-9: %v, want w-9 alone", ids)
	}
}
