//go:build ignore

// v5.go wrote v5.db, a Store file in the fifth stored format (migrations
// 0001-0005, before 0006 gave each person the listing of the last full list
// to show them), for TestMigrationFromV5. It was run at commit 599e2d1, the
// last whose SQLite store wrote that format, from the root of a worktree
// checked out there:
//
//	git worktree add --detach /tmp/v5gen 599e2d1
//	cp store/sqlite/testdata/v5.go /tmp/v5gen/store/sqlite/testdata/
//	cd /tmp/v5gen && go run store/sqlite/testdata/v5.go /tmp/v5.db
//
// Its times are fixed and it draws nothing at random, so run there again
// it writes the same people, marks and generations. Run today it would
// write the current format: it is kept to say what the file holds, not to
// remake it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
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
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	steps := []func() error{
		// w1: an active account with two fields and a future-dated change.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w1", Exists: true, Active: true, Due: t0.Add(72 * time.Hour),
				Applied: map[string]store.Applied{"email": {Value: "w1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}})
		},
		// w2: dirty from a webhook (generation 1), no account yet.
		func() error {
			m := realtime
			m.EventID, m.MinVersion = "e1", v(3)
			_, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e1", EmployeeID: "w2", Mark: m, Forget: t0.Add(24 * time.Hour)})
			return err
		},
		// w3: an account whose write failed for good (generation 2).
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w3", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "w3@acme.test", Version: v(4)}}})
		},
		func() error {
			return st.Fail(ctx, "acme", "w3", store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}, realtime)
		},
		// w4: an intent (generation 3, unsure).
		func() error { _, err := st.Intend(ctx, "acme", "w4", realtime); return err },
		// w5: an account whose access ended, spending a revocation.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w5", Exists: true, Active: false, Revoked: "terminated", At: t0,
				Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}},
				Audit:   []audit.Entry{{ID: "a1", Tenant: "acme", EmployeeID: "w5", Action: "deactivate", Trigger: "batch", Applied: t0, Outcome: "applied"}}})
		},
		// b1: another tenant's active account.
		func() error {
			return st.Commit(ctx, "beta", store.Commit{ID: "b1", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "b1@beta.test", Version: v(6)}}})
		},
		func() error { return st.SetCursor(ctx, "acme", "poll", t0) },
		func() error {
			return st.SaveBatchRun(ctx, "acme", store.BatchRun{ID: "run-1", Status: store.BatchSucceeded, Attempt: 1, Started: t0, Writes: 3})
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
