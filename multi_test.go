package hrissync_test

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
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
	ts := &twoSinks{src: &countingSource{HRIS: hris},
		lms: memory.NewPlatform(hrissync.RealClock{}, 1), lxp: memory.NewPlatform(hrissync.RealClock{}, 2)}
	var err error
	ts.eng, err = hrissync.NewMulti(ts.src, []hrissync.Destination{
		{Name: "lms", Sink: ts.lms},
		{Name: "lxp", Sink: ts.lxp, Policy: cadence.RealtimeOnly(),
			InScope: func(e hrissync.Employee) bool { return e.Department == "R&D" }},
	}, memstore.New(), &hrissync.Config{Logger: slog.New(slog.DiscardHandler)})
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
	})
}

// TestSinkDownDelaysNoOther: with the LXP down for six hours, a termination
// reaches the LMS within seconds; the LXP's retries are its own, and it
// catches up once it is back.
func TestSinkDownDelaysNoOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTwoSinks(t, 20)
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
		if a, _ := ts.lxp.Account("w-000"); !a.Active {
			t.Fatal("lxp: w-000 deactivated during its outage")
		}
		if lat := ts.eng.Sink("lms").Stats().Triggers[hrissync.TriggerRealtime].Latency.Max; lat > 5*time.Second {
			t.Errorf("lms realtime latency %v beside a sink that is down", lat)
		}
		time.Sleep(7 * time.Hour)
		synctest.Wait()
		if a, _ := ts.lxp.Account("w-000"); a.Active {
			t.Error("lxp: w-000 still active an hour after its outage ended")
		}
	})
}
