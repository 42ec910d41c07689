package postgres_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// roundTrips counts the round trips made on the pools it traces: a
// statement (Query, QueryRow, Exec, a transaction's BEGIN and COMMIT) is
// one, a pgx batch is one however many statements it carries (pgx sends
// it as one pipeline and reads the answers after), and preparing a
// statement on a connection is one more (once per statement and
// connection, with pgx's statement cache). Waiting for a notification
// (River's LISTEN) is none. It is a pgx.QueryTracer, BatchTracer and
// PrepareTracer: set it as a pool's ConnConfig.Tracer.
type roundTrips struct {
	n atomic.Int64

	// With byStatement set, each round trip is also counted by its
	// statement (a batch by its statements joined), for -v listings.
	byStatement bool
	mu          sync.Mutex
	statements  map[string]int64
}

func (t *roundTrips) count(sql string) {
	t.n.Add(1)
	if !t.byStatement {
		return
	}
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 110 {
		sql = sql[:110] + "…"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.statements == nil {
		t.statements = map[string]int64{}
	}
	t.statements[sql]++
}

// reset zeroes the counts and returns what they were.
func (t *roundTrips) reset() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.statements = nil
	return t.n.Swap(0)
}

// list writes the counts by statement, most frequent first, each divided
// by per (the reconciles).
func (t *roundTrips) list(w io.Writer, per int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(t.statements), func(a, b string) int { return int(t.statements[b] - t.statements[a]) })
	for _, k := range keys {
		fmt.Fprintf(w, "%8.3f  %s\n", float64(t.statements[k])/float64(per), k)
	}
}

func (t *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.count(d.SQL)
	return ctx
}

func (t *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var sqls []string
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	t.count("BATCH[" + strings.Join(sqls, " ; ") + "]")
	return ctx
}

func (t *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (t *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	t.count("PREPARE " + d.SQL)
	return ctx
}

func (t *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
