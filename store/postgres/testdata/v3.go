//go:build ignore

// v3.go wrote the schema that v3.sql holds, at version 3 (migrations
// 0001-0003, before 0004 gave remembered events a fingerprint), for
// TestMigratesVersion3. It was run at commit 8d65bd7, the last whose
// PostgreSQL store wrote that format, from the repository's root, against
// a throwaway server:
//
//	eval "$(.ci/postgres start)"
//	go run store/postgres/testdata/v3.go
//	pg_dump --inserts --schema=v3dump --no-owner --no-privileges "$HRISSYNC_POSTGRES_URL"
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
	st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "v3dump"})
	if err != nil {
		return err
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	realtime := store.Mark{Since: at, Classes: cadence.Realtime, Trigger: "realtime"}
	accept := func(tenant, event, id string, forget time.Duration) func() error {
		return func() error {
			m := realtime
			m.EventID = event
			_, err := st.Accept(ctx, tenant, store.Acceptance{EventID: event, EmployeeID: id, Mark: m, Forget: at.Add(forget)})
			return err
		}
	}
	steps := []func() error{
		// Two remembered events of acme (one forgotten after a day, one
		// after a week), one of beta under the same id as acme's first.
		accept("acme", "msg_1", "w-1", 24*time.Hour),
		accept("acme", "msg_2", "w-2", 7*24*time.Hour),
		accept("beta", "msg_1", "b-1", 24*time.Hour),
		// w-3's access ended: one revocation spent in the window.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w-3", Exists: true, Active: false, Revoked: "terminated", At: at,
				Applied: map[string]store.Applied{"email": {Value: "w-3@acme.test", Version: hrtype.Version{Time: at}}}})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
