package sinktest

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// testEngine runs the engine itself over the Sink, on a fake clock, through
// the changes that matter most — a first batch that adopts an account made by
// SSO, role, manager and email changes, a cleared manager, a termination at
// once and one at the end of the day, a rehire — and then reads the
// platform: every termination has taken effect, no account was duplicated,
// every carried field holds the HR value, and nothing is recorded as applied
// that the platform does not hold.
func testEngine(t *testing.T, h Harness) {
	ctx := t.Context()
	clock := clocktest.NewClock(v0.Time)
	hr := memory.NewHRIS(clock, 1)
	st := memstore.New()
	eng, err := hrissync.New(hr, h.Sink, st, &hrissync.Config{
		Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hr.Subscribe(func(ev hrissync.Event) {
		if err := eng.Notify(ctx, ev); err != nil {
			t.Errorf("Notify: %v", err)
		}
	})
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-eng.Started()
	// pass moves the clock on by d, timer by timer, the engine finishing
	// its work at each instant (retries, a manager provisioned first).
	pass := func(d time.Duration) {
		t.Helper()
		end := clock.Now().Add(d)
		for {
			if err := eng.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			next, ok := clock.Next()
			if !ok || next.After(end) {
				clock.AdvanceTo(end)
				if err := eng.WaitIdle(ctx); err != nil {
					t.Fatal(err)
				}
				return
			}
			clock.AdvanceTo(next)
		}
	}
	change := func(id string, fn func(*hrissync.Employee)) {
		t.Helper()
		if _, err := hr.Update("employee.updated", id, fn); err != nil {
			t.Fatal(err)
		}
		pass(10 * time.Minute)
	}

	boss, leaver, mover, adopted := Person("w-boss"), Person("w-leaver"), Person("w-mover"), Person("w-sso")
	leaver.ManagerID = boss.ID
	seeded := adopted.Fields()
	seeded[hrissync.FieldRole] = "from SSO"
	if err := h.Seed(hrissync.Account{EmployeeID: adopted.ID, Active: true, Fields: seeded}); err != nil {
		t.Fatal(err)
	}
	_, ssoAccount, _ := h.Account(adopted.ID)
	hr.Load(leaver, boss, mover, adopted)
	if err := eng.Batch(ctx); err != nil {
		t.Fatalf("first batch: %v", err)
	}
	pass(time.Minute)
	_, leaverAccount, _ := h.Account(leaver.ID)

	change(leaver.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
	change(mover.ID, func(e *hrissync.Employee) { e.ManagerID, e.Department = boss.ID, "Platform" })
	change(mover.ID, func(e *hrissync.Employee) { e.Email = "moved." + e.Email })
	change(leaver.ID, func(e *hrissync.Employee) { e.ManagerID = "" })
	today := hrissync.DateOf(clock.Now())
	change(leaver.ID, func(e *hrissync.Employee) { e.TerminationDate = today.AddDays(-1) }) // left yesterday: at once
	if acc, _, _ := h.Account(leaver.ID); acc.Active {
		t.Errorf("%s still active after a termination effective yesterday", leaver.ID)
	}
	change(leaver.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.Date{} }) // rehired
	change(mover.ID, func(e *hrissync.Employee) { e.TerminationDate = today })            // leaves tonight
	if acc, _, _ := h.Account(mover.ID); !acc.Active {
		t.Errorf("%s deactivated before the end of the last day", mover.ID)
	}
	pass(26 * time.Hour) // midnight, and a nightly batch

	if dead, err := eng.DeadLetters(ctx); err != nil || len(dead) != 0 {
		t.Errorf("dead letters: %v (%v)", dead, err)
	}
	if n := h.Accounts(); n != 4 {
		t.Errorf("the platform holds %d accounts for 4 people: adoption or a rehire duplicated one", n)
	}
	if _, pid, _ := h.Account(leaver.ID); pid != leaverAccount {
		t.Errorf("the rehire is account %q, want the same account %q", pid, leaverAccount)
	}
	if _, pid, _ := h.Account(adopted.ID); ssoAccount != "" && pid != ssoAccount {
		t.Errorf("%s is account %q, want the adopted %q", adopted.ID, pid, ssoAccount)
	}
	for _, e := range hr.Employees() {
		wantActive := e.TerminationDate.IsZero()
		acc, _, ok := h.Account(e.ID)
		if !ok {
			t.Errorf("%s has no account", e.ID)
			continue
		}
		if acc.Active != wantActive {
			t.Errorf("%s active = %v, want %v", e.ID, acc.Active, wantActive)
		}
		want := e.Fields()
		if !wantActive {
			want[hrissync.FieldStatus] = string(hrissync.StatusTerminated)
		}
		for f, v := range want {
			if carries(h, f) && acc.Fields[f] != v {
				t.Errorf("%s %s = %q on the platform, want %q", e.ID, f, acc.Fields[f], v)
			}
		}
		p, err := st.Person(ctx, "default", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		for f, a := range p.Applied {
			if f == store.AppliedActivity {
				if a.Value != strconv.FormatBool(acc.Active) {
					t.Errorf("%s: activity recorded as %s, the platform holds active=%v", e.ID, a.Value, acc.Active)
				}
				continue
			}
			if !carries(h, f) {
				t.Errorf("%s: %s recorded as applied, but the sink does not carry it", e.ID, f)
			} else if acc.Fields[f] != a.Value {
				t.Errorf("%s: %s recorded as applied %q, the platform holds %q", e.ID, f, a.Value, acc.Fields[f])
			}
		}
	}
}
