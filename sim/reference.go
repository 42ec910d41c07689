package sim

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
)

// Way is how the simulated organisation is synced: the hrissync engine, or
// one of the two reference implementations the engine is compared with.
type Way int

// Ways.
const (
	// Engine is hrissync, with Config.Policy as its cadence.
	Engine Way = iota
	// NaiveBatch is the 2020 pattern: every night at 02:00, push every
	// record of the full export to the platform, changed or not, retrying
	// a failed write at once, up to three times.
	NaiveBatch
	// NaiveRelay is a webhook relay: each delivered event is forwarded at
	// once — the person's record read and pushed whole — with per-event
	// retries, three at 60-second intervals; nothing else. A lost event
	// is a lost change, and a future-dated change is applied only if an
	// event happens to come after it took effect.
	NaiveRelay
)

func (w Way) String() string {
	switch w {
	case NaiveBatch:
		return "naive daily batch"
	case NaiveRelay:
		return "naive webhook relay"
	}
	return "hrissync"
}

// driver is what a simulation runs.
type driver interface {
	Run(ctx context.Context) error
	Started() <-chan struct{}
	Batch(ctx context.Context) error // the initial full sync
	Notify(ctx context.Context, ev hrissync.Event) error
	WaitIdle(ctx context.Context) error
	Stats() hrissync.Stats
}

// reference is the shared body of the two reference implementations: they
// do their work in the clock's timer callbacks, so they are idle whenever the
// clock is not advancing.
type reference struct {
	s       *simulation
	sink    hrissync.Sink
	started chan struct{}
	known   map[string]bool // accounts pushed so far
}

func newReference(s *simulation, sink hrissync.Sink) *reference {
	return &reference{s: s, sink: sink, started: make(chan struct{}), known: map[string]bool{}}
}

func (r *reference) Started() <-chan struct{}                     { return r.started }
func (r *reference) WaitIdle(context.Context) error               { return nil }
func (r *reference) Stats() hrissync.Stats                        { return hrissync.Stats{} }
func (r *reference) Notify(context.Context, hrissync.Event) error { return nil }

// push writes one person's whole record as the oracle evaluates it now.
func (r *reference) push(ctx context.Context, e hrissync.Employee, trig hrissync.Trigger) error {
	v := expect(e, r.s.clock.Now(), r.s.cfg.Location, leadDays, r.s.cfg.Audiences)
	if !v.active && !r.known[e.ID] {
		return nil
	}
	kind := hrissync.Modify
	if !r.known[e.ID] {
		kind = hrissync.Create
	}
	u := hrissync.Update{EmployeeID: e.ID, Kind: kind, Fields: v.fields, Active: v.active, Version: e.Version, Trigger: trig}
	for k, val := range v.fields {
		u.Changes = append(u.Changes, hrissync.Change{Field: k, New: val})
	}
	if err := r.sink.Apply(ctx, u); err != nil {
		return err
	}
	r.known[e.ID] = true
	return nil
}

// batch pushes everyone, and deactivates those gone from the export.
func (r *reference) batch(ctx context.Context) error {
	seen := map[string]bool{}
	for e, err := range r.s.reads.List(ctx) {
		if err != nil {
			return err
		}
		seen[e.ID] = true
		for range 4 {
			if r.push(ctx, e, hrissync.TriggerBatch) == nil {
				break
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.known)) { // sorted: the platform's faults are drawn in call order
		if !seen[id] {
			r.sink.Apply(ctx, hrissync.Update{EmployeeID: id, Kind: hrissync.Deactivate, Trigger: hrissync.TriggerBatch})
		}
	}
	return nil
}

// Batch is the initial load, not measured: pushed again while each pass
// provisions someone more, as an operator reruns a first import whose rows
// named managers further down the file (the platform refuses a manager it
// does not hold yet).
func (r *reference) Batch(ctx context.Context) error {
	for {
		known := len(r.known)
		if err := r.batch(ctx); err != nil || len(r.known) == known {
			return err
		}
	}
}

// naiveBatch runs the full push every night, and once more an hour later
// if the export could not be read.
type naiveBatch struct{ *reference }

func (n naiveBatch) Run(ctx context.Context) error {
	daily := cadence.Daily(2*time.Hour, n.s.cfg.Location)
	var schedule func(at time.Time)
	schedule = func(at time.Time) {
		n.s.clock.AfterFunc(at.Sub(n.s.clock.Now()), func() {
			next := daily.Next(n.s.clock.Now())
			if err := n.batch(ctx); err != nil && n.s.clock.Now().Add(time.Hour).Before(next) {
				next = n.s.clock.Now().Add(time.Hour)
			}
			schedule(next)
		})
	}
	schedule(daily.Next(n.s.clock.Now()))
	close(n.started)
	<-ctx.Done()
	return nil
}

// naiveRelay forwards events.
type naiveRelay struct{ *reference }

func (n naiveRelay) Run(ctx context.Context) error {
	close(n.started)
	<-ctx.Done()
	return nil
}

func (n naiveRelay) Notify(ctx context.Context, ev hrissync.Event) error {
	n.forward(ctx, ev, 1)
	return nil
}

func (n naiveRelay) forward(ctx context.Context, ev hrissync.Event, attempt int) {
	e, err := n.s.reads.Get(ctx, ev.EmployeeID)
	if err == nil {
		err = n.push(ctx, e, hrissync.TriggerRealtime)
	}
	if err != nil && attempt <= 3 {
		n.s.clock.AfterFunc(time.Minute, func() { n.forward(ctx, ev, attempt+1) })
	}
}
