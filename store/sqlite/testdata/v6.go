//go:build ignore

// v6.go wrote v6.db, a Store file in the sixth stored format (migrations
// 0001-0006, before 0007 kept a summary of each person's applied fields),
// for TestMigrationFromV6: v5.go's people, with listings. It was run at
// commit 7bf0b8a, the last whose SQLite store wrote that format, from the
// root of a copy of the tree there:
//
//	mkdir /tmp/v6gen && git archive 7bf0b8a | tar -x -C /tmp/v6gen
//	cp store/sqlite/testdata/v6.go /tmp/v6gen/store/sqlite/testdata/
//	cd /tmp/v6gen && go run store/sqlite/testdata/v6.go /tmp/v6.db
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
		// The run listed w1, w3 and n1 (whom the file holds for the
		// listing alone); a poll's listing then gave w5 a digest.
		func() error {
			return st.Listed(ctx, "acme", []store.Listing{{ID: "w1", Run: "run-1/1", Digest: "d1"},
				{ID: "w3", Run: "run-1/1", Digest: "d3"}, {ID: "n1", Run: "run-1/1", Digest: "dn"}})
		},
		func() error { return st.Listed(ctx, "acme", []store.Listing{{ID: "w5", Digest: "d5"}}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			st.Close()
			return err
		}
	}
	return st.Close()
}
