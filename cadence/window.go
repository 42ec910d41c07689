package cadence

import "time"

// Defaults of Window.
const (
	DefaultPollLength  = 90 * time.Minute
	DefaultPollOverlap = 30 * time.Minute
)

// MaxAhead is how far ahead of the engine's clock a record's version may be
// and still count as the Source's time in the poll's watermark (Window.Next).
// It is kept far below the overlap, so that the window of the poll after
// still reaches back before the start of the one before.
const MaxAhead = time.Minute

// Window is the span the fallback poll looks back over. The poll keeps a
// watermark in the Source's time: the newest record version it has seen
// (Next). Each poll reads the people changed since the watermark minus Overlap
// (30 minutes by default), so that a change made just as the previous poll
// read its page, or committed late with an earlier time, is still caught;
// and never less than the last Length (90 minutes by default) on the engine's
// clock, so that consecutive hourly polls overlap when the clocks agree.
// Because the watermark moves only with what the Source shows, a window after
// downtime, after failed polls, or after the engine's clock has jumped,
// reaches back to where the Source was last seen, however long the gap.
//
// The zero Window means the defaults.
type Window struct {
	Length  time.Duration // 0 means DefaultPollLength
	Overlap time.Duration // 0 means DefaultPollOverlap; negative means none
}

func (w Window) lengths() (length, overlap time.Duration) {
	length, overlap = w.Length, w.Overlap
	if length <= 0 {
		length = DefaultPollLength
	}
	if overlap == 0 {
		overlap = DefaultPollOverlap
	}
	return length, max(overlap, 0)
}

// Since is the start of the window for a poll at now (the engine's clock),
// given the poll's watermark (zero if there is none yet): the earlier of
// now − Length and watermark − Overlap.
func (w Window) Since(now, watermark time.Time) time.Time {
	length, overlap := w.lengths()
	since := now.Add(-length)
	if !watermark.IsZero() {
		if s := watermark.Add(-overlap); s.Before(since) {
			since = s
		}
	}
	return since
}

// Next is the watermark to keep after a successful poll at now (the engine's
// clock) that read records with the given version times, given the watermark
// held before it (zero if none). It is the newest version seen, and it never
// moves back:
//
//   - Versions beyond now + MaxAhead do not count, so that a record stamped
//     years ahead cannot put the window in the future, unless every record
//     read was beyond: a Source whose clock runs ahead of the engine's then
//     moves the watermark to now + MaxAhead, keeping its windows short.
//   - A poll that read nothing leaves it as it is: there is no sign of the
//     Source's time. Only the first poll ever that read nothing takes now,
//     the engine's clock, having nothing better.
//
// Zero version times (a Source without versions) are ignored.
func (w Window) Next(held, now time.Time, versions []time.Time) time.Time {
	limit := now.Add(MaxAhead)
	var newest time.Time
	ahead := false
	for _, v := range versions {
		switch {
		case v.IsZero():
		case v.After(limit):
			ahead = true
		case v.After(newest):
			newest = v
		}
	}
	if newest.IsZero() && ahead {
		newest = limit
	}
	switch {
	case newest.After(held):
		return newest
	case held.IsZero():
		return now
	}
	return held
}
