package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// The embedded default Store in a file, kept across a restart: the applied
// state and the event ids already seen are still there.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hrissync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")

	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	cfg := &hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := hris.Put("employee.created", hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	ev := hrissync.Event{ID: "evt-1", EmployeeID: "w-42", OccurredAt: rec.Version.Time}

	st, err := sqlite.Open(ctx, path, nil) // creates the file and its schema
	if err != nil {
		panic(err)
	}
	eng, err := hrissync.New(hris, platform, st, cfg)
	if err != nil {
		panic(err)
	}
	if err := eng.Notify(ctx, ev); err != nil {
		panic(err)
	}
	if err := eng.Reconcile(ctx, "w-42"); err != nil {
		panic(err)
	}
	if err := st.Close(); err != nil {
		panic(err)
	}

	// The process restarts.
	st, err = sqlite.Open(ctx, path, nil)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	eng, err = hrissync.New(hris, platform, st, cfg)
	if err != nil {
		panic(err)
	}
	p, _ := st.Person(ctx, eng.Tenant(), "w-42")
	fmt.Println("account:", p.Exists, "role:", p.Applied[hrissync.FieldRole].Value)
	fmt.Println("sender retries evt-1:", eng.Notify(ctx, ev), "duplicates:", eng.Stats().Duplicates)
	// Output:
	// account: true role: Engineer
	// sender retries evt-1: <nil> duplicates: 1
}

// A batched delivery recorded in one commit: each event judged on its own —
// new, a repeat (an id given twice), or refused (an id remembered for
// another event) — and the commits counted.
func ExampleStore_AcceptBatch() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hrissync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		panic(err)
	}
	defer st.Close()

	if _, err := st.Accept(ctx, "acme", store.Acceptance{EventID: "evt-9", Fingerprint: "a", EmployeeID: "w-9"}); err != nil {
		panic(err)
	}
	before := st.Commits()
	res, err := st.AcceptBatch(ctx, "acme", []store.Acceptance{
		{EventID: "evt-1", Fingerprint: "x", EmployeeID: "w-1"},
		{EventID: "evt-2", Fingerprint: "y", EmployeeID: "w-2"},
		{EventID: "evt-1", Fingerprint: "x", EmployeeID: "w-1"}, // the same event again
		{EventID: "evt-9", Fingerprint: "b", EmployeeID: "w-3"}, // another event under a remembered id
	})
	if err != nil {
		panic(err)
	}
	names := map[store.Accepted]string{store.AcceptedNew: "new", store.AcceptedDuplicate: "repeat", store.AcceptedConflict: "refused"}
	for _, r := range res {
		fmt.Println(names[r])
	}
	fmt.Println("commits:", st.Commits()-before)
	// Output:
	// new
	// new
	// repeat
	// refused
	// commits: 1
}
