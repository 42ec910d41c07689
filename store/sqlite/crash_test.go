package sqlite_test

// The crash test: the engine runs on the SQLite store in a child process (this
// test binary, re-executed) and is killed with SIGKILL at no fewer than 50
// points — while accepting webhooks, while applying to the sink, just after a
// write (before its commit), during the batch, during the poll — and
// restarted on the same files each time. The HRIS and the learning platform
// live in the parent, behind loopback HTTP, so they outlive every kill. Time
// is simulated: both processes read the same scaled clock, 7,200 times real
// time, so hourly polls, the 02:00 batch and end-of-day terminations all come
// round within the test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store/sqlite"
)

const crashSpeed = 7200 // simulated seconds per real second

// scaledClock is simulated time shared by the parent and the child: a fixed
// function of the wall clock.
type scaledClock struct {
	epoch time.Time // simulated time at wall
	wall  time.Time
}

func (c scaledClock) Now() time.Time { return c.epoch.Add(time.Since(c.wall) * crashSpeed) }
func (c scaledClock) AfterFunc(d time.Duration, f func()) hrissync.Timer {
	return time.AfterFunc(d/crashSpeed, f)
}

func TestMain(m *testing.M) {
	if os.Getenv("HRISSYNC_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild is the engine's process: SQLite state, a hash-chained audit log,
// and HTTP connectors to the parent's HRIS and platform.
func crashChild() int {
	url, dir := os.Getenv("HRISSYNC_CRASH_URL"), os.Getenv("HRISSYNC_CRASH_DIR")
	epoch, _ := strconv.ParseInt(os.Getenv("HRISSYNC_CRASH_EPOCH"), 10, 64)
	wall, _ := strconv.ParseInt(os.Getenv("HRISSYNC_CRASH_WALL"), 10, 64)
	clock := scaledClock{epoch: time.Unix(0, epoch).UTC(), wall: time.Unix(0, wall)}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	log, err := audit.OpenLog(filepath.Join(dir, "audit.jsonl"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	client := &http.Client{Timeout: 5 * time.Second}
	conn := httpConn{base: url, client: client, generation: os.Getenv("HRISSYNC_CRASH_GEN")}
	eng, err := hrissync.New(conn, conn, st, &hrissync.Config{
		Clock: clock, Auditor: log, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	go eng.Run(ctx)
	<-eng.Started()
	// The webhook sender: deliver each event until it is acknowledged,
	// acknowledging only once Notify has recorded it.
	for {
		var ev hrissync.Event
		if ok := conn.get("/events/next", &ev); !ok {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if err := eng.Notify(ctx, ev); err != nil {
			continue
		}
		conn.post("/events/ack?id="+ev.ID, nil)
	}
}

// httpConn is the child's Source and Sink, over loopback HTTP to the parent.
type httpConn struct {
	base       string
	client     *http.Client
	generation string // which child this is: the platform refuses a dead one's late writes
}

func (c httpConn) get(path string, v any) bool {
	resp, err := c.client.Get(c.base + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

func (c httpConn) post(path string, v any) error {
	b, _ := json.Marshal(v)
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Generation", c.generation)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return nil
}

func (c httpConn) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	var e hrissync.Employee
	resp, err := c.client.Get(c.base + "/hr/person?id=" + id)
	if err != nil {
		return e, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return e, hrissync.ErrNotFound
	}
	return e, json.NewDecoder(resp.Body).Decode(&e)
}

func (c httpConn) list(path string) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		var es []hrissync.Employee
		if !c.get(path, &es) {
			yield(hrissync.Employee{}, fmt.Errorf("GET %s failed", path))
			return
		}
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (c httpConn) List(context.Context) iter.Seq2[hrissync.Employee, error] {
	return c.list("/hr/list")
}

func (c httpConn) ChangedSince(_ context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return c.list("/hr/changes?since=" + strconv.FormatInt(since.UnixNano(), 10))
}

func (c httpConn) Apply(_ context.Context, u hrissync.Update) error { return c.post("/lms/apply", u) }

// world is the parent's HRIS and learning platform.
type world struct {
	clock scaledClock
	rng   *rand.Rand

	mu       sync.Mutex
	people   map[string]hrissync.Employee
	seq      int64
	events   []hrissync.Event // in order; acked removed
	handed   map[string]time.Time
	accepted map[string]hrissync.Event
	accounts map[string]*account
	writes   []write
	killOn   string // "", "apply-before", "apply-after", "batch", "poll", "notify"
	kill     func()
	// generation is the running child's; a write from an earlier, killed
	// one is refused. A request the dead child sent just before the kill
	// can otherwise reach the platform after its successor has moved on:
	// a zombie write no engine can know of (see the closing note).
	generation string
}

type account struct {
	active  bool
	fields  hrissync.Fields
	version hrissync.Version
}

type write struct {
	u       hrissync.Update
	at      time.Time // simulated
	changed bool
}

func (w *world) change(e hrissync.Employee) {
	w.seq++
	e.Version = hrissync.Version{Time: w.clock.Now(), Seq: w.seq}
	w.people[e.ID] = e
	w.events = append(w.events, hrissync.Event{ID: fmt.Sprintf("evt-%d", w.seq), EmployeeID: e.ID, OccurredAt: e.Version.Time})
}

// churn makes one random HR change.
func (w *world) churn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := slices.Sorted(maps.Keys(w.people))
	e := w.people[ids[w.rng.IntN(len(ids))]]
	e.Attributes = maps.Clone(e.Attributes)
	if e.Attributes == nil {
		e.Attributes = map[string]string{}
	}
	today := hrissync.DateOf(w.clock.Now())
	switch n := w.rng.IntN(10); {
	case n < 4:
		e.Role = fmt.Sprintf("role-%d", w.rng.IntN(20))
	case n < 7:
		e.Attributes["skill.go"] = strconv.Itoa(1 + w.rng.IntN(5))
	case n < 8 && e.TerminationDate.IsZero():
		e.TerminationDate = today // access ends at the end of today
	case n < 9:
		id := fmt.Sprintf("w-%04d", len(w.people))
		e = hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: today.AddDays(-1), Role: "new"}
	default:
		e.Department = fmt.Sprintf("dept-%d", w.rng.IntN(5))
	}
	w.change(e)
}

func (w *world) handler() http.Handler {
	mux := http.NewServeMux()
	reply := func(rw http.ResponseWriter, v any) { json.NewEncoder(rw).Encode(v) }
	mux.HandleFunc("GET /hr/person", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		e, ok := w.people[r.URL.Query().Get("id")]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		reply(rw, e)
	})
	people := func(keep func(hrissync.Employee) bool) []hrissync.Employee {
		w.mu.Lock()
		defer w.mu.Unlock()
		var out []hrissync.Employee
		for _, id := range slices.Sorted(maps.Keys(w.people)) {
			if keep(w.people[id]) {
				out = append(out, w.people[id])
			}
		}
		return out
	}
	mux.HandleFunc("GET /hr/list", func(rw http.ResponseWriter, r *http.Request) {
		reply(rw, people(func(hrissync.Employee) bool { return true }))
	})
	mux.HandleFunc("GET /hr/changes", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		since := time.Unix(0, n)
		reply(rw, people(func(e hrissync.Employee) bool { return !e.Version.Time.Before(since) }))
	})
	mux.HandleFunc("GET /events/next", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, ev := range w.events {
			// Redeliver what was handed out and not acknowledged
			// within 50 ms: the sender's retry.
			if at, ok := w.handed[ev.ID]; !ok || time.Since(at) > 50*time.Millisecond {
				w.handed[ev.ID] = time.Now()
				reply(rw, ev)
				if w.killOn == "notify" {
					w.fire()
				}
				return
			}
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /events/ack", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		id := r.URL.Query().Get("id")
		for i, ev := range w.events {
			if ev.ID == id {
				w.accepted[id] = ev
				w.events = slices.Delete(w.events, i, i+1)
				break
			}
		}
	})
	mux.HandleFunc("POST /lms/apply", func(rw http.ResponseWriter, r *http.Request) {
		var u hrissync.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if r.Header.Get("X-Generation") != w.generation {
			http.Error(rw, "connection reset", http.StatusServiceUnavailable)
			return
		}
		if w.killOn == "apply-before" || (w.killOn == string(u.Trigger) && w.rng.IntN(2) == 0) {
			w.fire() // the write never lands
			http.Error(rw, "killed", http.StatusServiceUnavailable)
			return
		}
		a, ok := w.accounts[u.EmployeeID]
		changed := !ok
		if !ok {
			a = &account{fields: hrissync.Fields{}}
			w.accounts[u.EmployeeID] = a
		}
		if a.active != u.Active {
			changed = true
		}
		a.active = u.Active
		for _, c := range u.Changes {
			if a.fields[c.Field] != c.New {
				changed = true
			}
			a.fields[c.Field] = c.New
		}
		if a.version.Before(u.Version) {
			a.version = u.Version
		}
		w.writes = append(w.writes, write{u: u, at: w.clock.Now(), changed: changed})
		if w.killOn == "apply-after" || w.killOn == string(u.Trigger) {
			w.fire() // the write landed; its commit will not
		}
	})
	return mux
}

// fire kills the child once; w.mu is held.
func (w *world) fire() {
	if w.kill != nil {
		w.kill()
		w.kill, w.killOn = nil, ""
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test takes about a minute")
	}
	dir := t.TempDir()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	w := &world{
		clock: scaledClock{epoch: start, wall: time.Now()}, rng: rand.New(rand.NewPCG(5, 5)),
		people: map[string]hrissync.Employee{}, handed: map[string]time.Time{},
		accepted: map[string]hrissync.Event{}, accounts: map[string]*account{},
	}
	for i := range 200 {
		id := fmt.Sprintf("w-%04d", i)
		w.change(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "dev", Attributes: map[string]string{"skill.go": "3"}})
	}
	srv := httptest.NewServer(w.handler())
	defer srv.Close()

	stopChurn := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		tick := time.NewTicker(15 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopChurn:
				return
			case <-tick.C:
				w.churn()
			}
		}
	}()

	// lives are the spans (in simulated time) during which a child ran.
	type life struct{ from, to time.Time }
	var lives []life
	spawn := func() *exec.Cmd {
		lives = append(lives, life{from: w.clock.Now(), to: w.clock.Now().Add(1000 * time.Hour)})
		gen := strconv.Itoa(len(lives))
		w.mu.Lock()
		w.generation = gen
		w.mu.Unlock()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HRISSYNC_CRASH_CHILD=1", "HRISSYNC_CRASH_URL="+srv.URL, "HRISSYNC_CRASH_DIR="+dir, "HRISSYNC_CRASH_GEN="+gen,
			"HRISSYNC_CRASH_EPOCH="+strconv.FormatInt(w.clock.epoch.UnixNano(), 10),
			"HRISSYNC_CRASH_WALL="+strconv.FormatInt(w.clock.wall.UnixNano(), 10))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	modes := []string{"timer", "apply-before", "apply-after", "notify", "batch", "poll"}
	byMode := map[string]int{}
	pendingTerminations := 0
	const kills = 60
	for k := range kills {
		cmd := spawn()
		mode := modes[k%len(modes)]
		killed := make(chan struct{})
		var once sync.Once
		killNow := func() {
			once.Do(func() { cmd.Process.Signal(syscall.SIGKILL); close(killed) })
		}
		w.mu.Lock()
		w.kill = killNow
		if mode != "timer" {
			w.killOn = mode
		}
		for _, e := range w.people {
			if !e.TerminationDate.IsZero() && w.clock.Now().Before(e.TerminationDate.AddDays(1).Start(time.UTC)) {
				pendingTerminations++
				break
			}
		}
		limit := time.Duration(50+w.rng.IntN(700)) * time.Millisecond
		w.mu.Unlock()
		if mode != "timer" {
			limit = 4 * time.Second // a batch comes round every 12 s real; poll every 0.5 s
		}
		select {
		case <-killed:
			byMode[mode]++
		case <-time.After(limit):
			byMode["timer"]++
			w.mu.Lock()
			w.kill, w.killOn = nil, ""
			w.mu.Unlock()
			killNow()
		}
		cmd.Wait()
		lives[len(lives)-1].to = w.clock.Now()
	}
	close(stopChurn)
	<-churned

	// The last run: no kill, no new changes, long enough for every event
	// to be delivered, a poll and a nightly batch to pass.
	cmd := spawn()
	deadline := time.Now().Add(40 * time.Second)
	settled := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.events) == 0 && w.converged()
	}
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a few more simulated hours: nothing may change
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.converged() {
		t.Errorf("the platform does not equal the HRIS after %d kills: %s", kills, w.diff())
	}
	// Every accepted event was applied: the Store the engine left has
	// nobody dirty (every accepted event reconciled), and the accounts
	// equal the HRIS (checked above).
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dirty, err := st.Pending(context.Background(), "default", w.clock.Now(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	unapplied := 0
	for _, p := range dirty {
		if p.Dirty.Generation != 0 {
			unapplied++
		}
	}
	if unapplied != 0 {
		t.Errorf("%d people still dirty: accepted events not applied", unapplied)
	}
	// Terminations fired at their moment, never before — or, when no engine
	// was up at that moment, soon after one had started: by its start-up
	// sweep of the durable timers, not by the next poll or batch. An
	// engine counts as up once it has run for two simulated hours (one
	// real second, time enough to start even under the race detector).
	const warmup = 2 * time.Hour
	available := func(cut time.Time) (time.Time, bool) {
		for _, l := range lives {
			from := l.from.Add(warmup)
			if from.Before(cut) {
				from = cut
			}
			if from.Before(l.to) {
				return from, true
			}
		}
		return time.Time{}, false
	}
	early, overdue, byTimer, judged, worst := 0, 0, 0, 0, time.Duration(0)
	for _, wr := range w.writes {
		if wr.u.Kind != hrissync.Deactivate || !wr.changed {
			continue
		}
		cut := w.people[wr.u.EmployeeID].TerminationDate.AddDays(1).Start(time.UTC)
		if wr.at.Before(cut.Add(-time.Minute)) { // the shared clock's jitter
			early++
		}
		worst = max(worst, wr.at.Sub(cut))
		up, ok := available(cut)
		if !ok || up.After(cut) {
			continue // no engine up at the moment: applied after a restart
		}
		// An engine was up at the cutover. All of a day's terminations
		// fall due at one midnight and, at 7,200 times real time, a
		// millisecond of work is seven simulated seconds (more under -race
		// on a busy machine): allow six simulated hours for the backlog.
		judged++
		if wr.u.Trigger == hrissync.TriggerRealtime {
			byTimer++
		}
		if wr.at.After(up.Add(6 * time.Hour)) {
			overdue++
			t.Logf("%s: cut over at %s, an engine up, applied %s by %s", wr.u.EmployeeID, cut, wr.at, wr.u.Trigger)
		}
	}
	if early != 0 {
		t.Errorf("%d terminations applied before the end of the last day", early)
	}
	if overdue != 0 {
		t.Errorf("%d terminations applied over six simulated hours after their moment with an engine up", overdue)
	}
	// Which trigger applied them is reported, not asserted: under -race on
	// a busy machine the midnight backlog outlasts a simulated hour and the
	// 01:00 poll takes some; the start-up sweep of durable timers is
	// asserted by storetest (PendingSweep, a far-future bound).
	// Audit: one entry per applied change; a repeated write (a crash
	// between the write and its commit) is audited once, with the commit
	// that finally recorded it.
	entries := 0
	perPerson := map[string]int{}
	files, _ := audit.LogFiles(filepath.Join(dir, "audit.jsonl"))
	if err := audit.Verify(files...); err != nil {
		t.Errorf("audit log: %v", err)
	}
	for r, err := range audit.Read(files...) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Entry.Action != audit.ActionRunSummary {
			entries++
			perPerson[r.Entry.EmployeeID]++
		}
	}
	changing, repeated := 0, 0
	changedPer := map[string]int{}
	for _, wr := range w.writes {
		if wr.changed {
			changing++
			changedPer[wr.u.EmployeeID]++
		} else {
			repeated++
		}
	}
	unaudited := 0
	for id, n := range changedPer {
		if perPerson[id] < n {
			unaudited += n - perPerson[id]
		}
	}
	if entries > changing+repeated || entries < changing-repeated {
		t.Errorf("audit entries = %d for %d changing and %d repeated writes", entries, changing, repeated)
	}
	t.Logf("kills=%d by point %v (with future terminations pending: %d); accepted events=%d, unapplied=%d; "+
		"writes=%d changing=%d repeated=%d; audit entries=%d, changes without their own entry=%d; "+
		"terminations early=%d, overdue=%d, by the durable timer %d of %d due while an engine was up, latest %v after the end of the last day",
		kills, byMode, pendingTerminations, len(w.accepted), unapplied, len(w.writes), changing, repeated, entries, unaudited, early, overdue, byTimer, judged, worst)
}

// desired is what the platform must hold for e at now.
func desired(e hrissync.Employee, now time.Time) (bool, hrissync.Fields) {
	f := e.Fields()
	active := true
	if !e.TerminationDate.IsZero() && !now.Before(e.TerminationDate.AddDays(1).Start(time.UTC)) {
		active, f[hrissync.FieldStatus] = false, string(hrissync.StatusTerminated)
	}
	return active, f
}

func nonEmpty(f hrissync.Fields) hrissync.Fields {
	out := hrissync.Fields{}
	for k, v := range f {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// converged reports whether every account equals its desired state; w.mu
// is held.
func (w *world) converged() bool { return w.diff() == "" }

func (w *world) diff() string {
	now := w.clock.Now()
	var out []string
	for id, e := range w.people {
		active, fields := desired(e, now)
		a, ok := w.accounts[id]
		switch {
		case !ok:
			out = append(out, id+" missing")
		case a.active != active:
			out = append(out, fmt.Sprintf("%s active=%v want %v", id, a.active, active))
		case active && !maps.Equal(nonEmpty(a.fields), nonEmpty(fields)):
			out = append(out, fmt.Sprintf("%s fields %v want %v", id, a.fields, fields))
		}
		if len(out) > 5 {
			break
		}
	}
	return strings.Join(out, "; ")
}
