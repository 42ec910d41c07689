package hrissync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// conversion is a contractor converted to an employee under a new worker id,
// on the in-memory HRIS and platform, engines run in the test's bubble.
type conversion struct {
	t        *testing.T
	hris     *memory.HRIS
	platform *memory.Platform
	store    *memstore.Store
	audit    *audit.Memory
	mu       sync.Mutex
	alerts   []hrissync.Alert
	eng      *hrissync.Engine
	events   int
}

func newConversion(t *testing.T) *conversion {
	clock := hrissync.RealClock{}
	return &conversion{t: t, hris: memory.NewHRIS(clock, 1), platform: memory.NewPlatform(clock, 1),
		store: memstore.New(), audit: &audit.Memory{}}
}

// run starts an engine on sink (the platform if nil); it stops when the
// test ends, or at once if stop is called.
func (c *conversion) run(sink hrissync.Sink) (stop func()) {
	return c.runWith(sink, hrissync.Config{})
}

func (c *conversion) runWith(sink hrissync.Sink, cfg hrissync.Config) (stop func()) {
	c.t.Helper()
	if sink == nil {
		sink = c.platform
	}
	cfg.Auditor, cfg.Logger = c.audit, slog.New(slog.DiscardHandler)
	cfg.Alerter = hrissync.AlerterFunc(func(_ context.Context, a hrissync.Alert) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.alerts = append(c.alerts, a)
	})
	eng, err := hrissync.New(c.hris, sink, c.store, &cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	<-eng.Started()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	c.t.Cleanup(stop)
	synctest.Wait()
	return stop
}

// put changes a record and delivers its event.
func (c *conversion) put(e hrissync.Employee) {
	c.t.Helper()
	e = c.hris.Put("employee.updated", e)
	c.events++
	err := c.eng.Notify(context.Background(), hrissync.Event{ID: fmt.Sprintf("evt-%d", c.events), EmployeeID: e.ID,
		Type: "employee.updated", OccurredAt: e.Version.Time})
	if err != nil {
		c.t.Fatal(err)
	}
	synctest.Wait()
}

func (c *conversion) batch() {
	c.t.Helper()
	if err := c.eng.Batch(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	synctest.Wait()
}

// contractor is provisioned; converted returns them as HR re-keys them: the
// contractor's record terminated yesterday, the employee's hired today under
// a new id naming the old.
func (c *conversion) contractor() hrissync.Employee {
	c.t.Helper()
	k := hrissync.Employee{ID: "c-1", EmployeeNumber: "7001", Email: "kim@example.com", GivenName: "Kim", Status: hrissync.StatusActive,
		StartDate: hrissync.DateOf(time.Now()).AddDays(-200), Role: "Contractor"}
	c.put(k)
	if _, ok := c.platform.Account("c-1"); !ok {
		c.t.Fatal("the contractor was not provisioned")
	}
	return k
}

func converted(k hrissync.Employee) (old, hired hrissync.Employee) {
	today := hrissync.DateOf(time.Now())
	old, hired = k.Clone(), k.Clone()
	old.Status, old.TerminationDate = hrissync.StatusTerminated, today.AddDays(-1)
	hired.ID, hired.PreviousIDs, hired.Role, hired.StartDate = "e-1", []string{"c-1"}, "Engineer", today
	return old, hired
}

// oneAccount checks that the platform holds one account for the person —
// the contractor's, moved — active, with the employee's role; that access
// ended at most deactivations times; and that the audit log holds one
// re-key.
func (c *conversion) oneAccount(created time.Time, deactivations int64) {
	c.t.Helper()
	snap := c.platform.Snapshot()
	a, ok := snap["e-1"]
	if len(snap) != 1 || !ok {
		c.t.Fatalf("platform holds %d accounts %v, want e-1's alone", len(snap), slices.Collect(mapsKeys(snap)))
	}
	if !a.Active || a.Fields[hrissync.FieldRole] != "Engineer" || !a.Created.Equal(created) {
		c.t.Errorf("e-1's account: active %v, role %q, created %s; want active, Engineer, the contractor's account (created %s)",
			a.Active, a.Fields[hrissync.FieldRole], a.Created, created)
	}
	if n := c.platform.Counts().ByKind[hrissync.Deactivate]; n != deactivations {
		c.t.Errorf("%d deactivations, want %d", n, deactivations)
	}
	var rekeys []audit.Entry
	for _, e := range c.audit.Entries() {
		if e.Action == audit.ActionRekey {
			rekeys = append(rekeys, e)
		}
	}
	if len(rekeys) != 1 || rekeys[0].EmployeeID != "e-1" || len(rekeys[0].Changes) != 1 ||
		rekeys[0].Changes[0] != (audit.Change{Field: audit.ChangeEmployeeID, Old: "c-1", New: "e-1"}) {
		c.t.Errorf("re-key entries %+v, want one, c-1 → e-1", rekeys)
	}
	if dead, err := c.store.DeadLetters(context.Background(), "default"); err != nil || len(dead) != 0 {
		c.t.Errorf("dead letters %v, %v", dead, err)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestConversionKeepsTheAccount(t *testing.T) {
	for _, tc := range []struct {
		name        string
		uniqueEmail bool
		// oldFirst: the contractor's termination event arrives first,
		// and ends their access: nothing says yet that they stay. The
		// re-key gives the account back, history and all.
		oldFirst bool
	}{
		{"hire first", false, false},
		{"termination first", false, true},
		{"unique emails, hire first", true, false},
		{"unique emails, termination first", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newConversion(t)
				if tc.uniqueEmail {
					c.platform.EnforceUniqueEmail()
				}
				c.run(nil)
				k := c.contractor()
				was, _ := c.platform.Account(k.ID)
				old, hired := converted(k)
				if tc.oldFirst {
					c.put(old)
					c.put(hired)
				} else {
					c.put(hired)
					c.put(old)
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				c.batch() // the contractor's id is on the list no more, or terminated
				deactivations := int64(0)
				if tc.oldFirst {
					deactivations = 1
				}
				c.oneAccount(was.Created, deactivations)
			})
		})
	}
}

// cutOff is a platform connection that dies during a re-key, as a SIGKILL
// would cut it: before the platform sees the write, or after it took it and
// before the engine could record that. The write never returns until the
// test ends.
type cutOff struct {
	*memory.Platform
	landed bool // the platform takes the write before the cut
	dead   chan struct{}
}

func (s cutOff) Rekey(ctx context.Context, from string, u hrissync.Update) error {
	if s.landed {
		if err := s.Platform.Rekey(ctx, from, u); err != nil {
			return err
		}
	}
	select {
	case <-s.dead:
	case <-ctx.Done():
	}
	return errors.New("killed")
}

// A SIGKILL between the Store's re-key and the platform's rewrite, or between
// the rewrite and its commit: the engine that comes up next finishes the
// move, and the platform ends with one account. (The dead engine is left
// blocked in its write rather than killed: what it leaves in the Store is
// what a killed process leaves.)
func TestConversionSurvivesAKillMidMove(t *testing.T) {
	for _, landed := range []bool{false, true} {
		t.Run(fmt.Sprintf("write landed %v", landed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newConversion(t)
				c.platform.EnforceUniqueEmail()
				dead := make(chan struct{})
				defer close(dead)
				c.run(cutOff{c.platform, landed, dead})
				k := c.contractor()
				was, _ := c.platform.Account(k.ID)
				old, hired := converted(k)
				c.put(hired) // the first engine dies in the re-key's write

				p, err := c.store.Person(context.Background(), "default", "e-1")
				if err != nil || p.Dirty.RekeyFrom != "c-1" || !p.Exists {
					t.Fatalf("e-1 after the kill: %+v, %v; want c-1's account, the move owed", p, err)
				}
				for id, want := range map[string]string{"e-1": "moved here from c-1", "c-1": "re-keyed this id to e-1"} {
					if x, err := c.eng.Explain(context.Background(), id); err != nil || !strings.Contains(x.Next.Why, want) {
						t.Errorf("Explain(%s): %q, %v; want it to say %q", id, x.Next.Why, err, want)
					}
				}
				c.run(nil) // the next engine: its start-up sweep finds e-1
				c.put(old)
				c.batch()
				c.oneAccount(was.Created, 0)
				if p, _ := c.store.Person(context.Background(), "default", "c-1"); p.MovedTo() != "e-1" || p.Exists {
					t.Errorf("c-1 in the Store: %+v, want only that it moved to e-1", p)
				}
			})
		})
	}
}

// A previous id with an account beside the person's own: two accounts for
// one person, which only an operator can merge. It is reported, and neither
// account is touched by a move.
func TestBothIDsWithAccountsIsAConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.run(nil)
		k := c.contractor()
		_, hired := converted(k)
		hired.PreviousIDs, hired.Email = nil, "kim.new@example.com"
		c.put(hired) // provisioned on its own, before HR linked the ids
		before := c.platform.Snapshot()
		attempts := c.platform.Counts().Attempts
		hired.PreviousIDs = []string{"c-1"}
		c.put(hired)
		c.batch()
		after := c.platform.Snapshot()
		if len(after) != 2 || after["c-1"].Active != before["c-1"].Active || after["e-1"].Fields[hrissync.FieldEmail] != "kim.new@example.com" {
			t.Errorf("accounts after the conflict: %v, want both as they were", after)
		}
		if n := c.platform.Counts().Attempts - attempts; n != 0 {
			t.Errorf("%d writes after HR linked the ids, want none", n)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		var conflicts int
		for _, a := range c.alerts {
			if a.Kind == hrissync.AlertIdentityConflict && a.EmployeeID == "e-1" {
				conflicts++
			}
		}
		if conflicts != 1 {
			t.Errorf("%d identity conflict alerts for e-1, want 1: %+v", conflicts, c.alerts)
		}
		for _, e := range c.audit.Entries() {
			if e.Action == audit.ActionRekey {
				t.Errorf("re-key recorded: %+v", e)
			}
		}
	})
}

// A migration between HR systems that names no previous ids: the new id's
// create meets the old account (same email, on a platform enforcing unique
// emails). With Correlate, the old id gone from HR and the employee number
// the same, the account moves; otherwise the create stays refused and
// reported — never a guess between two people HR still lists.
func TestCorrelatedCreateRekeys(t *testing.T) {
	for _, tc := range []struct {
		name      string
		correlate bool
		oldListed bool // HR still lists the old id
		moved     bool
	}{
		{"on", true, false, true},
		{"off", false, false, false},
		{"on, old id still listed", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newConversion(t)
				c.platform.EnforceUniqueEmail()
				c.runWith(nil, hrissync.Config{Correlate: tc.correlate})
				k := c.contractor()
				was, _ := c.platform.Account(k.ID)
				_, hired := converted(k)
				hired.PreviousIDs = nil
				if !tc.oldListed {
					c.hris.Remove(k.ID)
				}
				c.put(hired)
				if tc.moved {
					c.batch()
					c.oneAccount(was.Created, 0)
					return
				}
				snap := c.platform.Snapshot()
				if _, ok := snap["e-1"]; ok || len(snap) != 1 {
					t.Errorf("accounts %v, want the old one alone: the create refused", slices.Collect(mapsKeys(snap)))
				}
				var taken *hrissync.AccountTakenError
				dead, err := c.store.DeadLetters(context.Background(), "default")
				if err != nil || len(dead) != 1 || dead[0].ID != "e-1" {
					t.Fatalf("dead letters %v, %v; want e-1's refused create", dead, err)
				}
				time.Sleep(time.Minute) // a person's incident waits out its group
				synctest.Wait()
				c.mu.Lock()
				defer c.mu.Unlock()
				for _, a := range c.alerts {
					if a.EmployeeID == "e-1" && errors.As(a.Err, &taken) && taken.HeldBy == "c-1" {
						return
					}
				}
				t.Errorf("no alert for e-1 naming c-1's account: %+v", c.alerts)
			})
		})
	}
}

// refusing is a platform that refuses every write of one worker id.
type refusing struct {
	*memory.Platform
	id string
}

func (s refusing) Apply(ctx context.Context, u hrissync.Update) error {
	if u.EmployeeID == s.id {
		return retry.Permanent(errors.New("400 refused"))
	}
	return s.Platform.Apply(ctx, u)
}

// What the engine holds by person follows a re-key: the old id's dead
// letter and its incident end with the move, and its due time goes.
func TestRekeyEndsTheOldIDsIncidents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		stop := c.run(nil)
		k := c.contractor()
		stop()
		c.run(refusing{c.platform, "c-1"})
		k.Role = "Lead contractor"
		c.put(k)
		time.Sleep(time.Minute)
		synctest.Wait()
		open := func(id string) bool {
			return slices.ContainsFunc(c.eng.Incidents(), func(a hrissync.Alert) bool { return a.EmployeeID == id })
		}
		if !open("c-1") {
			t.Fatalf("no incident open for c-1's refused write: %+v", c.eng.Incidents())
		}
		_, hired := converted(k)
		c.put(hired)
		time.Sleep(time.Minute)
		synctest.Wait()
		if open("c-1") || open("e-1") {
			t.Errorf("incidents after the re-key: %+v, want none", c.eng.Incidents())
		}
		if dead, err := c.store.DeadLetters(context.Background(), "default"); err != nil || len(dead) != 0 {
			t.Errorf("dead letters %v, %v", dead, err)
		}
		if a, ok := c.platform.Account("e-1"); !ok || a.Fields[hrissync.FieldRole] != "Engineer" {
			t.Errorf("e-1's account: %+v", a)
		}
	})
}

// failingOnce refuses its first re-key with a 503, as a platform now and then
// does.
type failingOnce struct {
	*memory.Platform
	failed *bool
}

func (s failingOnce) Rekey(ctx context.Context, from string, u hrissync.Update) error {
	if !*s.failed {
		*s.failed = true
		return memory.ErrInjected
	}
	return s.Platform.Rekey(ctx, from, u)
}

// The write that rebinds the account fails once: the move stays owed, and
// the retry makes it — even though the Store already holds every value the
// write carries (the simulator found the move forgotten).
func TestRekeyRetriedAfterAFailedWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		failed := false
		c.run(failingOnce{c.platform, &failed})
		k := c.contractor()
		was, _ := c.platform.Account(k.ID)
		old, hired := converted(k)
		hired.Role, hired.StartDate = k.Role, k.StartDate // nothing differs but the id
		c.put(hired)
		c.put(old)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if !failed {
			t.Fatal("the re-key never failed")
		}
		snap := c.platform.Snapshot()
		if a, ok := snap["e-1"]; len(snap) != 1 || !ok || !a.Created.Equal(was.Created) || !a.Active {
			t.Errorf("platform holds %v, want the contractor's account under e-1 alone, active", snap)
		}
		if p, _ := c.store.Person(context.Background(), "default", "e-1"); p.Dirty.Generation != 0 || p.Dirty.RekeyFrom != "" {
			t.Errorf("e-1 in the Store: %+v, want clean", p)
		}
	})
}

// The dry run and Explain show what a reconcile would do: the account
// moves, the old id writes nothing and is no leaver (outside finding).
func TestPlanAndExplainSeeTheRekey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.run(nil)
		k := c.contractor()
		old, hired := converted(k)
		c.hris.Load(old, hired) // no events: nothing reconciled yet
		plan, err := c.eng.Plan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if plan.Rekeys["e-1"] != "c-1" || len(plan.Leavers) != 0 || plan.ByKind[hrissync.Create] != 0 || plan.ByKind[hrissync.Deactivate] != 0 {
			t.Errorf("plan: rekeys %v, leavers %v, by kind %v; want c-1's account moved to e-1, nothing created or deactivated", plan.Rekeys, plan.Leavers, plan.ByKind)
		}
		for _, u := range plan.Writes {
			if u.EmployeeID == "c-1" {
				t.Errorf("plan writes c-1: %+v", u)
			}
		}
		x, err := c.eng.Explain(context.Background(), "e-1")
		if err != nil || !strings.Contains(x.Next.Why, "account of c-1 moves here") || x.Next.Update == nil || x.Next.Update.Kind == hrissync.Create {
			t.Errorf("Explain(e-1): %+v, %v", x.Next, err)
		}
		c.batch()
		c.oneAccount(mustCreated(t, c, "e-1"), 0)
	})
}

func mustCreated(t *testing.T, c *conversion, id string) time.Time {
	t.Helper()
	a, ok := c.platform.Account(id)
	if !ok {
		t.Fatalf("no account for %s", id)
	}
	return a.Created
}

// An employment that starts next month: the contractor, at work until then,
// keeps the account; it moves when the employee is to have access (outside
// finding).
func TestRekeyWaitsForTheNewIDsAccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.run(nil)
		k := c.contractor()
		was := mustCreated(t, c, "c-1")
		_, hired := converted(k)
		hired.Status, hired.StartDate = hrissync.StatusPending, hrissync.DateOf(time.Now()).AddDays(30)
		c.put(hired)
		c.batch()
		if a, ok := c.platform.Account("c-1"); !ok || !a.Active {
			t.Fatalf("the contractor's account %+v: want it active under c-1 until the employment begins", a)
		}
		time.Sleep(31 * 24 * time.Hour)
		synctest.Wait()
		c.batch()
		snap := c.platform.Snapshot()
		if a, ok := snap["e-1"]; len(snap) != 1 || !ok || !a.Active || !a.Created.Equal(was) {
			t.Errorf("after the start: %v, want the contractor's account under e-1, active", snap)
		}
	})
}

// Two previous ids with an account each: the most recent one's moves, and
// the other is reported for an operator to merge (outside finding).
func TestTwoPreviousAccountsMoveTheRecentAndReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.run(nil)
		k := c.contractor()
		a := k.Clone()
		a.ID, a.Email = "a-1", "kim.a@example.com"
		c.put(a)
		_, hired := converted(k)
		hired.PreviousIDs = []string{"c-1", "a-1"}
		c.hris.Remove("c-1")
		c.hris.Remove("a-1")
		c.put(hired)
		if _, ok := c.platform.Account("c-1"); ok {
			t.Error("c-1's account did not move")
		}
		if a, ok := c.platform.Account("e-1"); !ok || !a.Active {
			t.Errorf("e-1's account: %+v", a)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		if !slices.ContainsFunc(c.alerts, func(al hrissync.Alert) bool {
			return al.Kind == hrissync.AlertIdentityConflict && strings.Contains(al.Message, "a-1")
		}) {
			t.Errorf("no identity conflict naming a-1: %+v", c.alerts)
		}
	})
}

// A hold on the old id's deactivation ends with the move: nothing is left
// to deactivate (outside finding).
func TestRekeyEndsTheOldIDsHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.runWith(nil, hrissync.Config{TerminationLimit: hrissync.Budget{Count: 1, Window: 24 * time.Hour}})
		k := c.contractor()
		x := k.Clone()
		x.ID, x.Email = "x-1", "x@example.com"
		c.put(x)
		x.TerminationDate = hrissync.DateOf(time.Now()).AddDays(-1)
		c.put(x) // spends the budget: one termination a day
		old, hired := converted(k)
		c.put(old) // held
		if len(c.eng.Holds()) == 0 {
			t.Fatalf("the termination was not held: %v", c.platform.Snapshot())
		}
		c.put(hired)
		if h := c.eng.Holds(); len(h) != 0 {
			t.Errorf("holds after the move: %v", h)
		}
		if a, ok := c.platform.Account("e-1"); !ok || !a.Active {
			t.Errorf("e-1's account: %+v", a)
		}
	})
}

// Correlation driven by Reconcile alone (no Run to dispatch): the move and
// its write happen in the one reconcile, so that a second hop finds the
// account where the first left it (outside finding).
func TestCorrelationChainsThroughReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.platform.EnforceUniqueEmail()
		c.runWith(nil, hrissync.Config{Correlate: true})
		k := c.contractor()
		was := mustCreated(t, c, "c-1")
		for _, hop := range []struct{ from, to string }{{"c-1", "e-1"}, {"e-1", "x-1"}} {
			cur, _ := c.hris.Employee(hop.from)
			c.hris.Remove(hop.from)
			cur.ID = hop.to
			c.hris.Load(cur)
			if err := c.eng.Reconcile(context.Background(), hop.to); err != nil {
				t.Fatalf("%s: %v", hop.to, err)
			}
			snap := c.platform.Snapshot()
			if a, ok := snap[hop.to]; len(snap) != 1 || !ok || !a.Created.Equal(was) {
				t.Fatalf("after %s → %s: %v, want the one account under %s", hop.from, hop.to, slices.Collect(mapsKeys(snap)), hop.to)
			}
		}
		_ = k
	})
}

// A new id terminated at once, its old id gone: the account moves all the
// same, disabled — history stays with the person's current id (outside
// finding, with the wait above).
func TestRekeyOfANewIDWithoutAccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newConversion(t)
		c.run(nil)
		k := c.contractor()
		was := mustCreated(t, c, "c-1")
		_, hired := converted(k)
		hired.Status, hired.TerminationDate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()).AddDays(-1)
		c.hris.Remove("c-1")
		c.put(hired)
		c.batch()
		snap := c.platform.Snapshot()
		if a, ok := snap["e-1"]; len(snap) != 1 || !ok || a.Active || !a.Created.Equal(was) {
			t.Errorf("accounts %v, want the contractor's under e-1, disabled", snap)
		}
	})
}
