//go:build ignore

// v4.go wrote v4.db, a Store file in the fourth stored format (migrations
// 0001-0004, before 0005 gave remembered events a fingerprint), for
// TestMigrationFromV4. It was run at commit 8d65bd7, the last whose SQLite
// store wrote that format, from the repository's root:
//
//	go run store/sqlite/testdata/v4.go store/sqlite/testdata/v4.db
//
// Run today it would write the current format: it is kept to say what the
// file holds, not to remake it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

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
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	realtime := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	accept := func(tenant, event, id string, forget time.Duration) func() error {
		return func() error {
			m := realtime
			m.EventID = event
			_, err := st.Accept(ctx, tenant, store.Acceptance{EventID: event, EmployeeID: id, Mark: m, Forget: t0.Add(forget)})
			return err
		}
	}
	steps := []func() error{
		// Two remembered events of acme (one forgotten after a day, one
		// after a week), one of beta under the same id as acme's first.
		accept("acme", "msg_1", "w1", 24*time.Hour),
		accept("acme", "msg_2", "w2", 7*24*time.Hour),
		accept("beta", "msg_1", "b1", 24*time.Hour),
		// w3's access ended: one revocation spent in the window.
		func() error {
			return st.Commit(ctx, "acme", store.Commit{ID: "w3", Exists: true, Active: false, Revoked: "terminated", At: t0,
				Applied: map[string]store.Applied{"email": {Value: "w3@acme.test", Version: hrtype.Version{Time: t0}}}})
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
