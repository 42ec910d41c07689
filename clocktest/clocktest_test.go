package clocktest_test

import (
	"testing"
	"time"

	"github.com/hrissync/hrissync/clocktest"
)

// Timers due at the same instant fire in the order they were set, a timer
// set from a callback for a time already reached fires in the same advance,
// a negative duration means now, and the clock never moves back.
func TestOrder(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	c := clocktest.NewClock(t0)
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s) } }
	c.AfterFunc(time.Minute, rec("a"))
	c.AfterFunc(time.Minute, func() {
		got = append(got, "b")
		c.AfterFunc(0, rec("b+0"))
	})
	c.AfterFunc(-time.Hour, rec("past"))
	fired := c.AfterFunc(0, rec("now"))
	c.AdvanceTo(t0)
	if fired.Stop() {
		t.Error("Stop of a fired timer reported true")
	}
	c.AdvanceTo(t0.Add(time.Hour))
	want := []string{"past", "now", "a", "b", "b+0"}
	if len(got) != len(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	c.AdvanceTo(t0)
	if !c.Now().Equal(t0.Add(time.Hour)) {
		t.Errorf("clock moved back to %v", c.Now())
	}
}

// Step fires one timer at a time, in the order AdvanceTo would, moving the
// clock to each one's time (never back), and reports false with none left.
func TestStep(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	c := clocktest.NewClock(t0)
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s+"@"+c.Now().Format("15:04")) } }
	c.AfterFunc(time.Hour, rec("b"))
	c.AfterFunc(time.Minute, rec("a1"))
	c.AfterFunc(time.Minute, func() {
		rec("a2")()
		c.AfterFunc(0, rec("a2+0"))
	})
	c.AfterFunc(-time.Hour, rec("past"))
	want := []string{"past@00:00", "a1@00:01", "a2@00:01", "a2+0@00:01", "b@01:00"}
	for i := range want {
		if !c.Step() {
			t.Fatalf("step %d found no timer; fired %v", i, got)
		}
		if len(got) != i+1 || got[i] != want[i] {
			t.Fatalf("after step %d fired %v, want %v", i, got, want[:i+1])
		}
	}
	if c.Step() {
		t.Error("Step with no timer left reported true")
	}
	if !c.Now().Equal(t0.Add(time.Hour)) {
		t.Errorf("clock at %s, want %s", c.Now(), t0.Add(time.Hour))
	}
}
