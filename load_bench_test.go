package hrissync_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store/sqlite"
)

// loadSource is an HRIS of n people computed on the fly, as the bench
// example's: person i reports to person i/8, and the list is in ID order.
type loadSource struct{ n int }

func (g loadSource) record(i int) hrissync.Employee {
	id := fmt.Sprintf("p%07d", i)
	e := hrissync.Employee{ID: id, EmployeeNumber: strconv.Itoa(100000 + i), Email: id + "@example.com",
		GivenName: "Given", FamilyName: "Family", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6),
		Role: "Engineer", Department: "R&D", Location: "Paris",
		Attributes: map[string]string{"skill.go": strconv.Itoa(1 + i%5)},
		Version:    hrtype.Version{Time: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)}}
	if i > 0 {
		e.ManagerID = fmt.Sprintf("p%07d", i/8)
	}
	return e
}

func (g loadSource) Get(_ context.Context, id string) (hrissync.Employee, error) {
	i, err := strconv.Atoi(id[1:])
	if err != nil || i >= g.n {
		return hrissync.Employee{}, hrissync.ErrNotFound
	}
	return g.record(i), nil
}

func (g loadSource) List(context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		for i := range g.n {
			if !yield(g.record(i), nil) {
				return
			}
		}
	}
}

func (g loadSource) ChangedSince(context.Context, time.Time) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		yield(hrissync.Employee{}, hrissync.ErrChangedSinceUnsupported)
	}
}

// BenchmarkInitialLoad is the Store's side of an initial load (issue 30):
// one batch over an empty SQLite store, everyone new, the sink a counter —
// as examples/bench's "initial load" column, at a size a profile can take.
// Each iteration loads loadPeople people into a fresh file.
func BenchmarkInitialLoad(b *testing.B) {
	const loadPeople = 20_000
	ctx := context.Background()
	for i := range b.N {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("load%d.db", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		var writes atomic.Int64
		sink := hrissync.SinkFunc(func(context.Context, hrissync.Update) error { writes.Add(1); return nil })
		eng, err := hrissync.New(loadSource{n: loadPeople}, sink, st, &hrissync.Config{Concurrency: 16,
			Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
			DeletionLimit: hrissync.Budget{Count: loadPeople, Share: 1}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := eng.Batch(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := writes.Load(); got != loadPeople {
			b.Fatalf("%d writes, want %d", got, loadPeople)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*loadPeople), "µs/person")
}
