// Package audit records what hrissync changed in the learning platform, when,
// and why: one Entry per applied write, plus one summary per batch run.
//
// The engine commits each entry with the applied state it describes (an
// outbox in its Store) and hands it to an Auditor afterwards; the entry leaves
// the outbox only once the Auditor returns nil, so a crash in between repeats
// the hand-over rather than losing it. An Auditor therefore skips an entry ID
// it already holds.
//
// Auditors here: Log (durable, hash chained), Memory (tests and
// simulations), NewSlog (structured logs) and Multi (several at once).
// AuditorFunc adapts a function.
//
// # The anchor
//
// Log keeps one hash chain per tenant; Heads says where each ends. When the
// engine acknowledges entries in its Store it stores, in the same
// transaction, its tenant's head as the anchor (store.Store.Ack, read
// back with Store.Anchor). The invariant: every acknowledged entry is at or
// below its tenant's anchor, so a log must always hold its chain up to the
// anchor, unchanged. The Store is where a log that was deleted, cut short or
// rewritten is found out, for the log cannot vouch for itself.
//
// A host passes its Store's anchors to OpenLog (LogOptions.Anchors), which
// refuses a log that does not hold them with an *AnchorError naming the
// tenant and the sequence: the log is missing, shorter than its anchor, or
// differs from it at sequence N. The engine checks again at start through
// Log.CheckAnchor, so a host that passes no anchors is still stopped, only
// later. Starting a new chain is a decision for a person, never automatic:
// LogOptions.Restart (the reason) sets the refused files aside and starts each
// chain afresh after its anchor, with a first entry that records it
// (ActionChainRestarted).
//
// # Recovery
//
// A crash during an append can leave the last line of the file cut short. It
// was never acknowledged (Record had not returned), so OpenLog cuts it off,
// records the cut in the chain (ActionRecovered: the bytes dropped and why)
// and carries on; the engine hands the entries it held over again from its
// outbox. Only a torn line beyond every anchor is recovered: a line at or
// below an anchor was acknowledged, so its loss is tampering, and refused.
// After any crash OpenLog also brings the head file (path.head) up to the
// chain's end.
//
// # Checkpoints
//
// The anchor and the head file find a log cut short or rewritten by someone
// who cannot also write the Store; whoever can write both can edit an
// entry, recompute every hash, the head file and the anchor, and Verify
// passes. Signed checkpoints close that: with LogOptions.Checkpoints, every
// Every entries of a tenant's chain, or at the first Record Interval after
// its first entry not yet checkpointed (on LogOptions.Now), the log signs
// the chain's head — tenant, sequence, hash, time, key id — with the host's
// Ed25519 key (a crypto.Signer: from its secret store or a KMS) and hands
// the Checkpoint to a Witness run where the writer cannot rewrite it
// (FileWitness on another volume; HTTPWitness to a WitnessHandler another
// team runs). Each checkpoint is also recorded in its chain
// (ActionCheckpoint), so that one the witness dropped is found by comparing
// the two. An auditor then needs only the public keys (ReadPublicKeys) and
// the witness's list: Check with CheckOptions.Keys and Witnessed.
//
// The witness is never in the way of the audit trail: the log hands
// checkpoints over from a goroutine of its own (Close stops it), after the
// entries and the checkpoint's record are durable; Record never fails for
// the witness. A checkpoint the witness refused is tried again, in order,
// at the next one; WitnessBehind says how many wait and why; the next
// OpenLog hands over those the witness lacks; Checkpoint checkpoints now
// and waits for the witness. Rotating the key is reopening the log with a
// new Signer and KeyID: earlier checkpoints still verify with the old
// public key, which the auditor keeps.
//
// # What Check and Verify report
//
// Check reads a log and says what it found, one Finding each; Verify returns
// the first damage as an error, nil when there is none. Notes, which are
// not damage:
//
//   - "torn tail recovered": a recovered entry; its cut-off entries were
//     handed over again.
//   - "torn final line": a crash cut the last line short and no OpenLog has
//     run since; it will cut it off.
//   - "head file behind the chain": a crash came between an append and the
//     head file's update; the chain's own hashes prove the extra entries.
//   - "chain restarted": a host started a new chain, and says why.
//   - "not yet witnessed": entries after a chain's last witnessed
//     checkpoint, from one sequence to another: the writer's word alone
//     until the next checkpoint.
//
// Damage:
//
//   - "altered or missing entries from sequence N": a line does not verify —
//     edited, deleted, inserted or reordered — and nothing after it can be
//     trusted.
//   - "log shorter than its anchor" (or than its head file): entries that
//     were durable are gone from the end.
//   - "log differs from its anchor at sequence N": the chain was rewritten.
//   - "log missing": no files, though an anchor or the head file says there
//     were entries.
//   - With checkpoints: "rewritten before a checkpoint" (entries from
//     sequence M to N no longer hash to what the checkpoint of N signed),
//     a log shorter than a checkpoint, "checkpoint dropped" (the log records
//     a checkpoint the witness lacks, or the reverse), a bad signature, and
//     a checkpoint of a key id no public key was given for; each a
//     *CheckpointError naming the tenant and the sequence.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ChangeEmployeeID is the Change.Field of a re-key's entry: the worker id.
const ChangeEmployeeID = "@employeeId"

// Actions of an Entry.
const (
	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionDeactivate = "deactivate"
	ActionReactivate = "reactivate"
	ActionRunSummary = "run-summary"
	// ActionDeletionsApproved: an operator let deactivations held beyond
	// a budget go (Trigger TriggerOperator; Summary names the approver,
	// as the host authenticated them, and the people).
	ActionDeletionsApproved = "deletions-approved"
	// ActionRekey: HR re-keyed a person and their account moved to the
	// new worker id (EmployeeID); one Change, field ChangeEmployeeID,
	// holds the old id and the new. The write that rebinds the platform's
	// account follows as an entry of its own.
	ActionRekey = "rekey"
	// ActionEventRejected: an authenticated, batched delivery held an
	// event that could not be taken (malformed, of an unknown type); the
	// rest of the delivery was. EventID names the event where it could be
	// read, Summary the reason; no value of the event is kept.
	ActionEventRejected = "event-rejected"

	// The log's own entries, in the chain they concern (Trigger
	// TriggerLog, Recovery saying what happened).
	ActionRecovered      = "recovered"       // a torn final line was cut off
	ActionChainRestarted = "chain-restarted" // a host started a new chain
	// ActionCheckpoint: the log signed its chain's head and handed it to
	// the witness (Entry.Checkpoint), so that Check can tell a checkpoint
	// the witness dropped from one never made.
	ActionCheckpoint = "checkpoint"
)

// TriggerLog is the Trigger of the log's own entries.
const TriggerLog = "log"

// TriggerOperator is the Trigger of what an operator did.
const TriggerOperator = "operator"

// Entry is one applied change to one person's account, or a batch run's
// summary (Action ActionRunSummary, EmployeeID empty).
type Entry struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	// Sink names the sink the change was applied to, in an engine of
	// several (hrissync.NewMulti); empty for an engine of one. The
	// tenant's entries, every sink's, make one chain.
	Sink       string   `json:"sink,omitempty"`
	EmployeeID string   `json:"employeeId,omitempty"`
	Action     string   `json:"action"`
	Changes    []Change `json:"changes,omitempty"`

	Trigger string `json:"trigger"`           // realtime, poll, batch, replay; log
	EventID string `json:"eventId,omitempty"` // the webhook that asked for it, if any
	RunID   string `json:"runId,omitempty"`   // the batch run, if any

	SourceChanged time.Time `json:"sourceChanged"`      // when HR made the change (or it took effect)
	Received      time.Time `json:"received,omitzero"`  // when hrissync first heard of it
	Applied       time.Time `json:"applied"`            // when the sink acknowledged the write
	Attempts      int       `json:"attempts,omitempty"` // sink calls it took
	Outcome       string    `json:"outcome"`            // "applied", or the summary's result

	Summary string `json:"summary,omitempty"` // free text for run summaries

	Recovery *Recovery `json:"recovery,omitempty"` // the log's own entries only
	// Checkpoint is the signed checkpoint an ActionCheckpoint entry
	// records: of the entry before it in its chain.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Recovery is what the log did to itself, in an entry of ActionRecovered or
// ActionChainRestarted.
type Recovery struct {
	// Reason: "torn final line after a crash", or the host's reason for
	// a restart.
	Reason string `json:"reason"`
	// Recovered: the bytes cut off the end of File.
	BytesDropped int64  `json:"bytesDropped,omitempty"`
	File         string `json:"file,omitempty"`
	// Restarted: the chain continues after Anchor (the Store's anchor, or
	// where the refused chain last verified); Problem is why OpenLog
	// refused the old files, and MovedTo where they were set aside.
	Anchor  Head   `json:"anchor,omitzero"`
	Problem string `json:"problem,omitempty"`
	MovedTo string `json:"movedTo,omitempty"`
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
