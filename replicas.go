package hrissync

import (
	"context"
	"time"

	"github.com/hrissync/hrissync/cadence"
)

// Locker guards one person across processes for the length of a reconcile,
// for replicas sharing a Store (a PostgreSQL advisory lock, say). Within one
// process the engine already never reconciles a person twice at once; a
// Locker extends that to every process.
type Locker interface {
	// Lock blocks until it holds the person's lock, or ctx ends.
	Lock(ctx context.Context, tenant, id string) (unlock func(), err error)
	// TryLock takes the person's lock only if it is free.
	TryLock(ctx context.Context, tenant, id string) (unlock func(), ok bool, err error)
}

// Scheduler runs the engine's periodic work — the fallback poll and the daily
// batch — once per scheduled time across every replica. A Dispatcher that
// implements it is given the poll and the batch when Run starts, and the
// engine sets no timers of its own for them.
type Scheduler interface {
	// Every calls run at each time of s, on one replica. run returns a
	// time to run once more before the schedule's next (the rerun of a
	// failed batch), or the zero time.
	Every(name string, s cadence.Schedule, run func(ctx context.Context) (again time.Time))
}

// lockPerson takes the Locker's lock on a person, if there is a Locker:
// waiting for it, or only trying when wait is false. ok is false when the
// lock was busy.
func (e *Engine) lockPerson(ctx context.Context, id string, wait bool) (unlock func(), ok bool, err error) {
	if e.cfg.Locker == nil {
		return func() {}, true, nil
	}
	if !wait {
		return e.cfg.Locker.TryLock(ctx, e.cfg.Tenant, id)
	}
	unlock, err = e.cfg.Locker.Lock(ctx, e.cfg.Tenant, id)
	return unlock, err == nil, err
}
