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
