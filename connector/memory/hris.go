// Package memory holds an in-memory HRIS (a hrissync.Source that emits
// webhook events) and an in-memory learning platform (a hrissync.Sink that
// counts its writes), both with scripted faults. They stand in for what the
// library cannot reach — a vendor's cloud — in tests, in the simulator and in
// users' own tests of their wiring.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
)

// ErrOutage is returned while a scripted outage lasts.
var ErrOutage = errors.New("memory: service unavailable (scripted outage)")

// Span is a time range [From, To).
type Span struct{ From, To time.Time }

func (s Span) contains(t time.Time) bool { return !t.Before(s.From) && t.Before(s.To) }

func during(spans []Span, t time.Time) bool {
	return slices.ContainsFunc(spans, func(s Span) bool { return s.contains(t) })
}

// EventFaults script what happens to webhook deliveries.
type EventFaults struct {
	Lost      float64       // share of events never delivered
	Duplicate float64       // share of events delivered twice
	MaxDelay  time.Duration // each delivery is delayed by up to this: later events may overtake earlier ones
}

// Delivery is what became of one event, for reports.
type Delivery struct {
	Event     hrissync.Event
	Lost      bool
	Delivered []time.Time // when each copy was delivered (scheduled)
}

// HRIS is an in-memory HR system. Records get a version from the clock and a
// sequence number on every change, and each change emits an event to the
// subscriber, subject to the EventFaults. It is safe for concurrent use.
type HRIS struct {
	clock hrissync.Clock

	mu         sync.Mutex
	people     map[string]hrissync.Employee
	seq        int64
	outages    []Span
	faults     EventFaults
	rng        *rand.Rand
	subscriber func(hrissync.Event)
	deliveries []Delivery
}

var (
	_ hrissync.Source      = (*HRIS)(nil)
	_ hrissync.Snapshotter = (*HRIS)(nil)
)

// NewHRIS returns an empty HRIS on clock, its faults drawn from seed.
func NewHRIS(clock hrissync.Clock, seed uint64) *HRIS {
	return &HRIS{clock: clock, people: map[string]hrissync.Employee{}, rng: rand.New(rand.NewPCG(seed, 0x4852))}
}

// Subscribe sets the function that receives events (a webhook endpoint). It
// is called from the clock's timers; nil stops events.
func (h *HRIS) Subscribe(fn func(hrissync.Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subscriber = fn
}

// SetEventFaults scripts the delivery of later events.
func (h *HRIS) SetEventFaults(f EventFaults) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = f
}

// AddOutage makes Get, List and ChangedSince fail during s.
func (h *HRIS) AddOutage(s Span) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.outages = append(h.outages, s)
}

// Load stores records without emitting events, as an initial state.
func (h *HRIS) Load(es ...hrissync.Employee) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range es {
		h.stamp(&e)
		h.people[e.ID] = e.Clone()
	}
}

func (h *HRIS) stamp(e *hrissync.Employee) {
	h.seq++
	e.Version = hrtype.Version{Time: h.clock.Now(), Seq: h.seq}
}

// Put stores e as a change made now, and emits its event. It returns the
// record as stored, with its version.
func (h *HRIS) Put(typ string, e hrissync.Employee) hrissync.Employee {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stamp(&e)
	h.people[e.ID] = e.Clone()
	h.emit(typ, e)
	return e
}

// Remove deletes a record, as a purged export would (no event: a person
// gone from the full list is a leaver for the batch to find).
func (h *HRIS) Remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.people, id)
}

// Replace makes the HRIS hold exactly people, as a day of HR work (or a
// new export) would: a record that differs from the one held is stored as a
// change made now, with its event; an unchanged one keeps its version; a
// person not in people is removed.
func (h *HRIS) Replace(people ...hrissync.Employee) {
	keep := make(map[string]bool, len(people))
	for _, e := range people {
		keep[e.ID] = true
		if was, ok := h.Employee(e.ID); ok {
			if was.Version = e.Version; reflect.DeepEqual(was, e) {
				continue
			}
		}
		h.Put("employee.updated", e)
	}
	for _, e := range h.Employees() {
		if !keep[e.ID] {
			h.Remove(e.ID)
		}
	}
}

// Update changes one record with fn and emits its event.
func (h *HRIS) Update(typ, id string, fn func(*hrissync.Employee)) (hrissync.Employee, error) {
	h.mu.Lock()
	e, ok := h.people[id]
	h.mu.Unlock()
	if !ok {
		return hrissync.Employee{}, fmt.Errorf("memory: update %s: %w", id, hrissync.ErrNotFound)
	}
	e = e.Clone()
	fn(&e)
	return h.Put(typ, e), nil
}

func (h *HRIS) emit(typ string, e hrissync.Employee) {
	ev := hrissync.Event{ID: fmt.Sprintf("evt-%d", e.Version.Seq), EmployeeID: e.ID, Type: typ, OccurredAt: e.Version.Time}
	d := Delivery{Event: ev}
	if h.rng.Float64() < h.faults.Lost {
		d.Lost = true
		h.deliveries = append(h.deliveries, d)
		return
	}
	copies := 1
	if h.rng.Float64() < h.faults.Duplicate {
		copies = 2
	}
	now := h.clock.Now()
	for range copies {
		delay := time.Duration(0)
		if h.faults.MaxDelay > 0 {
			delay = time.Duration(h.rng.Int64N(int64(h.faults.MaxDelay)))
		}
		d.Delivered = append(d.Delivered, now.Add(delay))
		h.clock.AfterFunc(delay, func() {
			h.mu.Lock()
			fn := h.subscriber
			h.mu.Unlock()
			if fn != nil {
				fn(ev)
			}
		})
	}
	h.deliveries = append(h.deliveries, d)
}

// Deliveries lists what became of every event emitted.
func (h *HRIS) Deliveries() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.deliveries)
}

// Employee returns one record without fault injection, for test oracles.
func (h *HRIS) Employee(id string) (hrissync.Employee, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.people[id]
	return e.Clone(), ok
}

// Employees returns every record in ID order, without fault injection.
func (h *HRIS) Employees() []hrissync.Employee {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hrissync.Employee, 0, len(h.people))
	for _, e := range h.people {
		out = append(out, e.Clone())
	}
	slices.SortFunc(out, func(a, b hrissync.Employee) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (h *HRIS) down() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return during(h.outages, h.clock.Now())
}

// Get implements hrissync.Source.
func (h *HRIS) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	if err := ctx.Err(); err != nil {
		return hrissync.Employee{}, err
	}
	if h.down() {
		return hrissync.Employee{}, ErrOutage
	}
	e, ok := h.Employee(id)
	if !ok {
		return hrissync.Employee{}, fmt.Errorf("memory: %s: %w", id, hrissync.ErrNotFound)
	}
	return e, nil
}

// List implements hrissync.Source: a snapshot, in ID order.
func (h *HRIS) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return h.stream(ctx, func(hrissync.Employee) bool { return true })
}

// Snapshot implements hrissync.Snapshotter: every record as it stands now,
// in ID order, taken at the clock's now — no record is newer.
func (h *HRIS) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, nil, err
	}
	if h.down() {
		return time.Time{}, nil, ErrOutage
	}
	h.mu.Lock()
	asOf, snap := h.clock.Now(), maps.Clone(h.people)
	h.mu.Unlock()
	return asOf, func(yield func(hrissync.Employee, error) bool) {
		for _, id := range slices.Sorted(maps.Keys(snap)) {
			if err := ctx.Err(); err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			if !yield(snap[id].Clone(), nil) {
				return
			}
		}
	}, nil
}

// ChangedSince implements hrissync.Source.
func (h *HRIS) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return h.stream(ctx, func(e hrissync.Employee) bool { return !e.Version.Time.Before(since) })
}

func (h *HRIS) stream(ctx context.Context, keep func(hrissync.Employee) bool) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		if h.down() {
			yield(hrissync.Employee{}, ErrOutage)
			return
		}
		// Only the records kept are copied and sorted: a poll's change
		// listing keeps a handful of a large organisation.
		h.mu.Lock()
		var kept []hrissync.Employee
		for _, e := range h.people {
			if keep(e) {
				kept = append(kept, e.Clone())
			}
		}
		h.mu.Unlock()
		slices.SortFunc(kept, func(a, b hrissync.Employee) int { return strings.Compare(a.ID, b.ID) })
		for _, e := range kept {
			if err := ctx.Err(); err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}
