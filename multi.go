package hrissync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
)

// Destination is one named sink of an engine of several (NewMulti): a
// compliance LMS beside a learning-experience platform, accounts over SCIM
// beside a skills API. Each has its own applied state, versions, retries,
// breaker, dead letters, incidents, deletion budgets and audit entries
// (which carry its name). The settings below are the sink's own; a zero
// one takes the Config's.
type Destination struct {
	// Name names the sink in the Store's keys (store.SinkKey), audit
	// entries, alerts, metrics (the sink attribute) and the status page.
	// Required, unique within the engine, and kept: renaming a sink
	// starts it from nothing.
	Name string
	Sink Sink
	// Inherits marks the sink an engine of one sink (New) synced before:
	// it keeps that engine's state — what it applied, its marks, dead
	// letters, ledger and audit anchor, the poll's watermark — rather
	// than starting from nothing, so that adding a second sink does not
	// provision the first one's accounts again. At most one sink
	// inherits, and it must go on inheriting.
	Inherits bool

	Policy           cadence.Policy                 // which fields travel when
	CarryPending     bool                           // realtime writes carry pending batch fields
	Correlate        bool                           // see Config.Correlate
	Groups           []GroupRule                    // nil: the Config's
	Map              func(Employee) (Fields, error) // the fields this platform holds
	InScope          func(Employee) bool            // who belongs in this platform
	Retry            retry.Policy
	Breaker          Breaker
	Concurrency      int
	DeletionLimit    Budget
	TerminationLimit Budget
}

// ErrSeveralSinks: a question about applied state (Explain, Plan, drift, dead
// letters, the ledger, approvals) asked of an engine of several sinks. Each
// sink answers for itself: ask Engine.Sink(name).
var ErrSeveralSinks = errors.New("hrissync: the engine has several sinks: ask one of them (Engine.Sink)")

// NewMulti returns an Engine reading src once for every sink in sinks, and
// remembering in store each sink's state apart (store.SinkKey). A webhook
// accepted by Notify is recorded for every sink; the poll and the batch read
// the Source once and hand each record to every sink; a person's realtime
// reconciles share one Source read. A sink that is down or throttled delays
// no other: each has its own workers, retries and breaker.
//
// cfg is as for New, its Tenant, schedules, clock, Store-wide settings and
// the Auditor, Alerter, MeterProvider and Share shared by every sink (each
// sink a tenant of the Share: see Config.Share), and its
// per-sink settings the default for a Destination that leaves its own
// zero. A Config.Dispatcher cannot serve several sinks (each needs a queue
// of its own): with several, it must be nil.
func NewMulti(src Source, sinks []Destination, st store.Store, cfg *Config) (*Engine, error) {
	if src == nil || st == nil || len(sinks) == 0 {
		return nil, errors.New("hrissync: NewMulti needs a Source, a Store and at least one sink")
	}
	base, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if base.Dispatcher != nil {
		return nil, errors.New("hrissync: NewMulti: a Config.Dispatcher cannot serve several sinks; leave it nil")
	}
	seen, inherits := map[string]bool{}, 0
	for _, d := range sinks {
		switch {
		case d.Name == "" || strings.Contains(d.Name, store.SinkSeparator):
			return nil, fmt.Errorf("hrissync: NewMulti: sink name %q: names are required and cannot hold U+001F", d.Name)
		case seen[d.Name]:
			return nil, fmt.Errorf("hrissync: NewMulti: two sinks named %q", d.Name)
		case d.Sink == nil:
			return nil, fmt.Errorf("hrissync: NewMulti: sink %q has no Sink", d.Name)
		}
		seen[d.Name] = true
		if d.Inherits {
			inherits++
		}
	}
	if inherits > 1 {
		return nil, errors.New("hrissync: NewMulti: only one sink can inherit the state of the engine's single sink")
	}
	e, err := newEngine(src, nil, st, base, base.Tenant, "")
	if err != nil {
		return nil, err
	}
	e.reads = &sharedReads{clock: base.Clock, reads: map[string]*sharedRead{}}
	for _, d := range sinks {
		c := laneConfig(cfg, d)
		lc, err := c.withDefaults()
		if err != nil {
			return nil, fmt.Errorf("hrissync: sink %q: %w", d.Name, err)
		}
		if !d.Inherits {
			lc.Tenant = store.SinkKey(base.Tenant, d.Name)
		}
		lane, err := newEngine(src, d.Sink, st, lc, base.Tenant, d.Name)
		if err != nil {
			return nil, fmt.Errorf("hrissync: sink %q: %w", d.Name, err)
		}
		lane.fanned, lane.reads = true, e.reads
		e.lanes = append(e.lanes, lane)
	}
	// The engine polls if any sink has realtime fields.
	e.polls = slices.ContainsFunc(e.lanes, func(l *Engine) bool { return l.polls })
	return e, nil
}

// laneConfig is the Config of one sink: the engine's, with the sink's own
// settings where it has them.
func laneConfig(cfg *Config, d Destination) Config {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if !d.Policy.IsZero() {
		c.Policy = d.Policy
	}
	c.CarryPending = c.CarryPending || d.CarryPending
	c.Correlate = c.Correlate || d.Correlate
	if d.Groups != nil {
		c.Groups = d.Groups
	}
	if d.Map != nil {
		c.Map = d.Map
	}
	if d.InScope != nil {
		c.InScope = d.InScope
	}
	if d.Retry != nil {
		c.Retry = d.Retry
	}
	if d.Breaker != (Breaker{}) {
		c.Breaker = d.Breaker
	}
	if d.Concurrency > 0 {
		c.Concurrency = d.Concurrency
	}
	if d.DeletionLimit != (Budget{}) {
		c.DeletionLimit = d.DeletionLimit
	}
	if d.TerminationLimit != (Budget{}) {
		c.TerminationLimit = d.TerminationLimit
	}
	return c
}

// Sinks returns the engine's sinks, each as an Engine of its own in the
// order given to NewMulti — to ask one sink about its state (Explain, Plan,
// CheckDrift, DeadLetters, ApproveDeletions …) or to run one sink's Batch,
// Poll or Replay alone. An engine built by New is its own only sink. A
// sink's Engine is run by the engine it belongs to: its Run is not called.
func (e *Engine) Sinks() []*Engine {
	if e.lanes == nil {
		return []*Engine{e}
	}
	return slices.Clone(e.lanes)
}

// Sink returns the sink named name as an Engine of its own (see Sinks), or
// nil if there is none. An engine built by New answers to "".
func (e *Engine) Sink(name string) *Engine {
	for _, l := range e.Sinks() {
		if l.name == name {
			return l
		}
	}
	return nil
}

// SinkName is the name of the engine's sink: "" for an engine built by New
// and for an engine of several sinks, a Destination's Name for one of its
// sinks.
func (e *Engine) SinkName() string { return e.name }

// batchLanes runs the batch of the sinks given on one reading of the full
// list: each sink's run is its own (its ledger, leavers, deletion limit,
// rerun), and each is handed every record as it is read. The sinks whose
// runs failed are rerun together at BatchRerun, on one reading again.
func (e *Engine) batchLanes(ctx context.Context, lanes []*Engine) ([]store.BatchRun, error) {
	e.batchMu.Lock()
	defer e.batchMu.Unlock()
	start := e.cfg.Clock.Now()
	asOf, list, takeErr := e.fullList(ctx)
	var fan *broadcast
	if takeErr == nil {
		fan = newBroadcast(list, len(lanes), e.batchChunk())
	}
	runs, errs := make([]store.BatchRun, len(lanes)), make([]error, len(lanes))
	var wg sync.WaitGroup
	for i, l := range lanes {
		take := func(context.Context) (time.Time, iter.Seq2[Employee, error], error) {
			if takeErr != nil {
				return time.Time{}, nil, takeErr
			}
			return asOf, fan.branch(i), nil
		}
		wg.Go(func() {
			if fan != nil {
				defer fan.leave(i)
			}
			runs[i], errs[i] = l.batch(ctx, take)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("sink %s: %w", l.name, errs[i])
			}
		})
	}
	wg.Wait()
	if fan != nil {
		fan.wait()
	}
	for _, run := range runs {
		if run.Status == store.BatchFailed && run.Attempt == 1 {
			e.scheduleReruns(run.Started.Add(e.cfg.BatchRerun))
			break
		}
	}
	err := errors.Join(errs...)
	writes := 0
	for _, r := range runs {
		writes += r.Writes
	}
	e.finished(ctx, Pass{Name: "batch", Started: start, Took: e.cfg.Clock.Now().Sub(start), Writes: writes}, err)
	return runs, err
}

// scheduleReruns reruns, at at, the failed batches of the sinks that owe a
// rerun then — together, on one reading of the list.
func (e *Engine) scheduleReruns(at time.Time) {
	e.schedule("rerun/"+at.UTC().Format(time.RFC3339Nano), at, func(ctx context.Context) {
		now := e.cfg.Clock.Now()
		var owing []*Engine
		for _, l := range e.lanes {
			if rerun, err := l.rerunAt(ctx, now); err != nil {
				l.log.Warn("reading the last batch run", "err", err)
			} else if !rerun.IsZero() && !rerun.After(now) {
				owing = append(owing, l)
			}
		}
		if len(owing) > 0 {
			e.batchLanes(ctx, owing) // logged and counted by finished
		}
	})
}

// pollLanes is the poll of an engine of several sinks: the changes are read
// once — in whole, before any sink's reconciles, so that a slow sink holds
// back no other — and every sink with realtime fields reconciles them and
// then its own dirty people. A Source without a change feed has its full
// list read once and handed to each.
func (e *Engine) pollLanes(ctx context.Context, start, since time.Time, changes iter.Seq2[Employee, error]) error {
	var recs []Employee
	var listErr error
	unsupported := false
	for rec, err := range changes {
		if errors.Is(err, ErrChangedSinceUnsupported) {
			unsupported = true
			break
		}
		if err != nil {
			listErr = fmt.Errorf("listing changes since %s: %w", since.Format("15:04:05"), err)
			break
		}
		recs = append(recs, rec)
	}
	var lanes []*Engine
	for _, l := range e.lanes {
		if l.cfg.Policy.Uses(cadence.Realtime) {
			lanes = append(lanes, l)
		}
	}
	held := func(yield func(Employee, error) bool) {
		if unsupported {
			yield(Employee{}, ErrChangedSinceUnsupported)
			return
		}
		for _, rec := range recs {
			if !yield(rec, nil) {
				return
			}
		}
	}
	var fan *broadcast
	if unsupported {
		fan = newBroadcast(e.listForPoll(ctx), len(lanes), e.batchChunk())
	}
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for i, l := range lanes {
		list := func(context.Context) iter.Seq2[Employee, error] { return fan.branch(i) }
		wg.Go(func() {
			if fan != nil {
				defer fan.leave(i)
			}
			if errs[i] = l.pollChanges(ctx, start, since, held, list); errs[i] != nil {
				errs[i] = fmt.Errorf("sink %s: %w", l.name, errs[i])
			}
		})
	}
	wg.Wait()
	if fan != nil {
		fan.wait()
	}
	return errors.Join(append(errs, listErr)...)
}

// broadcast reads a list once and hands every record to each of several
// readers, which range their branches concurrently. The readers go in step
// within a buffer: the list is read as fast as the slowest reader that has
// not left takes it. A reader that stops ranging, or never starts, leaves,
// and is waited for no more; once every reader has left the list is read
// no further.
type broadcast struct {
	branches []*branch
	done     chan struct{}
}

type branch struct {
	items chan item
	left  chan struct{}
	once  sync.Once
}

type item struct {
	rec Employee
	err error
}

func newBroadcast(list iter.Seq2[Employee, error], readers, buffer int) *broadcast {
	b := &broadcast{done: make(chan struct{})}
	for range readers {
		b.branches = append(b.branches, &branch{items: make(chan item, buffer), left: make(chan struct{})})
	}
	go b.read(list)
	return b
}

func (b *broadcast) read(list iter.Seq2[Employee, error]) {
	defer close(b.done)
	defer func() {
		for _, br := range b.branches {
			close(br.items)
		}
	}()
	if len(b.branches) == 0 {
		return
	}
	for rec, err := range list {
		present := 0
		for _, br := range b.branches {
			select {
			case <-br.left:
				continue
			default:
			}
			select {
			case br.items <- item{rec, err}:
				present++
			case <-br.left:
			}
		}
		if present == 0 {
			return // nobody is reading: stop, releasing what the list holds
		}
	}
}

// branch is reader i's list, to be ranged once.
func (b *broadcast) branch(i int) iter.Seq2[Employee, error] {
	br := b.branches[i]
	return func(yield func(Employee, error) bool) {
		defer b.leave(i)
		for it := range br.items {
			if !yield(it.rec, it.err) {
				return
			}
		}
	}
}

// leave says reader i reads no more.
func (b *broadcast) leave(i int) {
	br := b.branches[i]
	br.once.Do(func() { close(br.left) })
}

// wait waits for the list's reading to end.
func (b *broadcast) wait() { <-b.done }

// sharedReads lets one Source read of a person serve every sink of an
// engine of several: a read begun at or after the moment a sink's
// reconcile needs its record to be from (the mark, the pass's start, the
// due time) serves it, whether it has ended or is in flight — unless an
// event for the person has come since it began. A retry reads afresh: a
// read begun before it does not serve it.
type sharedReads struct {
	clock Clock
	mu    sync.Mutex
	reads map[string]*sharedRead
}

type sharedRead struct {
	began time.Time
	done  chan struct{}
	rec   Employee
	err   error
	stale bool // a sink found it behind its event: the next read is afresh
}

// sharedReadsKept bounds the reads remembered; beyond it, reads older than
// sharedReadAge are forgotten.
const (
	sharedReadsKept = 4096
	sharedReadAge   = time.Minute
)

// get returns a read of id begun at or after notBefore that fresh accepts,
// joining or reusing one where there is one and reading otherwise.
func (s *sharedReads) get(ctx context.Context, id string, notBefore time.Time, fresh func(Employee) bool,
	read func(context.Context) (Employee, error)) (Employee, error) {
	for {
		s.mu.Lock()
		r, ok := s.reads[id]
		if ok && !r.stale && !r.began.Before(notBefore) {
			s.mu.Unlock()
			select {
			case <-r.done:
			case <-ctx.Done():
				return Employee{}, ctx.Err()
			}
			switch {
			case r.err == nil && fresh(r.rec), errors.Is(r.err, ErrNotFound):
				return r.rec, r.err
			case r.err != nil && ctx.Err() == nil && (errors.Is(r.err, context.Canceled) || errors.Is(r.err, context.DeadlineExceeded)):
				// Another sink's reconcile was cancelled: read again.
			case r.err != nil:
				return r.rec, r.err
			}
			s.mu.Lock()
			r.stale = true
			s.mu.Unlock()
			continue
		}
		r = &sharedRead{began: s.clock.Now(), done: make(chan struct{})}
		s.reads[id] = r
		s.prune(r.began)
		s.mu.Unlock()
		r.rec, r.err = read(ctx)
		close(r.done)
		return r.rec, r.err
	}
}

// changed says the person's record has changed since any read of it in
// hand: the next sink to need it reads afresh.
func (s *sharedReads) changed(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.reads[id]; ok {
		r.stale = true
	}
}

// prune forgets old reads when many are kept. s.mu is held.
func (s *sharedReads) prune(now time.Time) {
	if len(s.reads) <= sharedReadsKept {
		return
	}
	for id, r := range s.reads {
		select {
		case <-r.done:
			if now.Sub(r.began) > sharedReadAge {
				delete(s.reads, id)
			}
		default:
		}
	}
}

// getShared reads the person of r from the Source: with one sink, always;
// with several, a read another sink made recently enough serves.
func (e *Engine) getShared(ctx context.Context, r request, rd reading) (Employee, error) {
	if e.reads == nil {
		return e.get(ctx, r.trigger, r.id)
	}
	notBefore := rd.now
	switch p := rd.p; {
	case rd.attempt > 1:
		// A retry reads afresh: only a read begun since it began serves
		// it — another sink's retry at the same instant, say.
	case !r.readAfter.IsZero():
		notBefore = r.readAfter
	case !r.pass.IsZero():
		notBefore = r.pass
	case p.Dirty.Generation != 0:
		notBefore = p.Dirty.Since
	case !p.Due.IsZero() && !p.Due.After(rd.now):
		notBefore = p.Due
	}
	if p := rd.p; p.Dirty.Generation != 0 && p.Dirty.Since.After(notBefore) {
		notBefore = p.Dirty.Since // marked since the pass began
	}
	min := rd.p.Dirty.MinVersion
	return e.reads.get(ctx, r.id, notBefore, func(rec Employee) bool { return !e.lags(rec, min) },
		func(ctx context.Context) (Employee, error) { return e.get(ctx, r.trigger, r.id) })
}

// serveLanes runs every sink's workers until ctx ends or Shutdown, and is
// Started once every sink is. A sink that cannot start (its audit log does
// not hold its anchor, say) stops them all: the engine does not run with a
// sink left behind.
func (e *Engine) serveLanes(ctx context.Context, cancel context.CancelFunc) error {
	errs := make([]error, len(e.lanes))
	var wg sync.WaitGroup
	for i, l := range e.lanes {
		wg.Go(func() {
			if errs[i] = l.Run(ctx); errs[i] != nil && !errors.Is(errs[i], ErrClosed) {
				errs[i] = fmt.Errorf("sink %s: %w", l.name, errs[i])
				cancel()
			}
		})
	}
	wg.Go(func() {
		for _, l := range e.lanes {
			select {
			case <-l.Started():
			case <-ctx.Done():
				return
			}
		}
		e.startedOnce.Do(func() { close(e.started) })
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
	}
	if e.isClosed() {
		return ErrClosed
	}
	return nil
}

// shutdownLanes shuts every sink down, together.
func (e *Engine) shutdownLanes(ctx context.Context) error {
	errs := make([]error, len(e.lanes))
	var wg sync.WaitGroup
	for i, l := range e.lanes {
		wg.Go(func() { errs[i] = l.Shutdown(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lanesIdle reports whether no sink has work in hand.
func (e *Engine) lanesIdle() bool {
	for _, l := range e.lanes {
		q, err := l.idler()
		if err != nil || !l.busy.idle() || !q.Idle() {
			return false
		}
	}
	return true
}

// sumStats adds the sinks' counters to the engine's own: events, and the
// poll's and batch's runs, are counted once, by the engine; the rest is
// every sink's, added, but latency, which is the slowest sink's.
func (e *Engine) sumStats() Stats {
	out := e.observe.stats.snapshot()
	for _, l := range e.lanes {
		s := l.observe.stats.snapshot()
		out.Alerts += s.Alerts
		out.Deferred += s.Deferred
		for t, ls := range s.Triggers {
			ts := out.Triggers[t]
			ts.Reconciles += ls.Reconciles
			ts.NeededWrites += ls.NeededWrites
			ts.Writes += ls.Writes
			ts.Attempts += ls.Attempts
			ts.Retries += ls.Retries
			ts.DeadLetters += ls.DeadLetters
			ts.SourceCalls.Get += ls.SourceCalls.Get
			ts.SourceCalls.List += ls.SourceCalls.List
			ts.SourceCalls.ChangedSince += ls.SourceCalls.ChangedSince
			ts.Latency.Count += ls.Latency.Count
			ts.Latency.P50 = max(ts.Latency.P50, ls.Latency.P50)
			ts.Latency.P99 = max(ts.Latency.P99, ls.Latency.P99)
			ts.Latency.Max = max(ts.Latency.Max, ls.Latency.Max)
			out.Triggers[t] = ts
		}
	}
	return out
}
