package hrissync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sourcetest"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// batchStores are the Stores the batch's order tests run on.
func batchStores() map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return memstore.New() },
	}
}

// night is one engine over its own Store and platform, reading hris (in ID
// order, or shuffled), batch by batch.
type night struct {
	eng      *hrissync.Engine
	platform *memory.Platform
}

func newNight(t *testing.T, st store.Store, clock *clocktest.Clock, src hrissync.Source) night {
	t.Helper()
	platform := memory.NewPlatform(clock, 1)
	eng, err := hrissync.New(src, platform, st, &hrissync.Config{
		Clock: clock, DeletionLimit: hrissync.Budget{Off: true}, TerminationLimit: hrissync.Budget{Off: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return night{eng, platform}
}

// A list given in any order makes exactly the writes the same list in ID
// order makes: the same accounts, fields and activity, the same number of
// writes of each kind — on the first night (everyone created), and on the
// second, after role changes, leavers and hires.
func TestShuffledListWritesAsAnOrderedOne(t *testing.T) {
	// 100,000 people; under -race (as CI runs) or -short, 10,000: the
	// verdict is the same, the race detector's cost is not.
	n := 100_000
	if raceEnabled || testing.Short() {
		n = 10_000
	}
	for name, newStore := range batchStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clock := clocktest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
			hris := memory.NewHRIS(clock, 1)
			hris.Load(sourcetest.People(n)...) // numeric ids: "10" sorts before "9"
			ordered := newNight(t, newStore(t), clock, hris)
			shuffled := newNight(t, newStore(t), clock, sourcetest.Shuffled(hris, 7))
			batch := func(label string) {
				t.Helper()
				for _, x := range []night{ordered, shuffled} {
					if err := x.eng.Batch(ctx); err != nil {
						t.Fatalf("%s: %v", label, err)
					}
				}
				if d := cmp.Diff(ordered.platform.Snapshot(), shuffled.platform.Snapshot()); d != "" {
					t.Fatalf("%s: the platforms differ (-ordered +shuffled):\n%s", label, d)
				}
				if o, s := ordered.platform.Counts(), shuffled.platform.Counts(); o.Writes != s.Writes || !cmp.Equal(o.ByKind, s.ByKind) {
					t.Fatalf("%s: writes %d %v in order, %d %v shuffled", label, o.Writes, o.ByKind, s.Writes, s.ByKind)
				}
			}
			batch("first night")

			clock.AdvanceTo(clock.Now().Add(24 * time.Hour))
			for i := 1; i <= n; i++ {
				id := fmt.Sprint(i)
				switch {
				case i%50 == 0:
					hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" })
				case i%100 == 1:
					hris.Remove(id)
				}
			}
			for i := range n / 100 {
				hire := sourcetest.People(1)[0]
				hire.ID, hire.Email = fmt.Sprint(n+1+i), fmt.Sprintf("hire%d@example.com", i)
				hris.Put("hired", hire)
			}
			batch("second night")
			c := ordered.platform.Counts()
			if want := int64(n + n/50 + n/100 + n/100); c.Writes != want {
				t.Errorf("%d writes in two nights, want %d: everyone created, then the changes, leavers and hires", c.Writes, want)
			}
		})
	}
}
