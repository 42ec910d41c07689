//go:build unix

package hrissync_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

// The workload of BenchmarkSinks: benchPeople people provisioned before the
// timer starts; each batch iteration changes benchChanged of them (a batch
// field) and runs a full Batch; each webhooks iteration changes benchBurst of
// them (a realtime field) and notifies each change, then waits for the engine
// to be idle.
const (
	benchPeople  = 2000
	benchChanged = 100 // 5 %
	benchBurst   = 100
)

// benchNever keeps the engine's own schedules (the 02:00 batch, the hourly poll)
// out of a benchmark run on the real clock.
var benchNever = cadence.ScheduleFunc(func(t time.Time) time.Time { return t.AddDate(10, 0, 0) })

// sinksBench is one arrangement under test: the engines a host runs, the
// counted Source they read and the platforms they write.
type sinksBench struct {
	src       *countingSource
	engines   []*hrissync.Engine
	platforms []*memory.Platform
}

// BenchmarkSinks measures the cost of a second sink: one engine with one
// sink (New), one engine with two sinks (NewMulti), and two engines of one
// sink each on one Store, each its own tenant (the workaround NewMulti
// replaces), over the same people and changes. Both sinks take everyone
// on the same policy, so that two sinks need exactly twice one sink's
// writes and the arrangements differ only in how they get there.
//
//	go test -run '^$' -bench Sinks -count 6 .
func BenchmarkSinks(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return memstore.New() }},
		{"sqlite", func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
	}
	arrangements := []struct {
		name  string
		build func(b *testing.B, src *countingSource, st store.Store) sinksBench
	}{
		{"one-sink", func(b *testing.B, src *countingSource, st store.Store) sinksBench {
			p := memory.NewPlatform(hrissync.RealClock{}, 1)
			e, err := hrissync.New(src, p, st, benchConfig(""))
			if err != nil {
				b.Fatal(err)
			}
			return sinksBench{src: src, engines: []*hrissync.Engine{e}, platforms: []*memory.Platform{p}}
		}},
		{"two-sinks", func(b *testing.B, src *countingSource, st store.Store) sinksBench {
			lms, lxp := memory.NewPlatform(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 2)
			e, err := hrissync.NewMulti(src, []hrissync.Destination{{Name: "lms", Sink: lms}, {Name: "lxp", Sink: lxp}},
				st, benchConfig(""))
			if err != nil {
				b.Fatal(err)
			}
			return sinksBench{src: src, engines: []*hrissync.Engine{e}, platforms: []*memory.Platform{lms, lxp}}
		}},
		{"two-engines", func(b *testing.B, src *countingSource, st store.Store) sinksBench {
			lms, lxp := memory.NewPlatform(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 2)
			e1, err := hrissync.New(src, lms, st, benchConfig("lms"))
			if err != nil {
				b.Fatal(err)
			}
			e2, err := hrissync.New(src, lxp, st, benchConfig("lxp"))
			if err != nil {
				b.Fatal(err)
			}
			return sinksBench{src: src, engines: []*hrissync.Engine{e1, e2}, platforms: []*memory.Platform{lms, lxp}}
		}},
	}
	for _, s := range stores {
		for _, w := range []string{"batch", "webhooks"} {
			for _, a := range arrangements {
				b.Run(s.name+"/"+w+"/"+a.name, func(b *testing.B) {
					sb := a.build(b, newBenchSource(), s.open(b))
					sb.start(b)
					if w == "batch" {
						sb.benchBatch(b)
					} else {
						sb.benchWebhooks(b)
					}
				})
			}
		}
	}
}

func benchConfig(tenant string) *hrissync.Config {
	return &hrissync.Config{Tenant: tenant, Logger: slog.New(slog.DiscardHandler), BatchSchedule: benchNever, PollSchedule: benchNever}
}

func newBenchSource() *countingSource {
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	depts := []string{"R&D", "Sales", "Support", "Finance"}
	for i := range benchPeople {
		id := fmt.Sprintf("w-%05d", i)
		hris.Load(hrissync.Employee{ID: id, EmployeeNumber: fmt.Sprint(i), Email: id + "@example.com",
			GivenName: "Given", FamilyName: "Family", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2015, 1, 5), Role: "Engineer", Department: depts[i%len(depts)],
			Location: "Paris"})
	}
	return &countingSource{HRIS: hris}
}

// start runs the engines, provisions everyone (outside the timer) and checks
// that every platform holds everyone.
func (sb *sinksBench) start(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, len(sb.engines))
	for _, e := range sb.engines {
		wg.Go(func() {
			if err := e.Run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
			}
		})
	}
	// Registered after the Store's Close: runs before it.
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Error(err)
		}
	})
	for _, e := range sb.engines {
		select {
		case <-e.Started():
		case err := <-errs:
			b.Fatal(err)
		}
	}
	sb.batch(b)
	for _, p := range sb.platforms {
		if n := len(p.Snapshot()); n != benchPeople {
			b.Fatalf("a platform holds %d accounts after the first batch, want %d", n, benchPeople)
		}
	}
}

// batch runs a full Batch on every engine at once, as the engines'
// schedules would, and waits for them to be idle.
func (sb *sinksBench) batch(b *testing.B) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, len(sb.engines))
	for i, e := range sb.engines {
		wg.Go(func() {
			if errs[i] = e.Batch(ctx); errs[i] == nil {
				errs[i] = e.WaitIdle(ctx)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// counts are the Source reads and platform writes so far.
func (sb *sinksBench) counts() (gets, lists, writes int64) {
	for _, p := range sb.platforms {
		writes += p.Counts().Writes
	}
	return sb.src.gets.Load(), sb.src.lists.Load(), writes
}

// benchCPUTime is the CPU time (user and system) the process has used so far: on
// a shared machine, a measure that other processes' load disturbs less than
// the elapsed time. It counts the untimed changes between iterations too,
// the same for every arrangement.
func benchCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report divides the reads and writes since before by the iterations, and
// checks that every change reached every platform.
func (sb *sinksBench) report(b *testing.B, cpu0 time.Duration, gets0, lists0, writes0 int64, changedPerOp int) {
	gets, lists, writes := sb.counts()
	n := float64(b.N)
	b.ReportMetric(float64(benchCPUTime(b)-cpu0)/n, "cpu-ns/op")
	b.ReportMetric(float64(gets-gets0)/n, "source-gets/op")
	b.ReportMetric(float64(lists-lists0)/n, "source-lists/op")
	b.ReportMetric(float64(writes-writes0)/n, "writes/op")
	if want := int64(b.N * changedPerOp * len(sb.platforms)); writes-writes0 != want {
		b.Errorf("%d writes for %d iterations, want %d (every change to every platform once)", writes-writes0, b.N, want)
	}
}

// benchBatch: each iteration changes a batch field of benchChanged people
// (outside the timer) and runs the full Batch.
func (sb *sinksBench) benchBatch(b *testing.B) {
	cpu0 := benchCPUTime(b)
	gets0, lists0, writes0 := sb.counts()
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		for i := range benchChanged {
			id := fmt.Sprintf("w-%05d", (round*benchChanged+i)%benchPeople)
			if _, err := sb.src.Update("employee.updated", id, func(e *hrissync.Employee) {
				e.Location = fmt.Sprintf("Site %d", round)
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		sb.batch(b)
	}
	sb.report(b, cpu0, gets0, lists0, writes0, benchChanged)
}

// benchWebhooks: each iteration changes a realtime field of benchBurst people
// (outside the timer), notifies every engine of each change, and waits
// until the engines are idle.
func (sb *sinksBench) benchWebhooks(b *testing.B) {
	ctx := context.Background()
	cpu0 := benchCPUTime(b)
	gets0, lists0, writes0 := sb.counts()
	round := 0
	events := make([]hrissync.Event, benchBurst)
	for b.Loop() {
		b.StopTimer()
		round++
		for i := range benchBurst {
			id := fmt.Sprintf("w-%05d", (round*benchBurst+i)%benchPeople)
			e, err := sb.src.Update("employee.updated", id, func(e *hrissync.Employee) {
				e.Role = fmt.Sprintf("Role %d", round)
			})
			if err != nil {
				b.Fatal(err)
			}
			events[i] = hrissync.Event{ID: fmt.Sprintf("evt-%d", e.Version.Seq), EmployeeID: id,
				Type: "employee.updated", OccurredAt: e.Version.Time}
		}
		b.StartTimer()
		for _, ev := range events {
			for _, e := range sb.engines {
				if err := e.Notify(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, e := range sb.engines {
			if err := e.WaitIdle(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	sb.report(b, cpu0, gets0, lists0, writes0, benchBurst)
}
