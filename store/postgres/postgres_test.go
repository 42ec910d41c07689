package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store/postgres"
	"github.com/hrissync/hrissync/store/storetest"
)

// urlVar names the PostgreSQL server the tests use; .ci/run starts one and
// sets it.
const urlVar = "HRISSYNC_POSTGRES_URL"

var schemas atomic.Int64

// database returns a pool on the test server and a schema of the test's own,
// dropped at the end. Without the server the test is skipped.
func database(t testing.TB, conns int32) (*pgxpool.Pool, string) {
	t.Helper()
	url := os.Getenv(urlVar)
	if url == "" {
		t.Skip(urlVar + " is not set: start a server with `eval \"$(.ci/postgres start)\"` (as .ci/run does) to run the PostgreSQL tests")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
		if err != nil {
			t.Error(err)
		}
	})
	return pool, schema
}

func open(t testing.TB, pool *pgxpool.Pool, schema string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pool, &postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hrissync.Store {
		pool, schema := database(t, 16)
		return open(t, pool, schema)
	})
}

func TestReopenAndNewerSchema(t *testing.T) {
	pool, schema := database(t, 4)
	ctx := context.Background()
	st := open(t, pool, schema)
	if err := st.SetCursor(ctx, "t", "poll", time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	// Opening again (another replica) migrates nothing and sees the state.
	again := open(t, pool, schema)
	if at, err := again.Cursor(ctx, "t", "poll"); err != nil || !at.Equal(time.Unix(100, 0)) {
		t.Fatalf("cursor after reopening = %v, %v", at, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO "+schema+".schema_version VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, pool, &postgres.Options{Schema: schema}); !errors.Is(err, postgres.ErrNewerSchema) {
		t.Fatalf("opening a newer schema: %v, want ErrNewerSchema", err)
	}
	if _, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "Bad-Name"}); err == nil {
		t.Fatal("a schema name needing quotes was accepted")
	}
}

// A schema written by the version before the audit anchor (a pg_dump of it,
// in testdata) migrates in place: its state is all there, and the anchor
// starts at zero and can be raised.
func TestMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	st, _, _ := openVersion1(t)
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	p, err := st.Person(ctx, "acme", "w-2")
	if err != nil || !p.Exists || p.Applied["role"].Value != "Engineer" || !p.Due.Equal(at.Add(48*time.Hour)) {
		t.Errorf("w-2 after the migration = %+v (%v)", p, err)
	}
	if p, err := st.Person(ctx, "acme", "w-1"); err != nil || p.Dirty.Generation == 0 || p.Dirty.EventID != "evt-1" {
		t.Errorf("w-1's mark after the migration = %+v (%v)", p.Dirty, err)
	}
	if dup, err := st.Accept(ctx, "acme", hrissync.Acceptance{EventID: "evt-1", EmployeeID: "w-1"}); err != nil || !dup {
		t.Errorf("the remembered event evt-1: duplicate = %v (%v)", dup, err)
	}
	if box, err := st.Outbox(ctx, "acme", 10); err != nil || len(box) != 1 || box[0].ID != "entry-1" {
		t.Errorf("outbox after the migration = %+v (%v)", box, err)
	}
	if c, err := st.Cursor(ctx, "acme", "poll"); err != nil || !c.Equal(at) {
		t.Errorf("cursor = %v (%v)", c, err)
	}
	if r, err := st.Run(ctx, "acme", "run-1"); err != nil || r.Status != hrissync.RunSucceeded || r.Writes != 1 {
		t.Errorf("run = %+v (%v)", r, err)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{}) {
		t.Errorf("anchor after the migration = %+v (%v), want zero", a, err)
	}
	if err := st.Ack(ctx, "acme", []string{"entry-1"}, audit.Head{Seq: 1, Hash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if a, err := st.Anchor(ctx, "acme"); err != nil || a != (audit.Head{Seq: 1, Hash: "h1"}) {
		t.Errorf("anchor = %+v (%v), want raised to 1", a, err)
	}
	if box, _ := st.Outbox(ctx, "acme", 10); len(box) != 0 {
		t.Errorf("outbox after Ack = %+v", box)
	}
}

// openVersion1 loads the saved version-1 schema (testdata/v1.sql, a pg_dump
// of a schema the first version wrote) into a fresh schema and opens it with
// this version, which migrates it; the pool and schema are for opening it
// again.
func openVersion1(t *testing.T) (st *postgres.Store, pool *pgxpool.Pool, schema string) {
	t.Helper()
	pool, schema = database(t, 4)
	ctx := context.Background()
	dump, err := os.ReadFile("testdata/v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The simple protocol: a dump is many statements.
	_, err = conn.Conn().PgConn().Exec(ctx, strings.ReplaceAll(string(dump), "v1dump", schema)).ReadAll()
	conn.Release()
	if err != nil {
		t.Fatalf("loading the version 1 dump: %v", err)
	}
	return open(t, pool, schema), pool, schema
}
