//go:build ignore

// v5.go wrote the schema that v5.sql holds, at version 5 (migrations
// 0001-0005, before 0006 gave each person's row a checksum and a
// quarantine flag), for TestMigratesVersion5. It was run at commit a3ee2bd,
// the last whose PostgreSQL store wrote that format, from the root of a
// worktree checked out there, against a throwaway server:
//
//	cd /work/wt-pgsum && eval "$(.ci/postgres start)"
//	go run store/postgres/testdata/v5.go
//	pg_dump --inserts --schema=v5dump --no-owner --no-privileges "$HRISSYNC_POSTGRES_URL"
//
// and the dump's comments, blank lines and psql-only \restrict lines were
// trimmed. Its times are fixed and it draws nothing at random. Run today it
// would write the current format: it is kept to say what the dump holds,
// not to remake it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

func main() {
	if err := write(os.Getenv("HRISSYNC_POSTGRES_URL")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func write(url string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "v5dump"})
	if err != nil {
		return err
	}
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	steps := []func() error{
		// w-1: an active account with two fields and a future-dated change.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w-1", Exists: true, Active: true, Due: at.Add(72 * time.Hour),
				Applied: map[string]store.Applied{"email": {Value: "w-1@acme.test", Version: v(1)}, "role": {Value: "dev", Version: v(2)}}})
		},
		// w-2: dirty from a webhook (generation 1), no account yet.
		func() error {
			m := realtime
			m.EventID, m.MinVersion = "e-1", v(3)
			_, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "e-1", EmployeeID: "w-2", Mark: m, Forget: at.Add(24 * time.Hour)})
			return err
		},
		// w-3: an account whose write failed for good (generation 2).
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w-3", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "w-3@acme.test", Version: v(4)}}})
		},
		func() error {
			return st.Fail(ctx, "acme", "w-3", store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}, realtime)
		},
		// w-4: an intent (generation 3, unsure).
		func() error { _, err := st.Intend(ctx, "acme", "w-4", realtime); return err },
		// w-5: an account whose access ended, spending a revocation.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w-5", Exists: true, Active: false, Revoked: "terminated", At: at,
				Applied: map[string]store.Applied{store.AppliedActivity: {Value: "false", Version: v(5)}},
				Audit:   []audit.Entry{{ID: "a-1", Tenant: "acme", EmployeeID: "w-5", Action: "deactivate", Trigger: "batch", Applied: at, Outcome: "applied"}}})
		},
		// b-1: another tenant's active account.
		func() error {
			return st.Commit(ctx, "beta", store.Commit{ID: "b-1", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "b-1@beta.test", Version: v(6)}}})
		},
		// w-1, w-3 and n-1 (no account, no mark: only a listing) shown by a
		// batch run's list.
		func() error {
			return st.Listed(ctx, "acme", []store.Listing{{ID: "w-1", Run: "r1", Digest: "d1"}, {ID: "w-3", Run: "r1", Digest: "d3"},
				{ID: "n-1", Run: "r1", Digest: "dn"}})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
