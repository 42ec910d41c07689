package hrissync

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Pass is one poll or batch as the engine ran it.
type Pass struct {
	Name    string // "poll" or "batch"
	RunID   string // the batch's run in the ledger
	Started time.Time
	Took    time.Duration
	Outcome string // "succeeded", "failed", or a batch's "held"
	Err     string
	Writes  int // a batch's writes
}

// history keeps the last polls and batches, newest last.
type history struct {
	mu   sync.Mutex
	runs []Pass
}

const historyLength = 20

func (h *history) add(r Pass) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.runs) == historyLength {
		h.runs = slices.Delete(h.runs, 0, 1)
	}
	h.runs = append(h.runs, r)
}

// finished records a poll or batch in the history and the metrics.
func (e *Engine) finished(ctx context.Context, r Pass, err error) {
	if r.Outcome == "" {
		r.Outcome = "succeeded"
	}
	if err != nil {
		r.Outcome, r.Err = "failed", err.Error()
	}
	e.history.add(r)
	e.observe.run(ctx, r.Name, r.Took, err)
	// Ids and counts only: Info carries no person's data.
	level, attrs := slog.LevelInfo, []any{"run", r.RunID, "took", r.Took, "outcome", r.Outcome, "writes", r.Writes}
	if err != nil {
		// A failed run is retried, and pages only if that fails too.
		level, attrs = slog.LevelWarn, append(attrs, "err", err)
	}
	e.log.Log(ctx, level, r.Name+" finished", attrs...)
}

// Recent returns the last polls and batches this engine ran, newest first.
func (e *Engine) Recent() []Pass {
	e.history.mu.Lock()
	defer e.history.mu.Unlock()
	out := slices.Clone(e.history.runs)
	slices.Reverse(out)
	return out
}
