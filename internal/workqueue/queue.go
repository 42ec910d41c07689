// Package workqueue is the keyed work queue behind the engine's default
// Dispatcher, with the semantics of client-go's workqueue:
//
//   - an id added again while it waits is worked on once;
//   - an id is never worked on by two workers at once;
//   - an id added while it is being worked on is worked on once more after;
//   - an id can be added for a later time, and keeps the earliest time asked.
//
// Concurrency across ids is bounded by a semaphore (golang.org/x/sync). Time
// comes from the functions given to New, so a fake clock drives it in
// simulations.
//
// Stop is for good: a stopped queue takes no more ids, sets no more timers,
// and a Run after Stop returns at once. A Stop that lands before Run (an
// engine shut down during its start-up) must not be undone by it.
package workqueue

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Queue is a keyed work queue. Use New.
type Queue struct {
	now       func() time.Time
	afterFunc func(time.Duration, func()) (stop func() bool)

	mu         sync.Mutex
	cond       *sync.Cond // signalled when ready, processing or stopped change
	ready      []string   // FIFO of ids to hand out
	queued     map[string]bool
	processing map[string]bool
	waiting    map[string]delayed
	stopped    bool
	pausedTill time.Time // no id is handed out before this
	pauseStop  func() bool
}

type delayed struct {
	at   time.Time
	stop func() bool
}

// New returns an empty Queue reading time from now and setting timers with
// afterFunc (time.AfterFunc semantics, returning the timer's Stop).
func New(now func() time.Time, afterFunc func(time.Duration, func()) (stop func() bool)) *Queue {
	q := &Queue{
		now: now, afterFunc: afterFunc,
		queued: map[string]bool{}, processing: map[string]bool{}, waiting: map[string]delayed{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add makes id ready now.
func (q *Queue) Add(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(id)
}

func (q *Queue) addLocked(id string) {
	if q.stopped {
		return
	}
	if d, ok := q.waiting[id]; ok {
		d.stop()
		delete(q.waiting, id)
	}
	if q.queued[id] {
		return
	}
	q.queued[id] = true
	if q.processing[id] {
		return // Done puts it back in line
	}
	q.ready = append(q.ready, id)
	q.cond.Broadcast()
}

// AddAt makes id ready at at. If id already waits for an earlier time, or is
// ready, the earlier time stands.
func (q *Queue) AddAt(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	d := at.Sub(q.now())
	if d <= 0 {
		q.addLocked(id)
		return
	}
	if q.queued[id] {
		return
	}
	if w, ok := q.waiting[id]; ok {
		if !w.at.After(at) {
			return
		}
		w.stop()
	}
	q.waiting[id] = delayed{at: at, stop: q.afterFunc(d, func() { q.fire(id, at) })}
}

func (q *Queue) fire(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w, ok := q.waiting[id]; ok && w.at.Equal(at) {
		delete(q.waiting, id)
		q.addLocked(id)
	}
}

// PauseUntil holds every ready id until t: the work behind it (a sink that
// asked for a pause) cannot be done before then, and handing the ids out only
// to put them off again would cost a round of work per id. A later pause
// extends it; an earlier one is ignored.
func (q *Queue) PauseUntil(t time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := t.Sub(q.now())
	if d <= 0 || !t.After(q.pausedTill) {
		return
	}
	if q.pauseStop != nil {
		q.pauseStop()
	}
	q.pausedTill = t
	q.pauseStop = q.afterFunc(d, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
}

func (q *Queue) pausedLocked() bool { return q.now().Before(q.pausedTill) }

// get blocks until an id is ready (and the queue not paused) or the queue
// stops.
func (q *Queue) get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for (len(q.ready) == 0 || q.pausedLocked()) && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		return "", false
	}
	id := q.ready[0]
	q.ready[0] = ""
	q.ready = q.ready[1:]
	delete(q.queued, id)
	q.processing[id] = true
	return id, true
}

func (q *Queue) done(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, id)
	if q.queued[id] {
		q.ready = append(q.ready, id)
	}
	q.cond.Broadcast()
}

// Run hands ready ids to work, at most limit at once, until ctx ends or Stop
// is called, then waits for the work in hand and returns; after Stop it
// returns at once. Timers of ids still waiting are stopped: they are hints,
// and the Store keeps the truth.
func (q *Queue) Run(ctx context.Context, limit int, work func(ctx context.Context, id string)) error {
	unwatch := context.AfterFunc(ctx, q.Stop)
	defer unwatch()

	sem := semaphore.NewWeighted(int64(max(limit, 1)))
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		q.stopTimers()
	}()
	for {
		// Take a worker slot before an id, so that an id stays "ready"
		// (and merges repeats) until a worker is free for it.
		if err := sem.Acquire(ctx, 1); err != nil {
			return nil
		}
		id, ok := q.get()
		if !ok {
			sem.Release(1)
			return nil
		}
		wg.Go(func() {
			defer sem.Release(1)
			defer q.done(id)
			work(ctx, id)
		})
	}
}

// Stop makes Run return once the work in hand is done, and the queue take
// nothing more: the ids it held are dropped, being hints the Store also
// keeps. It cannot be undone.
func (q *Queue) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.ready, q.queued = nil, map[string]bool{}
	q.stopTimersLocked()
	q.cond.Broadcast()
}

func (q *Queue) stopTimers() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopTimersLocked()
}

func (q *Queue) stopTimersLocked() {
	for id, w := range q.waiting {
		w.stop()
		delete(q.waiting, id)
	}
	if q.pauseStop != nil {
		q.pauseStop()
		q.pauseStop = nil
	}
}

// Idle reports whether no id is ready or being worked on. Ids waiting for a
// later time, or held by a pause, do not count: a simulation advances its
// clock to them.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.idleLocked()
}

func (q *Queue) idleLocked() bool {
	return len(q.processing) == 0 && (len(q.ready) == 0 || q.pausedLocked())
}

// WaitIdle blocks until the queue is Idle or stopped, or ctx ends.
func (q *Queue) WaitIdle(ctx context.Context) error {
	unwatch := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer unwatch()
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.idleLocked() && !q.stopped && ctx.Err() == nil {
		q.cond.Wait()
	}
	return ctx.Err()
}

// Len is the number of ids ready, being worked on, or waiting.
func (q *Queue) Len() (ready, processing, waiting int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready), len(q.processing), len(q.waiting)
}
