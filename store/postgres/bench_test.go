package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
	"github.com/hrissync/hrissync/store/sqlite"
)

const benchPeople = 3000

// BenchmarkReconciles measures reconciles per second when every person is
// dirty (a burst of webhooks, or the sweep after downtime): 1, 2 and 3
// replicas on one PostgreSQL with River, and the embedded default (SQLite,
// the in-process queue) for comparison. Each replica creates every account
// it reconciles in the memory platform.
//
//	go test ./store/postgres -run '^$' -bench Reconciles -benchtime 1x -count 5
//
// A pattern matches a name level by level, split at its slashes, so the
// settings of BENCHMARKS.md's table are two runs ('(sqlite|postgres/.*)'
// alone matches sqlite only):
//
//	go test ./store/postgres -run '^$' -bench 'Reconciles/postgres/.*/.*/cooldown=20ms' -benchtime 1x -count 5
//	go test ./store/postgres -run '^$' -bench 'Reconciles/sqlite' -benchtime 1x -count 5
//
// The settings compared: River's fetch cooldown at the Queue's default
// (20 ms) with 8 and 32 workers per replica, and a 2 ms cooldown with 32
// and 64, to see whether fetching is the limit.
//
// Beside reconciles/s, the PostgreSQL runs report roundtrips/reconcile:
// every statement, batch and prepare sent on the replicas' pools (the
// Store's, River's and the advisory locks') from the end of the marking
// until the last account exists, divided by the people (see roundTrips).
// With -v each run also lists them by statement.
func BenchmarkReconciles(b *testing.B) {
	for _, set := range []struct {
		workers  int
		cooldown time.Duration
	}{{8, 20 * time.Millisecond}, {32, 20 * time.Millisecond}, {32, 2 * time.Millisecond}, {64, 2 * time.Millisecond}} {
		for _, n := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("postgres/replicas=%d/workers=%d/cooldown=%s", n, set.workers, set.cooldown), func(b *testing.B) {
				for b.Loop() {
					benchReplicas(b, n, set.workers, set.cooldown)
				}
			})
		}
	}
	b.Run("sqlite", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.StartTimer()
			measure(b, st, []store.Dispatcher{nil}, 8, nil)
		}
	})
}

func benchReplicas(b *testing.B, n, workers int, cooldown time.Duration) {
	b.StopTimer()
	base, schema := database(b, 4)
	trips := &roundTrips{byStatement: testing.Verbose()}
	traced := func(conns int32) *pgxpool.Pool {
		cfg := base.Config().Copy()
		cfg.MaxConns = conns
		cfg.ConnConfig.Tracer = trips
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return pool
	}
	st := open(b, traced(4), schema)
	var queues []store.Dispatcher
	for i := range n {
		rpool := traced(int32(workers + 8))
		q, err := postgres.NewQueue(context.Background(), open(b, rpool, schema), &postgres.QueueOptions{Name: fmt.Sprint("replica-", i), Workers: workers, FetchCooldown: cooldown})
		if err != nil {
			b.Fatal(err)
		}
		queues = append(queues, q)
	}
	b.StartTimer()
	measure(b, st, queues, workers, trips)
}

// measure marks everyone dirty, runs an engine per dispatcher (nil: the
// default) until every account exists, and reports reconciles per second,
// and with trips the round trips per reconcile.
func measure(b *testing.B, st store.Store, dispatchers []store.Dispatcher, workers int, trips *roundTrips) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	ids := make([]string, benchPeople)
	for i := range ids {
		ids[i] = fmt.Sprintf("w-%05d", i)
		hris.Load(hrissync.Employee{ID: ids[i], Email: ids[i] + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.DateOf(time.Now()).AddDays(-10)})
	}
	var engines []*hrissync.Engine
	for _, d := range dispatchers {
		eng, err := hrissync.New(hris, platform, st, &hrissync.Config{
			Dispatcher: d, Concurrency: workers, Logger: slog.New(slog.DiscardHandler),
			PollSchedule: cadence.Every(24 * time.Hour), BatchSchedule: cadence.Every(24 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		engines = append(engines, eng)
	}
	b.StartTimer()
	start := time.Now()
	// Marked in pages, as a webhook burst would: with River, each page's
	// jobs are inserted in the marking transaction.
	for i := 0; i < len(ids); i += 500 {
		if err := st.MarkDirty(ctx, "default", ids[i:min(i+500, len(ids))], store.Mark{Since: start, Classes: cadence.All, Trigger: "realtime"}); err != nil {
			b.Fatal(err)
		}
	}
	if trips != nil {
		trips.reset() // the marking's are not the reconciles'
	}
	done := make(chan error, len(engines))
	for _, eng := range engines {
		go func() { done <- eng.Run(ctx) }()
	}
	for platform.Counts().Writes < benchPeople {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if trips != nil {
		if testing.Verbose() {
			var list strings.Builder
			trips.list(&list, benchPeople)
			b.Logf("round trips per reconcile, by statement:\n%s", list.String())
		}
		b.ReportMetric(float64(trips.reset())/benchPeople, "roundtrips/reconcile")
	}
	cancel()
	for range engines {
		<-done
	}
	b.ReportMetric(benchPeople/elapsed.Seconds(), "reconciles/s")
	b.StartTimer()
}

// BenchmarkWrites measures one person's writes, one at a time, each a
// transaction on a loopback server: latency-bound, so the round trips per
// write show. Every write reads its row and writes it back whole with its
// checksum (person.go).
//
//	go test ./store/postgres -run '^$' -bench Writes -count 5
func BenchmarkWrites(b *testing.B) {
	ctx := context.Background()
	pool, schema := database(b, 4)
	st := open(b, pool, schema)
	realtime := store.Mark{Since: time.Now(), Classes: cadence.Realtime, Trigger: "realtime"}
	applied := map[string]store.Applied{"email": {Value: "w@example.com"}, "role": {Value: "dev"}}
	b.Run("Intend", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.Intend(ctx, "t", fmt.Sprintf("w-%d", i%benchPeople), realtime); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Commit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := st.Commit(ctx, "t", store.Commit{ID: fmt.Sprintf("w-%d", i%benchPeople), Exists: true, Active: true, Applied: applied}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Person", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.Person(ctx, "t", fmt.Sprintf("w-%d", i%benchPeople)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
