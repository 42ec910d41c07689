package hrissync_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// Activity is versioned like every field: these are the findings of issue 17
// in which an older record gave a leaver access back or kept a rehire out.

// Finding 1: an export taken at 23:00, a termination at 23:30 applied at
// midnight by the timer; the 02:00 batch reads the stale export.
func TestStaleExportDoesNotReEnableALeaver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(23 * time.Hour) // 23:00
		r.hr.mu.Lock()
		r.hr.snapshot = maps.Clone(r.hr.people) // the export, as the batch will list it
		r.hr.mu.Unlock()
		r.sleep(30 * time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.DateOf(time.Now()) })
		r.notify(a.ID)
		r.sleep(3 * time.Hour) // midnight, then the 02:00 batch
		if acc := r.mustAccount(a.ID); acc.Active {
			t.Fatalf("the leaver is active again after the batch read an export taken before the termination")
		}
		for _, u := range r.lms.writes() {
			if u.Kind == hrissync.Reactivate {
				t.Errorf("reactivated by %s at an export older than the termination", u.Trigger)
			}
		}
	})
}

// Finding 1, the other way: a rehire after the export is not undone by it,
// and the stale termination date is not written.
func TestStaleExportDoesNotUndoARehire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		e := alice()
		e.TerminationDate = hrissync.NewDate(1999, 12, 1)
		e.Status = hrissync.StatusTerminated
		a := r.hr.put(e)
		r.notify(a.ID)
		r.sleep(time.Hour) // 01:00: the export
		r.hr.mu.Lock()
		r.hr.snapshot = maps.Clone(r.hr.people)
		r.hr.mu.Unlock()
		r.sleep(30 * time.Minute)
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.StartDate = hrissync.StatusActive, hrissync.Date{}, hrissync.DateOf(time.Now())
		})
		r.notify(a.ID)
		if !r.mustAccount(a.ID).Active {
			t.Fatal("the rehire was not reactivated")
		}
		r.sleep(time.Hour) // the 02:00 batch with the 01:00 export
		acc := r.mustAccount(a.ID)
		if !acc.Active {
			t.Error("the batch deactivated a rehire from an export taken before the rehire")
		}
		if acc.Fields[hrissync.FieldTerminationDate] != "" {
			t.Errorf("the stale termination date %q was written", acc.Fields[hrissync.FieldTerminationDate])
		}
	})
}

// Finding 2: a reconcile for a termination fetches slowly; meanwhile a poll
// reads the person as terminated, HR rehires them, the slow fetch returns the
// rehire — then the poll's older record must not deactivate.
func TestSlowFetchThenOlderPollRecordDoesNotDeactivate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(10 * time.Minute)

		release := make(chan struct{})
		fetching := make(chan struct{})
		r.hr.mu.Lock()
		r.hr.slowGet = func(string) {
			close(fetching)
			<-release
		}
		r.hr.mu.Unlock()
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()).AddDays(-1)
		})
		r.notify(a.ID) // the reconcile starts and blocks in Get
		<-fetching
		r.hr.mu.Lock()
		r.hr.slowGet = nil
		r.hr.mu.Unlock()

		// The poll reads the termination; then HR rehires (this webhook
		// is lost) and the slow fetch returns the rehire. The poll then
		// waits for the person, held by the slow reconcile.
		r.hr.mu.Lock()
		r.hr.listed = func() {
			r.hr.update(a.ID, func(e *hrissync.Employee) {
				e.Status, e.TerminationDate = hrissync.StatusActive, hrissync.Date{}
			})
			close(release)
		}
		r.hr.mu.Unlock()
		polled := make(chan error)
		go func() { polled <- r.eng.Poll(t.Context()) }()
		if err := <-polled; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !r.mustAccount(a.ID).Active {
			t.Fatal("the poll's older record deactivated a person HR had rehired")
		}
	})
}

// Finding 6: after a crash between a write and its commit the person is
// rewritten whole — cleared fields included — and the audit entry carries
// the values that were applied before, not "".
func TestMayHaveLandedRewriteClearsAndAuditsTruly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		e := alice()
		e.TerminationDate = hrissync.NewDate(2000, 6, 30) // leaving in June
		a := r.hr.put(e)
		r.notify(a.ID)
		// HR cancels the termination; the write is cut off mid-flight.
		r.lms.setFail(func(u hrissync.Update) error { return errCutOff{} })
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.Date{} })
		r.notify(a.ID)
		r.lms.setFail(nil)
		r.sleep(2 * time.Minute) // the retry: a full rewrite
		acc := r.mustAccount(a.ID)
		if got := acc.Fields[hrissync.FieldTerminationDate]; got != "" {
			t.Errorf("the cancelled termination date %q stayed on the platform", got)
		}
		entries := r.audit.Entries()
		last := entries[len(entries)-1]
		for _, c := range last.Changes {
			if c.Field == hrissync.FieldEmail && c.Old != a.Email {
				t.Errorf("the rewrite's audit entry says email changed from %q; it was %q", c.Old, a.Email)
			}
		}
	})
}

// errCutOff is a write cut off before its answer: it may have landed.
type errCutOff struct{}

func (errCutOff) Error() string   { return "connection reset" }
func (errCutOff) Timeout() bool   { return false }
func (errCutOff) Temporary() bool { return true }

// The rewrite after a write that may have landed covers values the platform
// may hold though the Store never recorded them: here a role the cut-off write
// delivered, which HR then took back.
func TestMayHaveLandedRewriteUndoesWhatLanded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.lms.setFail(func(u hrissync.Update) error {
			for _, c := range u.Changes { // it lands; the answer is lost
				r.lms.accounts[u.EmployeeID].Fields[c.Field] = c.New
			}
			return errCutOff{}
		})
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)
		r.lms.setFail(nil)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = a.Role }) // HR takes it back; the webhook is lost
		r.sleep(2 * time.Minute)                                          // the retry
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; got != a.Role {
			t.Errorf("the platform holds role %q from a write that landed unrecorded; HR says %q", got, a.Role)
		}
	})
}

// A property: whatever the interleaving of HR changes, lost and delivered
// webhooks, polls, and batches reading exports of any age, activity is never
// changed from a record older than one already applied; and once the
// webhooks are in and a fresh batch has run, the account's activity is HR's.
func TestActivityNeverFromAnOlderRecord(t *testing.T) {
	for seed := range 40 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { activityProperty(t, uint64(seed)) })
		})
	}
}

func activityProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 17))
	// One person terminated again and again: the termination budget
	// would rightly hold the repeats; this is about versions.
	r := start(t, hrissync.Config{TerminationLimit: hrissync.Budget{Off: true}})
	a := r.hr.put(alice())
	r.notify(a.ID)
	var exports []map[string]hrissync.Employee
	for range 30 {
		switch rng.IntN(6) {
		case 0: // terminated, effective at once or at the end of the day
			r.hr.update(a.ID, func(e *hrissync.Employee) {
				e.Status, e.TerminationDate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()).AddDays(-rng.IntN(2))
			})
		case 1: // rehired
			r.hr.update(a.ID, func(e *hrissync.Employee) {
				e.Status, e.TerminationDate, e.StartDate = hrissync.StatusActive, hrissync.Date{}, hrissync.DateOf(time.Now())
			})
		case 2:
			r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = fmt.Sprint("role-", rng.IntN(5)) })
		case 3: // an export is taken, for some later batch
			r.hr.mu.Lock()
			exports = append(exports, maps.Clone(r.hr.people))
			r.hr.mu.Unlock()
			continue
		case 4: // a batch reads an export of any age
			if len(exports) > 0 {
				r.hr.mu.Lock()
				r.hr.snapshot = exports[rng.IntN(len(exports))]
				r.hr.mu.Unlock()
				if err := r.eng.Batch(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		case 5:
			if err := r.eng.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(3) > 0 { // the webhook arrives; else it is lost
			r.notify(a.ID)
		}
		r.sleep(time.Duration(rng.IntN(180)) * time.Minute)
	}
	var newest hrtype.Version
	for _, u := range r.lms.writes() {
		if u.Kind != hrissync.Modify && u.Version.Before(newest) {
			t.Errorf("%s at version %v, after a write at version %v", u.Kind, u.Version, newest)
		}
		if newest.Before(u.Version) {
			newest = u.Version
		}
	}
	r.hr.mu.Lock()
	r.hr.snapshot = nil
	r.hr.mu.Unlock()
	r.notify(a.ID)
	if err := r.eng.Batch(t.Context()); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	now, _ := r.hr.Get(t.Context(), a.ID)
	want := now.Status != hrissync.StatusTerminated ||
		(!now.TerminationDate.IsZero() && time.Now().Before(now.TerminationDate.AddDays(1).Start(time.UTC)))
	if acc, ok := r.lms.account(a.ID); ok && acc.Active != want {
		t.Errorf("in the end active = %v, HR says %v (%+v)", acc.Active, want, now)
	}
}

// Finding 7: a sender that stamps its events with the delivery time, a few
// seconds after the record's last change, does not make every change wait
// for the Source to "catch up".
func TestEventStampedAfterTheRecordDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.sleep(time.Second)
		if err := r.eng.Notify(t.Context(), hrissync.Event{ID: "e1", EmployeeID: a.ID, OccurredAt: time.Now().Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, ok := r.lms.account(a.ID); !ok {
			t.Fatal("a change stamped 3 s after the record's version waits for the Source to catch up")
		}
	})
}

// A record whose status and dates contradict each other is never a silent
// choice: the person is left without access, and an operator hears of it once.
func TestContradictoryRecordIsAlertedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { // terminated, yet starting after the last day
			e.Status, e.TerminationDate, e.StartDate = hrissync.StatusTerminated, hrissync.NewDate(1999, 12, 1), hrissync.NewDate(2000, 3, 1)
		})
		r.notify(a.ID)
		r.sleep(3 * time.Hour) // polls and reconciles again: still one alert
		if r.mustAccount(a.ID).Active {
			t.Error("a contradictory record kept access")
		}
		n := 0
		for _, k := range r.alerts.kinds() {
			if k == hrissync.AlertRecordConflict {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d record-conflict alerts, want 1", n)
		}
	})
}

// Finding 5, the realtime half: the Source suddenly answers 404 for 40 of 100
// people (a permissions change on the integration user). Webhooks and polls
// alone never deactivate them; the nightly full list decides, under its
// deletion limit — which holds here.
func TestSourceAnswering404DoesNotDeactivateByItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		for i := range 100 {
			e := alice()
			e.ID, e.Email = fmt.Sprintf("w-%03d", i), fmt.Sprintf("p%d@example.com", i)
			r.hr.put(e)
			r.notify(e.ID)
		}
		for i := range 40 {
			id := fmt.Sprintf("w-%03d", i)
			r.hr.remove(id)
			r.notify(id)
		}
		r.sleep(90 * time.Minute) // a poll passes too
		for i := range 40 {
			if !r.mustAccount(fmt.Sprintf("w-%03d", i)).Active {
				t.Fatalf("w-%03d deactivated by a 404 alone", i)
			}
		}
		vanished := 0
		for _, k := range r.alerts.kinds() {
			if k == hrissync.AlertVanished {
				vanished++
			}
		}
		if vanished != 1 {
			t.Errorf("%d vanished alerts, want one for the incident", vanished)
		}
		r.sleep(24 * time.Hour) // the 02:00 batch: 40 leavers of 100 passes the deletion limit
		for i := range 40 {
			if !r.mustAccount(fmt.Sprintf("w-%03d", i)).Active {
				t.Fatalf("w-%03d deactivated though the batch's deletion limit holds", i)
			}
		}
		if run, err := r.eng.LastBatchRun(t.Context()); err != nil || run.Status != store.BatchHeld {
			t.Errorf("last run = %+v (%v), want held for approval", run, err)
		}
	})
}

// One person gone from the Source: kept until the nightly list confirms it.
func TestVanishedPersonDeactivatedByTheNightlyList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.remove(a.ID)
		r.notify(a.ID)
		if !r.mustAccount(a.ID).Active {
			t.Fatal("deactivated by a 404 alone")
		}
		r.sleep(26 * time.Hour)
		if r.mustAccount(a.ID).Active {
			t.Error("the nightly full list did not deactivate a person it no longer holds")
		}
	})
}

// A person without access, reinstated while the Source answers 404 for them
// (found by the simulator): the 404 must not clear the change, which would
// then wait for the nightly batch; it is tried again until the Source
// answers.
func TestReinstatementDuringA404OutageIsNotDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		b := bob()
		r.hr.put(b)
		r.notify(b.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
		})
		r.notify(a.ID)
		r.sleep(8 * time.Hour) // 08:00
		r.hr.hide(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusActive, hrissync.Date{}, false
			e.StartDate = hrissync.DateOf(time.Now())
		})
		r.notify(a.ID)
		// The outage; others' changes move the poll's watermark on
		// meanwhile, past the reinstatement.
		for i := range 3 {
			r.sleep(time.Hour)
			r.hr.update(b.ID, func(e *hrissync.Employee) { e.Role = fmt.Sprint("role-", i) })
		}
		if r.mustAccount(a.ID).Active {
			t.Fatal("reinstated while the Source answered 404")
		}
		r.hr.hide()
		r.sleep(time.Hour + time.Minute) // 12:01: the first recheck after it
		if !r.mustAccount(a.ID).Active {
			t.Error("the reinstatement waits for the nightly batch")
		}
	})
}

// A stale export older than the termination that set a person's due time
// must not clear it (found by the simulator): the termination would then
// take effect at the next batch instead of at its moment.
func TestStaleExportKeepsANewerDueTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(9 * time.Hour)
		r.hr.mu.Lock()
		r.hr.snapshot = maps.Clone(r.hr.people) // the export every batch will read
		r.hr.mu.Unlock()
		r.sleep(time.Hour)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.TerminationDate = hrissync.DateOf(time.Now()).AddDays(1) })
		r.notify(a.ID)
		r.sleep(16*time.Hour + time.Minute) // the 02:00 batch reads the export
		if p, _ := r.store.Person(t.Context(), "default", a.ID); p.Due.IsZero() {
			t.Fatal("the batch cleared the due time")
		}
		r.sleep(22 * time.Hour) // 00:01 after the last day
		if r.mustAccount(a.ID).Active {
			t.Error("the leaver is active past the end of the last day: the stale export cleared the due time")
		}
	})
}

// An event accepted while a reconcile was reading the Source, its change made
// just after the read: the reconcile's commit must not clear it unseen (the
// change would wait for the next poll).
func TestEventDuringTheFetchIsNotClearedUnseen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		once := false
		r.hr.mu.Lock()
		r.hr.fetched = func(id string) {
			if once {
				return
			}
			once = true
			e := r.hr.update(id, func(e *hrissync.Employee) { e.Role = "Director" })
			if err := r.eng.Notify(t.Context(), hrissync.Event{ID: "e-during", EmployeeID: id, OccurredAt: e.Version.Time}); err != nil {
				t.Error(err)
			}
		}
		r.hr.mu.Unlock()
		r.notify(a.ID)
		if got := r.mustAccount(a.ID).Fields[hrissync.FieldRole]; got != "Director" {
			t.Errorf("role = %q: the event accepted during the fetch was cleared unseen", got)
		}
	})
}
