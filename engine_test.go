package hrissync_test

import (
	"context"
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
}

// start builds and runs an engine in the current bubble; the engine stops
// when the test ends.
func start(t *testing.T, cfg hrissync.Config) *rig {
	t.Helper()
	r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), audit: &audit.Memory{}, alerts: &alerts{}}
	r.run(cfg)
	return r
}

func (r *rig) run(cfg hrissync.Config) {
	r.t.Helper()
	if cfg.Auditor == nil {
		cfg.Auditor = r.audit
	}
	if cfg.Alerter == nil {
		cfg.Alerter = r.alerts
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := hrissync.New(r.hr, r.lms, r.store, &cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- eng.Run(ctx) }()
	r.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
}

// notify sends a thin event for id and waits for the engine to settle.
func (r *rig) notify(id string) {
	r.t.Helper()
	r.events++
	err := r.eng.Notify(context.Background(), hrissync.Event{
		ID: fmt.Sprintf("evt-%d", r.events), EmployeeID: id, Type: "employee.updated", OccurredAt: time.Now(),
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
