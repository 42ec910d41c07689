package hrissync_test

import (
	"context"
	"errors"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
)

// fakeHR is a scripted Source: records with versions stamped from the
// (bubble's) clock, a switch to make it fail, and a lag that makes Get answer
// with an older copy.
type fakeHR struct {
	mu     sync.Mutex
	people map[string]hrissync.Employee
	stale  map[string]hrissync.Employee // what Get answers while lagging
	seq    int64
	down   error
	// listFailAfter makes List fail after that many records (0: never).
	listFailAfter int
	// shuffle, if set, makes List give people in an order of its own, as
	// a vendor's API paging by its internal key does: a new order each
	// call, from this seed and the call's count.
	shuffle uint64
	// snapshot, if set, is what List streams: an export taken earlier.
	snapshot map[string]hrissync.Employee
	// snapshotAt is when it was taken, as a datedHR's Snapshot tells
	// (zero: now).
	snapshotAt time.Time
	// hidden people are answered 404 by Get and left out of
	// ChangedSince, though List still holds them: the integration user
	// lost access to them.
	hidden map[string]bool
	// slowGet, if set, is called by Get before it reads: a slow fetch.
	slowGet func(id string)
	// listed, if set, is called by ChangedSince once it has read the
	// changes, before it hands them over.
	listed func()
	// fetched, if set, is called by Get once it has read the record,
	// before it answers: something happens while the answer travels.
	fetched func(id string)
	lists   int
	sinces  []time.Time
}

func newHR() *fakeHR {
	return &fakeHR{people: map[string]hrissync.Employee{}, stale: map[string]hrissync.Employee{}}
}

// put stores e with a new version and returns it.
func (f *fakeHR) put(e hrissync.Employee) hrissync.Employee {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.Version = hrtype.Version{Time: time.Now(), Seq: f.seq}
	f.people[e.ID] = e.Clone()
	return e
}

func (f *fakeHR) update(id string, change func(*hrissync.Employee)) hrissync.Employee {
	f.mu.Lock()
	e := f.people[id].Clone()
	f.mu.Unlock()
	change(&e)
	return f.put(e)
}

func (f *fakeHR) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.people, id)
}

func (f *fakeHR) hide(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hidden = map[string]bool{}
	for _, id := range ids {
		f.hidden[id] = true
	}
}

func (f *fakeHR) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

func (f *fakeHR) Get(_ context.Context, id string) (hrissync.Employee, error) {
	f.mu.Lock()
	slow := f.slowGet
	f.mu.Unlock()
	if slow != nil {
		slow(id)
	}
	e, err := f.get(id)
	f.mu.Lock()
	fetched := f.fetched
	f.mu.Unlock()
	if fetched != nil {
		fetched(id)
	}
	return e, err
}

func (f *fakeHR) get(id string) (hrissync.Employee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return hrissync.Employee{}, f.down
	}
	if e, ok := f.stale[id]; ok {
		return e.Clone(), nil
	}
	e, ok := f.people[id]
	if !ok || f.hidden[id] {
		return hrissync.Employee{}, hrissync.ErrNotFound
	}
	return e.Clone(), nil
}

func (f *fakeHR) List(context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		f.mu.Lock()
		f.lists++
		down, failAfter := f.down, f.listFailAfter
		people := maps.Clone(f.people)
		if f.snapshot != nil {
			people = maps.Clone(f.snapshot)
		}
		ids := slices.Sorted(maps.Keys(people))
		if f.shuffle != 0 {
			rand.New(rand.NewPCG(f.shuffle, uint64(f.lists))).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		}
		f.mu.Unlock()
		if down != nil {
			yield(hrissync.Employee{}, down)
			return
		}
		for i, id := range ids {
			if failAfter > 0 && i == failAfter {
				yield(hrissync.Employee{}, errors.New("connection reset"))
				return
			}
			if !yield(people[id].Clone(), nil) {
				return
			}
		}
	}
}

func (f *fakeHR) ChangedSince(_ context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		f.mu.Lock()
		f.sinces = append(f.sinces, since)
		down := f.down
		var out []hrissync.Employee
		for _, e := range f.people {
			if !e.Version.Time.Before(since) && !f.hidden[e.ID] {
				out = append(out, e.Clone())
			}
		}
		listed := f.listed
		f.mu.Unlock()
		if listed != nil {
			listed()
		}
		if down != nil {
			yield(hrissync.Employee{}, down)
			return
		}
		for _, e := range out {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// datedHR is a fakeHR that is a Snapshotter: its list is List's, taken at
// snapshotAt.
type datedHR struct{ *fakeHR }

func (d datedHR) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	d.mu.Lock()
	at := d.snapshotAt
	d.mu.Unlock()
	if at.IsZero() {
		at = time.Now()
	}
	return at, d.List(ctx), nil
}

// fakeLMS is a scripted Sink: it keeps accounts, logs every call, and fails as
// its fail function says.
type fakeLMS struct {
	mu       sync.Mutex
	accounts map[string]*hrissync.Account
	calls    []call
	fail     func(u hrissync.Update) error
	block    chan struct{} // if set, Apply waits on it (once per value sent)
	entered  chan string
}

type call struct {
	at  time.Time
	u   hrissync.Update
	err error
}

func newLMS() *fakeLMS { return &fakeLMS{accounts: map[string]*hrissync.Account{}} }

func (l *fakeLMS) Apply(ctx context.Context, u hrissync.Update) error {
	if l.entered != nil {
		l.entered <- u.EmployeeID
	}
	if l.block != nil {
		<-l.block
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.fail != nil {
		err = l.fail(u)
	}
	if m := u.Fields[hrissync.FieldManagerID]; err == nil && m != "" && u.Active {
		if _, ok := l.accounts[m]; !ok {
			err = &hrissync.MissingManagerError{EmployeeID: u.EmployeeID, ManagerID: m}
		}
	}
	l.calls = append(l.calls, call{time.Now(), u, err})
	if err != nil {
		return err
	}
	a, ok := l.accounts[u.EmployeeID]
	if !ok {
		a = &hrissync.Account{EmployeeID: u.EmployeeID, Fields: hrissync.Fields{}}
		l.accounts[u.EmployeeID] = a
	}
	a.Active = u.Active
	for _, c := range u.Changes {
		a.Fields[c.Field] = c.New
	}
	return nil
}

func (l *fakeLMS) setFail(f func(u hrissync.Update) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = f
}

// writes returns the successful calls.
func (l *fakeLMS) writes() []hrissync.Update {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []hrissync.Update
	for _, c := range l.calls {
		if c.err == nil {
			out = append(out, c.u)
		}
	}
	return out
}

func (l *fakeLMS) allCalls() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *fakeLMS) account(id string) (hrissync.Account, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.accounts[id]
	if !ok {
		return hrissync.Account{}, false
	}
	c := *a
	c.Fields = maps.Clone(a.Fields)
	return c, true
}

// alerts collects alerts and, as a Resolver, their resolutions.
type alerts struct {
	mu       sync.Mutex
	all      []hrissync.Alert
	resolved []hrissync.Alert
}

func (a *alerts) Resolve(_ context.Context, al hrissync.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resolved = append(a.resolved, al)
}

// raised and ended are copies of the alerts and resolutions so far.
func (a *alerts) raised() []hrissync.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.all)
}

func (a *alerts) ended() []hrissync.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.resolved)
}

func (a *alerts) Alert(_ context.Context, al hrissync.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, al)
}

func (a *alerts) kinds() []hrissync.AlertKind {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []hrissync.AlertKind
	for _, al := range a.all {
		out = append(out, al.Kind)
	}
	return out
}
