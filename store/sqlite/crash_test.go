package sqlite_test

// The crash test: the engine runs on the SQLite store in a child process (this
// test binary, re-executed) and is killed with SIGKILL 60 times — while
// accepting webhooks, while applying to the sink, just after a write (before
// its commit), during the batch, during the poll, and at random moments — and
// restarted on the same files each time. The HRIS and the learning platform
// live in the parent, behind loopback HTTP, so they outlive every kill.
//
// Time is simulated, and the parent owns it. The child runs the engine on a
// fake clock (clocktest.Clock) and asks the parent for the next instant only once
// the engine is idle at the current one, so simulated time never runs ahead
// of the engine, however slow or busy the machine. Every verdict — a
// termination applied at its moment, realtime changes applied before the
// engine rests, convergence within a simulated day — is judged in that time;
// wall time only decides where a kill lands.
//
// TestCrashSafetyTwoSinks runs the same on an engine of two sinks
// (hrissync.NewMulti): an LMS on the hybrid policy and an LXP taking every
// field in real time, each a platform of its own in the parent, each judged
// as the one platform is.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// step is how far simulated time moves at each grant. The test starts on the
// hour, so every midnight (when terminations take effect), hourly poll and
// 02:00 batch falls on a step.
const step = 10 * time.Minute

func TestMain(m *testing.M) {
	if os.Getenv("HRISSYNC_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild is the engine's process: SQLite state, a hash-chained audit log,
// HTTP connectors to the parent's HRIS and platform, and a fake clock the
// parent moves on.
func crashChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	now, err := strconv.ParseInt(os.Getenv("HRISSYNC_CRASH_NOW"), 10, 64)
	if err != nil {
		return fail(err)
	}
	clock := clocktest.NewClock(time.Unix(0, now).UTC())
	dir := os.Getenv("HRISSYNC_CRASH_DIR")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		return fail(err)
	}
	// The log is opened as a host should: against the anchor the Store
	// acknowledged, so a torn final line is recovered and a loss refused.
	var sinks []string
	if s := os.Getenv("HRISSYNC_CRASH_SINKS"); s != "" {
		sinks = strings.Split(s, ",")
	}
	anchor, err := crashAnchor(ctx, st, sinks)
	if err != nil {
		return fail(err)
	}
	log, err := audit.OpenLog(ctx, filepath.Join(dir, "audit.jsonl"), &audit.LogOptions{Anchors: map[string]audit.Head{"default": anchor}})
	if err != nil {
		return fail(err)
	}
	connTo := func(sink string) *httpConn {
		return &httpConn{
			base: os.Getenv("HRISSYNC_CRASH_URL"), client: &http.Client{Timeout: time.Minute},
			generation: os.Getenv("HRISSYNC_CRASH_GEN"), clock: clock, sink: sink,
		}
	}
	cfg := &hrissync.Config{Clock: clock, Auditor: log, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	conn := connTo("lms")
	var eng *hrissync.Engine
	if sinks == nil {
		eng, err = hrissync.New(conn, conn, st, cfg)
	} else {
		var ds []hrissync.Destination
		for _, name := range sinks {
			// A hundred people, the churn ending twenty-odd a day:
			// the default termination budget (20 % of the active
			// accounts a day) would hold some, by design, and the
			// test would find them late. A limit never reached.
			ds = append(ds, hrissync.Destination{Name: name, Sink: connTo(name), Policy: crashPolicy(name),
				TerminationLimit: hrissync.Budget{Count: 1000}})
		}
		eng, err = hrissync.NewMulti(conn, ds, st, cfg)
	}
	if err != nil {
		return fail(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Run(ctx) }()
	select {
	case <-eng.Started():
	case err := <-stopped:
		return fail(err)
	}
	settle := func() {
		if err := eng.WaitIdle(ctx); err != nil {
			panic(err)
		}
	}
	horizon := clock.Now()
	for {
		select {
		case err := <-stopped:
			return fail(fmt.Errorf("the engine stopped: %v", err))
		default:
		}
		// Each timer due by the horizon fires at its own instant, the
		// engine finishing its work there before the clock moves on.
		for at, ok := clock.Next(); ok && !at.After(horizon); at, ok = clock.Next() {
			clock.AdvanceTo(at)
			settle()
		}
		clock.AdvanceTo(horizon)
		// The webhook sender: each event until it is acknowledged,
		// acknowledged only once Notify has recorded it.
		for {
			var ev hrissync.Event
			if conn.call(http.MethodGet, "/events/next", nil, &ev) != nil {
				break
			}
			if err := eng.Notify(ctx, ev); err != nil {
				fmt.Fprintln(os.Stderr, "crash child: notify:", err)
				continue
			}
			conn.call(http.MethodPost, "/events/ack?id="+url.QueryEscape(ev.ID), nil, nil)
		}
		settle()
		// At rest at the horizon: ask for the next one. The parent
		// refuses while events wait, and the loop delivers them first.
		if err := conn.call(http.MethodPost, "/clock/next", nil, &horizon); err != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// crashPolicy is the cadence policy of a sink: the LXP takes every field in
// real time, the LMS (the one sink, too) is on the hybrid policy.
func crashPolicy(sink string) cadence.Policy {
	if sink == "lxp" {
		return cadence.RealtimeOnly()
	}
	return cadence.Hybrid()
}

// crashKey is the Store's key for a sink's state: the tenant's own for an
// engine of one sink (sinks nil), the sink's key for one of several.
func crashKey(sinks []string, sink string) string {
	if sinks == nil {
		return "default"
	}
	return store.SinkKey("default", sink)
}

// crashAnchor is the audit anchor to open the log against: every sink acks
// the tenant's one chain under its own key, so the latest of the sinks'
// anchors is the chain's.
func crashAnchor(ctx context.Context, st *sqlite.Store, sinks []string) (audit.Head, error) {
	keys := []string{"default"}
	if sinks != nil {
		keys = nil
		for _, sink := range sinks {
			keys = append(keys, crashKey(sinks, sink))
		}
	}
	var anchor audit.Head
	for _, key := range keys {
		a, err := st.Anchor(ctx, key)
		if err != nil {
			return audit.Head{}, err
		}
		if a.Seq > anchor.Seq {
			anchor = a
		}
	}
	return anchor, nil
}

// httpConn is the child's Source and Sink, over loopback HTTP to the parent.
// Every request says which child sent it and at what simulated instant.
type httpConn struct {
	base       string
	client     *http.Client
	generation string // the platform refuses a killed child's late writes
	clock      hrissync.Clock
	sink       string // the platform written to: /<sink>/apply
}

var errStatus = errors.New("unexpected status")

func (c *httpConn) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Generation", c.generation)
	req.Header.Set("X-Sim-Time", strconv.FormatInt(c.clock.Now().UnixNano(), 10))
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return store.ErrNotFound
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s %s: %s: %w", method, path, resp.Status, errStatus)
	case out != nil:
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *httpConn) Get(_ context.Context, id string) (hrissync.Employee, error) {
	var e hrissync.Employee
	err := c.call(http.MethodGet, "/hr/person?id="+url.QueryEscape(id), nil, &e)
	return e, err
}

func (c *httpConn) list(path string) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		var es []hrissync.Employee
		if err := c.call(http.MethodGet, path, nil, &es); err != nil {
			yield(hrissync.Employee{}, err)
			return
		}
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (c *httpConn) List(context.Context) iter.Seq2[hrissync.Employee, error] {
	return c.list("/hr/list")
}

func (c *httpConn) ChangedSince(_ context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return c.list("/hr/changes?since=" + strconv.FormatInt(since.UnixNano(), 10))
}

func (c *httpConn) Apply(_ context.Context, u hrissync.Update) error {
	return c.call(http.MethodPost, "/"+c.sink+"/apply", u, nil)
}

// Rekey implements hrissync.Rekeyer: the account moves from the old worker
// id in the same request as the write.
func (c *httpConn) Rekey(_ context.Context, from string, u hrissync.Update) error {
	return c.call(http.MethodPost, "/"+c.sink+"/apply?from="+url.QueryEscape(from), u, nil)
}

// world is the parent's HRIS, learning platform and simulated time.
type world struct {
	rng *rand.Rand

	mu sync.Mutex
	// now is the instant granted last: the running child works up to it,
	// and changes made while it rests there are stamped with it.
	now      time.Time
	people   map[string]hrissync.Employee
	seq      int64
	events   []hrissync.Event // not yet acknowledged, in order
	accepted map[string]hrissync.Event
	// platforms are the learning platforms, by sink name ("lms" alone
	// for an engine of one sink).
	platforms map[string]*platform
	sinks     []string // their names, in order
	// moved holds the conversions: HR re-keyed the old id (key) to the
	// new, whose record names it in PreviousIDs.
	moved map[string]string
	// generation is the running child's ("" while none runs); requests
	// from an earlier, killed one are refused. A request the dead child
	// sent just before the kill could otherwise reach the platform after
	// its successor has moved on: a zombie write no engine can know of.
	generation string

	killOn   string    // "", "apply-before", "apply-after", "notify", "batch", "poll"
	killAt   time.Time // the life ends at the first grant from this instant on
	kill     func(how string)
	lateness []string // realtime changes and terminations found unapplied while the engine rested

	final      bool          // no more HR changes: convergence awaited
	finalEnd   time.Time     // the bound on the final phase, in simulated time
	equalSince time.Time     // since when the final phase has found the platform equal to the HRIS
	settled    chan struct{} // closed when the final phase ends
}

// platform is one sink's learning platform: its accounts, and every write it
// took.
type platform struct {
	policy   cadence.Policy
	accounts map[string]*account
	writes   []write
}

type account struct {
	active  bool
	fields  hrissync.Fields
	version hrtype.Version
}

type write struct {
	u       hrissync.Update
	at      time.Time // simulated: the child's clock when it sent the write
	changed bool
}

func (w *world) change(e hrissync.Employee) {
	w.seq++
	e.Version = hrtype.Version{Time: w.now, Seq: w.seq}
	w.people[e.ID] = e
	w.events = append(w.events, hrissync.Event{ID: fmt.Sprintf("evt-%d", w.seq), EmployeeID: e.ID, OccurredAt: e.Version.Time})
}

// churn makes a few random HR changes at w.now; w.mu is held.
func (w *world) churn() {
	for range w.rng.IntN(4) {
		ids := slices.Sorted(maps.Keys(w.people))
		e := w.people[ids[w.rng.IntN(len(ids))]]
		e.Attributes = maps.Clone(e.Attributes)
		if e.Attributes == nil {
			e.Attributes = map[string]string{}
		}
		today := hrissync.DateOf(w.now)
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
		case n < 10 && w.rng.IntN(3) == 0 && e.TerminationDate.IsZero() && len(e.PreviousIDs) == 0 && w.moved[e.ID] == "" && w.heldByAll(e.ID):
			// A conversion of a contractor the platform holds (one hired
			// minutes ago and not yet provisioned could be reconciled
			// after the employee, and get an account of its own: the
			// engine keeps no index of who names an id as previous):
			// the employee's record, under a new id, names the
			// contractor's, which ends today.
			old := e
			old.TerminationDate = today
			e.ID, e.PreviousIDs, e.Role = fmt.Sprintf("w-%04d", len(w.people)), []string{old.ID}, "converted"
			w.moved[old.ID] = e.ID
			w.change(e)
			e = old
		default:
			e.Department = fmt.Sprintf("dept-%d", w.rng.IntN(5))
		}
		w.change(e)
	}
}

// heldByAll reports whether every platform holds an account for id; w.mu is
// held.
func (w *world) heldByAll(id string) bool {
	for _, pl := range w.platforms {
		if pl.accounts[id] == nil {
			return false
		}
	}
	return true
}

// advance moves simulated time one step while no child runs: HR goes on
// changing, and the events wait for the next child.
func (w *world) advance() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.churn()
	w.now = w.now.Add(step)
}

func (w *world) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	reply := func(rw http.ResponseWriter, v any) { json.NewEncoder(rw).Encode(v) }
	// live wraps a handler: only the running child is served, with w.mu
	// held.
	live := func(h func(rw http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if r.Header.Get("X-Generation") != w.generation {
				http.Error(rw, "connection reset", http.StatusServiceUnavailable)
				return
			}
			h(rw, r)
		}
	}
	mux.HandleFunc("GET /hr/person", live(func(rw http.ResponseWriter, r *http.Request) {
		e, ok := w.people[r.URL.Query().Get("id")]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		reply(rw, e)
	}))
	people := func(keep func(hrissync.Employee) bool) []hrissync.Employee {
		var out []hrissync.Employee
		for _, id := range slices.Sorted(maps.Keys(w.people)) {
			if keep(w.people[id]) {
				out = append(out, w.people[id])
			}
		}
		return out
	}
	mux.HandleFunc("GET /hr/list", live(func(rw http.ResponseWriter, r *http.Request) {
		reply(rw, people(func(hrissync.Employee) bool { return true }))
	}))
	mux.HandleFunc("GET /hr/changes", live(func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		since := time.Unix(0, n)
		reply(rw, people(func(e hrissync.Employee) bool { return !e.Version.Time.Before(since) }))
		if w.killOn == "poll" {
			rw.(http.Flusher).Flush()
			w.fire("poll") // the poll has its list and reconciles it
		}
	}))
	mux.HandleFunc("GET /events/next", live(func(rw http.ResponseWriter, r *http.Request) {
		if len(w.events) == 0 {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		reply(rw, w.events[0])
		if w.killOn == "notify" {
			rw.(http.Flusher).Flush()
			w.fire("notify")
		}
	}))
	mux.HandleFunc("POST /events/ack", live(func(rw http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		for i, ev := range w.events {
			if ev.ID == id {
				w.accepted[id] = ev
				w.events = slices.Delete(w.events, i, i+1)
				break
			}
		}
	}))
	mux.HandleFunc("POST /{sink}/apply", live(func(rw http.ResponseWriter, r *http.Request) {
		pl := w.platforms[r.PathValue("sink")]
		if pl == nil {
			http.Error(rw, "no such platform", http.StatusBadRequest)
			return
		}
		var u hrissync.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		at := simTime(r)
		if at.After(w.now) {
			t.Errorf("a write at %s, after the instant granted (%s)", at, w.now)
		}
		if w.killOn == "apply-before" || (w.killOn == string(u.Trigger) && w.rng.IntN(2) == 0) {
			w.fire(w.killOn) // the write never lands
			http.Error(rw, "killed", http.StatusServiceUnavailable)
			return
		}
		if from := r.URL.Query().Get("from"); from != "" {
			// A re-key: the account bound to from is bound to the new
			// id; one bound to the new id already is moved already.
			moving, had := pl.accounts[from]
			_, has := pl.accounts[u.EmployeeID]
			switch {
			case had && has:
				http.Error(rw, "both ids have an account", http.StatusConflict)
				return
			case !had && !has:
				http.Error(rw, "no account for either id", http.StatusNotFound)
				return
			case had:
				delete(pl.accounts, from)
				pl.accounts[u.EmployeeID] = moving
			}
		}
		a, ok := pl.accounts[u.EmployeeID]
		changed := !ok
		if !ok {
			a = &account{fields: hrissync.Fields{}}
			pl.accounts[u.EmployeeID] = a
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
		pl.writes = append(pl.writes, write{u: u, at: at, changed: changed})
		if w.killOn == "apply-after" || w.killOn == string(u.Trigger) {
			w.fire(w.killOn) // the write landed; its commit will not
		}
	}))
	// The child rests at the instant granted last and asks for the next.
	mux.HandleFunc("POST /clock/next", live(func(rw http.ResponseWriter, r *http.Request) {
		if len(w.events) > 0 {
			http.Error(rw, "events are waiting", http.StatusConflict)
			return
		}
		if at := simTime(r); !at.Equal(w.now) {
			t.Errorf("the child rests at %s; the instant granted is %s", at, w.now)
		}
		w.checkRealtime()
		if w.final {
			w.settle()
		} else if !w.now.Before(w.killAt) {
			w.fire("clock")
			http.Error(rw, "killed", http.StatusServiceUnavailable)
			return
		} else {
			w.churn()
		}
		w.now = w.now.Add(step)
		reply(rw, w.now)
	}))
	return mux
}

func simTime(r *http.Request) time.Time {
	n, _ := strconv.ParseInt(r.Header.Get("X-Sim-Time"), 10, 64)
	return time.Unix(0, n).UTC()
}

// fire kills the child once; w.mu is held.
func (w *world) fire(how string) {
	if w.kill != nil {
		w.kill(how)
		w.kill, w.killOn, w.generation = nil, "", ""
	}
}

// checkRealtime notes what the engine left undone at rest: with every event
// delivered and every timer due fired, each realtime field must be on the
// platform and each termination whose moment has come applied. w.mu is held.
func (w *world) checkRealtime() {
	for _, sink := range w.sinks {
		w.checkRealtimeOn(sink)
	}
}

func (w *world) checkRealtimeOn(sink string) {
	pl := w.platforms[sink]
	for _, id := range slices.Sorted(maps.Keys(w.people)) {
		active, fields := desired(w.people[id], w.now)
		a, ok := pl.accounts[id]
		who := sink + " " + id
		switch {
		case w.moved[id] != "" && ok:
			w.lateness = append(w.lateness, fmt.Sprintf("%s: %s has an account, but moved to %s", w.now, who, w.moved[id]))
		case w.moved[id] != "":
		case !ok:
			w.lateness = append(w.lateness, fmt.Sprintf("%s: %s not provisioned", w.now, who))
		case a.active != active:
			w.lateness = append(w.lateness, fmt.Sprintf("%s: %s active=%v, want %v", w.now, who, a.active, active))
		case active: // a leaver's account is not kept up to date
			for f, v := range fields {
				if pl.policy.Class(f) == cadence.Realtime && a.fields[f] != v {
					w.lateness = append(w.lateness, fmt.Sprintf("%s: %s %s=%q, want %q", w.now, who, f, a.fields[f], v))
				}
			}
		}
	}
}

// settle watches the final phase, at each rest: once the platform equals
// the HRIS it must stay so for two simulated hours (polls pass, nothing
// changes); the phase ends then, or at its bound. w.mu is held.
func (w *world) settle() {
	switch {
	case w.diff() != "":
		w.equalSince = time.Time{}
		if !w.now.Before(w.finalEnd) {
			close(w.settled)
			w.final = false
		}
	case w.equalSince.IsZero():
		w.equalSince = w.now
	case !w.now.Before(w.equalSince.Add(2 * time.Hour)):
		close(w.settled)
		w.final = false
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test takes about a minute")
	}
	crashTest(t, nil, 200, 60)
}

// TestCrashSafetyTwoSinks is the crash test on an engine of two sinks: both
// platforms must converge to the HRIS, neither losing a change nor holding an
// account twice, and each sink's audit entries must name it.
func TestCrashSafetyTwoSinks(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test takes about a minute")
	}
	crashTest(t, []string{"lms", "lxp"}, 100, 28)
}

// crashTest runs the crash test with people people and kills kills on an
// engine of one sink (sinks nil) or of the sinks named.
func crashTest(t *testing.T, sinks []string, people, kills int) {
	dir := t.TempDir()
	w := &world{
		rng: rand.New(rand.NewPCG(5, 5)), now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		people: map[string]hrissync.Employee{}, accepted: map[string]hrissync.Event{},
		platforms: map[string]*platform{}, sinks: sinks, moved: map[string]string{}, settled: make(chan struct{}),
	}
	if sinks == nil {
		w.sinks = []string{"lms"}
	}
	for _, sink := range w.sinks {
		w.platforms[sink] = &platform{policy: crashPolicy(sink), accounts: map[string]*account{}}
	}
	for i := range people {
		id := fmt.Sprintf("w-%04d", i)
		w.change(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "dev", Attributes: map[string]string{"skill.go": "3"}})
	}
	srv := httptest.NewServer(w.handler(t))
	defer srv.Close()

	// A hang is not a verdict on speed, only the end of a test that can
	// no longer finish: give up a little before go test's own timeout.
	wait := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(wait, deadline.Add(-30*time.Second))
		defer cancel()
	}

	// lives are the spans of simulated time during which a child ran.
	type life struct{ from, to time.Time }
	var lives []life
	byPoint := map[string]int{}
	// run starts a child at the current instant and returns once it is
	// dead: killed by one of the world's kill points, by the life's random
	// wall-time limit, or exited on its own (a failure).
	run := func(mode string, limit time.Duration) {
		w.mu.Lock()
		from := w.now
		gen := strconv.Itoa(len(lives) + 1)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HRISSYNC_CRASH_CHILD=1", "HRISSYNC_CRASH_URL="+srv.URL, "HRISSYNC_CRASH_DIR="+dir,
			"HRISSYNC_CRASH_SINKS="+strings.Join(sinks, ","),
			"HRISSYNC_CRASH_GEN="+gen, "HRISSYNC_CRASH_NOW="+strconv.FormatInt(from.UnixNano(), 10))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			w.mu.Unlock()
			t.Fatal(err)
		}
		killed := make(chan string, 1)
		w.generation, w.killOn = gen, mode
		w.kill = func(how string) {
			killed <- how
			cmd.Process.Signal(syscall.SIGKILL)
		}
		switch mode {
		case "batch":
			w.killAt = cadence.Daily(2*time.Hour, time.UTC).Next(from).Add(6 * time.Hour)
		case "midnight": // down from just before midnight, so terminations fall due with no engine up
			w.killAt = cadence.Daily(0, time.UTC).Next(from).Add(-step)
		case "timer", "":
			w.killAt = from.Add(1000 * 24 * time.Hour)
		default:
			w.killAt = from.Add(6 * time.Hour)
		}
		w.mu.Unlock()

		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var timer <-chan time.Time
		if limit > 0 {
			timer = time.After(limit)
		}
		var how string
		select {
		case how = <-killed:
			<-exited
		case <-timer:
			w.mu.Lock()
			w.fire("timer")
			w.mu.Unlock()
			how = <-killed
			<-exited
		case <-w.settled:
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		case err := <-exited:
			select {
			case how = <-killed: // the kill won the race to the select
			default:
				t.Fatalf("child %s exited by itself: %v", gen, err)
			}
		case <-wait.Done():
			cmd.Process.Signal(syscall.SIGKILL)
			t.Fatalf("child %s made no progress until the test's deadline", gen)
		}
		switch how {
		case "":
		case "clock":
			byPoint[mode+" (at its bound)"]++
		default:
			byPoint[how]++
		}
		w.mu.Lock()
		w.generation = ""
		lives = append(lives, life{from: from, to: w.now})
		w.mu.Unlock()
	}

	modes := []string{"timer", "apply-before", "apply-after", "notify", "batch", "poll", "midnight"}
	pendingTerminations := 0
	for k := range kills {
		mode := modes[k%len(modes)]
		w.mu.Lock()
		for _, e := range w.people {
			if !e.TerminationDate.IsZero() && w.now.Before(e.TerminationDate.AddDays(1).Start(time.UTC)) {
				pendingTerminations++
				break
			}
		}
		limit := time.Duration(50+w.rng.IntN(700)) * time.Millisecond
		down := w.rng.IntN(13) // steps with no engine up: up to two hours
		if mode == "midnight" {
			down = 2 + w.rng.IntN(12)
		}
		w.mu.Unlock()
		if mode != "timer" {
			limit = 0 // until its kill point, or its simulated bound
		}
		run(mode, limit)
		for range down {
			w.advance()
		}
	}

	// The last run: no kill, no new changes. Within a simulated day and a
	// bit (a nightly batch, hourly polls) the platform must equal the HRIS
	// and stay so.
	w.mu.Lock()
	w.final, w.finalEnd = true, w.now.Add(30*time.Hour)
	w.mu.Unlock()
	run("", 0)

	w.mu.Lock()
	defer w.mu.Unlock()
	if d := w.diff(); d != "" {
		t.Errorf("the platform does not equal the HRIS %v after the last restart: %s", w.now.Sub(lives[len(lives)-1].from), d)
	}
	for _, l := range w.lateness[:min(len(w.lateness), 10)] {
		t.Errorf("at rest, unapplied: %s", l)
	}
	if len(w.lateness) > 10 {
		t.Errorf("… %d more", len(w.lateness)-10)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	started := map[time.Time]bool{}
	for _, l := range lives {
		started[l.from] = true
	}
	// The audit log: one chain for the tenant, every sink's entries in it,
	// each naming its sink (none for an engine of one).
	anchor, err := crashAnchor(context.Background(), st, sinks)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := audit.LogFiles(filepath.Join(dir, "audit.jsonl"))
	report, err := audit.Check(audit.CheckOptions{Anchors: map[string]audit.Head{"default": anchor}}, files...)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Err(); err != nil {
		t.Errorf("audit log: %v", err)
	}
	logNotes := map[string]int{}
	for _, f := range report.Findings {
		logNotes[f.Kind.String()]++
	}
	seen := map[string]bool{}
	var log []audit.Entry
	for r, err := range audit.Read(files...) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.Entry.ID] {
			t.Errorf("audit entry %s appears twice", r.Entry.ID)
		}
		seen[r.Entry.ID] = true
		log = append(log, r.Entry)
	}
	bySink := map[string]int{}
	for _, en := range log {
		bySink[en.Sink]++
	}
	for name := range bySink {
		if name != "" && !slices.Contains(sinks, name) || name == "" && sinks != nil {
			t.Errorf("%d audit entries name the sink %q; the sinks are %q", bySink[name], name, sinks)
		}
	}
	summary := fmt.Sprintf("kills=%d by point %v over %v simulated (with future terminations pending: %d); accepted events=%d; audit log notes %v",
		kills, byPoint, w.now.Sub(lives[0].from), pendingTerminations, len(w.accepted), logNotes)
	for _, sink := range w.sinks {
		summary += "\n" + w.checkSink(t, st, sinks, sink, log, started, kills)
	}
	t.Log(summary)
}

// checkSink checks what one sink's engine left once the crash test is over —
// its Store state, the writes its platform took and its audit entries — and
// returns its figures. w.mu is held.
func (w *world) checkSink(t *testing.T, st *sqlite.Store, sinks []string, sink string, log []audit.Entry, started map[time.Time]bool, kills int) string {
	pl := w.platforms[sink]
	if sinks == nil {
		sink = "" // the one sink of an engine built by New is unnamed
	}
	// Every accepted event was applied: the Store the engine left has
	// nobody dirty.
	dirty, err := st.Pending(context.Background(), crashKey(sinks, sink), w.now, "", 1000)
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
		t.Errorf("sink %q: %d people still dirty: accepted events not applied", sink, unapplied)
	}
	// No account twice: no two accounts hold one email (a conversion's
	// account moved, not provisioned again beside the old one).
	holders := map[string]string{}
	for id, a := range pl.accounts {
		if e := a.fields[hrissync.FieldEmail]; e != "" && a.active {
			if other, ok := holders[e]; ok {
				t.Errorf("sink %q: %s and %s both hold an active account with %s", sink, id, other, e)
			}
			holders[e] = id
		}
	}
	// Terminations took effect exactly at their moment, the end of the
	// last day, fired by the durable timer; or, when no engine was up to
	// finish it then, at the very instant the next one started, by its
	// start-up sweep of the durable timers — not an hour later by a poll.
	byTrigger := map[hrissync.Trigger]int{}
	atCut, atRestart := 0, 0
	for _, wr := range pl.writes {
		if wr.u.Kind != hrissync.Deactivate || !wr.changed {
			continue
		}
		cut := w.people[wr.u.EmployeeID].TerminationDate.AddDays(1).Start(time.UTC)
		byTrigger[wr.u.Trigger]++
		switch {
		case wr.at.Equal(cut):
			atCut++
		case wr.at.After(cut) && started[wr.at]:
			atRestart++
		default:
			t.Errorf("sink %q: %s: deactivated at %s by %s, its moment %s", sink, wr.u.EmployeeID, wr.at, wr.u.Trigger, cut)
		}
	}
	if atRestart == 0 {
		t.Errorf("sink %q: no termination fell due while no engine was up: the start-up sweep went untested", sink)
	}
	// Audit: one entry per applied change, naming the sink; a repeated
	// write (a crash between the write and its commit) is audited once,
	// with the commit that finally recorded it.
	entries, rekeys, summaries := 0, 0, 0
	perPerson := map[string]int{}
	for _, en := range log {
		switch {
		case en.Sink != sink:
		case en.Action == audit.ActionRekey:
			rekeys++
		case en.Action == audit.ActionRunSummary:
			summaries++
		case en.EmployeeID != "":
			entries++
			perPerson[en.EmployeeID]++
		}
	}
	changing, repeated, creates := 0, 0, 0
	changedPer := map[string]int{}
	for _, wr := range pl.writes {
		if wr.u.Kind == hrissync.Create {
			creates++
		}
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
	// A write that landed before a kill, its commit never made, is
	// audited by the write that finally records it: an unchanged rewrite
	// (repeated), or — HR having changed in between — the next changing
	// write, whose entry then names both changes (old → newest). A kill
	// can leave such a write in each sink (seen: the LXP's write landed as
	// the LMS's kill point fired), so each kill may fold one change.
	if changing == 0 || entries > changing+repeated || entries < changing-repeated-kills {
		t.Errorf("sink %q: audit entries = %d for %d changing and %d repeated writes", sink, entries, changing, repeated)
	}
	// A conversion whose old id had an account moved it, audited once
	// (the Store's re-key and its entry are one transaction); one whose
	// old id had none yet was provisioned as new.
	if rekeys == 0 || rekeys > len(w.moved) {
		t.Errorf("sink %q: re-key entries = %d for %d conversions", sink, rekeys, len(w.moved))
	}
	return fmt.Sprintf("sink %q: accounts=%d unapplied=%d writes=%d (creates %d) changing=%d repeated=%d; audit entries=%d (+%d run summaries), "+
		"changes without their own entry=%d; terminations at their moment %d, at a restart %d, by trigger %v; conversions %d, re-keyed %d",
		sink, len(pl.accounts), unapplied, len(pl.writes), creates, changing, repeated, entries, summaries, unaudited,
		atCut, atRestart, byTrigger, len(w.moved), rekeys)
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

// diff lists (some of) the accounts that differ from what the HRIS says
// at w.now, or returns ""; w.mu is held.
func (w *world) diff() string {
	var out []string
	for _, sink := range w.sinks {
		if d := w.diffOn(sink); d != "" {
			out = append(out, sink+": "+d)
		}
	}
	return strings.Join(out, "; ")
}

func (w *world) diffOn(sink string) string {
	now := w.now
	pl := w.platforms[sink]
	var out []string
	for id, e := range w.people {
		active, fields := desired(e, now)
		a, ok := pl.accounts[id]
		switch {
		case w.moved[id] != "" && ok:
			out = append(out, fmt.Sprintf("%s has an account, but moved to %s", id, w.moved[id]))
		case w.moved[id] != "":
			// Its account is the new id's, judged under it.
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
