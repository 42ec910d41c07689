package hrissync_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/internal/workqueue"
)

// schedulingQueue is a Dispatcher that also runs the schedules (as a
// distributed queue's leader would): it records what the engine hands it.
type schedulingQueue struct {
	*workqueue.Queue
	mu    sync.Mutex
	every map[string]func(context.Context) time.Time
}

func (q *schedulingQueue) Dispatch(id string, at time.Time) { q.AddAt(id, at) }

func (q *schedulingQueue) Every(name string, _ cadence.Schedule, run func(context.Context) time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.every[name] = run
}

// TestSchedulerRunsThePollAndBatch: with a Dispatcher that is a Scheduler the
// engine sets no timers of its own for the poll and the batch, and the
// batch's run returns its rerun time when it fails.
func TestSchedulerRunsThePollAndBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := hrissync.RealClock{}
		q := &schedulingQueue{Queue: workqueue.New(clock.Now, func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }),
			every: map[string]func(context.Context) time.Time{}}
		r := start(t, hrissync.Config{Dispatcher: q})
		staff(r, 3)
		time.Sleep(26 * time.Hour) // past 02:00 and many hours
		synctest.Wait()
		if _, err := r.eng.LastBatchRun(t.Context()); !errors.Is(err, hrissync.ErrNotFound) || len(r.lms.writes()) != 0 {
			t.Fatalf("the engine ran a batch of its own: %v, %d writes", err, len(r.lms.writes()))
		}
		q.mu.Lock()
		poll, batch := q.every["poll"], q.every["batch"]
		q.mu.Unlock()
		if poll == nil || batch == nil {
			t.Fatalf("scheduled: %v", q.every)
		}
		r.hr.setDown(errors.New("HRIS down"))
		started := time.Now()
		if rerun := batch(t.Context()); !rerun.Equal(started.Add(time.Hour)) {
			t.Errorf("a failed batch asks for its rerun at %v, want an hour after %v", rerun, started)
		}
		r.hr.setDown(nil)
		if rerun := batch(t.Context()); !rerun.IsZero() || len(r.lms.writes()) != 3 {
			t.Errorf("the rerun: again %v, %d writes", rerun, len(r.lms.writes()))
		}
		if again := poll(t.Context()); !again.IsZero() {
			t.Errorf("a poll asked to run again at %v", again)
		}
	})
}
