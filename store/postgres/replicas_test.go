package postgres_test

// Three replicas on one PostgreSQL: a week of HR changes (compressed into
// seconds of real time, since River keeps real time), webhooks delivered to
// replicas at random — lost, repeated, and some while their person is being
// reconciled by another replica — the poll and the batch on short schedules,
// and one replica (River's leader) killed abruptly mid-run: its database
// sessions terminated, its in-flight writes cut off. The others must finish
// its work: the platform ends equal to the HRIS, nothing lost, no person ever
// written by two replicas at once, each poll and batch run once.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
)

// overlapSink detects two writes for one person in flight at once, cuts off
// the writes of a replica killed while they were in flight, and now and then
// changes the person in the HRIS while its write is in flight (so the event
// arrives mid-reconcile).
type overlapSink struct {
	next    hrissync.Sink
	mu      sync.Mutex
	flying  map[string]*atomic.Bool // by person: the writing replica's death
	overlap atomic.Int64
	during  func(id string) // called inside some writes
}

func (s *overlapSink) apply(ctx context.Context, u hrissync.Update, dead *atomic.Bool) error {
	s.mu.Lock()
	// Two writes overlap only while both writers live: a killed
	// replica's lock is gone with its sessions, and its write is cut off
	// below, as a dead process's connection would be.
	if other, ok := s.flying[u.EmployeeID]; ok && !other.Load() && !dead.Load() {
		s.overlap.Add(1)
	}
	s.flying[u.EmployeeID] = dead
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.flying[u.EmployeeID] == dead {
			delete(s.flying, u.EmployeeID)
		}
		s.mu.Unlock()
	}()
	s.during(u.EmployeeID)
	time.Sleep(25 * time.Millisecond) // a platform's round trip: long enough for an event sent meanwhile to reach another replica
	if dead.Load() {
		return errors.New("connection reset") // never reaches the platform: no zombie write
	}
	return s.next.Apply(ctx, u)
}

// replicaSink is one replica's way to the platform; once the replica is
// killed nothing more of it arrives.
type replicaSink struct {
	next *overlapSink
	dead *atomic.Bool
}

func (s replicaSink) Apply(ctx context.Context, u hrissync.Update) error {
	if s.dead.Load() {
		return errors.New("replica is dead")
	}
	return s.next.apply(ctx, u, s.dead)
}

// records keeps the Queue's log records of scheduled jobs: those run, and
// the times it said it collapsed.
type records struct {
	mu        sync.Mutex
	ran       []scheduled
	collapsed map[string][]time.Time // by name: the next time after a collapse
}

// after counts the scheduled times of name after t.
func (r *records) after(t time.Time, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.ran {
		if s.name == name && s.slot.After(t) {
			n++
		}
	}
	return n
}

type scheduled struct {
	name, replica string
	slot          time.Time
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	var s scheduled
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "name":
			s.name = a.Value.String()
		case "replica":
			s.replica = a.Value.String()
		case "slot", "next":
			s.slot = a.Value.Time()
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	switch rec.Message {
	case "scheduled job":
		r.ran = append(r.ran, s)
	case "scheduled times missed; the next runs once":
		if r.collapsed == nil {
			r.collapsed = map[string][]time.Time{}
		}
		r.collapsed[s.name] = append(r.collapsed[s.name], s.slot)
	}
	return nil
}

type replica struct {
	name   string
	eng    *hrissync.Engine
	cancel context.CancelFunc
	done   chan error
	dead   atomic.Bool
}

func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about half a minute")
	}
	pool, schema := database(t, 8)
	ctx := context.Background()
	open(t, pool, schema) // migrate once, before the replicas race to

	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 2)
	platform.SetFaults(memory.SinkFaults{ErrorRate: 0.05})
	today := hrissync.DateOf(time.Now())
	var people []hrissync.Employee
	for i := range 300 {
		id := fmt.Sprintf("w-%04d", i)
		e := hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: today.AddDays(-100), Role: "role-" + strconv.Itoa(i%7), Department: "dept-" + strconv.Itoa(i%5)}
		if i >= 10 {
			e.ManagerID = fmt.Sprintf("w-%04d", i%10)
		}
		people = append(people, e)
	}
	hris.Load(people...)

	rng := rand.New(rand.NewPCG(9, 9))
	var rngMu sync.Mutex
	chance := func(p float64) bool { rngMu.Lock(); defer rngMu.Unlock(); return rng.Float64() < p }
	var replicas []*replica
	var midReconcile atomic.Int64
	// deliver sends an event to a live replica at random, moving on to
	// another if that one fails (a load balancer's retry).
	var deliver func(ev hrissync.Event)
	deliver = func(ev hrissync.Event) {
		rngMu.Lock()
		order := rng.Perm(len(replicas))
		rngMu.Unlock()
		for _, i := range order {
			r := replicas[i]
			if r.dead.Load() {
				continue
			}
			if err := r.eng.Notify(ctx, ev); err == nil {
				return
			}
		}
		t.Errorf("event %s accepted by no replica", ev.ID)
	}
	var inFlight sync.WaitGroup
	// The HRIS delivers from timer goroutines, which can outlive the test
	// body; once it ends they deliver nothing.
	var ended bool
	var endedMu sync.Mutex
	hris.Subscribe(func(ev hrissync.Event) {
		endedMu.Lock()
		defer endedMu.Unlock()
		if ended {
			return
		}
		if chance(0.1) {
			return // lost: the poll must find it
		}
		copies := 1
		if chance(0.05) {
			copies = 2
		}
		for range copies {
			inFlight.Go(func() { deliver(ev) })
		}
	})
	sink := &overlapSink{next: platform, flying: map[string]*atomic.Bool{}}
	// Every write the platform took, by person: what a failure shows.
	var journalMu sync.Mutex
	journal := map[string][]string{}
	platform.OnWrite(func(u hrissync.Update, at time.Time) {
		journalMu.Lock()
		defer journalMu.Unlock()
		journal[u.EmployeeID] = append(journal[u.EmployeeID], fmt.Sprintf("%s %s %s v%s %v", at.Format("15:04:05.000"), u.Trigger, u.Kind, u.Version, u.Changes))
	})
	sink.during = func(id string) {
		if !chance(0.05) {
			return
		}
		midReconcile.Add(1)
		if _, err := hris.Update("role", id, func(e *hrissync.Employee) { e.Role += "+" }); err != nil {
			t.Error(err)
		}
	}

	ran := &records{}
	for i := range 3 {
		r := &replica{name: fmt.Sprintf("replica-%d", i), done: make(chan error, 1)}
		cfg := pool.Config().Copy()
		cfg.MaxConns = 24
		cfg.ConnConfig.RuntimeParams["application_name"] = r.name
		// A killed replica cannot come back.
		cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
			if r.dead.Load() {
				return errors.New("replica is dead")
			}
			return nil
		}
		rpool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rpool.Close)
		st := open(t, rpool, schema)
		q, err := postgres.NewQueue(ctx, st, &postgres.QueueOptions{
			Name: r.name, Workers: 8, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 200 * time.Millisecond,
			JobTimeout: 10 * time.Second, RescueAfter: 12 * time.Second, Logger: slog.New(ran),
		})
		if err != nil {
			t.Fatal(err)
		}
		r.eng, err = hrissync.New(hris, replicaSink{sink, &r.dead}, st, &hrissync.Config{
			Dispatcher: q, Concurrency: 8,
			PollSchedule: cadence.Every(2 * time.Second), PollWindow: cadence.Window{Length: 3 * time.Second, Overlap: time.Second},
			BatchSchedule: cadence.Every(5 * time.Second),
			Retry:         retry.Fixed(3, 200*time.Millisecond),
			HydrateLag:    time.Second,
			// A week's terminations pass the default budget (a fifth
			// of the 300 active accounts): held, they would wait for
			// an approval while the polls and batches go on — a stall
			// the test could not tell from progress. The budget is
			// not what is tested here.
			TerminationLimit: hrissync.Budget{Off: true},
			Logger:           slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		r.cancel = cancel
		go func() { r.done <- r.eng.Run(rctx) }()
		<-r.eng.Started()
		replicas = append(replicas, r)
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.cancel()
			<-r.done
		}
	})
	t.Cleanup(func() { // before the replicas stop
		endedMu.Lock()
		ended = true
		endedMu.Unlock()
		inFlight.Wait()
	})

	// A week of changes, about 90 a day, in eight seconds; the leader is
	// killed three seconds in.
	// A manager leaves before the first batch provisions anyone: their
	// reports' references to them are owed only once they are rehired.
	if _, err := hris.Update("termination", "w-0000", func(e *hrissync.Employee) { e.TerminationDate = today.AddDays(-1) }); err != nil {
		t.Fatal(err)
	}
	var killed *replica
	var killedAt time.Time
	start := time.Now()
	for n := 0; n < 630; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n) * 8 * time.Second / 630)))
		if killed == nil && time.Since(start) > 3*time.Second {
			killed, killedAt = kill(t, pool, schema, replicas), time.Now()
		}
		rngMu.Lock()
		id, k, v := fmt.Sprintf("w-%04d", rng.IntN(len(people))), rng.IntN(10), rng.IntN(1000)
		rngMu.Unlock()
		var err error
		switch {
		case k < 4:
			_, err = hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "role-" + strconv.Itoa(v) })
		case k < 7:
			_, err = hris.Update("skill", id, func(e *hrissync.Employee) {
				e.Attributes = maps.Clone(e.Attributes)
				if e.Attributes == nil {
					e.Attributes = map[string]string{}
				}
				e.Attributes["skill.go"] = strconv.Itoa(v % 5)
			})
		case k < 8:
			_, err = hris.Update("termination", id, func(e *hrissync.Employee) {
				if e.TerminationDate.IsZero() {
					e.TerminationDate = today.AddDays(-1)
				} else { // rehired
					e.TerminationDate, e.Status = hrissync.Date{}, hrissync.StatusActive
				}
			})
		default:
			_, err = hris.Update("manager", id, func(e *hrissync.Employee) { e.ManagerID = fmt.Sprintf("w-%04d", v%10) })
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Deliveries go on (a write now and then changes its person): wait
	// for those in flight with new ones held back, for a WaitGroup must
	// not be added to from zero while it is waited on.
	endedMu.Lock()
	inFlight.Wait()
	endedMu.Unlock()

	// The survivors finish everything: the platform equals the HRIS and
	// nobody is left dirty; and a new leader has taken over the schedules
	// (River's leadership lasts 15 seconds unless renewed).
	// Awaited as a condition, with no fixed deadline: the test gives up
	// only once nothing has moved for a minute — a stall, not a slow
	// machine.
	st := open(t, pool, schema)
	moved, lastState, lastSaid := time.Now(), "", time.Now()
	for {
		differ := memory.Diff(hris, platform, time.Now())
		diff := strings.Join(differ[:min(3, len(differ))], "; ")
		pending, err := st.Pending(ctx, "default", time.Now(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff == "" && len(pending) == 0 && ran.after(killedAt, "poll") >= 2 && ran.after(killedAt, "batch") >= 2 {
			break
		}
		// Progress is a change in what differs or who is pending, or —
		// once nothing differs and nobody is pending — a scheduled run
		// still awaited. Neither runs nor write attempts are progress
		// while the platform differs: the engine may believe it is
		// done, or fail one write for ever.
		state := fmt.Sprint(len(differ), diff, ids(pending))
		if diff == "" && len(pending) == 0 {
			ran.mu.Lock()
			state = fmt.Sprint("runs ", len(ran.ran))
			ran.mu.Unlock()
		}
		if state != lastState {
			moved, lastState = time.Now(), state
		}
		if time.Since(lastSaid) > 30*time.Second {
			lastSaid = time.Now()
			t.Logf("still converging: %s; %d still pending (first %v); %d polls and %d batches since the kill",
				diff, len(pending), ids(pending), ran.after(killedAt, "poll"), ran.after(killedAt, "batch"))
		}
		if time.Since(moved) > time.Minute {
			if len(differ) > 0 {
				id, _, _ := strings.Cut(differ[0], " ")
				journalMu.Lock()
				t.Logf("the platform's writes of %s:\n%s", id, strings.Join(journal[id], "\n"))
				journalMu.Unlock()
				for _, r := range replicas {
					if !r.dead.Load() {
						x, err := r.eng.Explain(ctx, id)
						t.Logf("%s explains %s (%v): %+v", r.name, id, err, x)
						break
					}
				}
			}
			t.Fatalf("stalled a minute before finishing: %s; %d still pending; %d polls and %d batches since the kill",
				diff, len(pending), ran.after(killedAt, "poll"), ran.after(killedAt, "batch"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	dead, err := st.DeadLetters(ctx, "default")
	if err != nil || len(dead) != 0 {
		t.Errorf("dead letters: %d, %v", len(dead), err)
	}
	if n := sink.overlap.Load(); n != 0 {
		t.Errorf("%d writes overlapped another replica's write of the same person", n)
	}
	if midReconcile.Load() == 0 {
		t.Error("no event arrived while its person was being reconciled")
	}
	checkOncePerSchedule(t, ran, killed.name, killedAt)
	counts := platform.Counts()
	t.Logf("killed %s; %d writes (%d attempts), %d events mid-reconcile; took %s",
		killed.name, counts.Writes, counts.Attempts, midReconcile.Load(), time.Since(start).Round(time.Second))
}

// kill stops River's leader abruptly: its writes stop reaching the
// platform, its database sessions are terminated (releasing its advisory
// locks and leaving its jobs running until River rescues them), and it
// cannot reconnect.
func kill(t *testing.T, pool *pgxpool.Pool, schema string, replicas []*replica) *replica {
	t.Helper()
	var leader string
	if err := pool.QueryRow(context.Background(), "SELECT leader_id FROM "+schema+".river_leader").Scan(&leader); err != nil {
		t.Fatalf("finding River's leader: %v", err)
	}
	for _, r := range replicas {
		if r.name != leader {
			continue
		}
		r.dead.Store(true)
		_, err := pool.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", r.name)
		if err != nil {
			t.Fatal(err)
		}
		r.cancel()
		return r
	}
	t.Fatalf("leader %q is none of the replicas", leader)
	return nil
}

// checkOncePerSchedule: each poll and batch time ran on one replica — or,
// if the killed replica had it in hand, once more on a survivor — and none
// was skipped silently: a time is skipped only when its schedule fell more
// than one interval behind (no replica led, after the kill; or a leader too
// busy on a loaded machine), and then the Queue says so and runs the next
// time once.
func checkOncePerSchedule(t *testing.T, ran *records, killed string, killedAt time.Time) {
	t.Helper()
	ran.mu.Lock()
	defer ran.mu.Unlock()
	for _, name := range []string{"poll", "batch"} {
		bySlot := map[time.Time][]string{}
		for _, r := range ran.ran {
			if r.name == name {
				bySlot[r.slot] = append(bySlot[r.slot], r.replica)
			}
		}
		slots := slices.SortedFunc(maps.Keys(bySlot), time.Time.Compare)
		every := map[string]time.Duration{"poll": 2 * time.Second, "batch": 5 * time.Second}[name]
		gaps := 0
		for i, slot := range slots {
			by := bySlot[slot]
			if len(by) > 1 && !(len(by) == 2 && by[0] == killed) {
				t.Errorf("%s of %s ran %d times: %s", name, slot.Format("15:04:05.000"), len(by), strings.Join(by, ", "))
			}
			if i == 0 || slot.Sub(slots[i-1]) == every {
				continue
			}
			gaps++
			if !slices.ContainsFunc(ran.collapsed[name], slot.Equal) {
				t.Errorf("%s skipped from %s to %s unannounced (kill at %s)", name, slots[i-1].Format("15:04:05"), slot.Format("15:04:05"), killedAt.Format("15:04:05"))
			}
		}
		t.Logf("%s: %d scheduled times, each run once; %d gaps, each announced as missed times collapsed", name, len(slots), gaps)
	}
}

// ids lists people's ids, for messages.
func ids(people []store.Person) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.ID
	}
	return out
}
