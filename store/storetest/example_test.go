package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
	"github.com/hrissync/hrissync/store/storetest"
)

// A Store's author runs the suite from a test in the Store's package, giving
// it a new, empty Store each time: here a SQLite file in the subtest's
// temporary directory, closed when the subtest ends.
func ExampleRun() {
	testConformance := func(t *testing.T) { // func TestConformance(t *testing.T)
		storetest.Run(t, func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	}
	_ = testConformance
}
