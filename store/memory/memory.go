// Package memory is a store.Store held in memory: for tests, simulations
// and hosts that rebuild their state from a full batch after a restart. It is
// not durable; store/sqlite is the embedded default that is.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/store"
)

// Store is a non-durable store.Store. Its zero value is not ready: use New.
type Store struct {
	mu      sync.Mutex
	gen     uint64
	tenants map[string]*tenant
}

type tenant struct {
	people map[string]*store.Person
	// ids are people's ids, sorted unless unsorted: pages are read in ID
	// order.
	ids      []string
	unsorted bool
	events   map[string]seenEvent // by event id
	outbox   []audit.Entry
	anchor   audit.Head // the audit chain's end as last acknowledged
	cursors  map[string]time.Time
	runs     map[string]store.BatchRun
	last     string // ID of the run first saved last
	// revoked lists the commits that ended someone's access, oldest first.
	revoked []revocation
}

// seenEvent is a remembered event id.
type seenEvent struct {
	forget      time.Time
	fingerprint string
}

type revocation struct {
	budget string
	at     time.Time
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store { return &Store{tenants: map[string]*tenant{}} }

func (s *Store) tenant(name string) *tenant {
	t, ok := s.tenants[name]
	if !ok {
		t = &tenant{
			people:  map[string]*store.Person{},
			events:  map[string]seenEvent{},
			cursors: map[string]time.Time{},
			runs:    map[string]store.BatchRun{},
		}
		s.tenants[name] = t
	}
	return t
}

func (t *tenant) person(id string) *store.Person {
	p, ok := t.people[id]
	if !ok {
		p = &store.Person{ID: id}
		t.people[id] = p
		t.ids = append(t.ids, id)
		t.unsorted = true
	}
	return p
}

// sortedIDs returns the tenant's ids in ID order, sorting them once after
// people were added rather than on every page read.
func (t *tenant) sortedIDs() []string {
	if t.unsorted {
		slices.Sort(t.ids)
		t.unsorted = false
	}
	return t.ids
}

func (s *Store) mark(p *store.Person, m store.Mark) {
	s.gen++
	p.Dirty = store.MergeMark(p.Dirty, m)
	p.Dirty.Generation = s.gen
}

// Accept implements store.Store: a batch of one.
func (s *Store) Accept(ctx context.Context, tenant string, ev store.Acceptance) (bool, error) {
	res, err := s.AcceptBatch(ctx, tenant, []store.Acceptance{ev})
	switch {
	case err != nil:
		return false, err
	case res[0] == store.AcceptedConflict:
		return false, fmt.Errorf("memory store: event %q: %w", ev.EventID, store.ErrEventConflict)
	}
	return res[0] == store.AcceptedDuplicate, nil
}

var _ store.BatchAccepter = (*Store)(nil)

// AcceptBatch implements store.BatchAccepter: each event as Accept would
// take it, the events before it in the batch included, under one lock. An
// event without an id or employee id fails the whole batch, which then
// records nothing.
func (s *Store) AcceptBatch(ctx context.Context, tenant string, evs []store.Acceptance) ([]store.Accepted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.EventID == "" || ev.EmployeeID == "" {
			return nil, fmt.Errorf("memory store: event id and employee id are required")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	out := make([]store.Accepted, len(evs))
	for i, ev := range evs {
		if seen, ok := t.events[ev.EventID]; ok {
			out[i] = store.AcceptedDuplicate
			if seen.fingerprint != "" && ev.Fingerprint != "" && seen.fingerprint != ev.Fingerprint {
				out[i] = store.AcceptedConflict
			}
			continue
		}
		t.events[ev.EventID] = seenEvent{forget: ev.Forget, fingerprint: ev.Fingerprint}
		s.mark(t.person(ev.EmployeeID), ev.Mark)
	}
	return out, nil
}

// MarkDirty implements store.Store.
func (s *Store) MarkDirty(ctx context.Context, tenant string, ids []string, m store.Mark) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	for _, id := range ids {
		s.mark(t.person(id), m)
	}
	return nil
}

// Intend implements store.Store.
func (s *Store) Intend(ctx context.Context, tenant, id string, m store.Mark) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tenant(tenant).person(id)
	m.Unsure = true
	s.mark(p, m)
	return p.Dirty.Generation, nil
}

// Person implements store.Store.
func (s *Store) Person(ctx context.Context, tenant, id string) (store.Person, error) {
	if err := ctx.Err(); err != nil {
		return store.Person{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.tenant(tenant).people[id]; ok {
		return clone(p), nil
	}
	return store.Person{ID: id}, nil
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, tenant string, ids []string) ([]store.Person, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	out := make([]store.Person, len(ids))
	for i, id := range ids {
		if p, ok := t.people[id]; ok {
			out[i] = clone(p)
		} else {
			out[i] = store.Person{ID: id}
		}
	}
	return out, nil
}

// Listed implements store.Store.
func (s *Store) Listed(ctx context.Context, tenant string, ls []store.Listing) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	for _, l := range ls {
		p := t.person(l.ID)
		if l.Run == "" {
			l.Run = p.Listed.Run
		}
		p.Listed = store.Listing{Run: l.Run, Digest: l.Digest}
	}
	return nil
}

func clone(p *store.Person) store.Person { return p.Clone() }

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, tenant string, c store.Commit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenant(tenant).commit(c)
	return nil
}

// commit records c as Commit does (CommitMany too), the Store locked.
func (t *tenant) commit(c store.Commit) {
	p := t.person(c.ID)
	p.Exists, p.Active = c.Exists, c.Active
	p.Applied = store.MergeApplied(p.Applied, c.Applied)
	p.Due = c.Due
	p.Failure = nil
	if p.Dirty.Generation == c.Generation {
		p.Dirty = store.Mark{}
	}
	p.Dirty.Unsure, p.Dirty.RekeyFrom = false, ""
	t.outbox = append(t.outbox, c.Audit...)
	if c.Revoked != "" {
		t.revoked = append(t.revoked, revocation{c.Revoked, c.At})
	}
}

// Rekey implements store.Store.
func (s *Store) Rekey(ctx context.Context, tenant string, r store.Rekeying) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	from, to := t.person(r.From), t.person(r.To)
	if err := store.CheckRekey(*from, *to); err != nil {
		return 0, err
	}
	to.Exists, to.Active, to.Applied = from.Exists, from.Active, store.Rekeyed(*from)
	r.Mark.Unsure, r.Mark.RekeyFrom = true, r.From
	s.mark(to, r.Mark)
	*from = store.Person{ID: r.From, Listed: from.Listed, Applied: store.MovedTo(r.To)}
	t.outbox = append(t.outbox, r.Audit)
	return to.Dirty.Generation, nil
}

// Revocations implements store.Store.
func (s *Store) Revocations(ctx context.Context, tenant string, since time.Time) (store.Revocations, error) {
	if err := ctx.Err(); err != nil {
		return store.Revocations{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	out := store.Revocations{Spent: map[string]int{}}
	for _, r := range t.revoked {
		if !r.at.Before(since) {
			out.Spent[r.budget]++
		}
	}
	for _, p := range t.people {
		if p.Exists && p.Active {
			out.Active++
		}
	}
	return out, nil
}

// Fail implements store.Store.
func (s *Store) Fail(ctx context.Context, tenant, id string, f store.Failure, m store.Mark) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tenant(tenant).person(id)
	p.Failure = &f
	s.mark(p, m)
	p.Dirty.Unsure = m.Unsure
	return nil
}

// Pending implements store.Store.
func (s *Store) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]store.Person, error) {
	return s.list(ctx, tenant, after, limit, func(p *store.Person) bool {
		return p.Dirty.Generation != 0 || (!p.Due.IsZero() && !p.Due.After(until))
	})
}

// DeadLetters implements store.Store.
func (s *Store) DeadLetters(ctx context.Context, tenant string) ([]store.Person, error) {
	return s.list(ctx, tenant, "", -1, func(p *store.Person) bool { return p.Failure != nil && p.Failure.Dead })
}

// People implements store.Store.
func (s *Store) People(ctx context.Context, tenant, after string, limit int) ([]store.Person, error) {
	return s.list(ctx, tenant, after, limit, func(p *store.Person) bool { return p.Exists })
}

func (s *Store) list(ctx context.Context, tenant, after string, limit int, keep func(*store.Person) bool) ([]store.Person, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	ids := t.sortedIDs()
	i, _ := slices.BinarySearch(ids, after)
	var out []store.Person
	for _, id := range ids[i:] {
		if limit >= 0 && len(out) == limit {
			break
		}
		if p := t.people[id]; id > after && keep(p) {
			out = append(out, clone(p))
		}
	}
	return out, nil
}

// Outbox implements store.Store.
func (s *Store) Outbox(ctx context.Context, tenant string, limit int) ([]audit.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	box := s.tenant(tenant).outbox
	return slices.Clone(box[:min(limit, len(box))]), nil
}

// Ack implements store.Store.
func (s *Store) Ack(ctx context.Context, tenant string, ids []string, anchor audit.Head) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	if anchor.Seq > t.anchor.Seq {
		t.anchor = anchor
	}
	done := make(map[string]bool, len(ids))
	for _, id := range ids {
		done[id] = true
	}
	t.outbox = slices.DeleteFunc(t.outbox, func(e audit.Entry) bool { return done[e.ID] })
	return nil
}

// Anchor implements store.Store.
func (s *Store) Anchor(ctx context.Context, tenant string) (audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return audit.Head{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenant(tenant).anchor, nil
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []audit.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	t.outbox = append(t.outbox, entries...)
	return nil
}

// ForgetEvents implements store.Store.
func (s *Store) ForgetEvents(ctx context.Context, tenant string, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	n := 0
	for id, seen := range t.events {
		if !seen.forget.After(before) {
			delete(t.events, id)
			n++
		}
	}
	cutoff := before.Add(-store.RevocationRetention)
	t.revoked = slices.DeleteFunc(t.revoked, func(r revocation) bool { return r.at.Before(cutoff) })
	return n, nil
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, tenant, name string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenant(tenant).cursors[name], nil
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(ctx context.Context, tenant, name string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenant(tenant).cursors[name] = t
	return nil
}

// SaveBatchRun implements store.Store.
func (s *Store) SaveBatchRun(ctx context.Context, tenant string, r store.BatchRun) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	r.Leavers = slices.Clone(r.Leavers)
	if _, ok := t.runs[r.ID]; !ok {
		t.last = r.ID // the saving order, not Started: a clock may step back
	}
	t.runs[r.ID] = r
	return nil
}

// BatchRun implements store.Store.
func (s *Store) BatchRun(ctx context.Context, tenant, id string) (store.BatchRun, error) {
	if err := ctx.Err(); err != nil {
		return store.BatchRun{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tenant(tenant).runs[id]
	if !ok {
		return store.BatchRun{}, fmt.Errorf("run %q: %w", id, store.ErrNotFound)
	}
	r.Leavers = slices.Clone(r.Leavers)
	return r, nil
}

// LastBatchRun implements store.Store.
func (s *Store) LastBatchRun(ctx context.Context, tenant string) (store.BatchRun, error) {
	s.mu.Lock()
	last := s.tenant(tenant).last
	s.mu.Unlock()
	if last == "" {
		return store.BatchRun{}, fmt.Errorf("no run yet: %w", store.ErrNotFound)
	}
	return s.BatchRun(ctx, tenant, last)
}

var _ store.Summarizer = (*Store)(nil)

// Summaries implements store.Summarizer: Lookup summarized. Nothing is
// decoded here, so this saves only the copies; it is here so that the
// engine's use of summaries runs against this Store too.
func (s *Store) Summaries(ctx context.Context, tenant string, ids []string) ([]store.Summary, error) {
	people, err := s.Lookup(ctx, tenant, ids)
	return summarize(people), err
}

// PeopleSummaries implements store.Summarizer: People summarized.
func (s *Store) PeopleSummaries(ctx context.Context, tenant, after string, limit int) ([]store.Summary, error) {
	people, err := s.People(ctx, tenant, after, limit)
	return summarize(people), err
}

func summarize(people []store.Person) []store.Summary {
	if people == nil {
		return nil
	}
	out := make([]store.Summary, len(people))
	for i, p := range people {
		out[i] = store.Summarize(p)
	}
	return out
}
