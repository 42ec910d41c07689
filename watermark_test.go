package hrissync_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// Finding 8 of issue 17: the poll asked for changes since a time on the
// engine's clock, and LastBatchRun ordered runs by their start on that clock.
// These tests move the engine's clock away from the HRIS's: fakeHR stamps
// versions with the bubble's time, and the engine reads a steppedClock.

// steppedClock is the bubble's clock moved by an offset that a test steps:
// the engine's clock going wrong (stepped by NTP, a virtual machine resumed)
// while the HRIS keeps its own time.
type steppedClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *steppedClock) AfterFunc(d time.Duration, f func()) hrissync.Timer {
	return time.AfterFunc(d, f)
}

func (c *steppedClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// noBatch keeps the nightly batch out of a test, so that only the poll can
// catch a lost webhook.
var noBatch = cadence.ScheduleFunc(func(t time.Time) time.Time { return t.AddDate(10, 0, 0) })

// loseWebhookExpectPoll changes a person's role in HR, and the webhook never
// comes: an hour later a poll must have applied it.
func (r *rig) loseWebhookExpectPoll(id, role string) {
	r.t.Helper()
	r.hr.update(id, func(e *hrissync.Employee) { e.Role = role })
	r.sleep(time.Hour)
	if got := r.mustAccount(id).Fields[hrissync.FieldRole]; got != role {
		r.hr.mu.Lock()
		sinces := r.hr.sinces
		r.hr.mu.Unlock()
		r.t.Fatalf("an hour after a lost webhook at %s (the HRIS's clock) the role is %q, want %q; the last poll asked for changes since %s",
			time.Now().Add(-time.Hour).Format("15:04"), got, role, sinces[len(sinces)-1].Format("15:04"))
	}
}

// Finding 8: the engine's clock jumps 3 h ahead of the HRIS's. Every later
// poll must still find the changes HR makes, rather than ask for the future.
func TestPollFindsChangesAfterTheEngineClockJumpsAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &steppedClock{}
		r := start(t, hrissync.Config{Clock: clock, BatchSchedule: noBatch})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(time.Hour + 5*time.Minute) // the 01:00 poll
		clock.step(3 * time.Hour)          // 01:05 in HR, 04:05 to the engine
		r.sleep(time.Hour)                 // a poll at 02:00 (05:00 to the engine)
		for i := range 4 {
			r.loseWebhookExpectPoll(a.ID, fmt.Sprintf("Lead %d", i))
		}
		if s := r.eng.Stats().Triggers[hrissync.TriggerPoll]; s.Writes != 4 {
			t.Errorf("poll writes = %d, want 4", s.Writes)
		}
	})
}

// The HRIS's clock is 2 h behind the engine's from the start. Once the poll
// has seen the HRIS's records, its window follows the HRIS's time, and every
// lost webhook is caught by the next poll. (Until then its watermark is the
// engine's clock: docs/design.md §2.5.)
func TestPollFindsChangesFromASourceClockTwoHoursBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &steppedClock{off: 2 * time.Hour}
		r := start(t, hrissync.Config{Clock: clock, BatchSchedule: noBatch})
		a := r.hr.put(alice())
		r.notify(a.ID)
		b := bob()
		b = r.hr.put(b)
		r.notify(b.ID)
		// Four hours of HR at work, its webhooks delivered: bob changes
		// every 20 minutes.
		r.sleep(5 * time.Minute)
		for i := range 12 {
			r.hr.update(b.ID, func(e *hrissync.Employee) { e.Role = fmt.Sprintf("Role %d", i) })
			r.notify(b.ID)
			r.sleep(20 * time.Minute)
		}
		r.sleep(5 * time.Minute) // 04:10 in HR, 06:10 to the engine
		for i := range 4 {
			r.loseWebhookExpectPoll(a.ID, fmt.Sprintf("Lead %d", i))
		}
	})
}

// A record stamped 10 years ahead (a bad last-modified in HR) must not move
// the poll's watermark into the future: with the engine's clock ahead of the
// HRIS's, the window has to come from the HRIS's time, and the next polls
// still find the changes HR makes.
func TestRecordStampedYearsAheadDoesNotBlindThePoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &steppedClock{}
		r := start(t, hrissync.Config{Clock: clock, BatchSchedule: noBatch})
		a := r.hr.put(alice())
		r.notify(a.ID)
		b := bob()
		b = r.hr.put(b)
		r.notify(b.ID)
		r.sleep(30 * time.Minute)
		r.hr.update(b.ID, func(e *hrissync.Employee) { e.Department = "Sales" })
		r.hr.mu.Lock()
		future := r.hr.people[b.ID]
		future.Version.Time = time.Now().AddDate(10, 0, 0)
		r.hr.people[b.ID] = future
		r.hr.mu.Unlock()
		r.sleep(35 * time.Minute) // the 01:00 poll reads bob's record
		clock.step(3 * time.Hour) // 01:05 in HR, 04:05 to the engine
		r.sleep(time.Hour)        // a poll at 02:00 (05:00) reads it again
		for i := range 4 {
			r.loseWebhookExpectPoll(a.ID, fmt.Sprintf("Lead %d", i))
		}
	})
}

// Finding 8, the ledger: the engine's clock steps back 3 h between two
// batches. The second run, started "earlier", is the last run all the same,
// and when it failed its rerun resumes it.
func TestLastRunIsTheLatestAfterTheClockStepsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &steppedClock{}
		r := start(t, hrissync.Config{Clock: clock, BatchSchedule: noBatch})
		staff(r, 3)
		ctx := t.Context()
		if err := r.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		first, err := r.eng.LastBatchRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.sleep(time.Hour)
		clock.step(-3 * time.Hour)
		r.hr.setDown(errors.New("HRIS down"))
		if err := r.eng.Batch(ctx); err == nil {
			t.Fatal("the batch succeeded with the HRIS down")
		}
		failed, err := r.eng.LastBatchRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if failed.ID == first.ID || failed.Status != store.BatchFailed {
			t.Fatalf("LastBatchRun = %s (%s, started %v), want the failed run started after %s at %v on the stepped clock",
				failed.ID, failed.Status, failed.Started.Format("15:04"), first.ID, first.Started.Format("15:04"))
		}
		r.hr.setDown(nil)
		if err := r.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		rerun, err := r.eng.LastBatchRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rerun.ID != failed.ID || rerun.Attempt != 2 || rerun.Status != store.BatchSucceeded {
			t.Errorf("after the rerun LastBatchRun = %s attempt %d (%s), want %s attempt 2 succeeded",
				rerun.ID, rerun.Attempt, rerun.Status, failed.ID)
		}
	})
}
