//go:build ignore

// v1.go wrote v1.db, a Store file in the first stored format (migration
// 0001 only), for TestMigrationFromV1. It was run at commit 557fb45, the
// last before migration 0002, from the repository's root:
//
//	go run store/sqlite/testdata/v1.go store/sqlite/testdata/v1.db
//
// Run today it would write the current format: it is kept to say what the
// file holds, not to remake it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store/sqlite"
)

func main() {
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func write(path string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return err
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	steps := []func() error{
		// w1: provisioned, a field each side of a version, a due time,
		// and its audit entry left in the outbox.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w1", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}},
				Audit:   []audit.Entry{{ID: "a1", Tenant: "acme", EmployeeID: "w1", Action: audit.ActionCreate, Applied: t0, Outcome: "applied"}},
				Due:     t0.Add(72 * time.Hour)})
		},
		// w2: an accepted webhook, its event id remembered until t0+24h.
		func() error {
			m := realtime
			m.EventID, m.MinVersion = "e1", v(3)
			_, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w2", Mark: m, Forget: t0.Add(24 * time.Hour)})
			return err
		},
		// w3: retries ran out.
		func() error {
			return st.Fail(ctx, "acme", "w3", store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}, realtime)
		},
		// w4: a write in flight.
		func() error { _, err := st.Intend(ctx, "acme", "w4", realtime); return err },
		func() error {
			return st.AppendAudit(ctx, "acme", []audit.Entry{{ID: "run-1", Tenant: "acme", Action: audit.ActionRunSummary, Applied: t0}})
		},
		func() error {
			return st.SaveRun(ctx, "acme", store.BatchRun{ID: "run-1", Status: hrissync.RunSucceeded, Attempt: 1,
				Started: t0, Finished: t0.Add(time.Minute), Checkpoint: "w4", Seen: 4, Writes: 1})
		},
		func() error { return st.SetCursor(ctx, "acme", "poll", t0.Add(time.Hour)) },
		// Another tenant, to see that the migration keeps them apart.
		func() error {
			return st.Commit(ctx, "beta", store.Commit{ID: "w1", Exists: true,
				Applied: map[string]store.Applied{"role": {Value: "ops", Version: v(5)}}})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			st.Close()
			return err
		}
	}
	return st.Close()
}
