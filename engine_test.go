package hrissync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store/memory"
)

// rig is an engine on fakes, running inside a synctest bubble.
type rig struct {
	t      *testing.T
	hr     *fakeHR
	lms    *fakeLMS
	store  *memory.Store
	audit  *audit.Memory
	alerts *alerts
	eng    *hrissync.Engine
	events int
	// carries, if set, makes the sink a FieldCarrier.
	carries func(field string) bool
	// src, if set, is the Source instead of hr.
	src hrissync.Source
}

// start builds and runs an engine in the current bubble; the engine stops
// when the test ends.
func start(t *testing.T, cfg hrissync.Config) *rig {
	t.Helper()
	r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), audit: &audit.Memory{}, alerts: &alerts{}}
	r.run(cfg)
	return r
}

// newEngine builds an engine on the rig's HRIS, platform and Store, not
// running.
func (r *rig) newEngine(cfg hrissync.Config) *hrissync.Engine {
	r.t.Helper()
	if cfg.Auditor == nil {
		cfg.Auditor = r.audit
	}
	if cfg.Alerter == nil {
		cfg.Alerter = r.alerts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var sink hrissync.Sink = r.lms
	if r.carries != nil {
		sink = carrier{r.lms, r.carries}
	}
	var src hrissync.Source = r.hr
	if r.src != nil {
		src = r.src
	}
	eng, err := hrissync.New(src, sink, r.store, &cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.eng = eng
	return eng
}

func (r *rig) run(cfg hrissync.Config) {
	r.t.Helper()
	eng := r.newEngine(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- eng.Run(ctx) }()
	r.t.Cleanup(func() {
		cancel()
		// nil when the ctx ended it; ErrClosed when a test shut it down.
		if err := <-done; err != nil && !errors.Is(err, hrissync.ErrClosed) {
			r.t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
}

// notify sends a thin event for id and waits for the engine to settle.
func (r *rig) notify(id string) {
	r.t.Helper()
	r.events++
	r.hr.mu.Lock()
	changed := r.hr.people[id].Version.Time // when HR made the change
	r.hr.mu.Unlock()
	err := r.eng.Notify(context.Background(), hrissync.Event{
		ID: fmt.Sprintf("evt-%d", r.events), EmployeeID: id, Type: "employee.updated", OccurredAt: changed,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	synctest.Wait()
}

func (r *rig) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func (r *rig) mustAccount(id string) hrissync.Account {
	r.t.Helper()
	a, ok := r.lms.account(id)
	if !ok {
		r.t.Fatalf("no account for %s", id)
	}
	return a
}

func alice() hrissync.Employee {
	return hrissync.Employee{
		ID: "w-001", EmployeeNumber: "1001", Email: "alice@example.com", GivenName: "Alice", FamilyName: "Archer",
		Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4), Role: "Engineer",
		Department: "R&D", Location: "Paris", Attributes: map[string]string{"skill.go": "4", "performanceRating": "3"},
	}
}

// bob is a second person, alice's colleague.
func bob() hrissync.Employee {
	b := alice()
	b.ID, b.Email, b.EmployeeNumber = "w-002", "bob@example.com", "1002"
	return b
}

func TestEventCreatesAccountWithEveryField(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		want := r.hr.put(alice())
		r.notify(want.ID)
		w := r.lms.writes()
		if len(w) != 1 || w[0].Kind != hrissync.Create {
			t.Fatalf("writes = %+v, want one create", w)
		}
		got := r.mustAccount(want.ID)
		if !got.Active {
			t.Error("created account is not active")
		}
		for f, v := range want.Fields() {
			if got.Fields[f] != v {
				t.Errorf("field %s = %q, want %q (a create carries every mapped field)", f, got.Fields[f], v)
			}
		}
		if n := r.audit.Len(); n != 1 {
			t.Errorf("audit entries = %d, want 1", n)
		}
	})
}

func TestDuplicateStaleAndReorderedEventsChangeNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		old := hrissync.Event{ID: "e-old", EmployeeID: a.ID, OccurredAt: time.Now()}
		if err := r.eng.Notify(t.Context(), old); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.sleep(time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		if n := len(r.lms.writes()); n != 2 {
			t.Fatalf("writes = %d, want create + role change", n)
		}
		// The first event again (a duplicate), and a late copy of it under
		// a new id (reordered): neither regresses nor writes.
		if err := r.eng.Notify(t.Context(), old); err != nil {
			t.Fatal(err)
		}
		late := old
		late.ID = "e-old-redelivered"
		if err := r.eng.Notify(t.Context(), late); err != nil {
			t.Fatal(err)
		}
		// A fat event carrying the old record: guarded by its version.
		stale := alice()
		stale.ID, stale.Version = a.ID, a.Version
		fat := hrissync.Event{ID: "e-fat", EmployeeID: a.ID, OccurredAt: a.Version.Time, Record: &stale}
		if err := r.eng.Notify(t.Context(), fat); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(r.lms.writes()); n != 2 {
			t.Errorf("writes after duplicate, late and stale events = %d, want still 2", n)
		}
		if role := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; role != "Lead" {
			t.Errorf("role = %q, want Lead", role)
		}
		if s := r.eng.Stats(); s.Duplicates != 1 || s.Events != 4 {
			t.Errorf("events=%d duplicates=%d, want 4 and 1", s.Events, s.Duplicates)
		}
	})
}

func TestThinEventWaitsForLaggingSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(time.Minute)
		// HR changes the role, but the read replica behind Get lags.
		r.hr.mu.Lock()
		r.hr.stale[a.ID] = r.hr.people[a.ID]
		r.hr.mu.Unlock()
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		r.sleep(20 * time.Second)
		if n := len(r.lms.writes()); n != 1 {
			t.Fatalf("wrote %d times while the source lagged, want only the create", n)
		}
		p, _ := r.store.Person(t.Context(), "default", a.ID)
		if p.Dirty.Generation == 0 {
			t.Fatal("person marked clean from a record older than its event")
		}
		r.hr.mu.Lock()
		delete(r.hr.stale, a.ID) // the replica catches up
		r.hr.mu.Unlock()
		r.sleep(10 * time.Second)
		if role := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; role != "Lead" {
			t.Errorf("role = %q after the source caught up, want Lead", role)
		}
	})
}

func TestFieldClassesPerTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		// A skill rating changes: a batch field. The webhook writes nothing.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Attributes["skill.go"] = "5" })
		r.notify(a.ID)
		if n := len(r.lms.writes()); n != 1 {
			t.Fatalf("a batch-field change was written by the realtime path (%d writes)", n)
		}
		// A role change together with a department change: the realtime
		// write carries the role only.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead"; e.Department = "Platform" })
		r.notify(a.ID)
		w := r.lms.writes()
		if len(w) != 2 || w[1].Kind != hrissync.Modify || len(w[1].Changes) != 1 || w[1].Changes[0].Field != hrissync.FieldRole {
			t.Fatalf("realtime write = %+v, want exactly the role", w[len(w)-1])
		}
		// The batch brings the rest, in one coalesced write.
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		w = r.lms.writes()
		if len(w) != 3 {
			t.Fatalf("writes after batch = %d, want 3", len(w))
		}
		var fields []string
		for _, c := range w[2].Changes {
			fields = append(fields, c.Field)
		}
		if fmt.Sprint(fields) != "[attr.skill.go department]" {
			t.Errorf("batch write changed %v, want [attr.skill.go department]", fields)
		}
		// A second batch finds nothing to do.
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.lms.writes()); n != 3 {
			t.Errorf("an idle batch wrote (%d writes)", n)
		}
	})
}

func TestCarryPendingBatchFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{CarryPending: true})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Location = "Lyon" })
		r.notify(a.ID) // batch field only: nothing yet
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		w := r.lms.writes()
		if len(w) != 2 || len(w[1].Changes) != 2 {
			t.Fatalf("writes = %+v, want the role write to carry the location", w)
		}
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.lms.writes()); n != 2 {
			t.Errorf("the batch wrote again (%d writes) what was carried", n)
		}
	})
}

func TestEventDuringReconcileIsAppliedAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.lms.block = make(chan struct{})
		r.lms.entered = make(chan string, 10)
		if err := r.eng.Notify(t.Context(), hrissync.Event{ID: "e1", EmployeeID: a.ID, OccurredAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		<-r.lms.entered // the create is in the sink
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		if err := r.eng.Notify(t.Context(), hrissync.Event{ID: "e2", EmployeeID: a.ID, OccurredAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		r.lms.block <- struct{}{} // the create completes and commits
		<-r.lms.entered           // the second event's reconcile runs
		r.lms.block <- struct{}{}
		synctest.Wait()
		w := r.lms.writes()
		if len(w) != 2 || w[1].Changes[0].New != "Lead" || w[1].Trigger != hrissync.TriggerRealtime {
			t.Fatalf("writes = %+v, want the create then the role, both from the events", w)
		}
		if p, _ := r.store.Person(t.Context(), "default", a.ID); p.Dirty.Generation != 0 {
			t.Error("person still dirty after both events were applied")
		}
	})
}

func TestDeprovisionDeactivatesNeverDeletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		r.notify(a.ID)
		w := r.lms.writes()
		if len(w) != 2 || w[1].Kind != hrissync.Deactivate || w[1].Active {
			t.Fatalf("writes = %+v, want a deactivation", w)
		}
		if got := r.mustAccount(a.ID); got.Active || got.Fields[hrissync.FieldStatus] != "terminated" {
			t.Errorf("account = %+v, want inactive and terminated", got)
		}
	})
}

func TestAuditOutboxSurvivesAuditorFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down = true
		var kept audit.Memory
		flaky := audit.AuditorFunc(func(ctx context.Context, es []audit.Entry) error {
			if down {
				return fmt.Errorf("audit disk full")
			}
			return kept.Record(ctx, es)
		})
		r := start(t, hrissync.Config{Auditor: flaky})
		a := r.hr.put(alice())
		r.notify(a.ID)
		box, _ := r.store.Outbox(t.Context(), "default", 10)
		if len(box) != 1 || box[0].EmployeeID != a.ID || box[0].Action != "create" || box[0].Trigger != "realtime" {
			t.Fatalf("outbox = %+v, want the create's entry kept", box)
		}
		if box[0].EventID != "evt-1" || box[0].Received.IsZero() || box[0].SourceChanged.IsZero() || box[0].Applied.IsZero() {
			t.Errorf("entry lacks its event or times: %+v", box[0])
		}
		down = false
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		if n := kept.Len(); n != 2 {
			t.Errorf("auditor holds %d entries, want both", n)
		}
		if box, _ := r.store.Outbox(t.Context(), "default", 10); len(box) != 0 {
			t.Errorf("outbox keeps %d entries after the auditor took them", len(box))
		}
	})
}

// An event id reused by another event is refused with ErrEventConflict and
// marks nobody; a retry saying the same, even re-serialised (another
// instance of the same time, another copy of the record), is a repeat.
func TestEventIDReusedByAnotherEventIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		bob := alice()
		bob.ID, bob.Email = "w-002", "bob@example.com"
		a, b := r.hr.put(alice()), r.hr.put(bob)
		at := time.Now().Add(-time.Minute)
		rec := a.Clone()
		first := hrissync.Event{ID: "msg_1", EmployeeID: a.ID, Type: "employee.updated", OccurredAt: at, Record: &rec}
		if err := r.eng.Notify(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		retry := first
		copyRec := a.Clone()
		retry.OccurredAt, retry.Record = at.In(time.FixedZone("CET", 3600)), &copyRec
		if err := r.eng.Notify(t.Context(), retry); err != nil {
			t.Errorf("a retry of the same event: %v, want a repeat", err)
		}
		for name, other := range map[string]hrissync.Event{
			"another person":         {ID: "msg_1", EmployeeID: b.ID, Type: "employee.updated", OccurredAt: at},
			"another type":           {ID: "msg_1", EmployeeID: a.ID, Type: "employee.terminated", OccurredAt: at, Record: &rec},
			"another time":           {ID: "msg_1", EmployeeID: a.ID, Type: "employee.updated", OccurredAt: at.Add(time.Second), Record: &rec},
			"another record version": {ID: "msg_1", EmployeeID: a.ID, Type: "employee.updated", OccurredAt: at},
		} {
			if err := r.eng.Notify(t.Context(), other); !errors.Is(err, hrissync.ErrEventConflict) {
				t.Errorf("%s under the same id: %v, want ErrEventConflict", name, err)
			}
		}
		synctest.Wait()
		if p, err := r.store.Person(t.Context(), "default", b.ID); err != nil || p.Dirty.Generation != 0 || p.Exists {
			t.Errorf("the refused event touched %s: %+v (%v)", b.ID, p, err)
		}
		if s := r.eng.Stats(); s.Events != 1 || s.Duplicates != 1 {
			t.Errorf("events=%d duplicates=%d, want 1 and 1", s.Events, s.Duplicates)
		}
	})
}
