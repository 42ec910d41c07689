//go:build ignore

// v3.go wrote v3.db, a Store file in the third stored format (migrations
// 0001-0003, before 0004 added the revocations), for TestMigrationFromV3.
// It was run at commit 993167f, the last whose SQLite store wrote that
// format without knowing Store.Revocations (the interface gained it in the
// next commit), from the repository's root:
//
//	go run store/sqlite/testdata/v3.go store/sqlite/testdata/v3.db
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
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	active := func(tenant, id string, on bool, sec int) func() error {
		return func() error {
			return st.Commit(ctx, tenant, store.Commit{ID: id, Exists: true, Active: on,
				Applied: map[string]store.Applied{"email": {Value: id + "@" + tenant + ".test", Version: v(sec)}}})
		}
	}
	steps := []func() error{
		// w1: provisioned, a due time, its audit entry left in the outbox.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w1", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}},
				Audit:   []audit.Entry{{ID: "a1", Tenant: "acme", EmployeeID: "w1", Action: audit.ActionCreate, Applied: t0, Outcome: "applied"}},
				Due:     t0.Add(72 * time.Hour)})
		},
		active("acme", "w2", true, 3),
		// w3: an account, disabled.
		active("acme", "w3", false, 4),
		// w4: an accepted webhook, no account yet.
		func() error {
			m := realtime
			m.EventID, m.MinVersion = "e1", v(5)
			_, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w4", Mark: m, Forget: t0.Add(24 * time.Hour)})
			return err
		},
		// w5: retries ran out before any account.
		func() error {
			return st.Fail(ctx, "acme", "w5", store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}, realtime)
		},
		// w6: an active account with a write in flight.
		active("acme", "w6", true, 6),
		func() error { _, err := st.Intend(ctx, "acme", "w6", realtime); return err },
		// The outbox: a0 acknowledged (raising the anchor), a1 and
		// run-1 left.
		func() error {
			return st.AppendAudit(ctx, "acme", []audit.Entry{{ID: "a0", Tenant: "acme", Action: audit.ActionRunSummary, Applied: t0}})
		},
		func() error { return st.Ack(ctx, "acme", []string{"a0"}, audit.Head{Seq: 1, Hash: "hash-1"}) },
		func() error {
			return st.AppendAudit(ctx, "acme", []audit.Entry{{ID: "run-1", Tenant: "acme", Action: audit.ActionRunSummary, Applied: t0}})
		},
		func() error {
			return st.SaveRun(ctx, "acme", store.BatchRun{ID: "run-1", Status: hrissync.RunSucceeded, Attempt: 1,
				Started: t0, Finished: t0.Add(time.Minute), Checkpoint: "w6", Seen: 6, Writes: 4})
		},
		func() error { return st.SetCursor(ctx, "acme", "poll", t0.Add(time.Hour)) },
		// Another tenant: one active account, one disabled.
		active("beta", "b1", true, 7),
		active("beta", "b2", false, 8),
	}
	for _, step := range steps {
		if err := step(); err != nil {
			st.Close()
			return err
		}
	}
	return st.Close()
}
