package sqlite_test

// The batch crash test: a child process (this test binary, re-executed to
// run TestCrashBatchChild) takes batched deliveries through
// hrissync.Engine.NotifyBatch on the SQLite store and acknowledges each to
// the parent, over a pipe, once NotifyBatch has returned; the parent kills
// it with SIGKILL at random moments and starts it again, as a sender
// delivers again every batch not acknowledged. In the end every event of
// every acknowledged batch must be in the Store (a repeat when offered
// again, its person marked), no batch half recorded, and no event recorded
// twice. Wall time only decides where a kill lands: no verdict depends on
// it.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

const (
	batchNew     = 90 // events new in each batch
	batchRepeats = 10 // the previous batch's first events, delivered again
	batchPeople  = 300
)

var batchEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// batchEvent is the i-th new event of batch n, the same in every life.
func batchEvent(n, i int) hrissync.Event {
	return hrissync.Event{ID: fmt.Sprintf("b%d-%d", n, i), EmployeeID: fmt.Sprintf("w-%03d", (n*31+i)%batchPeople),
		Type: "employee.updated", OccurredAt: batchEpoch.Add(time.Duration(n) * time.Second)}
}

// crashBatch is the delivery of batch n: its new events, the previous
// batch's first ones again, and its own first event twice.
func crashBatch(n int) []hrissync.Event {
	evs := make([]hrissync.Event, 0, batchNew+batchRepeats+1)
	for i := range batchNew {
		evs = append(evs, batchEvent(n, i))
	}
	if n > 0 {
		for i := range batchRepeats {
			evs = append(evs, batchEvent(n-1, i))
		}
	}
	return append(evs, batchEvent(n, 0))
}

// TestCrashBatchChild is the child's life: batches from
// HRISSYNC_CRASHBATCH_FROM on, each acknowledged on file descriptor 3 once
// NotifyBatch has returned, until it is killed.
func TestCrashBatchChild(t *testing.T) {
	dir := os.Getenv("HRISSYNC_CRASHBATCH_DIR")
	if dir == "" {
		t.Skip("the child process of TestCrashSafetyBatches")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "batch crash child:", err)
		os.Exit(1)
	}
	from, err := strconv.Atoi(os.Getenv("HRISSYNC_CRASHBATCH_FROM"))
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		fail(err)
	}
	eng, err := hrissync.New(memory.NewHRIS(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 1), st,
		&hrissync.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail(err)
	}
	acks := os.NewFile(3, "acks")
	for n := from; ; n++ {
		errs, err := eng.NotifyBatch(ctx, crashBatch(n))
		if err != nil {
			fail(fmt.Errorf("batch %d: %w", n, err))
		}
		for i, err := range errs {
			if err != nil {
				fail(fmt.Errorf("batch %d, event %d: %w", n, i, err))
			}
		}
		if _, err := fmt.Fprintln(acks, n); err != nil {
			fail(err)
		}
	}
}

func TestCrashSafetyBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process 12 times")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 26))
	const lives = 12
	acked := -1 // the last batch acknowledged
	for life := range lives {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBatchChild$")
		cmd.Env = append(os.Environ(), "HRISSYNC_CRASHBATCH_DIR="+dir, "HRISSYNC_CRASHBATCH_FROM="+strconv.Itoa(acked+1))
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		acks := make(chan int)
		go func() {
			defer close(acks)
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				n, err := strconv.Atoi(sc.Text())
				if err != nil {
					n = -2 // garbled: judged below
				}
				acks <- n
			}
			r.Close()
		}()
		take := func(n int, ok bool) bool {
			if !ok {
				return false
			}
			if n != acked+1 {
				t.Fatalf("life %d: batch %d acknowledged after batch %d", life, n, acked)
			}
			acked = n
			return true
		}
		// Where the kill lands: after 0 to 3 acknowledgements (at least
		// one in the last life, so that the run ends having acknowledged
		// something), then up to 4 ms on — at start-up, in a batch, in
		// its commit, between batches.
		wait := rng.IntN(4)
		if life == lives-1 {
			wait = max(wait, 1)
		}
		for range wait {
			if n, ok := <-acks; !take(n, ok) {
				cmd.Wait()
				t.Fatalf("life %d: the child ended: %s", life, stderr.String())
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(4 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		// What it acknowledged before it died is acknowledged.
		for n := range acks {
			take(n, true)
		}
		if err := cmd.Wait(); err == nil || stderr.Len() > 0 {
			t.Fatalf("life %d: the child ended %v, not killed: %s", life, err, stderr.String())
		}
		// The batch in hand at the kill is recorded whole or not at
		// all (the next life delivers it again, which would complete
		// a half).
		if c := recordedOf(t, filepath.Join(dir, "state.db"), acked+1); c != 0 && c != batchNew {
			t.Fatalf("life %d: batch %d, in hand at the kill, has %d of its %d events recorded", life, acked+1, c, batchNew)
		}
	}
	t.Logf("%d batches acknowledged over %d lives", acked+1, lives)
	checkBatches(t, filepath.Join(dir, "state.db"), acked)
}

// checkBatches judges the Store after the last kill: every event of batches
// 0…acked recorded and its person marked, each batch recorded whole or not
// at all, and no event recorded twice.
func checkBatches(t *testing.T, path string, acked int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []store.Acceptance
	people := map[string]bool{}
	for n := range acked + 1 {
		for i := range batchNew {
			ev := batchEvent(n, i)
			evs = append(evs, store.Acceptance{EventID: ev.ID, EmployeeID: ev.EmployeeID, Forget: time.Now().Add(time.Hour)})
			people[ev.EmployeeID] = true
		}
	}
	// Offered again (without a fingerprint: a repeat whatever the engine's
	// was), every acknowledged event is a repeat; nothing is recorded,
	// since the Store is judged as it was.
	res, err := st.AcceptBatch(ctx, "default", evs)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i, r := range res {
		if r != store.AcceptedDuplicate {
			if lost++; lost <= 5 {
				t.Errorf("acknowledged event %s is not in the Store (%v)", evs[i].EventID, r)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged events lost", lost)
	}
	ids := make([]string, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	ps, err := st.Lookup(ctx, "default", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Dirty.Generation == 0 {
			t.Errorf("%s, named by acknowledged events, is not marked", p.ID)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Each batch whole or not at all: the batch after the last
	// acknowledged may have been committed before its acknowledgement.
	rows, err := db.QueryContext(ctx, "SELECT CAST(substr(id, 2, instr(id, '-') - 2) AS INTEGER) AS n, count(*) FROM events GROUP BY n ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for rows.Next() {
		var n, c int
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		total += c
		if c != batchNew || n > acked+1 {
			t.Errorf("batch %d: %d events recorded, want %d (last acknowledged %d)", n, c, batchNew, acked)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every recorded event marked its person once: an event recorded
	// twice (a repeat taken as new) would have marked twice.
	var marks int
	if err := db.QueryRowContext(ctx, "SELECT value FROM counters WHERE name = 'generation'").Scan(&marks); err != nil {
		t.Fatal(err)
	}
	if marks != total {
		t.Errorf("%d marks for %d events recorded: some event was recorded more than once", marks, total)
	}
}

// recordedOf counts the events of batch n in the Store's file: none if the
// child was killed before it made the file or its tables.
func recordedOf(t *testing.T, path string, n int) int {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var c int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'").Scan(&c); err != nil || c == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if err := db.QueryRow("SELECT count(*) FROM events WHERE id LIKE ?", fmt.Sprintf("b%d-%%", n)).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
