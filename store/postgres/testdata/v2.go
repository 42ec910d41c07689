//go:build ignore

// v2.go wrote the schema that v2.sql holds, at version 2 (migrations 0001
// and 0002, before 0003 added the revocations), for TestMigratesVersion2.
// It was run at commit 993167f, the last whose PostgreSQL store wrote that
// format without knowing Store.Revocations, from the repository's root,
// against a throwaway server:
//
//	eval "$(.ci/postgres start)"
//	go run store/postgres/testdata/v2.go
//	pg_dump --inserts --schema=v2dump --no-owner --no-privileges "$HRISSYNC_POSTGRES_URL"
//
// and the dump's comments and blank lines were trimmed. Run today it would
// write the current format: it is kept to say what the dump holds, not to
// remake it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
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
	st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "v2dump"})
	if err != nil {
		return err
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	v := func(sec int) hrtype.Version {
		return hrtype.Version{Time: at.Add(time.Duration(sec) * time.Second), Seq: int64(sec)}
	}
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	account := func(tenant, id string, active bool, sec int) func() error {
		return func() error {
			return st.Commit(ctx, tenant, store.Commit{ID: id, Exists: true, Active: active,
				Applied: map[string]store.Applied{"email": {Value: id + "@" + tenant + ".test", Version: v(sec)}}})
		}
	}
	steps := []func() error{
		// w-1: provisioned, a due time, its audit entry left in the outbox.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w-1", Exists: true, Active: true,
				Applied: map[string]store.Applied{"email": {Value: "w-1@acme.test", Version: v(1)}, "role": {Value: "Engineer", Version: v(2)}},
				Audit:   []audit.Entry{{ID: "entry-1", Tenant: "acme", EmployeeID: "w-1", Action: audit.ActionCreate, Applied: at, Outcome: "applied"}},
				Due:     at.Add(48 * time.Hour)})
		},
		account("acme", "w-2", true, 3),
		// w-3: an account, disabled.
		account("acme", "w-3", false, 4),
		// w-4: an accepted webhook, no account yet.
		func() error {
			m := realtime
			m.EventID, m.MinVersion = "evt-1", v(5)
			_, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "evt-1", EmployeeID: "w-4", Mark: m, Forget: at.Add(24 * time.Hour)})
			return err
		},
		// w-5: retries ran out before any account.
		func() error {
			return st.Fail(ctx, "acme", "w-5", store.Failure{Attempts: 4, Err: "503", At: at, Dead: true}, realtime)
		},
		// w-6: an active account with a write in flight.
		account("acme", "w-6", true, 6),
		func() error { _, err := st.Intend(ctx, "acme", "w-6", realtime); return err },
		// The outbox: entry-0 acknowledged (raising the anchor),
		// entry-1 left.
		func() error {
			return st.AppendAudit(ctx, "acme", []audit.Entry{{ID: "entry-0", Tenant: "acme", Action: audit.ActionRunSummary, Applied: at}})
		},
		func() error { return st.Ack(ctx, "acme", []string{"entry-0"}, audit.Head{Seq: 1, Hash: "h1"}) },
		func() error {
			return st.SaveRun(ctx, "acme", store.BatchRun{ID: "run-1", Status: hrissync.RunSucceeded, Attempt: 1,
				Started: at, Finished: at.Add(time.Minute), Checkpoint: "w-6", Seen: 6, Writes: 4})
		},
		func() error { return st.SetCursor(ctx, "acme", "poll", at) },
		// Another tenant: one active account, one disabled.
		account("beta", "b-1", true, 7),
		account("beta", "b-2", false, 8),
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
