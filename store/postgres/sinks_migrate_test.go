package postgres_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
)

// TestMigrationFromOneSink is store/sqlite's test of the same name on
// PostgreSQL: a schema an engine of one sink wrote before several sinks
// (testdata/onesink.sql, the same run as store/sqlite/testdata/onesink.db,
// whose HRIS and platform store/sqlite/testdata/onesink.json holds) is
// opened by an engine of two sinks. The LMS, inheriting, provisions nobody
// again and keeps its dead letter; the new LXP provisions everyone from
// nothing; without Inherits the LMS's sink key holds none of the old state.
func TestMigrationFromOneSink(t *testing.T) {
	for _, inherits := range []bool{true, false} {
		t.Run(map[bool]string{true: "inherits", false: "without-inherits"}[inherits], func(t *testing.T) {
			migrateOneSink(t, inherits)
		})
	}
}

func migrateOneSink(t *testing.T, inherits bool) {
	ctx := t.Context()
	b, err := os.ReadFile("../sqlite/testdata/onesink.json")
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		People   []hrissync.Employee `json:"people"`
		Accounts []hrissync.Account  `json:"accounts"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	st, _, _ := openDump(t, "testdata/onesink.sql", "onesinkdump")
	lmsKey, lxpKey := store.SinkKey("default", "lms"), store.SinkKey("default", "lxp")
	if ps, err := st.People(ctx, "default", "", 100); err != nil || len(ps) != 19 {
		t.Fatalf("the dump holds %d accounts under the tenant's key (%v), want 19", len(ps), err)
	}
	if ps, err := st.People(ctx, lmsKey, "", 100); err != nil || len(ps) != 0 {
		t.Fatalf("the dump holds %d accounts under the LMS's sink key (%v), want none", len(ps), err)
	}

	clock := clocktest.NewClock(time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC))
	hr := memory.NewHRIS(clock, 1)
	hr.Load(saved.People...)
	lms, lxp := memory.NewPlatform(clock, 1), memory.NewPlatform(clock, 2)
	lms.EnforceUniqueEmail()
	for _, a := range saved.Accounts {
		lms.Seed(a)
	}
	var mu sync.Mutex
	creates := map[string][]string{}
	for name, p := range map[string]*memory.Platform{"lms": lms, "lxp": lxp} {
		p.OnWrite(func(u hrissync.Update, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if u.Kind == hrissync.Create {
				creates[name] = append(creates[name], u.EmployeeID)
			}
		})
	}
	eng, err := hrissync.NewMulti(hr, []hrissync.Destination{
		{Name: "lms", Sink: lms, Inherits: inherits},
		{Name: "lxp", Sink: lxp},
	}, st, &hrissync.Config{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Run(runCtx) }()
	defer func() { cancel(); <-stopped }()
	<-eng.Started()
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(creates["lxp"]) != 19 {
		t.Errorf("the LXP was sent %d creates, want 19 (everyone but the terminated w-05)", len(creates["lxp"]))
	}
	if d, err := eng.Sink("lxp").DeadLetters(ctx); err != nil || len(d) != 0 {
		t.Errorf("lxp dead letters %d (%v), want none", len(d), err)
	}
	if p, err := st.Person(ctx, lxpKey, "w-19"); err != nil || !p.Exists || p.Failure != nil {
		t.Errorf("the LXP's key, w-19: %+v (%v); want its account, no failure", p, err)
	}
	dead, err := eng.Sink("lms").DeadLetters(ctx)
	if err != nil || len(dead) != 1 || dead[0].ID != "w-19" {
		t.Errorf("lms dead letters %v (%v), want w-19", dead, err)
	}
	if !inherits {
		// From nothing: every account the LMS held is sent as a create
		// again; the old state, under the tenant's key, is left unread.
		if len(creates["lms"]) != 18 {
			t.Errorf("without Inherits the LMS was sent %d creates, want 18 (every account it held)", len(creates["lms"]))
		}
		return
	}
	if len(creates["lms"]) != 0 {
		t.Errorf("the LMS was sent creates for %v: accounts it holds provisioned again", creates["lms"])
	}
	if c := lms.Counts(); c.Writes != 1 {
		t.Errorf("the LMS took %d writes, want w-07's pending department alone", c.Writes)
	}
	if a, _ := lms.Account("w-07"); a.Fields[hrissync.FieldDepartment] != "dept-9" {
		t.Errorf("LMS w-07: department %q, want dept-9", a.Fields[hrissync.FieldDepartment])
	}
	if ps, err := st.People(ctx, lmsKey, "", 100); err != nil || len(ps) != 0 {
		t.Errorf("the LMS's sink key holds %d accounts (%v): an inheriting sink keeps the tenant's key", len(ps), err)
	}
}
