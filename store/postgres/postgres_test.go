package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
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
