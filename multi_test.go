package hrissync_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// countingSource counts the calls each person's record is read by.
type countingSource struct {
	*memory.HRIS
	gets, lists, changes atomic.Int64
}

func (c *countingSource) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	c.gets.Add(1)
	return c.HRIS.Get(ctx, id)
}

func (c *countingSource) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	c.lists.Add(1)
	return c.HRIS.List(ctx)
}

func (c *countingSource) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	c.lists.Add(1)
	return c.HRIS.Snapshot(ctx)
}

func (c *countingSource) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	c.changes.Add(1)
	return c.HRIS.ChangedSince(ctx, since)
}

// twoSinks is an LMS taking everyone on the hybrid policy and an LXP taking
// R&D only, every field realtime, over one HRIS and one Store.
type twoSinks struct {
	src      *countingSource
	lms, lxp *memory.Platform
	eng      *hrissync.Engine
	audit    *audit.Memory
}

func newTwoSinks(t *testing.T, people int) *twoSinks {
	t.Helper()
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	for i := range people {
		dept := "Sales"
		if i%2 == 0 {
			dept = "R&D"
		}
		id := fmt.Sprintf("w-%03d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(1999, 1, 4), Role: "Engineer", Department: dept})
	}
	ts := &twoSinks{src: &countingSource{HRIS: hris}, audit: &audit.Memory{},
		lms: memory.NewPlatform(hrissync.RealClock{}, 1), lxp: memory.NewPlatform(hrissync.RealClock{}, 2)}
	var err error
	ts.eng, err = hrissync.NewMulti(ts.src, []hrissync.Destination{
		{Name: "lms", Sink: ts.lms},
		{Name: "lxp", Sink: ts.lxp, Policy: cadence.RealtimeOnly(),
			InScope: func(e hrissync.Employee) bool { return e.Department == "R&D" }},
	}, memstore.New(), &hrissync.Config{Auditor: ts.audit, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ts.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ts.eng.Started()
	return ts
}

// TestSinksShareOneRead: the batch reads the list once for both sinks, and a
// webhook's person is read once for both; each sink holds whom its scope
// gives it.
func TestSinksShareOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTwoSinks(t, 40)
		ctx := t.Context()
		if err := ts.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ts.src.lists.Load(); got != 1 {
			t.Errorf("the batch listed the Source %d times, want 1", got)
		}
		if n := len(ts.lms.Snapshot()); n != 40 {
			t.Errorf("lms holds %d accounts, want 40", n)
		}
		if n := len(ts.lxp.Snapshot()); n != 20 {
			t.Errorf("lxp holds %d accounts, want 20 (R&D)", n)
		}
		creates := map[string]int{}
		for _, en := range ts.audit.Entries() {
			if en.Action == "create" {
				creates[en.Sink]++
			}
		}
		if creates["lms"] != 40 || creates["lxp"] != 20 || len(creates) != 2 {
			t.Errorf("audit entries of creates by sink: %v, want lms 40 and lxp 20", creates)
		}
		before := ts.src.gets.Load()
		for i := range 10 {
			id := fmt.Sprintf("w-%03d", i)
			e, err := ts.src.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" })
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.eng.Notify(ctx, hrissync.Event{ID: "evt-" + id, EmployeeID: id, OccurredAt: e.Version.Time}); err != nil {
				t.Fatal(err)
			}
		}
		if err := ts.eng.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ts.src.gets.Load() - before; got != 10 {
			t.Errorf("ten webhooks read the Source %d times, want 10", got)
		}
		for i := range 10 {
			id := fmt.Sprintf("w-%03d", i)
			if a, _ := ts.lms.Account(id); a.Fields[hrissync.FieldRole] != "Lead" {
				t.Errorf("lms %s: role %q", id, a.Fields[hrissync.FieldRole])
			}
			a, ok := ts.lxp.Account(id)
			switch {
			case i%2 == 0 && a.Fields[hrissync.FieldRole] != "Lead":
				t.Errorf("lxp %s: role %q", id, a.Fields[hrissync.FieldRole])
			case i%2 == 1 && ok:
				t.Errorf("lxp holds %s, out of its scope", id)
			}
		}

		// A webhook that never came: the poll reads the change feed once
		// for both sinks, and needs no Get.
		if _, err := ts.src.Update("role", "w-012", func(e *hrissync.Employee) { e.Role = "Architect" }); err != nil {
			t.Fatal(err)
		}
		gets := ts.src.gets.Load()
		if err := ts.eng.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if n, g := ts.src.changes.Load(), ts.src.gets.Load()-gets; n != 1 || g != 0 {
			t.Errorf("the poll asked for changes %d times and read %d people, want 1 and 0", n, g)
		}
		for name, p := range map[string]*memory.Platform{"lms": ts.lms, "lxp": ts.lxp} {
			if a, _ := p.Account("w-012"); a.Fields[hrissync.FieldRole] != "Architect" {
				t.Errorf("%s: the poll left w-012's role %q", name, a.Fields[hrissync.FieldRole])
			}
		}
	})
}

// TestSinkDownDelaysNoOther: with the LXP down for six hours, a change
// every ten minutes — a termination among them — reaches the LMS within
// seconds; the LXP's retries, dead letters and incidents are its own, and it
// catches up once it is back.
func TestSinkDownDelaysNoOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTwoSinks(t, 40)
		ctx := t.Context()
		if err := ts.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ts.lxp.SetFaults(memory.SinkFaults{Outages: []memory.Span{{From: start, To: start.Add(6 * time.Hour)}}})
		e, err := ts.src.Update("terminated", "w-000", func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(start), true
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.eng.Notify(ctx, hrissync.Event{ID: "evt-term", EmployeeID: "w-000", OccurredAt: e.Version.Time}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if a, _ := ts.lms.Account("w-000"); a.Active {
			t.Fatal("lms: w-000 still active 10 s after the termination, beside a sink that is down")
		}
		for i := range 35 { // one change every ten minutes while the LXP is down
			id := fmt.Sprintf("w-%03d", 2+i)
			e, err := ts.src.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" })
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.eng.Notify(ctx, hrissync.Event{ID: "evt-" + id, EmployeeID: id, OccurredAt: e.Version.Time}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Minute)
			synctest.Wait()
		}
		if a, _ := ts.lxp.Account("w-000"); !a.Active {
			t.Fatal("lxp: w-000 deactivated during its outage")
		}
		lmsEng, lxpEng := ts.eng.Sink("lms"), ts.eng.Sink("lxp")
		rt := lmsEng.Stats().Triggers[hrissync.TriggerRealtime]
		if rt.Writes != 36 || rt.Latency.Max > 5*time.Second {
			t.Errorf("lms: %d realtime writes, latency up to %v, beside a sink that is down; want 36 within seconds", rt.Writes, rt.Latency.Max)
		}
		if dead, _ := lmsEng.DeadLetters(ctx); len(dead) != 0 || len(lmsEng.Incidents()) != 0 {
			t.Errorf("lms: %d dead letters, %d incidents; want none", len(dead), len(lmsEng.Incidents()))
		}
		dead, _ := lxpEng.DeadLetters(ctx)
		if len(dead) == 0 || len(lxpEng.Incidents()) == 0 {
			t.Errorf("lxp: %d dead letters, %d incidents during its outage; want some", len(dead), len(lxpEng.Incidents()))
		}
		for _, a := range lxpEng.Incidents() {
			if a.Sink != "lxp" {
				t.Errorf("an lxp incident names sink %q: %+v", a.Sink, a)
			}
		}
		time.Sleep(2 * time.Hour) // the outage ends at 6 h; the hourly poll retries its dead letters
		synctest.Wait()
		if a, _ := ts.lxp.Account("w-000"); a.Active {
			t.Error("lxp: w-000 still active after its outage ended")
		}
		for i := range 35 {
			id := fmt.Sprintf("w-%03d", 2+i)
			if a, ok := ts.lxp.Account(id); ok && a.Fields[hrissync.FieldRole] != "Lead" {
				t.Errorf("lxp: %s has role %q after its outage, want Lead", id, a.Fields[hrissync.FieldRole])
			}
		}
		if dead, _ := lxpEng.DeadLetters(ctx); len(dead) != 0 {
			t.Errorf("lxp: %d dead letters once it is back", len(dead))
		}
	})
}

// failingAccept is a Store whose Accept fails for one key, as many times as
// told.
type failingAccept struct {
	*memstore.Store
	key   string
	fails atomic.Int64
}

func (f *failingAccept) Accept(ctx context.Context, tenant string, a store.Acceptance) (bool, error) {
	if tenant == f.key && f.fails.Add(-1) >= 0 {
		return false, errors.New("disk full")
	}
	return f.Store.Accept(ctx, tenant, a)
}

func (f *failingAccept) AcceptBatch(ctx context.Context, tenant string, a []store.Acceptance) ([]store.Accepted, error) {
	if tenant == f.key && f.fails.Add(-1) >= 0 {
		return nil, errors.New("disk full")
	}
	return f.Store.AcceptBatch(ctx, tenant, a)
}

// TestNotifyPartlyRecorded: an event one sink could not record is refused
// as a whole, so that the sender retries; the retry reaches the sink that
// missed it, and the sink that had it drops it as a repeat. Each sink
// applies the change once.
func TestNotifyPartlyRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hris := memory.NewHRIS(hrissync.RealClock{}, 1)
		hris.Load(hrissync.Employee{ID: "w-1", Email: "w-1@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4)})
		st := &failingAccept{Store: memstore.New(), key: store.SinkKey("acme", "lxp")}
		lms, lxp := memory.NewPlatform(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 2)
		eng, err := hrissync.NewMulti(hris, []hrissync.Destination{{Name: "lms", Sink: lms}, {Name: "lxp", Sink: lxp}},
			st, &hrissync.Config{Tenant: "acme", Policy: cadence.RealtimeOnly(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- eng.Run(ctx) }()
		defer func() { cancel(); <-done }()
		if err := eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		e, err := hris.Update("role", "w-1", func(e *hrissync.Employee) { e.Role = "Lead" })
		if err != nil {
			t.Fatal(err)
		}
		ev := hrissync.Event{ID: "evt-1", EmployeeID: "w-1", OccurredAt: e.Version.Time}
		st.fails.Store(1)
		if err := eng.Notify(ctx, ev); err == nil || !strings.Contains(err.Error(), "lxp") {
			t.Fatalf("Notify with lxp's Store failing: %v, want an error naming lxp", err)
		}
		if err := eng.Notify(ctx, ev); err != nil {
			t.Fatalf("the sender's retry: %v", err)
		}
		if err := eng.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]*memory.Platform{"lms": lms, "lxp": lxp} {
			if a, _ := p.Account("w-1"); a.Fields[hrissync.FieldRole] != "Lead" {
				t.Errorf("%s: role %q, want Lead", name, a.Fields[hrissync.FieldRole])
			}
			if s := eng.Sink(name).Stats(); s.Events != 1 {
				t.Errorf("%s recorded %d events, want 1", name, s.Events)
			}
		}
		if s := eng.Stats(); s.Events != 1 || s.Duplicates != 0 {
			t.Errorf("engine: %d events, %d repeats; want 1 and 0 (the retry completed the event)", s.Events, s.Duplicates)
		}
		if err := eng.Notify(ctx, ev); err != nil || eng.Stats().Duplicates != 1 {
			t.Errorf("a third delivery: %v, %d repeats; want nil and 1", err, eng.Stats().Duplicates)
		}
	})
}

// TestNewMultiRefuses: what cannot make an engine of several sinks.
func TestNewMultiRefuses(t *testing.T) {
	hris, p := memory.NewHRIS(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 1)
	for name, sinks := range map[string][]hrissync.Destination{
		"no sinks":       nil,
		"no name":        {{Sink: p}},
		"a separator":    {{Name: "a" + store.SinkSeparator + "b", Sink: p}},
		"twice named":    {{Name: "lms", Sink: p}, {Name: "lms", Sink: p}},
		"no Sink":        {{Name: "lms"}},
		"two inheriting": {{Name: "lms", Sink: p, Inherits: true}, {Name: "lxp", Sink: p, Inherits: true}},
		"a bad budget":   {{Name: "lms", Sink: p, DeletionLimit: hrissync.Budget{Count: -1}}},
	} {
		if _, err := hrissync.NewMulti(hris, sinks, memstore.New(), nil); err == nil {
			t.Errorf("%s: NewMulti succeeded", name)
		}
	}
	if _, err := hrissync.NewMulti(hris, []hrissync.Destination{{Name: "lms", Sink: p}}, memstore.New(),
		&hrissync.Config{Dispatcher: nopDispatcher{}}); err == nil {
		t.Error("a shared Dispatcher: NewMulti succeeded")
	}
}

type nopDispatcher struct{}

func (nopDispatcher) Dispatch(string, time.Time)                                    {}
func (nopDispatcher) Run(context.Context, int, func(context.Context, string)) error { return nil }
func (nopDispatcher) Stop()                                                         {}

// TestSinksRerunTogether: a 02:00 batch that fails for both sinks (the
// HRIS down) is rerun at 03:00 for both on one reading of the list — also
// when the engine was restarted in between.
func TestSinksRerunTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hris := memory.NewHRIS(hrissync.RealClock{}, 1)
		hris.Load(hrissync.Employee{ID: "w-1", Email: "w-1@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4)})
		src := &countingSource{HRIS: hris}
		st := memstore.New()
		lms, lxp := memory.NewPlatform(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 2)
		start := func() (*hrissync.Engine, func()) {
			eng, err := hrissync.NewMulti(src, []hrissync.Destination{{Name: "lms", Sink: lms}, {Name: "lxp", Sink: lxp}},
				st, &hrissync.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- eng.Run(ctx) }()
			<-eng.Started()
			return eng, func() { cancel(); <-done }
		}
		now := time.Now() // 2000-01-01 00:00 UTC in the bubble
		batchAt := now.Add(2 * time.Hour)
		hris.AddOutage(memory.Span{From: batchAt.Add(-time.Minute), To: batchAt.Add(30 * time.Minute)})
		eng, stop := start()
		time.Sleep(2*time.Hour + 10*time.Minute) // the 02:00 batch fails
		synctest.Wait()
		for _, l := range eng.Sinks() {
			if r, err := l.LastBatchRun(t.Context()); err != nil || r.Status != "failed" {
				t.Fatalf("%s: the 02:00 run is %q (%v), want failed", l.SinkName(), r.Status, err)
			}
		}
		stop() // and restarted before the rerun
		eng, stop = start()
		defer stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		for _, l := range eng.Sinks() {
			if r, err := l.LastBatchRun(t.Context()); err != nil || r.Status != "succeeded" || r.Attempt != 2 {
				t.Errorf("%s: after 03:00 the run is %q attempt %d (%v), want the rerun succeeded", l.SinkName(), r.Status, r.Attempt, err)
			}
		}
		if n := src.lists.Load(); n != 2 {
			t.Errorf("the list was taken %d times, want 2: the failed batch and one rerun for both sinks", n)
		}
		if _, ok := lxp.Account("w-1"); !ok {
			t.Error("lxp: w-1 not provisioned by the rerun")
		}
	})
}

// TestBacklogIsTheSlowestSinks: webhook backpressure sees the sink that
// falls behind, not the one that keeps up.
func TestBacklogIsTheSlowestSinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTwoSinks(t, 40)
		ctx := t.Context()
		if err := ts.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		ts.lxp.SetFaults(memory.SinkFaults{Latency: 10 * time.Second})
		for i := range 40 {
			id := fmt.Sprintf("w-%03d", i)
			e, err := ts.src.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" })
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.eng.Notify(ctx, hrissync.Event{ID: "evt-" + id, EmployeeID: id, OccurredAt: e.Version.Time}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		lms, lxp := ts.eng.Sink("lms").Backlog(), ts.eng.Sink("lxp").Backlog()
		if lms != 0 || lxp == 0 || ts.eng.Backlog() != lxp {
			t.Errorf("backlog: engine %d, lms %d, lxp %d; want lms caught up and the engine's the lxp's", ts.eng.Backlog(), lms, lxp)
		}
		if err := ts.eng.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if ts.eng.Backlog() != 0 {
			t.Errorf("backlog %d once idle", ts.eng.Backlog())
		}
	})
}

// TestTenantCannotNameASink: a tenant named with the separator of a sink's
// Store key would read another tenant's sink.
func TestTenantCannotNameASink(t *testing.T) {
	hris, p := memory.NewHRIS(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 1)
	cfg := &hrissync.Config{Tenant: "acme" + store.SinkSeparator + "lxp"}
	if _, err := hrissync.New(hris, p, memstore.New(), cfg); err == nil {
		t.Error("New took a tenant holding U+001F")
	}
	if _, err := hrissync.NewMulti(hris, []hrissync.Destination{{Name: "lms", Sink: p}}, memstore.New(), cfg); err == nil {
		t.Error("NewMulti took a tenant holding U+001F")
	}
}
