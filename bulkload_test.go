package hrissync_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"regexp"
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

// managersFirst lists a Source's people in the order of their numeric
// ids, which puts each manager (i/8) before their reports.
type managersFirst struct{ hrissync.Source }

func (m managersFirst) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		var all []hrissync.Employee
		for e, err := range m.Source.List(ctx) {
			if err != nil {
				yield(e, err)
				return
			}
			all = append(all, e)
		}
		slices.SortStableFunc(all, func(a, b hrissync.Employee) int { return cmp.Compare(len(a.ID), len(b.ID)) })
		for _, e := range all {
			if !yield(e, nil) {
				return
			}
		}
	}
}

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
	clock    *clocktest.Clock
	platform *memory.Platform
	sink     *faulty
	loaded   *atomic.Int64 // people loaded in bulk
	audited  *auditLog
}

// auditLog is an Auditor that keeps what it is handed.
type auditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (l *auditLog) Record(_ context.Context, entries []audit.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, entries...)
	return nil
}

func newLoadRun(t *testing.T, st store.Store, clock *clocktest.Clock, src hrissync.Source, concurrency, breaker int, refuse map[string]error) loadRun {
	t.Helper()
	platform := memory.NewPlatform(clock, 1)
	sink := &faulty{sink: platform, refuse: maps.Clone(refuse)}
	audited := &auditLog{}
	eng, err := hrissync.New(src, sink, st, &hrissync.Config{Auditor: audited,
		Clock: clock, Concurrency: concurrency, Breaker: hrissync.Breaker{Failures: breaker}, DeletionLimit: hrissync.Budget{Off: true}, TerminationLimit: hrissync.Budget{Off: true},
		InScope: func(e hrissync.Employee) bool { return e.Department != "Out" },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return loadRun{eng: eng, st: st, clock: clock, platform: platform, sink: sink, audited: audited}
}

// state is what the load left: each person in the Store and the audit
// entries, handed to the Auditor or still in the outbox, sorted by person — but for what differs between
// two runs anyway: generations (the Store's), run and entry ids (random).
func (r loadRun) state(t *testing.T) ([]store.Person, []audit.Entry) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	ps, err := r.st.Lookup(t.Context(), "default", ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		ps[i].Dirty.Generation, ps[i].Listed.Run = 0, ""
	}
	box, err := r.st.Outbox(t.Context(), "default", 100_000)
	if err != nil {
		t.Fatal(err)
	}
	r.audited.mu.Lock()
	box = append(slices.Clone(r.audited.entries), box...)
	r.audited.mu.Unlock()
	for i := range box {
		box[i].ID, box[i].RunID = "", ""
	}
	slices.SortStableFunc(box, func(a, b audit.Entry) int {
		return cmp.Or(cmp.Compare(a.EmployeeID, b.EmployeeID), cmp.Compare(a.Action, b.Action))
	})
	return ps, box
}

// The initial load through a store.BulkLoader leaves the platform, the
// Store and the audit outbox as the one-by-one path does — people refused
// for good or for now, managers and their reports in the same chunk and in
// later ones, everyone the bulk load leaves to the one-by-one path
// included — and writes each manager before their reports.
//
// The bulk load takes a chunk's managers before their reports, as the
// one-by-one path does over a list that names managers first. Over another
// list, the one-by-one path provisions a manager on a report's behalf
// first, and when that manager is refused for good, the report that asked
// is left dirty for the manager reference it parked (the reports after it
// find the manager tried already): which report that is depends on the
// list's order, one by one as in bulk. So the marks are compared for a
// list naming managers first, and everything else for any order.
func TestBulkLoadAsOneByOne(t *testing.T) {
	refuse := map[string]error{
		"5":  retry.Permanent(errors.New("400 bad request")),
		"3":  errors.New("503 service unavailable"), // a manager: their reports wait
		"77": errors.New("503 service unavailable"),
	}
	for name, newStore := range batchStores() {
		for _, order := range []string{"managers-first", "ordered", "shuffled"} {
			t.Run(name+"/"+order, func(t *testing.T) {
				// The breaker set high: which write opens it depends on
				// the order of the writes (TestBulkLoadBreakerOpens).
				bulk, single := loadTwice(t, newStore, order, 1000, refuse)
				if d := gocmp.Diff(single.platform.Snapshot(), bulk.platform.Snapshot()); d != "" {
					t.Errorf("the platforms differ (-one by one +bulk):\n%s", d)
				}
				if s, b := single.platform.Counts(), bulk.platform.Counts(); s.Writes != b.Writes || !gocmp.Equal(s.ByKind, b.ByKind) {
					t.Errorf("writes %d %v one by one, %d %v in bulk", s.Writes, s.ByKind, b.Writes, b.ByKind)
				}
				sp, sbox := single.state(t)
				bp, bbox := bulk.state(t)
				if order != "managers-first" {
					for _, ps := range [][]store.Person{sp, bp} {
						for i := range ps {
							ps[i].Dirty = store.Mark{}
						}
					}
					// The run counts the writes of the people it examined,
					// not those of managers they provisioned first: one by
					// one over such a list, fewer than were made.
					for _, box := range [][]audit.Entry{sbox, bbox} {
						for i := range box {
							if box[i].Action == audit.ActionRunSummary {
								box[i].Summary = writesCount.ReplaceAllString(box[i].Summary, "writes=N")
							}
						}
					}
				}
				if d := gocmp.Diff(sp, bp, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("the Stores differ (-one by one +bulk):\n%s", d)
				}
				if d := gocmp.Diff(sbox, bbox, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("the audit outboxes differ (-one by one +bulk):\n%s", d)
				}
				// All but the people of the manager refused for now (3,
				// 24–31, 192–255), the one refused for good, the one not
				// started and the one out of scope have accounts. The
				// list's ID order is the strings': many reports come before
				// their managers, who are then provisioned one by one.
				if got := len(bulk.platform.Snapshot()); got != n-77 {
					t.Errorf("%d accounts made, want %d", got, n-77)
				}
				if got := bulk.loaded.Load(); got < n/8 {
					t.Errorf("%d people loaded in bulk", got)
				}
			})
		}
	}
}

// With the breaker at its default, the reports of the manager refused for
// now try them too, and open it: everyone after them is put off, and which
// write opens it depends on the order of the writes. Whatever the order,
// what the platform holds is what the Store records, and each account has
// its audit entry.
func TestBulkLoadBreakerOpens(t *testing.T) {
	refuse := map[string]error{"3": errors.New("503 service unavailable")}
	for name, newStore := range batchStores() {
		t.Run(name, func(t *testing.T) {
			bulk, _ := loadTwice(t, newStore, "shuffled", 10, refuse)
			bulk.consistent(t)
		})
	}
}

// A sink that asks to be left alone (429) pauses every write of the chunk
// in hand, not only the one it refused: nobody fails or is dead-lettered,
// and once the pause is over the next batch loads everyone.
func TestBulkLoadThrottled(t *testing.T) {
	refuse := map[string]error{"9": retry.RetryAfter(errors.New("429 too many requests"), time.Minute)}
	for name, newStore := range batchStores() {
		t.Run(name, func(t *testing.T) {
			bulk, _ := loadTwice(t, newStore, "managers-first", 1000, refuse)
			bulk.consistent(t)
			made := len(bulk.sink.applied)
			if i := slices.IndexFunc(bulk.sink.applied, func(u hrissync.Update) bool { return u.EmployeeID == "9" }); i >= 0 {
				t.Fatalf("9's write was taken")
			}
			ps, _ := bulk.state(t)
			for _, p := range ps {
				if p.Failure != nil {
					t.Errorf("%s failed: %+v", p.ID, p.Failure)
				}
			}
			if made > 9 {
				t.Errorf("%d writes made, though the sink asked at the 9th to wait", made)
			}
			delete(bulk.sink.refuse, "9")
			bulk.clock.AdvanceTo(bulk.clock.Now().Add(2 * time.Minute))
			if err := bulk.eng.Batch(t.Context()); err != nil {
				t.Fatal(err)
			}
			bulk.consistent(t)
			if got := len(bulk.platform.Snapshot()); got != n-2 {
				t.Errorf("%d accounts after the pause, want %d", got, n-2)
			}
		})
	}
}

var writesCount = regexp.MustCompile(`writes=[0-9]+`)

// n is how many people the load tests load.
const n = 300

// loadTwice loads n people (loadPeople) listed in order, once in bulk and
// once one by one, each into a Store of its own and a sink refusing as
// refuse says, the breaker opening after breaker failures. Concurrency 1:
// the one-by-one path's order, and so its outcome, is then the same on
// every run.
func loadTwice(t *testing.T, newStore func(*testing.T) store.Store, order string, breaker int, refuse map[string]error) (bulk, single loadRun) {
	t.Helper()
	clock := clocktest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
	hris := memory.NewHRIS(clock, 1)
	hris.Load(loadPeople(n)...)
	var src hrissync.Source = hris
	switch order {
	case "managers-first":
		src = managersFirst{hris}
	case "shuffled":
		src = sourcetest.Shuffled(hris, 7)
	}
	st := newStore(t)
	bl, ok := st.(store.BulkLoader)
	if !ok {
		t.Skip("the Store is no store.BulkLoader")
	}
	counted := &loads{Store: st, bulk: bl}
	bulk = newLoadRun(t, counted, clock, src, 1, breaker, refuse)
	bulk.loaded = &counted.n
	single = newLoadRun(t, oneByOne{newStore(t)}, clock, src, 1, breaker, refuse)
	for _, r := range []loadRun{bulk, single} {
		if err := r.eng.Batch(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// No write refers to a manager before the manager's account was made.
	made := map[string]bool{}
	for i, u := range bulk.sink.applied {
		if m := u.Fields[hrissync.FieldManagerID]; m != "" && !made[m] {
			t.Errorf("write #%d, %s's %s, refers to manager %s, who has no account yet", i, u.EmployeeID, u.Kind, m)
		}
		made[u.EmployeeID] = true
	}
	return bulk, single
}

// consistent checks that the Store records an account for exactly the
// people the platform holds one for, each with one audit entry of its
// create, and that everyone else the load would give an account is dirty.
func (r loadRun) consistent(t *testing.T) {
	t.Helper()
	accounts := r.platform.Snapshot()
	ps, box := r.state(t)
	created := map[string]int{}
	for _, e := range box {
		if e.Action == audit.ActionCreate {
			created[e.EmployeeID]++
		}
	}
	for _, p := range ps {
		_, has := accounts[p.ID]
		switch {
		case has != p.Exists:
			t.Errorf("%s: an account on the platform: %v, in the Store: %v", p.ID, has, p.Exists)
		case has && created[p.ID] != 1:
			t.Errorf("%s: %d audit entries of its create", p.ID, created[p.ID])
		case !has && p.ID != "85" && p.ID != "90" && p.Dirty == (store.Mark{}) && p.Failure == nil:
			t.Errorf("%s: no account, yet clean: %+v", p.ID, p)
		}
	}
}

// webhooks is a BulkLoader around which events are accepted for a person
// of the chunk: just before the intents (the person gains a row) and just
// before the commits (the person's mark moves on).
type webhooks struct {
	store.Store
	bulk                 store.BulkLoader
	beforeIntent, before string // people an event comes for
	gens                 map[string]uint64
}

func (w *webhooks) accept(ctx context.Context, id string) error {
	_, err := w.Store.Accept(ctx, "default", store.Acceptance{EventID: "ev-" + id, EmployeeID: id, Forget: time.Now().Add(time.Hour),
		Mark: store.Mark{Since: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), Trigger: "realtime", EventID: "ev-" + id}})
	return err
}

func (w *webhooks) IntendNew(ctx context.Context, tenant string, intents []store.Intent) ([]uint64, error) {
	if slices.ContainsFunc(intents, func(in store.Intent) bool { return in.ID == w.beforeIntent }) {
		if err := w.accept(ctx, w.beforeIntent); err != nil {
			return nil, err
		}
	}
	gens, err := w.bulk.IntendNew(ctx, tenant, intents)
	for i, in := range intents {
		if err == nil {
			w.gens[in.ID] = gens[i]
		}
	}
	return gens, err
}

func (w *webhooks) CommitMany(ctx context.Context, tenant string, cs []store.Commit) error {
	if slices.ContainsFunc(cs, func(c store.Commit) bool { return c.ID == w.before }) {
		if err := w.accept(ctx, w.before); err != nil {
			return err
		}
	}
	return w.bulk.CommitMany(ctx, tenant, cs)
}

// A webhook's event accepted during the bulk load: for a person who gains
// a row before the intents, the person is reconciled one by one; for one
// whose mark moves on between the intent and the commit, the commit leaves
// them dirty and the batch's sweep looks at them again. Either way each is
// written once and ends clean.
func TestBulkLoadMeetsWebhooks(t *testing.T) {
	for name, newStore := range batchStores() {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			bl, ok := st.(store.BulkLoader)
			if !ok {
				t.Skip("the Store is no store.BulkLoader")
			}
			w := &webhooks{Store: st, bulk: bl, beforeIntent: "20", before: "21", gens: map[string]uint64{}}
			clock := clocktest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
			hris := memory.NewHRIS(clock, 1)
			hris.Load(sourcetest.People(n)...)
			r := newLoadRun(t, w, clock, hris, 4, 10, nil)
			if err := r.eng.Batch(t.Context()); err != nil {
				t.Fatal(err)
			}
			if g, ok := w.gens["20"]; !ok || g != 0 {
				t.Errorf("20, who gained a row before the intents, given generation %d (%v), want 0", g, ok)
			}
			if w.gens["21"] == 0 {
				t.Error("21 was not loaded in bulk")
			}
			writes := map[string]int{}
			for _, u := range r.sink.applied {
				writes[u.EmployeeID]++
			}
			for _, id := range []string{"20", "21"} {
				p, err := st.Person(t.Context(), "default", id)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Exists || p.Dirty.Generation != 0 || writes[id] != 1 {
					t.Errorf("%s: %+v after %d writes, want clean with an account after one", id, p, writes[id])
				}
			}
			r.consistent(t)
			if got := len(r.platform.Snapshot()); got != n {
				t.Errorf("%d accounts, want %d", got, n)
			}
		})
	}
}
