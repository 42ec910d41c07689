package clocktest_test

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/clocktest"
)

// Timers fire only when the clock is advanced, in the order they are due,
// each with the clock reading its due time; a stopped timer never fires.
func Example() {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := clocktest.NewClock(t0)
	at := func(name string) func() {
		return func() { fmt.Println(name, "at", clock.Now().Format("15:04")) }
	}
	clock.AfterFunc(time.Hour, at("poll"))
	clock.AfterFunc(10*time.Minute, at("retry"))
	cancelled := clock.AfterFunc(30*time.Minute, at("cancelled"))
	fmt.Println("stopped:", cancelled.Stop())

	next, _ := clock.Next()
	fmt.Println("next due", next.Format("15:04"))

	clock.AdvanceTo(t0.Add(2 * time.Hour))
	fmt.Println("now", clock.Now().Format("15:04"))
	_, pending := clock.Next()
	fmt.Println("pending:", pending)
	// Output:
	// stopped: true
	// next due 09:10
	// retry at 09:10
	// poll at 10:00
	// now 11:00
	// pending: false
}
