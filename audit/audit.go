// Package audit records what hrissync changed in the learning platform, when,
// and why: one Entry per applied write, plus one summary per batch run.
//
// The engine commits each entry with the applied state it describes (an
// outbox in its Store) and hands it to an Auditor afterwards; the entry leaves
// the outbox only once the Auditor returns nil, so a crash in between repeats
// the hand-over rather than losing it. An Auditor therefore skips an entry ID
// it already holds.
//
// Auditors here: Memory (tests and simulations), NewSlog (structured logs)
// and Multi (several at once). AuditorFunc adapts a function.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Actions of an Entry.
const (
	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionDeactivate = "deactivate"
	ActionReactivate = "reactivate"
	ActionRunSummary = "run-summary"
)

// Entry is one applied change to one person's account, or a batch run's
// summary (Action ActionRunSummary, EmployeeID empty).
type Entry struct {
	ID         string   `json:"id"`
	Tenant     string   `json:"tenant"`
	EmployeeID string   `json:"employeeId,omitempty"`
	Action     string   `json:"action"`
	Changes    []Change `json:"changes,omitempty"`

	Trigger string `json:"trigger"`           // realtime, poll, batch, replay
	EventID string `json:"eventId,omitempty"` // the webhook that asked for it, if any
	RunID   string `json:"runId,omitempty"`   // the batch run, if any

	SourceChanged time.Time `json:"sourceChanged"`      // when HR made the change (or it took effect)
	Received      time.Time `json:"received,omitzero"`  // when hrissync first heard of it
	Applied       time.Time `json:"applied"`            // when the sink acknowledged the write
	Attempts      int       `json:"attempts,omitempty"` // sink calls it took
	Outcome       string    `json:"outcome"`            // "applied", or the summary's result

	Summary string `json:"summary,omitempty"` // free text for run summaries
}

// Change is one field's transition in an Entry. Values are as written to the
// platform; a redacting Auditor may replace them.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Auditor makes entries durable. Record returns nil only once every entry is
// kept; ctx bounds the whole call. The engine calls Record from one goroutine
// at a time, and may repeat entries after a crash: an Auditor skips an ID it
// already holds.
type Auditor interface {
	Record(ctx context.Context, entries []Entry) error
}

// AuditorFunc adapts a function to Auditor.
type AuditorFunc func(ctx context.Context, entries []Entry) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, entries []Entry) error { return f(ctx, entries) }

// Memory keeps entries in memory, in the order first recorded, skipping
// repeated IDs. Its zero value is ready; it is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	entries []Entry
	seen    map[string]bool
}

// Record keeps the entries whose IDs are new.
func (m *Memory) Record(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	for _, e := range entries {
		if e.ID == "" {
			return errors.New("audit: entry without an ID")
		}
		if !m.seen[e.ID] {
			m.seen[e.ID] = true
			m.entries = append(m.entries, e)
		}
	}
	return nil
}

// Entries returns a copy of what was recorded.
func (m *Memory) Entries() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

// Len is the number of entries recorded.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// NewSlog returns an Auditor that logs each entry at Info level under the
// message "audit". It keeps nothing, so it is as durable as the log behind l;
// pair it with a durable Auditor through Multi where that matters.
func NewSlog(l *slog.Logger) Auditor {
	return AuditorFunc(func(ctx context.Context, entries []Entry) error {
		for _, e := range entries {
			attrs := []slog.Attr{
				slog.String("id", e.ID), slog.String("tenant", e.Tenant),
				slog.String("employee", e.EmployeeID), slog.String("action", e.Action),
				slog.String("trigger", e.Trigger), slog.Time("sourceChanged", e.SourceChanged),
				slog.Time("applied", e.Applied), slog.Int("fields", len(e.Changes)),
				slog.String("outcome", e.Outcome),
			}
			l.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
		}
		return nil
	})
}

// Multi records to every auditor in turn and fails if any fails, so that an
// entry leaves the engine's outbox only once all of them hold it.
func Multi(auditors ...Auditor) Auditor {
	return AuditorFunc(func(ctx context.Context, entries []Entry) error {
		var errs []error
		for _, a := range auditors {
			errs = append(errs, a.Record(ctx, entries))
		}
		return errors.Join(errs...)
	})
}
