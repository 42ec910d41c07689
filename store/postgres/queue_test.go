package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

// personJobs counts the River jobs of people in the schema, in any state
// (a finished job stays in the table, completed).
func personJobs(t *testing.T, pool *pgxpool.Pool, schema string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".river_job WHERE kind = 'hrissync_person'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An accepted event inserts its person's job once, in the transaction that
// accepts it: the engine asks the Queue for nothing more, and a second
// event for the person while the job waits adds no job. Run, the job makes
// the one write and finishes; still one job.
func TestOneEventOneJob(t *testing.T) {
	pool, schema := database(t, 8)
	ctx := context.Background()
	st := open(t, pool, schema)
	q, err := postgres.NewQueue(ctx, st, &postgres.QueueOptions{Workers: 4, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	hris.Load(hrissync.Employee{ID: "w-1", Email: "w-1@example.com", Status: hrissync.StatusActive, StartDate: hrissync.DateOf(time.Now()).AddDays(-10)})
	eng, err := hrissync.New(hris, platform, st, &hrissync.Config{Dispatcher: q, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	if err := eng.Notify(ctx, hrissync.Event{ID: "evt-1", EmployeeID: "w-1", Type: "employee.created"}); err != nil {
		t.Fatal(err)
	}
	if n := personJobs(t, pool, schema); n != 1 {
		t.Fatalf("after one event: %d jobs, want 1", n)
	}
	if n := postgres.Waiting(q); n != 0 {
		t.Fatalf("after one event the Queue was asked for %d more, want none (the job is inserted with the event)", n)
	}
	if ready, processing, waiting := q.Len(); ready != 1 || processing != 0 || waiting != 0 {
		t.Errorf("Len = %d ready, %d processing, %d waiting; want 1, 0, 0", ready, processing, waiting)
	}
	if err := eng.Notify(ctx, hrissync.Event{ID: "evt-2", EmployeeID: "w-1", Type: "employee.updated"}); err != nil {
		t.Fatal(err)
	}
	if n, w := personJobs(t, pool, schema), postgres.Waiting(q); n != 1 || w != 0 {
		t.Fatalf("after a second event for the same person: %d jobs and %d asked for, want 1 and none", n, w)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-eng.Started()
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute) // a stall, not a verdict on speed
	defer wcancel()
	if err := eng.WaitIdle(wctx); err != nil {
		t.Fatalf("waiting for the engine to be idle: %v", err)
	}
	if w := platform.Counts().Writes; w != 1 {
		t.Errorf("%d writes, want 1", w)
	}
	if n := personJobs(t, pool, schema); n != 1 {
		t.Errorf("after the reconcile: %d jobs, want 1", n)
	}
	if p, err := st.Person(ctx, "default", "w-1"); err != nil || p.Dirty.Generation != 0 || !p.Exists {
		t.Errorf("w-1 after the reconcile = %+v (%v), want clean with an account", p, err)
	}
}

// The webhook receiver's backlog guard works on PostgreSQL: the engine's
// Backlog is the Queue's count of the tenant's ready jobs, taken at most
// once a second of the engine's Clock, and over the bound a delivery is
// answered 503 with Retry-After and records nothing. The engine does not
// run, so the backlog only grows; the clock is fake, so the second passes
// when the test says.
func TestWebhookBacklogGuard(t *testing.T) {
	pool, schema := database(t, 8)
	ctx := context.Background()
	st := open(t, pool, schema)
	q, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	eng, err := hrissync.New(hris, platform, st, &hrissync.Config{Dispatcher: q, Clock: clock, Tenant: "acme", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// The guard is what is tested: every delivery is taken as authentic.
	pass := webhook.VerifierFunc(func(http.Header, []byte, time.Time) error { return nil })
	h, err := webhook.New(eng, pass, &webhook.Config{Backlog: eng.Backlog, MaxBacklog: 3,
		RetryAfter: 10 * time.Second, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(n int) *httptest.ResponseRecorder {
		body := fmt.Sprintf(`{"id": "evt-%d", "type": "employee.updated", "employeeId": "w-%d", "occurredAt": "2026-03-02T08:00:00Z"}`, n, n)
		r := httptest.NewRequest(http.MethodPost, "/hris/webhooks", bytes.NewBufferString(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	// Five people's events within one second: the first delivery counted
	// an empty backlog, and that count stands for the second.
	for n := 1; n <= 5; n++ {
		if w := deliver(n); w.Code != http.StatusNoContent {
			t.Fatalf("delivery %d: %d %s, want 204", n, w.Code, w.Body)
		}
	}
	if b := eng.Backlog(); b != 0 {
		t.Errorf("Backlog within the second of the first count = %d, want that count, 0", b)
	}
	clock.AdvanceTo(clock.Now().Add(time.Second))
	if b := eng.Backlog(); b != 5 {
		t.Fatalf("Backlog a second later = %d, want the 5 jobs waiting", b)
	}
	w := deliver(6)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "10" {
		t.Fatalf("delivery over the backlog: %d (Retry-After %q), want 503 with Retry-After 10", w.Code, w.Header().Get("Retry-After"))
	}
	if n := personJobs(t, pool, schema); n != 5 {
		t.Errorf("%d jobs after the refused delivery, want 5", n)
	}
	if p, err := st.Person(ctx, "acme", "w-6"); err != nil || p.Dirty.Generation != 0 {
		t.Errorf("the refused delivery's person = %+v (%v), want unmarked", p, err)
	}
	if ready, processing, waiting := q.Len(); ready != 5 || processing != 0 || waiting != 0 {
		t.Errorf("Len = %d ready, %d processing, %d waiting; want 5, 0, 0", ready, processing, waiting)
	}
	// Another tenant's jobs are not this one's backlog.
	other, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hrissync.New(hris, platform, st, &hrissync.Config{Dispatcher: other, Clock: clock, Tenant: "other", Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDirty(ctx, "other", []string{"o-1", "o-2", "o-3", "o-4"}, store.Mark{Since: clock.Now(), Trigger: "poll"}); err != nil {
		t.Fatal(err)
	}
	clock.AdvanceTo(clock.Now().Add(time.Second))
	if b := eng.Backlog(); b != 5 {
		t.Errorf("Backlog with another tenant's people marked = %d, want 5", b)
	}
	if n := personJobs(t, pool, schema); n != 9 {
		t.Errorf("%d jobs with the other tenant's, want 9", n)
	}
}
