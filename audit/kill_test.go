package audit_test

// The kill test: a child process (this test binary, re-executed) appends
// batches of entries to a log — one entry, a page of 256, or a random
// number — and is killed with SIGKILL at random points, 40 times (ten on
// each of four logs, so that each stays small enough to reread after every
// kill). After each Record returns it prints the log's heads: the
// acknowledgement, which the parent keeps as the anchors, as the engine
// keeps them in its Store. Each child re-sends, with the same IDs, every
// batch not acknowledged, as the engine's outbox does.
//
// After each kill: the log reports no damage against the anchors; OpenLog
// with the anchors succeeds (in the parent on even rounds, in the next
// child on odd ones, so that kills land in recovery too) and leaves nothing
// torn and the head file at the chain's end. At the end: every entry sent
// is in the log exactly once, and Verify passes. Wall-clock delays, and the
// moment the file grows, decide only where a kill lands; no verdict depends
// on them.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
)

const killChildEnv = "AUDIT_KILL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		os.Exit(killChild())
	}
	os.Exit(m.Run())
}

// killBatch is batch b of the plan, the same in every process: in turn one
// entry, a page of 256, and a random number up to 64, over three tenants.
func killBatch(b int) []audit.Entry {
	n := 1
	switch b % 3 {
	case 1:
		n = 256
	case 2:
		n = 1 + rand.New(rand.NewPCG(uint64(b), 16)).IntN(64)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(b) * time.Minute)
	out := make([]audit.Entry, n)
	for i := range out {
		out[i] = audit.Entry{
			ID: fmt.Sprintf("b%d/%d", b, i), Tenant: []string{"acme", "globex", "initech"}[(b+i)%3],
			EmployeeID: fmt.Sprintf("w-%04d", i), Action: audit.ActionUpdate,
			Changes: []audit.Change{{Field: "role", Old: "dev", New: fmt.Sprintf("lead-%d", b)}},
			Trigger: "batch", SourceChanged: at, Applied: at, Outcome: "applied",
		}
	}
	return out
}

// killChild opens the log with the anchors the parent gives it and records
// batches from AUDIT_KILL_FROM on, up to AUDIT_KILL_UNTIL if set (else until
// killed), saying "start B" before each and "ack B HEADS" after.
func killChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "kill child:", err)
		return 1
	}
	dir := os.Getenv("AUDIT_KILL_DIR")
	var anchors map[string]audit.Head
	b, err := os.ReadFile(filepath.Join(dir, "anchors.json"))
	if err == nil {
		err = json.Unmarshal(b, &anchors)
	}
	if err != nil {
		return fail(err)
	}
	from, err := strconv.Atoi(os.Getenv("AUDIT_KILL_FROM"))
	if err != nil {
		return fail(err)
	}
	until, err := strconv.Atoi(os.Getenv("AUDIT_KILL_UNTIL"))
	if err != nil || until < 0 {
		until = int(^uint(0) >> 1) // until killed
	}
	l, err := audit.OpenLog(context.Background(), filepath.Join(dir, "audit.jsonl"), &audit.LogOptions{Anchors: anchors, MaxBytes: killMaxBytes})
	if err != nil {
		return fail(err)
	}
	fmt.Println("ready")
	for b := from; b < until; b++ {
		fmt.Println("start", b)
		if err := l.Record(context.Background(), killBatch(b)); err != nil {
			return fail(err)
		}
		heads, _ := json.Marshal(l.Heads())
		fmt.Printf("ack %d %s\n", b, heads) // one write, well under PIPE_BUF: never torn
	}
	if err := l.Close(); err != nil {
		return fail(err)
	}
	return 0
}

// killMaxBytes rotates the log every few rounds, so that kills land around
// rotations too.
const killMaxBytes = 256 << 10

// killRun is one child: what it acknowledged, and how it ended.
type killRun struct {
	acked   int // the last batch acknowledged, or -1
	heads   map[string]audit.Head
	started int // the last batch started, or -1
	ready   bool
	killed  bool
	stderr  string
}

// killTally counts what the kills did, for the log.
type killTally struct {
	kills, batches, entries, files int
	torn                           int // torn final lines found after a kill
	recovered                      int // recovered entries in the logs at the end
	byParent                       int // of which the parent's OpenLog wrote
	behind                         int // chains whose head file was behind after a kill
}

func TestKillDuringAppends(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary 44 times")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("kill placement seed %d", seed)
	var n killTally
	for range 4 {
		killLog(t, rng, 10, &n)
	}
	t.Logf("%d kills; %d batches, %d entries in %d files; torn final lines found after a kill: %d; recovered entries: %d (%d by the parent's OpenLog, the rest by a child's); chains with the head file behind after a kill: %d",
		n.kills, n.batches, n.entries, n.files, n.torn, n.recovered, n.byParent, n.behind)
}

// killLog kills children appending to a new log, checking after each kill,
// then lets a last child finish and checks that every entry is there once.
func killLog(t *testing.T, rng *rand.Rand, kills int, n *killTally) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	acked, started := -1, -1
	anchors := map[string]audit.Head{}
	for round := range kills {
		run := startKillChild(t, dir, anchors, acked+1, -1, rng)
		if !run.killed {
			t.Fatalf("round %d: the child ended on its own: %s", round, run.stderr)
		}
		n.kills++
		if run.acked >= 0 {
			acked, anchors = run.acked, run.heads
		}
		started = max(started, run.started)

		r := check(t, path, anchors)
		if err := r.Err(); err != nil {
			t.Fatalf("round %d: after a kill, the log reports damage: %v\n%v", round, err, r.Findings)
		}
		n.torn += countKind(r, audit.TornLine)
		n.behind += countKind(r, audit.HeadBehind)
		if round%2 == 1 {
			continue // the next child recovers
		}
		l, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Anchors: anchors, MaxBytes: killMaxBytes})
		if err != nil {
			t.Fatalf("round %d: OpenLog after a kill = %v", round, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		after := check(t, path, anchors)
		for _, f := range after.Findings {
			if f.Kind != audit.TailRecovered {
				t.Fatalf("round %d: after OpenLog: %v", round, f)
			}
		}
		n.byParent += countKind(after, audit.TailRecovered) - countKind(r, audit.TailRecovered)
	}

	// The last child re-sends what was never acknowledged and finishes.
	if run := startKillChild(t, dir, anchors, acked+1, started+1, nil); run.killed || run.stderr != "" {
		t.Fatalf("the last child: %s", run.stderr)
	}
	files, _ := audit.LogFiles(path)
	r := check(t, path, nil)
	if err := r.Err(); err != nil {
		t.Fatalf("Verify at the end = %v", err)
	}
	seen := map[string]int{}
	for rec, err := range audit.Read(files...) {
		if err != nil {
			t.Fatal(err)
		}
		seen[rec.Entry.ID]++
	}
	for b := 0; b <= started; b++ {
		for _, e := range killBatch(b) {
			n.entries++
			if seen[e.ID] != 1 {
				t.Errorf("entry %s is in the log %d times, want once", e.ID, seen[e.ID])
			}
			delete(seen, e.ID)
		}
	}
	for id := range seen {
		if !strings.HasPrefix(id, "log/") {
			t.Errorf("entry %s was never sent", id)
		}
	}
	if recovered := countKind(r, audit.TailRecovered); recovered != len(seen) {
		t.Errorf("%d recovered entries reported, %d of the log's own in it", recovered, len(seen))
	}
	n.batches += started + 1
	n.files += len(files)
	n.recovered += len(seen)
}

func countKind(r *audit.Report, k audit.FindingKind) int {
	n := 0
	for _, f := range r.Findings {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// startKillChild runs a child that sends batches from..until-1 (until -1:
// without end) after opening the log with anchors. With rng it kills the
// child at a random point, in one of three ways: one time in five, up to
// 30 ms after it started, wherever that lands (in its OpenLog too);
// otherwise once it starts the first page of 256 after acknowledging 0 to
// 2 batches, either up to 1.5 ms later, or as soon as the file grows — the
// page's first piece written, where a kill most likely cuts a line.
func startKillChild(t *testing.T, dir string, anchors map[string]audit.Head, from, until int, rng *rand.Rand) killRun {
	t.Helper()
	b, _ := json.Marshal(anchors)
	if err := os.WriteFile(filepath.Join(dir, "anchors.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"=1", "AUDIT_KILL_DIR="+dir,
		"AUDIT_KILL_FROM="+strconv.Itoa(from), "AUDIT_KILL_UNTIL="+strconv.Itoa(until))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return // a line without its newline was cut by the kill: not said
			}
			lines <- strings.TrimSuffix(s, "\n")
		}
	}()
	run := killRun{acked: -1, started: -1}
	read := func(s string) {
		f := strings.Fields(s)
		switch {
		case s == "ready":
			run.ready = true
		case len(f) == 2 && f[0] == "start":
			run.started, _ = strconv.Atoi(f[1])
		case len(f) == 3 && f[0] == "ack":
			run.acked, _ = strconv.Atoi(f[1])
			run.heads = nil
			if err := json.Unmarshal([]byte(f[2]), &run.heads); err != nil {
				t.Errorf("ack line %q: %v", s, err)
			}
		}
	}
	kill := func() { cmd.Process.Signal(syscall.SIGKILL) }
	exited := make(chan struct{})
	switch {
	case rng == nil:
	case rng.IntN(5) == 0:
		defer time.AfterFunc(time.Duration(rng.Int64N(int64(30*time.Millisecond))), kill).Stop()
	default:
		acks := rng.IntN(3)
		for s := range lines {
			read(s)
			if run.ready && run.acked-from+1 >= acks && strings.HasPrefix(s, "start") && run.started%3 == 1 {
				break
			}
		}
		if rng.IntN(2) == 0 {
			defer time.AfterFunc(time.Duration(rng.Int64N(int64(1500*time.Microsecond))), kill).Stop()
		} else {
			go killOnGrowth(filepath.Join(dir, "audit.jsonl"), kill, exited)
		}
	}
	for s := range lines {
		read(s)
	}
	err = cmd.Wait()
	close(exited)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			run.killed = true
		}
	}
	run.stderr = stderr.String()
	if err != nil && !run.killed {
		t.Fatalf("the child failed: %v: %s", err, run.stderr)
	}
	return run
}

// killOnGrowth kills as soon as the file at path changes size, or gives up
// once the child has exited.
func killOnGrowth(path string, kill func(), exited <-chan struct{}) {
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			return -1 // renamed in a rotation: a change too
		}
		return st.Size()
	}
	was := size()
	for {
		select {
		case <-exited:
			return
		default:
		}
		if size() != was {
			kill()
			return
		}
	}
}
