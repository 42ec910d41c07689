package hrissync_test

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
)

var errUnavailable = errors.New("502 bad gateway")

func TestRealtimeRetriesThenDeadLetterAndOneAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		r.lms.setFail(func(hrissync.Update) error { return errUnavailable })
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		start := time.Now()
		r.notify(a.ID)
		r.notify(b.ID)
		r.sleep(10 * time.Minute)
		var at []time.Duration
		for _, c := range r.lms.allCalls() {
			if c.u.EmployeeID == a.ID {
				at = append(at, c.at.Sub(start))
			}
		}
		if want := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}; !slices.Equal(at, want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
		dead, err := r.eng.DeadLetters(t.Context())
		if err != nil || len(dead) != 2 || dead[0].Failure.Err != errUnavailable.Error() {
			t.Fatalf("dead letters = %+v (%v), want both people with the last error", dead, err)
		}
		var people []string
		for _, al := range r.alerts.raised() {
			if al.Kind != hrissync.AlertRetriesExhausted || al.Severity != hrissync.SeverityHigh {
				t.Errorf("alert %+v, want a high retries-exhausted one (a new account is realtime)", al)
			}
			people = append(people, al.EmployeeID)
		}
		if slices.Sort(people); !slices.Equal(people, []string{a.ID, b.ID}) {
			t.Errorf("alerts for %v, want one for each dead-lettered person", people)
		}
		// The sink recovers; the next hourly poll heals both.
		r.lms.setFail(nil)
		r.sleep(time.Hour)
		if _, ok := r.lms.account(a.ID); !ok {
			t.Fatal("the poll did not heal the dead-lettered person")
		}
		if dead, _ := r.eng.DeadLetters(t.Context()); len(dead) != 0 {
			t.Errorf("dead letters after the poll: %+v", dead)
		}
		var ended []string
		for _, al := range r.alerts.ended() {
			ended = append(ended, al.Incident)
		}
		if want := []string{"default/dead/" + a.ID, "default/dead/" + b.ID}; !slices.Equal(slices.Sorted(slices.Values(ended)), want) {
			t.Errorf("resolved %v, want %v", ended, want)
		}
		s := r.eng.Stats()
		rt := s.Triggers[hrissync.TriggerRealtime]
		if rt.Attempts != 8 || rt.Retries != 6 || rt.Writes != 0 || rt.DeadLetters != 2 {
			t.Errorf("realtime stats = %+v", rt)
		}
		if p := s.Triggers[hrissync.TriggerPoll]; p.Writes != 2 {
			t.Errorf("poll writes = %d, want 2", p.Writes)
		}
	})
}

func TestPermanentErrorDeadLettersAtOnceAndReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("400 invalid email")) })
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.sleep(5 * time.Minute)
		if n := len(r.lms.allCalls()); n != 1 {
			t.Fatalf("a permanent error was retried: %d calls", n)
		}
		r.lms.setFail(nil)
		if err := r.eng.Replay(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.lms.account(a.ID); !ok {
			t.Fatal("Replay did not apply the dead letter")
		}
		if s := r.eng.Stats().Triggers[hrissync.TriggerReplay]; s.Writes != 1 {
			t.Errorf("replay writes = %d", s.Writes)
		}
	})
}

func TestRetryAfterPausesTheWholeSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		throttled := true
		r.lms.setFail(func(u hrissync.Update) error {
			if throttled {
				throttled = false
				return retry.RetryAfter(errors.New("429 too many requests"), 30*time.Second)
			}
			return nil
		})
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		t0 := time.Now()
		r.notify(a.ID) // throttled: the sink is paused for 30 s
		r.sleep(5 * time.Second)
		r.notify(b.ID) // must wait for the pause, not call the sink
		if n := len(r.lms.allCalls()); n != 1 {
			t.Fatalf("calls during the pause = %d, want 1", n)
		}
		r.sleep(time.Minute)
		calls := r.lms.allCalls()
		if len(calls) != 3 {
			for _, c := range calls {
				t.Logf("%s at +%v err=%v", c.u.EmployeeID, c.at.Sub(t0), c.err)
			}
			t.Fatalf("calls = %d, want 3", len(calls))
		}
		for _, c := range calls[1:] {
			if d := c.at.Sub(t0); d != 30*time.Second {
				t.Errorf("%s written at +%v, want at the end of the pause (+30s)", c.u.EmployeeID, d)
			}
		}
		if s := r.eng.Stats().Triggers[hrissync.TriggerRealtime]; s.Attempts != 3 || s.Writes != 2 {
			t.Errorf("stats = %+v, want 3 attempts and 2 writes (the pause cost no attempt)", s)
		}
	})
}

func TestCircuitBreakerOpensAlertsOnceAndProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Breaker: hrissync.Breaker{Failures: 3, Cooldown: 5 * time.Minute}})
		r.lms.setFail(func(hrissync.Update) error { return errUnavailable })
		for i := range 6 {
			e := alice()
			e.ID = "w-" + string(rune('a'+i))
			r.hr.put(e)
			r.notify(e.ID)
		}
		if n := len(r.lms.allCalls()); n != 3 {
			t.Fatalf("sink calls = %d, want 3 before the breaker opens", n)
		}
		if k := r.alerts.kinds(); !slices.Equal(k, []hrissync.AlertKind{hrissync.AlertCircuitOpen}) {
			t.Fatalf("alerts = %v, want one circuit-open", k)
		}
		r.lms.setFail(nil)
		r.sleep(5*time.Minute + time.Second) // a probe succeeds and closes it
		r.sleep(time.Minute)
		for i := range 6 {
			if _, ok := r.lms.account("w-" + string(rune('a'+i))); !ok {
				t.Errorf("w-%c not written after the breaker closed", 'a'+i)
			}
		}
		if k := r.alerts.kinds(); len(k) != 1 {
			t.Errorf("alerts = %v, want still one", k)
		}
	})
}

func TestPollWindowWidensAfterDowntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		ctx := t.Context()
		if err := r.eng.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		first := time.Now()
		r.hr.setDown(errors.New("HRIS maintenance"))
		time.Sleep(4*time.Hour + 10*time.Minute) // three scheduled polls fail
		synctest.Wait()
		if k := r.alerts.kinds(); !slices.Contains(k, hrissync.AlertPollFailing) {
			t.Errorf("alerts = %v, want poll-failing after three failed polls", k)
		}
		r.hr.setDown(nil)
		now := time.Now()
		if err := r.eng.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		r.hr.mu.Lock()
		sinces := r.hr.sinces
		r.hr.mu.Unlock()
		if got := sinces[0]; !got.Equal(first.Add(-90 * time.Minute)) {
			t.Errorf("first window from %v, want now-90m", got)
		}
		if got, want := sinces[len(sinces)-1], first.Add(-30*time.Minute); !got.Equal(want) {
			t.Errorf("window after downtime from %v (now-%v), want the last good poll minus 30m", got, now.Sub(got))
		}
	})
}

func TestPollCatchesLostWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		// The webhook never comes. Within the hour, the poll applies it.
		r.sleep(time.Hour)
		if acc := r.mustAccount(a.ID); acc.Active {
			t.Fatal("the poll did not deactivate the leaver whose webhook was lost")
		}
		if s := r.eng.Stats().Triggers[hrissync.TriggerPoll]; s.Writes != 1 {
			t.Errorf("poll writes = %d, want 1", s.Writes)
		}
	})
}

// A leaver whose deactivation keeps failing is its own, critical incident:
// another person's open dead letter never masks it.
func TestFailedTerminationIsACriticalIncidentOfItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		a := r.hr.put(alice())
		b := bob()
		b = r.hr.put(b)
		r.notify(a.ID)
		r.notify(b.ID)
		r.lms.setFail(func(u hrissync.Update) error { return retry.Permanent(errors.New("400 refused")) })
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID) // a high incident opens (a role is realtime)
		r.hr.update(b.ID, func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
		r.notify(b.ID)
		r.sleep(time.Minute)
		var got []hrissync.Severity
		for _, al := range r.alerts.raised() {
			got = append(got, al.Severity)
		}
		if want := []hrissync.Severity{hrissync.SeverityHigh, hrissync.SeverityCritical}; !slices.Equal(got, want) {
			t.Errorf("alert severities = %v, want %v", got, want)
		}
	})
}
