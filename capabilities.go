package hrissync

import (
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/store"
)

// The optional abilities of what the engine is built on (named and
// documented in package store), each asked for here and nowhere else.

// queueLen counts the people the Dispatcher holds; ok is false when it
// cannot tell (it is no store.Backlogger).
func (e *Engine) queueLen() (ready, processing, waiting int, ok bool) {
	b, ok := e.dispatcher.(store.Backlogger)
	if !ok {
		return 0, 0, 0, false
	}
	ready, processing, waiting = b.Len()
	return ready, processing, waiting, true
}

// pauseDispatch holds the Dispatcher's ready people until t, where it can
// (a store.Pauser): while the sink is paused, handing them out would only put
// each off again.
func (e *Engine) pauseDispatch(t time.Time) {
	if p, ok := e.dispatcher.(store.Pauser); ok {
		p.PauseUntil(t)
	}
}

// errCannotIdle: WaitIdle needs a Dispatcher that is a store.Idler.
var errCannotIdle = errors.New("hrissync: the Dispatcher cannot report idleness (it is no store.Idler)")

// idler returns the Dispatcher as a store.Idler.
func (e *Engine) idler() (store.Idler, error) {
	if i, ok := e.dispatcher.(store.Idler); ok {
		return i, nil
	}
	return nil, errCannotIdle
}

// scheduler returns the Dispatcher as a store.Scheduler, if it is one: it
// then runs the poll and the batch, once across replicas.
func (e *Engine) scheduler() (store.Scheduler, bool) {
	s, ok := e.dispatcher.(store.Scheduler)
	return s, ok
}

// bind binds the Dispatcher to the engine, if it is a store.Binder: it
// takes the engine's Store, tenant and Clock, and says whether the Store
// dispatches people in the transaction that marks them dirty.
func (e *Engine) bind() error {
	b, ok := e.dispatcher.(store.Binder)
	if !ok {
		return nil
	}
	marks, err := b.Bind(store.Binding{Store: e.store, Tenant: e.cfg.Tenant, Now: e.cfg.Clock.Now})
	if err != nil {
		return fmt.Errorf("hrissync: binding the Dispatcher: %w", err)
	}
	e.marksDispatch = marks
	return nil
}

// dispatchAccepted dispatches a person whose event the Store has just
// accepted — unless the Store did so in the same transaction (a bound
// store.Binder said it does), so that each event is enqueued once.
func (e *Engine) dispatchAccepted(id string, at time.Time) {
	if !e.marksDispatch {
		e.dispatcher.Dispatch(id, at)
	}
}

// lockerOf returns the Dispatcher as the default Locker, if it is one.
func lockerOf(d store.Dispatcher) (store.Locker, bool) {
	l, ok := d.(store.Locker)
	return l, ok
}

// bulkLoader returns the Store as a store.BulkLoader, if it is one: the
// batch then loads the people it holds nothing of a chunk at a time.
func (e *Engine) bulkLoader() (store.BulkLoader, bool) {
	l, ok := e.store.(store.BulkLoader)
	return l, ok
}

// summarizer returns the Store as a store.Summarizer, if it is one: the
// batch then decodes only the people whose summary does not settle them.
func summarizer(st store.Store) (store.Summarizer, bool) {
	s, ok := st.(store.Summarizer)
	return s, ok
}
