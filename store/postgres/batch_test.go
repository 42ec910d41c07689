package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

// statements records the SQL a pool runs, to count its transactions.
type statements struct {
	mu  sync.Mutex
	sql []string
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, strings.ToLower(strings.TrimSpace(d.SQL)))
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the statements run since the last take.
func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sql
	s.sql = nil
	return out
}

// oneTransaction reports whether sql is one transaction: begun first,
// committed last, nothing outside it, nothing else begun or committed.
func oneTransaction(sql []string) bool {
	if len(sql) < 2 || !strings.HasPrefix(sql[0], "begin") || sql[len(sql)-1] != "commit" {
		return false
	}
	for _, q := range sql[1 : len(sql)-1] {
		if strings.HasPrefix(q, "begin") || q == "commit" || q == "rollback" {
			return false
		}
	}
	return true
}

// tracedPool is a pool on the test server whose statements are recorded
// (River's migration takes two connections).
func tracedPool(t *testing.T) (*pgxpool.Pool, *statements) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(os.Getenv(urlVar))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	tr := &statements{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, tr
}

// TestAcceptBatchIsOneTransaction: a batch of 100 events is recorded in one
// transaction (its statements counted: one begin, one commit, nothing
// outside), replayed too; Accept takes one per event.
func TestAcceptBatchIsOneTransaction(t *testing.T) {
	_, schema := database(t, 2) // the schema, and its cleanup
	pool, tr := tracedPool(t)
	st := open(t, pool, schema)
	ctx := context.Background()
	forget := time.Now().Add(time.Hour)
	evs := make([]store.Acceptance, 100)
	for i := range evs {
		evs[i] = store.Acceptance{EventID: fmt.Sprint("evt-", i), Fingerprint: "f", EmployeeID: fmt.Sprint("w-", i), Forget: forget}
	}
	for _, replay := range []bool{false, true} {
		tr.take()
		res, err := st.AcceptBatch(ctx, "t", evs)
		if err != nil {
			t.Fatal(err)
		}
		if sql := tr.take(); !oneTransaction(sql) {
			t.Errorf("AcceptBatch of 100 events (replayed %v) is not one transaction: %d statements, %d begun, %d committed",
				replay, len(sql), count(sql, "begin"), count(sql, "commit"))
		}
		want := store.AcceptedNew
		if replay {
			want = store.AcceptedDuplicate
		}
		for i, r := range res {
			if r != want {
				t.Fatalf("event %d (replayed %v): %v, want %v", i, replay, r, want)
			}
		}
	}
	// The count counts: one by one, a transaction each.
	tr.take()
	for _, ev := range evs[:3] {
		ev.EventID += "-again"
		if _, err := st.Accept(ctx, "t", ev); err != nil {
			t.Fatal(err)
		}
	}
	if sql := tr.take(); oneTransaction(sql) || count(sql, "commit") != 3 {
		t.Errorf("3 Accepts one after another: %d committed, want 3", count(sql, "commit"))
	}
}

func count(sql []string, prefix string) int {
	n := 0
	for _, q := range sql {
		if strings.HasPrefix(q, prefix) {
			n++
		}
	}
	return n
}

// TestNotifyBatchInsertsJobsInItsTransaction: with a Queue as the
// Dispatcher, a batch's people have their jobs inserted in the batch's one
// transaction, one job per person however many of their events it holds;
// the engine asks the Queue for nothing more; a replay adds no job.
func TestNotifyBatchInsertsJobsInItsTransaction(t *testing.T) {
	plain, schema := database(t, 2)
	pool, tr := tracedPool(t)
	st := open(t, pool, schema)
	ctx := context.Background()
	q, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := hrissync.RealClock{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), st,
		&hrissync.Config{Dispatcher: q, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]hrissync.Event, 100)
	for i := range evs {
		evs[i] = hrissync.Event{ID: fmt.Sprint("evt-", i), EmployeeID: fmt.Sprint("w-", i%60), Type: "employee.updated"}
	}
	for _, replay := range []bool{false, true} {
		tr.take()
		errs, err := eng.NotifyBatch(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("event %d (replayed %v): %v", i, replay, err)
			}
		}
		if sql := tr.take(); !oneTransaction(sql) {
			t.Errorf("NotifyBatch (replayed %v) is not one transaction: %d statements, %d begun, %d committed",
				replay, len(sql), count(sql, "begin"), count(sql, "commit"))
		}
		if n, w := personJobs(t, plain, schema), postgres.Waiting(q); n != 60 || w != 0 {
			t.Errorf("after the batch (replayed %v): %d jobs and %d asked for, want 60 (one per person) and none", replay, n, w)
		}
	}
}

// TestMarkDirtyOnePersonTwiceWithAQueue: MarkDirty naming a person twice,
// with a Queue bound, inserts one job (River inserts a batch in one
// statement, which may not touch a job twice: it failed the whole).
func TestMarkDirtyOnePersonTwiceWithAQueue(t *testing.T) {
	pool, schema := database(t, 8)
	st := open(t, pool, schema)
	ctx := context.Background()
	q, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := hrissync.RealClock{}
	if _, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), st,
		&hrissync.Config{Dispatcher: q, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDirty(ctx, "default", []string{"w-1", "w-2", "w-1"}, store.Mark{Trigger: "poll"}); err != nil {
		t.Fatal(err)
	}
	if n := personJobs(t, pool, schema); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}
