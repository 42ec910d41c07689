package hrissync

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/store"
)

// BatchProgress is how far the running batch has got, for Config.Progress.
type BatchProgress struct {
	RunID string
	// Done is how many people of the Source's list have been reconciled;
	// Total is how many the last run saw, the best guess of this run's
	// size (0 on the first run: unknown).
	Done, Total int
	Elapsed     time.Duration
	Rate        float64       // people per second so far
	Left        time.Duration // estimated time left; 0 when unknown or done
	Finished    bool
}

// progressOf returns the reporter of one run: it does nothing without a
// Config.Progress.
func progressOf(e *Engine, run store.BatchRun, total int) func(done int, finished bool) {
	report := e.cfg.Progress
	if report == nil {
		return func(int, bool) {}
	}
	start, resumed := run.Started, run.Seen // a rerun resumes with its count
	return func(done int, finished bool) {
		p := BatchProgress{RunID: run.ID, Done: done, Total: max(total, done), Elapsed: e.cfg.Clock.Now().Sub(start), Finished: finished}
		if secs := p.Elapsed.Seconds(); secs > 0 {
			p.Rate = float64(done-resumed) / secs
		}
		if finished {
			p.Total = done
		}
		if !finished && p.Rate > 0 && p.Total > done {
			p.Left = time.Duration(float64(p.Total-done) / p.Rate * float64(time.Second))
		}
		report(p)
	}
}

// String is a progress line: "batch-… 1500/2000 (75%) 3400/s, about 0s left".
func (p BatchProgress) String() string {
	s := fmt.Sprintf("%s %d", p.RunID, p.Done)
	if p.Total > 0 {
		s += fmt.Sprintf("/%d (%d%%)", p.Total, p.Done*100/p.Total)
	}
	if p.Rate > 0 {
		s += fmt.Sprintf(" %.0f/s", p.Rate)
	}
	switch {
	case p.Finished:
		s += fmt.Sprintf(", done in %s", p.Elapsed.Round(time.Millisecond))
	case p.Left > 0:
		s += fmt.Sprintf(", about %s left", p.Left.Round(time.Second))
	}
	return s
}
