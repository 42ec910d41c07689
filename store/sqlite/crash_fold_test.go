package sqlite_test

// The folded-marks crash test: a child process (this test binary,
// re-executed to run TestCrashFoldChild) takes single-event deliveries
// from 32 goroutines at once through hrissync.Engine.Notify on the SQLite
// store, so that the group committer folds their accepts, while the engine
// reconciles the people they mark (its Intends folded too, its Commits
// beside them). Each event is acknowledged to the parent over a pipe once
// Notify returns; the parent kills the child with SIGKILL at random
// moments and starts it again. After every kill: the generation counter
// never went back and is above every generation stored (none can be drawn
// again); every event acknowledged is recorded; every event recorded has
// its person's row (the mark it made, in its transaction). Wall time only
// decides where a kill lands: no verdict depends on it.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

const foldPeople = 40

// foldEvent is event n, the same in every life: people are marked by many.
func foldEvent(n int64) hrissync.Event {
	return hrissync.Event{ID: fmt.Sprintf("f%d", n), EmployeeID: fmt.Sprintf("w-%02d", n%foldPeople), Type: "employee.updated"}
}

// TestCrashFoldChild is the child's life: events from HRISSYNC_CRASHFOLD_FROM
// on, 32 at a time, each acknowledged on file descriptor 3 once Notify has
// returned, until it is killed.
func TestCrashFoldChild(t *testing.T) {
	dir := os.Getenv("HRISSYNC_CRASHFOLD_DIR")
	if dir == "" {
		t.Skip("the child process of TestCrashSafetyFolded")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "fold crash child:", err)
		os.Exit(1)
	}
	from, err := strconv.ParseInt(os.Getenv("HRISSYNC_CRASHFOLD_FROM"), 10, 64)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		fail(err)
	}
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	for i := range foldPeople {
		id := fmt.Sprintf("w-%02d", i)
		hris.Put("employee.created", hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	}
	eng, err := hrissync.New(hris, memory.NewPlatform(clock, 1), st, &hrissync.Config{Concurrency: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail(err)
	}
	go eng.Run(ctx)
	<-eng.Started()
	acks := os.NewFile(3, "acks")
	var mu sync.Mutex
	var next atomic.Int64
	next.Store(from)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				n := next.Add(1) - 1
				if err := eng.Notify(ctx, foldEvent(n)); err != nil {
					fail(fmt.Errorf("event %d: %w", n, err))
				}
				mu.Lock()
				_, err := fmt.Fprintln(acks, n)
				mu.Unlock()
				if err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestCrashSafetyFolded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process 10 times")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 30))
	const lives = 10
	acked := map[int64]bool{}
	var from, counter int64
	for life := range lives {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashFoldChild$")
		cmd.Env = append(os.Environ(), "HRISSYNC_CRASHFOLD_DIR="+dir, "HRISSYNC_CRASHFOLD_FROM="+strconv.FormatInt(from, 10))
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		acks := make(chan int64)
		go func() {
			defer close(acks)
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				n, err := strconv.ParseInt(sc.Text(), 10, 64)
				if err != nil {
					n = -1 // garbled: judged below
				}
				acks <- n
			}
			r.Close()
		}()
		// Where the kill lands: after 1 to 400 acknowledgements, then up
		// to 4 ms on — in a group commit, between two, in a reconcile.
		for range 1 + rng.IntN(400) {
			n, ok := <-acks
			if !ok {
				cmd.Wait()
				t.Fatalf("life %d: the child ended: %s", life, stderr.String())
			}
			acked[n] = true
		}
		time.Sleep(time.Duration(rng.Int64N(int64(4 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		for n := range acks {
			acked[n] = true
		}
		if err := cmd.Wait(); err == nil || stderr.Len() > 0 {
			t.Fatalf("life %d: the child ended %v, not killed: %s", life, err, stderr.String())
		}
		if acked[-1] {
			t.Fatalf("life %d: a garbled acknowledgement", life)
		}
		counter = checkFolded(t, path, life, counter, acked)
		// The next life goes on past every event this one may have
		// taken; those it took unacknowledged are simply not sent again.
		for n := range acked {
			from = max(from, n+1)
		}
		from += 64
	}
	t.Logf("%d events acknowledged over %d lives", len(acked), lives)
}

// checkFolded judges the file after a kill and returns its generation
// counter, which must not be below before.
func checkFolded(t *testing.T, path string, life int, before int64, acked map[int64]bool) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var counter, newest int64
	if err := db.QueryRow("SELECT (SELECT value FROM counters WHERE name = 'generation'), (SELECT coalesce(max(dirty_gen), 0) FROM people)").Scan(&counter, &newest); err != nil {
		t.Fatal(err)
	}
	if counter < before || counter < newest {
		t.Fatalf("life %d: generation counter %d, was %d, highest stored %d: a generation could be drawn again", life, counter, before, newest)
	}
	recorded := map[int64]bool{}
	rows, err := db.Query("SELECT CAST(substr(id, 2) AS INTEGER) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		recorded[n] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for n := range acked {
		if !recorded[n] {
			t.Fatalf("life %d: event %d acknowledged but not recorded", life, n)
		}
	}
	// Every event recorded marked its person in its transaction: their
	// row exists (rows are never deleted).
	var orphans int
	if err := db.QueryRow(`SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.tenant = e.tenant
		AND p.id = printf('w-%02d', CAST(substr(e.id, 2) AS INTEGER) % ?))`, foldPeople).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans > 0 {
		t.Fatalf("life %d: %d events recorded without their person's mark", life, orphans)
	}
	return counter
}
