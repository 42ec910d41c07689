package sqlite_test

// The migration from one sink to several: a Store file an engine of one
// sink wrote before issue 25 (testdata/onesink.db, written by
// testdata/onesink.go at commit 993986c, with the HRIS and the platform it
// synced in testdata/onesink.json) is opened by an engine of two sinks. The
// sink that Inherits takes the old state over — its accounts are not
// provisioned again, its dead letter stays its own — while the new sink
// provisions everyone from nothing, its state apart.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// oneSinkSaved is testdata/onesink.json: the HRIS's records and the
// platform's accounts as the engine of one sink left them.
type oneSinkSaved struct {
	People   []hrissync.Employee `json:"people"`
	Accounts []hrissync.Account  `json:"accounts"`
}

// oneSinkEnd is where onesink.go's clock stopped.
var oneSinkEnd = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

// writeLog records each write a platform acknowledged.
type writeLog struct {
	mu     sync.Mutex
	writes []hrissync.Update
}

func (l *writeLog) record(p *memory.Platform) {
	p.OnWrite(func(u hrissync.Update, _ time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.writes = append(l.writes, u)
	})
}

// of returns the writes of kind k, by employee ID.
func (l *writeLog) of(k hrissync.UpdateKind) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, u := range l.writes {
		if u.Kind == k {
			ids = append(ids, u.EmployeeID)
		}
	}
	slices.Sort(ids)
	return ids
}

// migrationRig is the HRIS and the LMS of onesink.json, rebuilt, a new empty
// LXP, and an engine of both sinks on a temporary copy of onesink.db.
type migrationRig struct {
	st             *sqlite.Store
	lms, lxp       *memory.Platform
	lmsLog, lxpLog writeLog
	eng            *hrissync.Engine
}

func startMigration(t *testing.T, inherits bool) *migrationRig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "onesink.json"))
	must(t, err)
	var saved oneSinkSaved
	must(t, json.Unmarshal(b, &saved))
	if len(saved.People) != 20 || len(saved.Accounts) != 19 {
		t.Fatalf("onesink.json holds %d people and %d accounts, want 20 and 19", len(saved.People), len(saved.Accounts))
	}
	clock := clocktest.NewClock(oneSinkEnd)
	hr := memory.NewHRIS(clock, 1)
	hr.Load(saved.People...)
	r := &migrationRig{lms: memory.NewPlatform(clock, 1), lxp: memory.NewPlatform(clock, 2)}
	r.lms.EnforceUniqueEmail() // as it did: w-19 is refused still
	for _, a := range saved.Accounts {
		r.lms.Seed(a)
	}
	r.lmsLog.record(r.lms)
	r.lxpLog.record(r.lxp)
	r.st = open(t, copyFixture(t, "onesink.db"), nil)
	r.eng, err = hrissync.NewMulti(hr, []hrissync.Destination{
		{Name: "lms", Sink: r.lms, Inherits: inherits},
		{Name: "lxp", Sink: r.lxp},
	}, r.st, &hrissync.Config{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 1})
	must(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error, 1)
	go func() { stopped <- r.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	select {
	case <-r.eng.Started():
	case err := <-stopped:
		t.Fatal(err)
	}
	return r
}

// batch runs the engine's batch and waits for every sink to finish its work.
func (r *migrationRig) batch(t *testing.T) {
	t.Helper()
	if err := r.eng.Batch(t.Context()); err != nil {
		t.Fatal(err)
	}
	must(t, r.eng.WaitIdle(t.Context()))
}

// active lists the people of onesink.json who should hold an active account:
// all but w-05, terminated.
func activePeople() []string {
	var ids []string
	for i := range 20 {
		if id := fmt.Sprintf("w-%02d", i); id != "w-05" {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestMigrationFromOneSink(t *testing.T) {
	ctx := t.Context()
	r := startMigration(t, true)
	lxpKey := store.SinkKey("default", "lxp")
	if got := r.eng.Sink("lms").SinkName(); got != "lms" {
		t.Fatalf("Sink(lms).SinkName() = %q", got)
	}
	r.batch(t)

	// The LMS: nothing provisioned again, nothing deactivated; the one
	// write owed (w-07's department, a batch field left pending) made.
	if got := r.lmsLog.of(hrissync.Create); len(got) != 0 {
		t.Errorf("the LMS was sent creates for %v: accounts it holds provisioned again", got)
	}
	if c := r.lms.Counts(); c.Writes != 1 || !slices.Equal(r.lmsLog.of(hrissync.Modify), []string{"w-07"}) {
		t.Errorf("the LMS took %d writes (modifies %v), want w-07's pending department alone", c.Writes, r.lmsLog.of(hrissync.Modify))
	}
	if a, _ := r.lms.Account("w-07"); a.Fields[hrissync.FieldDepartment] != "dept-9" {
		t.Errorf("LMS w-07: department %q, want dept-9", a.Fields[hrissync.FieldDepartment])
	}
	if a, ok := r.lms.Account("w-05"); !ok || a.Active {
		t.Errorf("LMS w-05 (terminated): present %v, active %v", ok, a.Active)
	}
	// Its dead letter is still its own, tried again by the batch (the
	// platform refuses it still) and still dead.
	dead, err := r.eng.Sink("lms").DeadLetters(ctx)
	must(t, err)
	if got := ids(dead); !slices.Equal(got, []string{"w-19"}) {
		t.Errorf("lms dead letters %v, want [w-19]", got)
	}
	if x, err := r.eng.Sink("lms").Explain(ctx, "w-19"); err != nil || x.Attempts == nil || !x.Attempts.Dead || x.Account.Exists {
		t.Errorf("lms Explain(w-19): attempts %+v, account %+v (%v); want dead, no account", x.Attempts, x.Account, err)
	}
	if x, err := r.eng.Sink("lms").Explain(ctx, "w-03"); err != nil || !x.Account.Exists || !x.Account.Active {
		t.Errorf("lms Explain(w-03): account %+v (%v), want the inherited account", x.Account, err)
	}

	// The LXP: everyone in scope provisioned from nothing, w-19 too (its
	// emails are not unique), the terminated w-05 not.
	if got, want := r.lxpLog.of(hrissync.Create), activePeople(); !slices.Equal(got, want) {
		t.Errorf("the LXP was sent creates for %v, want %v", got, want)
	}
	if c := r.lxp.Counts(); c.Writes != 19 {
		t.Errorf("the LXP took %d writes, want 19 creates", c.Writes)
	}
	if d, err := r.eng.Sink("lxp").DeadLetters(ctx); err != nil || len(d) != 0 {
		t.Errorf("lxp dead letters %v (%v), want none: the LMS's is not the LXP's", ids(d), err)
	}
	if x, err := r.eng.Sink("lxp").Explain(ctx, "w-19"); err != nil || x.Attempts != nil || !x.Account.Exists || !x.Account.Active {
		t.Errorf("lxp Explain(w-19): attempts %+v, account %+v (%v); want an active account, no failure", x.Attempts, x.Account, err)
	}
	if x, err := r.eng.Sink("lxp").Explain(ctx, "w-05"); err != nil || x.Account.Exists {
		t.Errorf("lxp Explain(w-05): account %+v (%v), want none (terminated before the LXP came)", x.Account, err)
	}

	// The two states are apart in the Store: the LMS's under the tenant's
	// own key, as one sink left it, the LXP's under its sink key.
	lmsPeople, err := r.st.People(ctx, "default", "", 100)
	must(t, err)
	lxpPeople, err := r.st.People(ctx, lxpKey, "", 100)
	must(t, err)
	if len(lmsPeople) != 19 || len(lxpPeople) != 19 {
		t.Errorf("accounts in the Store: %d under the tenant's key, %d under the LXP's; want 19 and 19", len(lmsPeople), len(lxpPeople))
	}
	if p := person(t, r.st, "default", "w-19"); p.Exists || p.Failure == nil || !p.Failure.Dead {
		t.Errorf("the tenant's key, w-19: %+v; want the LMS's dead letter", p)
	}
	if p := person(t, r.st, lxpKey, "w-19"); !p.Exists || p.Failure != nil {
		t.Errorf("the LXP's key, w-19: %+v; want its account, no failure", p)
	}
	if p := person(t, r.st, store.SinkKey("default", "lms"), "w-03"); p.Exists || len(p.Applied) != 0 {
		t.Errorf("the LMS's sink key holds w-03 (%+v): an inheriting sink keeps the tenant's own key", p)
	}
}

// TestMigrationWithoutInherits: the same file under the same sinks, but
// the LMS not marked Inherits — as a host adding a second sink might
// forget. Its sink key holds nothing of the old state, so it starts from
// nothing: every account it holds is sent as a create again (which a
// platform keyed by email or user name would refuse as duplicates). The
// docs must say: keep Inherits on the sink that was the only one.
func TestMigrationWithoutInherits(t *testing.T) {
	ctx := t.Context()
	r := startMigration(t, false)
	lmsKey := store.SinkKey("default", "lms")
	if ps, err := r.st.People(ctx, lmsKey, "", 100); err != nil || len(ps) != 0 {
		t.Fatalf("the LMS's sink key holds %d accounts (%v) before it ran; want none", len(ps), err)
	}
	if p := person(t, r.st, lmsKey, "w-03"); p.Exists {
		t.Fatalf("the LMS's sink key holds w-03 before it ran: %+v", p)
	}
	r.batch(t)
	// The old state, under the tenant's key, is left as it was: nobody
	// reads it.
	if ps, err := r.st.People(ctx, "default", "", 100); err != nil || len(ps) != 19 {
		t.Errorf("the tenant's key holds %d accounts (%v), want the 19 it held", len(ps), err)
	}
	if p := person(t, r.st, "default", "w-07"); p.Applied[hrissync.FieldDepartment].Value != "dept-1" {
		t.Errorf("the tenant's key, w-07: department %q, want dept-1 as left", p.Applied[hrissync.FieldDepartment].Value)
	}
	// The LMS, from nothing, provisions again every account it holds.
	creates := r.lmsLog.of(hrissync.Create)
	want := slices.DeleteFunc(activePeople(), func(id string) bool { return id == "w-19" })
	if !slices.Equal(creates, want) {
		t.Errorf("without Inherits the LMS was sent creates for %v, want %v (every account it held)", creates, want)
	}
	t.Logf("without Inherits: %d creates sent to an LMS holding those accounts already", len(creates))
}
