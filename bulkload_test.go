package hrissync_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sourcetest"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
)

// loads counts the people a store.BulkLoader took in bulk.
type loads struct {
	store.Store
	bulk store.BulkLoader
	n    atomic.Int64
}

func (l *loads) IntendNew(ctx context.Context, tenant string, intents []store.Intent) ([]uint64, error) {
	gens, err := l.bulk.IntendNew(ctx, tenant, intents)
	for _, g := range gens {
		if g != 0 {
			l.n.Add(1)
		}
	}
	return gens, err
}

func (l *loads) CommitMany(ctx context.Context, tenant string, cs []store.Commit) error {
	return l.bulk.CommitMany(ctx, tenant, cs)
}

// oneByOne hides a Store's optional abilities, store.BulkLoader among
// them: the engine records each person's intent and commit on its own.
type oneByOne struct{ store.Store }

// loadPeople are n people for an initial load: person i reports to i/8
// (person 1 to nobody), with a few hostile shapes — a person their own
// manager, two managing each other, one re-keyed from an id nobody holds,
// one not started yet, one out of scope.
func loadPeople(n int) []hrissync.Employee {
	people := sourcetest.People(n)
	for i := range people {
		if m := (i + 1) / 8; m > 0 {
			people[i].ManagerID = fmt.Sprint(m)
		}
	}
	people[49].ManagerID = "50"                             // 50 manages themself
	people[59].ManagerID, people[60].ManagerID = "61", "60" // 60 and 61 each other
	people[69].PreviousIDs = []string{"old-70"}
	people[84].StartDate = hrissync.NewDate(2027, 1, 4)
	people[84].Status = hrissync.StatusPending
	people[89].Department = "Out"
	return people
}

// faulty is a sink that refuses some people's writes the way a platform
// does — 400 for good, 503 for now — and records the order of the writes.
type faulty struct {
	sink    hrissync.Sink
	refuse  map[string]error
	mu      sync.Mutex
	applied []hrissync.Update
}

func (f *faulty) Apply(ctx context.Context, u hrissync.Update) error {
	if err := f.refuse[u.EmployeeID]; err != nil {
		return err
	}
	if err := f.sink.Apply(ctx, u); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, u)
	return nil
}

// loadRun is one initial load's engine and what it wrote to.
type loadRun struct {
	eng      *hrissync.Engine
	st       store.Store
	platform *memory.Platform
	sink     *faulty
}

func newLoadRun(t *testing.T, st store.Store, clock *clocktest.Clock, src hrissync.Source, concurrency, breaker int, refuse map[string]error) loadRun {
	t.Helper()
	platform := memory.NewPlatform(clock, 1)
	sink := &faulty{sink: platform, refuse: refuse}
	eng, err := hrissync.New(src, sink, st, &hrissync.Config{
		Clock: clock, Concurrency: concurrency, Breaker: hrissync.Breaker{Failures: breaker}, DeletionLimit: hrissync.Budget{Off: true}, TerminationLimit: hrissync.Budget{Off: true},
		InScope: func(e hrissync.Employee) bool { return e.Department != "Out" },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return loadRun{eng, st, platform, sink}
}

// state is what the load left: each person in the Store (generations are
// the Store's own, and left out) and the audit entries in the outbox
// (their ids are random; sorted by person).
func (r loadRun) state(t *testing.T, ids []string) ([]store.Person, []audit.Entry) {
	t.Helper()
	ps, err := r.st.Lookup(t.Context(), "", ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		ps[i].Dirty.Generation = 0
	}
	box, err := r.st.Outbox(t.Context(), "", 100_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range box {
		box[i].ID = ""
	}
	slices.SortStableFunc(box, func(a, b audit.Entry) int {
		return cmp.Or(cmp.Compare(a.EmployeeID, b.EmployeeID), cmp.Compare(a.Action, b.Action))
	})
	return ps, box
}

// The initial load through a store.BulkLoader leaves the platform, the
// Store and the audit outbox as the one-by-one path does — people refused
// for good or for now, managers and their reports in the same chunk and in
// later ones, a list in any order, and everyone the bulk load leaves to the
// one-by-one path included — and writes each manager before their reports.
func TestBulkLoadAsOneByOne(t *testing.T) {
	const n = 300
	refuse := map[string]error{
		"5":  retry.Permanent(errors.New("400 bad request")),
		"3":  errors.New("503 service unavailable"), // a manager: their reports wait
		"77": errors.New("503 service unavailable"),
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	for name, newStore := range batchStores() {
		for _, order := range []string{"ordered", "shuffled"} {
			// With the breaker at its default, the reports of the manager
			// refused for now try them too, and open it: everyone after
			// them is put off. Otherwise only that manager's people wait.
			// The list's ID order is the strings': many reports come before
			// their managers, who are then provisioned one by one first.
			for breaker, wantAccounts := range map[int]int{10: 0, 1000: n * 2 / 3} {
				t.Run(fmt.Sprintf("%s/%s/breaker%d", name, order, breaker), func(t *testing.T) {
					ctx := context.Background()
					clock := clocktest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
					hris := memory.NewHRIS(clock, 1)
					hris.Load(loadPeople(n)...)
					var src hrissync.Source = hris
					if order == "shuffled" {
						src = sourcetest.Shuffled(hris, 7)
					}
					st := newStore(t)
					bl, ok := st.(store.BulkLoader)
					if !ok {
						t.Skip("the Store is no store.BulkLoader")
					}
					counted := &loads{Store: st, bulk: bl}
					// Concurrency 1: the one-by-one path's order, and so its
					// outcome, is then the same on every run.
					bulk := newLoadRun(t, counted, clock, src, 1, breaker, refuse)
					single := newLoadRun(t, oneByOne{newStore(t)}, clock, src, 1, breaker, refuse)
					for _, r := range []loadRun{bulk, single} {
						if err := r.eng.Batch(ctx); err != nil {
							t.Fatal(err)
						}
					}
					if d := gocmp.Diff(single.platform.Snapshot(), bulk.platform.Snapshot()); d != "" {
						t.Errorf("the platforms differ (-one by one +bulk):\n%s", d)
					}
					if s, b := single.platform.Counts(), bulk.platform.Counts(); s.Writes != b.Writes || !gocmp.Equal(s.ByKind, b.ByKind) {
						t.Errorf("writes %d %v one by one, %d %v in bulk", s.Writes, s.ByKind, b.Writes, b.ByKind)
					}
					sp, sbox := single.state(t, ids)
					bp, bbox := bulk.state(t, ids)
					if d := gocmp.Diff(sp, bp, cmpopts.EquateEmpty()); d != "" {
						t.Errorf("the Stores differ (-one by one +bulk):\n%s", d)
					}
					if d := gocmp.Diff(sbox, bbox, cmpopts.EquateEmpty()); d != "" {
						t.Errorf("the audit outboxes differ (-one by one +bulk):\n%s", d)
					}
					// No write refers to a manager before the manager's account
					// was made.
					made := map[string]bool{}
					for i, u := range bulk.sink.applied {
						if m := u.Fields[hrissync.FieldManagerID]; m != "" && !made[m] {
							t.Errorf("write #%d, %s's %s, refers to manager %s, who has no account yet", i, u.EmployeeID, u.Kind, m)
						}
						made[u.EmployeeID] = true
					}
					if got := counted.n.Load(); got < int64(wantAccounts)/5 {
						t.Errorf("%d people loaded in bulk", got)
					}
					if len(bulk.platform.Snapshot()) < wantAccounts {
						t.Errorf("only %d accounts made", len(bulk.platform.Snapshot()))
					}
				})
			}
		}
	}
}
