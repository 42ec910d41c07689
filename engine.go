package hrissync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/internal/keylock"
	"github.com/hrissync/hrissync/internal/workqueue"
	"github.com/hrissync/hrissync/store"
)

// Engine keeps one tenant's learning platform in step with its HRIS. Create it
// with New; Run it; feed it events with Notify. Its methods are safe for
// concurrent use.
type Engine struct {
	src   Source
	sink  Sink // nil for an engine of several sinks: its lanes hold them
	store store.Store
	cfg   Config // cfg.Tenant is the Store key: the tenant's, or the sink's within it
	log   *slog.Logger

	tenant string // the tenant, as audit entries, alerts and metrics name it
	name   string // the sink's name; "" for an engine built by New
	// lanes are the sinks of an engine built by NewMulti, each an engine
	// of its own over one sink; the engine itself then holds no sink and
	// fans its triggers out to them (multi.go). fanned marks a lane:
	// its poll and batch are run by the engine it belongs to.
	lanes  []*Engine
	fanned bool
	reads  *sharedReads // one Source read serving every lane; nil for one sink
	polls  bool         // some field is realtime: the fallback poll runs

	dispatcher store.Dispatcher
	// marksDispatch: the Store dispatches a person in the transaction
	// that marks them dirty (set by bind).
	marksDispatch bool
	carries       func(field string) bool // the sink's FieldCarrier; nil: every field
	pageSize      int                     // the Source's Pager; 0: it does not page
	locks         keylock.Locks
	budgets       *budgets
	parking       parking // fields the platform refused
	guard         guard
	observe       observer                      // Stats and the metrics
	history       history                       // the last polls and batches
	progress      func(done int, finished bool) // the running batch's; batchMu
	busy          activity                      // triggers running or about to

	pollMu, batchMu sync.Mutex
	pollFailures    atomic.Int32

	incidents *incidents

	auditMu      sync.Mutex
	auditPending atomic.Bool

	started     chan struct{}
	startedOnce sync.Once

	mu      sync.Mutex
	running bool // Run has begun and Shutdown has not stopped it
	serving bool // Run is past its start-up, handing work to the Dispatcher
	closed  bool // Shutdown was called or Run returned: an engine is not reused
	runCtx  context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	timers  map[string]Timer
	wg      sync.WaitGroup // trigger goroutines
}

// Errors of the Engine's API.
var (
	// ErrInvalidEvent: an event without an id or an employee id.
	ErrInvalidEvent = errors.New("hrissync: invalid event")
	// ErrEventConflict: Notify met an event id already recorded for an
	// event saying something else (another person, type, time or record
	// version). It is refused, not dropped as a repeat: the sender reused
	// an id. It is store.ErrEventConflict.
	ErrEventConflict = store.ErrEventConflict
	// ErrRunning: Run called on an engine already running.
	ErrRunning = errors.New("hrissync: engine already running")
	// ErrClosed: Run or Notify on an engine that was shut down, or whose
	// Run has returned. Like an http.Server, an engine is not reused: a
	// host that stops one makes a new one with New.
	ErrClosed = errors.New("hrissync: engine closed")
	// ErrNotHeld: ApproveDeletions on a run that is not held.
	ErrNotHeld = errors.New("hrissync: run is not held for deletion approval")
)

// New returns an Engine reading src, writing sink and remembering in store. It
// validates cfg (nil means all defaults) and starts nothing.
func New(src Source, sink Sink, store store.Store, cfg *Config) (*Engine, error) {
	if src == nil || sink == nil || store == nil {
		return nil, errors.New("hrissync: New needs a Source, a Sink and a Store")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newEngine(src, sink, store, c, c.Tenant, "")
}

// newEngine builds an engine over one sink (or none, for an engine whose
// lanes hold its sinks) from a Config with its defaults set, whose Tenant is
// the Store key. tenant names the tenant; name is the sink's name, "" for
// New's.
func newEngine(src Source, sink Sink, store store.Store, c Config, tenant, name string) (*Engine, error) {
	var err error
	log := c.Logger.With("tenant", tenant)
	if name != "" {
		log = log.With("sink", name)
	}
	e := &Engine{
		src: src, sink: sink, store: store, cfg: c, tenant: tenant, name: name,
		log:        log,
		dispatcher: c.Dispatcher,
		guard:      guard{failures: c.Breaker.Failures, cooldown: c.Breaker.Cooldown, floor: c.RetryAfterFloor},
		observe:    observer{stats: newStats()},
		timers:     map[string]Timer{},
		started:    make(chan struct{}),
	}
	e.busy.init()
	e.polls = c.Policy.Uses(cadence.Realtime)
	e.budgets = newBudgets(e)
	e.incidents = newIncidents(e)
	if c, ok := sink.(FieldCarrier); ok {
		e.carries = c.Carries
	}
	if p, ok := src.(Pager); ok {
		e.pageSize = max(p.PageSize(), 0)
	}
	if err := e.bind(); err != nil {
		return nil, err
	}
	if e.observe.metrics, err = newInstruments(c.MeterProvider, tenant, name, e); err != nil {
		return nil, fmt.Errorf("hrissync: metrics: %w", err)
	}
	if e.dispatcher == nil {
		clock := c.Clock
		e.dispatcher = queueDispatcher{workqueue.New(clock.Now, func(d time.Duration, f func()) func() bool {
			return clock.AfterFunc(d, f).Stop
		})}
	}
	return e, nil
}

// queueDispatcher is the default Dispatcher: the in-process keyed queue.
type queueDispatcher struct{ *workqueue.Queue }

func (q queueDispatcher) Dispatch(id string, at time.Time) { q.AddAt(id, at) }

// Run sweeps the Store for people left dirty or due, then runs the realtime
// workers, the fallback poll and the daily batch on their schedules until ctx
// ends or Shutdown is called. It returns once every goroutine it started has
// returned: nil when ctx ended, ErrClosed when Shutdown stopped it (or had
// been called before, or an earlier Run has returned), or the error that
// stopped it.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return ErrClosed
	case e.running:
		e.mu.Unlock()
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	e.running, e.runCtx, e.cancel, e.done = true, ctx, cancel, make(chan struct{})
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.running, e.serving, e.closed = false, false, true
		for k, t := range e.timers {
			t.Stop()
			delete(e.timers, k)
		}
		e.mu.Unlock()
		e.wg.Wait()
		// Incidents waiting for their group are alerted now: the next
		// engine would not know of them.
		e.incidents.stop(context.WithoutCancel(ctx))
		cancel()
		close(e.done)
	}()

	if err := e.startUp(ctx); err != nil {
		if e.isClosed() {
			return ErrClosed // Shutdown cut the start-up short
		}
		return err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.serving = true
	e.mu.Unlock()
	if e.lanes != nil {
		return e.serveLanes(ctx, cancel)
	}
	e.startedOnce.Do(func() { close(e.started) })
	if err := e.dispatcher.Run(ctx, e.cfg.Concurrency, e.work); err != nil {
		return err
	}
	if e.isClosed() {
		return ErrClosed
	}
	return nil
}

// startUp checks the audit anchor, sweeps the Store and sets the schedules.
func (e *Engine) startUp(ctx context.Context) error {
	if e.lanes == nil {
		if err := e.startSink(ctx); err != nil {
			return err
		}
	}
	if e.fanned {
		return nil // the poll and the batch are its engine's
	}
	if s, ok := e.scheduler(); ok {
		if e.polls {
			s.Every("poll", e.cfg.PollSchedule, func(ctx context.Context) time.Time { e.pollOnce(ctx); return time.Time{} })
		}
		s.Every("batch", e.cfg.BatchSchedule, e.batchOnce)
		return nil
	}
	now := e.cfg.Clock.Now()
	if e.polls {
		e.schedule("poll", e.cfg.PollSchedule.Next(now), e.runPoll)
	}
	next := e.cfg.BatchSchedule.Next(now)
	for _, l := range e.Sinks() {
		rerun, err := l.rerunAt(ctx, now)
		switch {
		case err != nil:
			return fmt.Errorf("hrissync: reading the last batch run: %w", err)
		case rerun.IsZero() || !rerun.Before(next):
		case l == e:
			next = rerun
		default:
			e.scheduleReruns(rerun)
		}
	}
	e.schedule("batch", next, e.runBatch)
	return nil
}

// startSink checks the audit anchor and sweeps the Store: the start-up of an
// engine with a sink of its own.
func (e *Engine) startSink(ctx context.Context) error {
	if err := e.checkAnchor(ctx); err != nil {
		return fmt.Errorf("hrissync: audit log: %w", err)
	}
	if left := e.uncarried(); len(left) > 0 {
		e.log.Info("fields the sink does not carry reach no platform", "fields", left)
	}
	if err := e.sweep(ctx); err != nil {
		return fmt.Errorf("hrissync: start-up sweep: %w", err)
	}
	e.startForgetting(ctx)
	return nil
}

// rerunAt is when the rerun of a scheduled run that failed before the engine
// stopped is due — at once if its time has passed — so that a restart
// between 02:00 and 03:00 does not lose the night's rerun; zero if none is
// owed.
func (e *Engine) rerunAt(ctx context.Context, now time.Time) (time.Time, error) {
	last, err := e.store.LastBatchRun(ctx, e.cfg.Tenant)
	switch {
	case errors.Is(err, ErrNotFound):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, err
	case !e.rerunOwed(last, now):
		return time.Time{}, nil
	}
	rerun := last.Started.Add(e.cfg.BatchRerun)
	if rerun.Before(now) {
		rerun = now
	}
	return rerun, nil
}

// Started is closed once Run has swept the Store and set its schedules.
func (e *Engine) Started() <-chan struct{} { return e.started }

// isClosed reports whether Shutdown was called or Run has returned.
func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Shutdown closes the engine: Run and Notify return ErrClosed from now on.
// It stops taking work and waits for the reconciles in hand to finish, or
// for ctx to end, whichever is first; then it cancels what is left. People
// not reached stay dirty in the Store for the next engine. Called while Run
// is still starting up, it cuts the start-up short: nothing is in hand yet.
// Called before Run, it only closes the engine.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	for k, t := range e.timers {
		t.Stop()
		delete(e.timers, k)
	}
	starting := e.running && !e.serving
	e.running = false // no more triggers
	done, cancel := e.done, e.cancel
	e.mu.Unlock()
	e.dispatcher.Stop()
	var lanesErr error
	if e.lanes != nil {
		lanesErr = e.shutdownLanes(ctx)
	}
	if done == nil {
		return lanesErr // never run
	}
	if starting {
		cancel()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
}

// schedule runs fn at at, in a goroutine owned by Run.
func (e *Engine) schedule(name string, at time.Time, fn func(ctx context.Context)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return
	}
	if old, ok := e.timers[name]; ok {
		old.Stop()
	}
	e.timers[name] = e.cfg.Clock.AfterFunc(at.Sub(e.cfg.Clock.Now()), func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.running {
			return
		}
		delete(e.timers, name)
		// Counted busy before this callback returns, so that a
		// simulation advancing the clock sees the trigger pending.
		e.busy.add(1)
		ctx := e.runCtx
		e.wg.Go(func() {
			defer e.busy.add(-1)
			fn(ctx)
		})
	})
}

func (e *Engine) runPoll(ctx context.Context) {
	e.pollOnce(ctx)
	e.schedule("poll", e.cfg.PollSchedule.Next(e.cfg.Clock.Now()), e.runPoll)
}

func (e *Engine) pollOnce(ctx context.Context) {
	if err := e.Poll(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("poll failed", "err", err)
	}
}

func (e *Engine) runBatch(ctx context.Context) {
	next := e.cfg.BatchSchedule.Next(e.cfg.Clock.Now())
	if rerun := e.batchOnce(ctx); !rerun.IsZero() && rerun.Before(next) {
		next = rerun
	}
	e.schedule("batch", next, e.runBatch)
}

// batchOnce runs the batch and returns when its rerun is due: the zero time
// unless this was a scheduled run that failed.
func (e *Engine) batchOnce(ctx context.Context) (rerun time.Time) {
	if e.lanes != nil {
		e.batchLanes(ctx, e.lanes) // sets its sinks' reruns
		return time.Time{}
	}
	run, _ := e.batch(ctx, e.fullList) // logged and counted by finished
	if run.Status == store.BatchFailed && run.Attempt == 1 {
		return run.Started.Add(e.cfg.BatchRerun)
	}
	return time.Time{}
}

// Notify accepts an event. It returns once the event is durably recorded in
// the Store (so a webhook may be acknowledged), or an error; a repeated event
// id returns nil and changes nothing. The reconcile itself happens on the
// engine's workers. Before Run it records the event for Run's start-up
// sweep; once the engine is closed it records nothing and returns ErrClosed,
// so that the sender retries, to another replica or the next engine.
func (e *Engine) Notify(ctx context.Context, ev Event) error {
	if e.isClosed() {
		return ErrClosed
	}
	if ev.ID == "" || ev.EmployeeID == "" {
		e.observe.rejected(ctx)
		return fmt.Errorf("%w: event id and employee id are required", ErrInvalidEvent)
	}
	// A batch of one: recorded by every sink of an engine of several.
	errs, err := e.NotifyBatch(ctx, []Event{ev})
	if err != nil {
		return err
	}
	return errs[0]
}

// fingerprint digests what ev says to the engine — whose record, which
// change, when, and the version it must at least see — so that a retry
// re-serialised by its sender is still a repeat, and another event under
// the same id is not.
func fingerprint(ev Event) string {
	h := sha256.New()
	for _, part := range []string{ev.EmployeeID, ev.Type, ev.OccurredAt.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	if ev.Record != nil {
		h.Write([]byte(ev.Record.Version.String()))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// work is what the Dispatcher runs for one person.
func (e *Engine) work(ctx context.Context, id string) {
	p, err := e.store.Person(ctx, e.cfg.Tenant, id)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("reading person", "id", id, "err", err)
		}
		return // still dirty in the Store: the next sweep finds it
	}
	now := e.cfg.Clock.Now()
	// A date taking effect is a realtime matter: a batch-only policy
	// leaves it to the next batch.
	due := !p.Due.IsZero() && !p.Due.After(now) && e.cfg.Policy.Uses(cadence.Realtime)
	if p.Dirty.Generation == 0 && !due && !p.Damaged {
		if p.Due.After(now) {
			e.dispatcher.Dispatch(id, p.Due) // woken early: wait on
		}
		return
	}
	trigger := Trigger(p.Dirty.Trigger)
	if trigger == "" {
		trigger = TriggerRealtime
	}
	// swept: the mark read above, unlocked, may be cleared by the time the
	// person is held (a batch's bulk load commits a wave of them at once);
	// one found clean then needs nothing.
	_, _ = e.reconcile(ctx, request{
		id: id, trigger: trigger, classes: cadence.Realtime,
		fresh: p.Failure == nil || p.Failure.Dead, swept: true,
	})
}

// Reconcile syncs one person now, every class, and returns the write's error
// if it failed (the failure is recorded and retried as usual).
func (e *Engine) Reconcile(ctx context.Context, id string) error {
	if e.lanes != nil {
		start := e.cfg.Clock.Now()
		return e.eachLane(func(l *Engine) error {
			_, err := l.reconcile(ctx, request{id: id, trigger: TriggerRealtime, classes: cadence.All, fresh: true, readAfter: start})
			return err
		})
	}
	_, err := e.reconcile(ctx, request{id: id, trigger: TriggerRealtime, classes: cadence.All, fresh: true})
	return err
}

// eachLane calls f for every sink at once, and joins their errors, each
// naming its sink.
func (e *Engine) eachLane(f func(l *Engine) error) error {
	errs := make([]error, len(e.lanes))
	var wg sync.WaitGroup
	for i, l := range e.lanes {
		wg.Go(func() {
			if err := f(l); err != nil {
				errs[i] = fmt.Errorf("sink %s: %w", l.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Replay retries dead-lettered people now: those given, or all of them. It
// returns the errors of those that failed again, joined.
func (e *Engine) Replay(ctx context.Context, ids ...string) error {
	if e.lanes != nil {
		return e.eachLane(func(l *Engine) error { return l.Replay(ctx, ids...) })
	}
	if len(ids) == 0 {
		dead, err := e.store.DeadLetters(ctx, e.cfg.Tenant)
		if err != nil {
			return err
		}
		for _, p := range dead {
			ids = append(ids, p.ID)
		}
	}
	var errs []error
	for _, id := range ids {
		if _, err := e.reconcile(ctx, request{id: id, trigger: TriggerReplay, classes: cadence.All, fresh: true}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Backlog is how many people are waiting for a worker now (ready, not yet
// being reconciled), or -1 if the Dispatcher cannot tell. A webhook receiver
// uses it to push back (503) before the backlog grows without bound.
//
// With several sinks it is the largest sink's backlog: the slowest sink is
// the one a sender must wait for.
func (e *Engine) Backlog() int {
	if e.lanes != nil {
		most := 0
		for _, l := range e.lanes {
			n := l.Backlog()
			if n < 0 {
				return -1
			}
			most = max(most, n)
		}
		return most
	}
	ready, _, _, ok := e.queueLen()
	if !ok {
		return -1
	}
	return ready
}

// Tenant is the tenant the engine syncs.
func (e *Engine) Tenant() string { return e.tenant }

// LastBatchRun returns the batch run saved last as started — by the ledger's order,
// not the clock (an error wrapping ErrNotFound
// before the first).
func (e *Engine) LastBatchRun(ctx context.Context) (store.BatchRun, error) {
	if e.lanes != nil {
		return store.BatchRun{}, ErrSeveralSinks
	}
	return e.store.LastBatchRun(ctx, e.cfg.Tenant)
}

// DeadLetters lists the people whose retries ran out, with their last error.
func (e *Engine) DeadLetters(ctx context.Context) ([]store.Person, error) {
	if e.lanes != nil {
		return nil, ErrSeveralSinks
	}
	return e.store.DeadLetters(ctx, e.cfg.Tenant)
}

// Stats returns the engine's counters.
//
// With several sinks they are the sinks' added, but events and the poll's
// and batch's runs, counted once, and latency, the slowest sink's.
func (e *Engine) Stats() Stats {
	if e.lanes != nil {
		return e.sumStats()
	}
	return e.observe.stats.snapshot()
}

// WaitIdle blocks until the engine has no work in hand: no trigger running and
// no person ready or being reconciled. Work set for later (retries, future
// dates, the next poll) does not count: it waits on the Clock's timers, which
// a simulation then advances to. It needs a Dispatcher that can tell (the
// default can).
func (e *Engine) WaitIdle(ctx context.Context) error {
	if e.lanes != nil {
		for {
			if err := e.busy.wait(ctx); err != nil {
				return err
			}
			for _, l := range e.lanes {
				if err := l.WaitIdle(ctx); err != nil {
					return err
				}
			}
			if e.busy.idle() && e.lanesIdle() {
				return nil
			}
		}
	}
	q, err := e.idler()
	if err != nil {
		return err
	}
	for {
		if err := e.busy.wait(ctx); err != nil {
			return err
		}
		if err := q.WaitIdle(ctx); err != nil {
			return err
		}
		if e.busy.idle() && q.Idle() {
			return nil
		}
	}
}

// sweep dispatches everyone the Store says is dirty or has a due time.
func (e *Engine) sweep(ctx context.Context) error {
	now := e.cfg.Clock.Now()
	for p, err := range e.pending(ctx, farFuture) {
		if err != nil {
			return err
		}
		at := now
		if p.Dirty.Generation == 0 && p.Due.After(now) {
			at = p.Due
		}
		e.dispatcher.Dispatch(p.ID, at)
	}
	return nil
}

// farFuture is later than any due time, and early enough for every Store's
// time encoding (Unix nanoseconds end in 2262).
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// activity counts work in hand that the Dispatcher does not see.
type activity struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func (a *activity) init() { a.cond = sync.NewCond(&a.mu) }

func (a *activity) add(d int) {
	a.mu.Lock()
	a.n += d
	if a.n == 0 {
		a.cond.Broadcast()
	}
	a.mu.Unlock()
}

func (a *activity) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n == 0
}

func (a *activity) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.n != 0 && ctx.Err() == nil {
		a.cond.Wait()
	}
	return ctx.Err()
}
