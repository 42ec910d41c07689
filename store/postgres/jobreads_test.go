package postgres_test

// A job's reads and writes (see jobReads and baseRow in queue.go): the
// person's reads that ride along with the lock and the intent, and the
// intent and commit made in one statement from the row as the job last
// read or wrote it. They must end exactly as the usual transactions do,
// and fall back to them whenever anything wrote the row in between.

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

// tracedStore opens a Store on a pool of its own whose round trips trips
// counts.
func tracedStore(t *testing.T) (*postgres.Store, *pgxpool.Pool, string, *roundTrips) {
	t.Helper()
	base, schema := database(t, 4)
	trips := &roundTrips{byStatement: true}
	cfg := base.Config().Copy()
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return open(t, pool, schema), base, schema, trips
}

func jobContext(t *testing.T, st *postgres.Store, id string) context.Context {
	t.Helper()
	ctx, err := postgres.JobContext(context.Background(), st, "t", id)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

var (
	jobT0  = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	jobRun = store.Mark{Since: jobT0, Classes: cadence.Realtime, Trigger: "realtime"}
)

func jobCommit(id string, gen uint64) store.Commit {
	return store.Commit{ID: id, Generation: gen, Exists: true, Active: false,
		Applied: map[string]store.Applied{"email": {Value: id + "@example.com"}},
		Audit:   []audit.Entry{{ID: "e-" + id, EmployeeID: id, Action: "deactivate"}, {ID: "f-" + id, EmployeeID: id, Action: "note"}},
		Revoked: "leavers", At: jobT0.Add(time.Minute)}
}

// reconcileOnce runs a writing reconcile's Store calls for id: read,
// intent, read again, commit.
func reconcileOnce(t *testing.T, ctx context.Context, st *postgres.Store, id string) {
	t.Helper()
	if _, err := st.Person(ctx, "t", id); err != nil {
		t.Fatal(err)
	}
	gen, err := st.Intend(ctx, "t", id, jobRun)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Person(ctx, "t", id); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, "t", jobCommit(id, gen)); err != nil {
		t.Fatal(err)
	}
}

func TestJobWritesEndAsTheUsualOnes(t *testing.T) {
	st, _, _, trips := tracedStore(t)
	ctx := context.Background()
	ev := store.Mark{Since: jobT0, Classes: cadence.Realtime, Trigger: "realtime", EventID: "ev-1"}
	for _, id := range []string{"job", "usual"} {
		if err := st.MarkDirty(ctx, "t", []string{id}, ev); err != nil {
			t.Fatal(err)
		}
	}
	// A first reconcile prepares the statements on the connection.
	if err := st.MarkDirty(ctx, "t", []string{"warm"}, ev); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, jobContext(t, st, "warm"), st, "warm")
	job := jobContext(t, st, "job")
	trips.reset()
	reconcileOnce(t, job, st, "job")
	// Both reads came with the lock and the intent; the intent and the
	// commit are a statement each.
	var list strings.Builder
	trips.list(&list, 1)
	if n := trips.reset(); n != 2 {
		t.Errorf("the job's reconcile made %d round trips, want 2:\n%s", n, list.String())
	}
	reconcileOnce(t, ctx, st, "usual")

	people, err := st.Lookup(ctx, "t", []string{"job", "usual"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Person{}
	for _, p := range people {
		got[p.ID] = p
	}
	want := got["usual"]
	want.ID = "job"
	want.Applied = map[string]store.Applied{"email": {Value: "job@example.com"}}
	if diff := cmp.Diff(want, got["job"], cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the job's commit differs from the usual one (-usual +job):\n%s", diff)
	}
	if got["job"].Dirty.Generation != 0 || got["job"].Exists != true {
		t.Errorf("job: %+v, want clean with an account", got["job"])
	}
	box, err := st.Outbox(ctx, "t", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range box {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]string{"e-warm", "f-warm", "e-job", "f-job", "e-usual", "f-usual"}, ids); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	rv, err := st.Revocations(ctx, "t", jobT0)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Spent["leavers"] != 3 {
		t.Errorf("revocations: %+v, want 3 spent", rv)
	}
}

// A mark made by another replica while the job's write was in flight must
// survive its commit: the single statement finds the row moved, and the
// usual commit clears nothing of a generation it does not own.
func TestJobCommitKeepsAMarkMadeMeanwhile(t *testing.T) {
	st, _, _, _ := tracedStore(t)
	ctx := context.Background()
	if err := st.MarkDirty(ctx, "t", []string{"w"}, jobRun); err != nil {
		t.Fatal(err)
	}
	job := jobContext(t, st, "w")
	if _, err := st.Person(job, "t", "w"); err != nil {
		t.Fatal(err)
	}
	gen, err := st.Intend(job, "t", "w", jobRun)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.Mark{Since: jobT0.Add(time.Second), Classes: cadence.Realtime, Trigger: "realtime", EventID: "ev-meanwhile"}
	if _, err := st.Accept(ctx, "t", store.Acceptance{EventID: "ev-meanwhile", EmployeeID: "w", Mark: ev, Forget: jobT0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(job, "t", jobCommit("w", gen)); err != nil {
		t.Fatal(err)
	}
	p, err := st.Person(ctx, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if p.Dirty.Generation == 0 || p.Dirty.EventID != "ev-meanwhile" || !p.Exists {
		t.Errorf("after the commit: %+v; want the account committed and the mark made meanwhile kept", p)
	}
}

// An intent from a row that moved since the job read it is made the usual
// way: it merges the mark made meanwhile, under a newer generation, and the
// job's next read is the row as written.
func TestJobIntentAfterAMarkMeanwhile(t *testing.T) {
	st, _, _, _ := tracedStore(t)
	ctx := context.Background()
	if err := st.MarkDirty(ctx, "t", []string{"w"}, jobRun); err != nil {
		t.Fatal(err)
	}
	job := jobContext(t, st, "w")
	read, err := st.Person(job, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	ev := store.Mark{Since: jobT0.Add(time.Second), Classes: cadence.Realtime, Trigger: "realtime", EventID: "ev-meanwhile"}
	if err := st.MarkDirty(ctx, "t", []string{"w"}, ev); err != nil {
		t.Fatal(err)
	}
	marked, err := st.Person(ctx, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := st.Intend(job, "t", "w", jobRun)
	if err != nil {
		t.Fatal(err)
	}
	if gen <= marked.Dirty.Generation || marked.Dirty.Generation <= read.Dirty.Generation {
		t.Errorf("generations: read %d, marked meanwhile %d, intent %d; want increasing", read.Dirty.Generation, marked.Dirty.Generation, gen)
	}
	again, err := st.Person(job, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Person(ctx, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, again); diff != "" {
		t.Errorf("the job's read after its intent differs from the row (-stored +read):\n%s", diff)
	}
	if again.Dirty.EventID != "ev-meanwhile" || !again.Dirty.Unsure || again.Dirty.Generation != gen {
		t.Errorf("after the intent: %+v", again.Dirty)
	}
}

// A commit that fails part-way applies nothing: its single statement, or
// the usual transaction whose last batch fails after the row's write.
func TestCommitFailingPartWayAppliesNothing(t *testing.T) {
	for _, inJob := range []bool{true, false} {
		t.Run(map[bool]string{true: "job", false: "usual"}[inJob], func(t *testing.T) {
			st, base, schema, _ := tracedStore(t)
			ctx := context.Background()
			if err := st.MarkDirty(ctx, "t", []string{"w"}, jobRun); err != nil {
				t.Fatal(err)
			}
			run := ctx
			if inJob {
				run = jobContext(t, st, "w")
			}
			gen, err := st.Intend(run, "t", "w", jobRun)
			if err != nil {
				t.Fatal(err)
			}
			before, err := st.Person(ctx, "t", "w")
			if err != nil {
				t.Fatal(err)
			}
			// The revocation, queued after the row's write, fails.
			ddl(t, base, "ALTER TABLE "+schema+".revocations RENAME TO revocations_gone")
			if err := st.Commit(run, "t", jobCommit("w", gen)); err == nil {
				t.Fatal("the commit succeeded without its revocations table")
			}
			ddl(t, base, "ALTER TABLE "+schema+".revocations_gone RENAME TO revocations")
			after, err := st.Person(ctx, "t", "w")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the failed commit changed the person (-before +after):\n%s", diff)
			}
			if box, err := st.Outbox(ctx, "t", 10); err != nil || len(box) != 0 {
				t.Errorf("outbox after the failed commit: %v, %v; want empty", box, err)
			}
		})
	}
}

// A connection lost between the usual commit's two batches (its row locked
// in the first) applies nothing, and leaves nothing locked.
func TestCommitConnectionLostMidTransaction(t *testing.T) {
	base, schema := database(t, 4)
	cut := &cutter{base: base}
	cfg := base.Config().Copy()
	cfg.ConnConfig.Tracer = cut
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := open(t, pool, schema)
	ctx := context.Background()
	if err := st.MarkDirty(ctx, "t", []string{"w"}, jobRun); err != nil {
		t.Fatal(err)
	}
	gen, err := st.Intend(ctx, "t", "w", jobRun)
	if err != nil {
		t.Fatal(err)
	}
	before, err := st.Person(ctx, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	cut.armed.Store(true)
	if err := st.Commit(ctx, "t", jobCommit("w", gen)); err == nil {
		t.Fatal("the commit succeeded on a lost connection")
	}
	if !cut.cut.Load() {
		t.Fatal("the connection was not cut")
	}
	after, err := st.Person(ctx, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the lost commit changed the person (-before +after):\n%s", diff)
	}
	// The row is not left locked: the usual commit goes through.
	if err := st.Commit(ctx, "t", jobCommit("w", gen)); err != nil {
		t.Fatal(err)
	}
	if box, err := st.Outbox(ctx, "t", 10); err != nil || len(box) != 2 {
		t.Errorf("outbox: %d entries, %v; want the one commit's two", len(box), err)
	}
}

// cutter, armed, terminates the server session of the first batch that
// writes a person's row, just before the batch is sent: the transaction
// begun and the row locked by the batch before it are lost with it.
type cutter struct {
	base       *pgxpool.Pool
	armed, cut atomic.Bool
}

func (c *cutter) TraceBatchStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if len(d.Batch.QueuedQueries) > 0 && strings.Contains(d.Batch.QueuedQueries[0].SQL, "UPDATE") && c.armed.CompareAndSwap(true, false) {
		// Waits until the session is gone, so that the batch meets a
		// closed connection rather than racing the termination.
		var gone bool
		err := c.base.QueryRow(ctx, "SELECT pg_terminate_backend($1, 10000)", conn.PgConn().PID()).Scan(&gone)
		c.cut.Store(err == nil && gone)
	}
	return ctx
}

func (c *cutter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *cutter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c *cutter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (c *cutter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func ddl(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// The lock that carries the job's read still excludes: another replica's
// try fails while the job holds it, and succeeds once it is released.
func TestJobLockExcludes(t *testing.T) {
	st, _, _, _ := tracedStore(t)
	ctx := context.Background()
	if err := st.MarkDirty(ctx, "t", []string{"w"}, jobRun); err != nil {
		t.Fatal(err)
	}
	q, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := postgres.NewQueue(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := jobContext(t, st, "w")
	unlock, err := q.Lock(job, "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.Person(job, "t", "w"); err != nil || p.Dirty.Generation == 0 {
		t.Errorf("the job's read after its lock: %+v, %v", p, err)
	}
	if _, ok, err := other.TryLock(ctx, "t", "w"); ok || err != nil {
		t.Fatalf("another replica took the lock the job holds (%v, %v)", ok, err)
	}
	unlock()
	release, ok, err := other.TryLock(ctx, "t", "w")
	if !ok || err != nil {
		t.Fatalf("the lock was not released (%v, %v)", ok, err)
	}
	release()
}
