package hrissync_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store/memory"
)

// carrier is a Sink that carries only some fields, as a SCIM provider has a
// place for a role but none for a skill rating.
type carrier struct {
	*fakeLMS
	carries func(string) bool
}

func (c carrier) Carries(field string) bool { return c.carries(field) }

func TestUncarriedFieldsAreNeverWrittenRecordedOrAudited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &rig{t: t, hr: newHR(), lms: newLMS(), store: memory.New(), audit: &audit.Memory{}, alerts: &alerts{},
			carries: func(f string) bool {
				return !strings.HasPrefix(f, hrissync.AttributePrefix) && f != hrissync.FieldLocation
			}}
		r.run(hrissync.Config{})
		a := r.hr.put(alice())
		r.notify(a.ID)
		// A skill rating and a location change: nothing this sink takes,
		// so the nightly batch has nothing to write.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Attributes = map[string]string{"skill.go": "5"}; e.Location = "Lyon" })
		r.sleep(26 * time.Hour)
		// A role change: written alone.
		r.hr.update(a.ID, func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify(a.ID)

		var kinds []string
		for _, u := range r.lms.writes() {
			kinds = append(kinds, u.Kind.String())
			for f := range u.Fields {
				if !r.carries(f) {
					t.Errorf("%s write sent the uncarried field %s", u.Kind, f)
				}
			}
		}
		if want := []string{"create", "update"}; !slices.Equal(kinds, want) {
			t.Errorf("writes = %v, want %v: the batch wrote fields the sink does not carry", kinds, want)
		}
		p, err := r.store.Person(t.Context(), "default", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for f := range p.Applied {
			if !r.carries(f) {
				t.Errorf("%s recorded as applied, though the sink does not carry it", f)
			}
		}
		if p.Applied[hrissync.FieldRole].Value != "Lead" {
			t.Errorf("applied role = %q, want Lead", p.Applied[hrissync.FieldRole].Value)
		}
		for _, e := range r.audit.Entries() {
			for _, c := range e.Changes {
				if !r.carries(c.Field) {
					t.Errorf("audit entry %s records %s as written", e.Action, c.Field)
				}
			}
		}
		if plan, err := r.eng.Plan(t.Context()); err != nil || len(plan.Writes) != 0 {
			t.Errorf("plan after = %d writes (%v), want none", len(plan.Writes), err)
		}
	})
}

// A platform that answers "Retry-After: 0" (or a date already past) is not
// hammered: the engine floors the pause.
func TestRetryAfterZeroIsFloored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		begin := time.Now()
		calls := 0
		r.lms.setFail(func(hrissync.Update) error {
			// Throttled for two seconds; the call bound only ends an
			// engine that would otherwise spin at one instant.
			if calls++; calls < 200 && time.Since(begin) < 2*time.Second {
				return retry.RetryAfter(errors.New("429 too many requests"), 0)
			}
			return nil
		})
		for i := range 5 {
			e := alice()
			e.ID, e.Email = fmt.Sprintf("w-%03d", i), fmt.Sprintf("p%d@example.com", i)
			r.hr.put(e)
			r.notify(e.ID)
		}
		r.sleep(time.Minute)
		perSecond := map[time.Duration]int{}
		for _, c := range r.lms.allCalls() {
			perSecond[c.at.Sub(begin).Truncate(time.Second)]++
		}
		for s, n := range perSecond {
			if s < 2*time.Second && n > 6 {
				t.Errorf("%d attempts in second %v of a Retry-After: 0 throttle, want at most a few", n, s)
			}
		}
		for i := range 5 {
			r.mustAccount(fmt.Sprintf("w-%03d", i))
		}
		if d, _ := r.eng.DeadLetters(t.Context()); len(d) != 0 {
			t.Errorf("throttling dead-lettered %d people", len(d))
		}
	})
}

func TestDeadLettersCountedOncePerPerson(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{})
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("401 unauthorized")) })
		for i := range 10 {
			e := alice()
			e.ID, e.Email = fmt.Sprintf("w-%03d", i), fmt.Sprintf("p%d@example.com", i)
			r.hr.put(e)
			r.notify(e.ID)
		}
		r.sleep(4 * time.Hour) // four polls try each of them again
		var dead int64
		for _, s := range r.eng.Stats().Triggers {
			dead += s.DeadLetters
		}
		if dead != 10 {
			t.Errorf("dead letters counted %d times for 10 people", dead)
		}
		if n := len(r.lms.allCalls()); n <= 10 {
			t.Fatalf("%d calls: the polls did not try again, so the count proves nothing", n)
		}
	})
}
