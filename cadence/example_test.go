package cadence_test

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/cadence"
)

func Example() {
	p := cadence.Hybrid()
	fmt.Println(p.Class("status"), p.Class("attr.skill.go"))

	// The nightly batch at 02:00 in the HR time zone, and the rerun of a
	// failed run one hour after it started.
	ny, _ := time.LoadLocation("America/New_York")
	batch := cadence.Daily(2*time.Hour, ny)
	run := batch.Next(time.Date(2026, 3, 6, 12, 0, 0, 0, ny))
	fmt.Println(run.Format(time.RFC3339), "rerun", run.Add(time.Hour).Format("15:04"))

	// 02:00 does not exist on 8 March: the run is at the end of the gap.
	fmt.Println(batch.Next(run).Format(time.RFC3339))

	// The fallback poll's window after two hours without a poll.
	now := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	fmt.Println(now.Sub(cadence.Window{}.Since(now, now.Add(-2*time.Hour))))
	// Output:
	// realtime batch
	// 2026-03-07T02:00:00-05:00 rerun 03:00
	// 2026-03-08T03:00:00-04:00
	// 2h30m0s
}
