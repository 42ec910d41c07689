package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
	"github.com/hrissync/hrissync/store/storetest"
)

func open(t *testing.T, path string, opts *sqlite.Options) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	})
}

func TestConformancePowerLossDurability(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "state.db"), &sqlite.Options{Durability: sqlite.SurvivePowerLoss})
	})
}

// TestConformanceDamage flips what a row holds with SQL behind the Store's
// back (SQLite has no XOR: (a | b) - (a & b) is one), then opens the file
// again, which checks it.
func TestConformanceDamage(t *testing.T) {
	paths := map[store.Store]string{}
	flips := map[storetest.Flip]string{
		storetest.FlipVersion:    "applied = replace(applied, ',1]', ',9]')",
		storetest.FlipActive:     "active = 1 - active",
		storetest.FlipDue:        "due = (due | (1 << 50)) - (due & (1 << 50))",
		storetest.FlipGeneration: "dirty_gen = (dirty_gen | 4) - (dirty_gen & 4)",
	}
	storetest.RunDamage(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "state.db")
		st := open(t, path, nil)
		paths[st] = path
		return st
	}, func(t *testing.T, s store.Store, tenant, id string, f storetest.Flip) store.Store {
		st := s.(*sqlite.Store)
		stmt := "UPDATE people SET " + flips[f] + " WHERE tenant = '" + tenant + "' AND id = '" + id + "'"
		if err := errors.Join(st.ExecForTest(context.Background(), stmt), st.Close()); err != nil {
			t.Fatalf("flipping %s: %v", f, err)
		}
		return open(t, paths[s], nil)
	})
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Accept(ctx, "t", store.Acceptance{EventID: "e1", EmployeeID: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path, nil)
	dup, err := st.Accept(ctx, "t", store.Acceptance{EventID: "e1", EmployeeID: "w1"})
	if err != nil || !dup {
		t.Fatalf("after reopening: duplicate=%v err=%v, want the event remembered", dup, err)
	}
	if p, _ := st.Person(ctx, "t", "w1"); p.Dirty.Generation == 0 {
		t.Error("dirty mark lost across reopen")
	}
}

// TestPathsWithURICharacters: a path holding what a file: URI reads as an
// escape or its end ("%", "?", "#") opens the file it names.
func TestPathsWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a%21b?c#d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	st := open(t, path, nil)
	if _, err := st.Accept(context.Background(), "t", store.Acceptance{EventID: "e1", EmployeeID: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the file the path names: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path, nil)
	st.Close()
	// A newer hrissync migrated the file further.
	raw, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.ExecForTest(context.Background(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := sqlite.Open(context.Background(), path, nil); !errors.Is(err, sqlite.ErrNewerSchema) {
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
}
