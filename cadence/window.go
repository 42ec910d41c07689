package cadence

import "time"

// Defaults of Window.
const (
	DefaultPollLength  = 90 * time.Minute
	DefaultPollOverlap = 30 * time.Minute
)

// Window is the span the fallback poll looks back over. The hourly poll reads
// the people changed in the last Length (90 minutes by default), so that
// consecutive polls overlap and a change made just as the previous poll read
// its page, or a source clock that runs a little behind, is still caught.
// After downtime the window widens back to the start of the last successful
// poll minus Overlap, so no change is skipped however long the gap.
//
// The zero Window means the defaults.
type Window struct {
	Length  time.Duration // 0 means DefaultPollLength
	Overlap time.Duration // 0 means DefaultPollOverlap; negative means none
}

// Since is the start of the window for a poll at now, given the start of the
// last successful poll (zero if there was none).
func (w Window) Since(now, lastStart time.Time) time.Time {
	length, overlap := w.Length, w.Overlap
	if length <= 0 {
		length = DefaultPollLength
	}
	if overlap == 0 {
		overlap = DefaultPollOverlap
	}
	overlap = max(overlap, 0)
	since := now.Add(-length)
	if !lastStart.IsZero() {
		if s := lastStart.Add(-overlap); s.Before(since) {
			since = s
		}
	}
	return since
}
