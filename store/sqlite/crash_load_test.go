//go:build unix

package sqlite_test

// The initial load's crash test: a child process (this test binary,
// re-executed to run TestCrashLoadChild) loads people the Store holds
// nothing of, in bulk (store.BulkLoader), into a sink that takes some
// writes and then hangs, telling the parent over a pipe once it hangs; the
// parent kills it with SIGKILL there — after the intents and some writes,
// before their commit. Every person of the chunk in hand must then be found
// dirty and unsure, none with an account recorded, and the next batch must
// write them all again and leave everyone clean.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sourcetest"
	"github.com/hrissync/hrissync/store/sqlite"
)

const (
	loadPeople  = 200
	loadLanded  = 20 // writes the child's sink takes before it hangs
	loadWorkers = 2  // Concurrency: chunks of 64
)

func loadSource() *memory.HRIS {
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	hris.Load(sourcetest.People(loadPeople)...)
	return hris
}

// TestCrashLoadChild is the child's life: one batch into a sink that hangs
// after loadLanded writes, saying so on file descriptor 3.
func TestCrashLoadChild(t *testing.T) {
	dir := os.Getenv("HRISSYNC_CRASHLOAD_DIR")
	if dir == "" {
		t.Skip("the child process of TestCrashSafetyInitialLoad")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "load crash child:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		fail(err)
	}
	hung := os.NewFile(3, "hung")
	var writes atomic.Int64
	sink := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
		if n := writes.Add(1); n > loadLanded {
			if n == loadLanded+1 {
				fmt.Fprintln(hung, loadLanded)
			}
			<-ctx.Done() // hangs until killed
			return ctx.Err()
		}
		return nil
	})
	eng, err := hrissync.New(loadSource(), sink, st, &hrissync.Config{Concurrency: loadWorkers,
		Logger: slog.New(slog.DiscardHandler), DeletionLimit: hrissync.Budget{Off: true}})
	if err != nil {
		fail(err)
	}
	fail(fmt.Errorf("the batch ended: %v", eng.Batch(ctx)))
}

func TestCrashSafetyInitialLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process")
	}
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLoadChild$")
	cmd.Env = append(os.Environ(), "HRISSYNC_CRASHLOAD_DIR="+dir)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if !bufio.NewScanner(r).Scan() {
		cmd.Wait()
		t.Fatalf("the child ended before its sink hung: %s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil || stderr.Len() > 0 {
		t.Fatalf("the child ended %v, not killed: %s", err, stderr.String())
	}
	r.Close()

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The first chunk was in hand: its intents recorded, some of its
	// writes made, none committed.
	pending, err := st.Pending(ctx, "default", time.Now(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != loadWorkers*32 {
		t.Errorf("%d people pending after the kill, want the chunk in hand, %d", len(pending), loadWorkers*32)
	}
	for _, p := range pending {
		if !p.Dirty.Unsure || p.Exists {
			t.Errorf("%s after the kill: %+v, want dirty and unsure, no account recorded", p.ID, p)
		}
	}
	// The next batch writes them all — the unsure ones again — and
	// leaves everyone clean.
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	eng, err := hrissync.New(loadSource(), platform, st, &hrissync.Config{Concurrency: loadWorkers,
		Logger: slog.New(slog.DiscardHandler), DeletionLimit: hrissync.Budget{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(platform.Snapshot()); got != loadPeople {
		t.Errorf("%d accounts after the next batch, want %d", got, loadPeople)
	}
	if pending, err = st.Pending(ctx, "default", time.Now(), "", 1000); err != nil || len(pending) != 0 {
		t.Errorf("after the next batch: %d pending (%v), want none", len(pending), err)
	}
}
