package hrissync

import (
	"context"
	"time"
)

// AlertKind says what went wrong.
type AlertKind string

// Alert kinds.
const (
	AlertRetriesExhausted  AlertKind = "retries-exhausted"  // a person is dead-lettered
	AlertBatchFailed       AlertKind = "batch-failed"       // a batch and its rerun both failed
	AlertDeletionThreshold AlertKind = "deletion-threshold" // a batch would deprovision too many
	AlertCircuitOpen       AlertKind = "circuit-open"       // the sink keeps failing
	AlertPollFailing       AlertKind = "poll-failing"       // polls keep failing
	AlertAuditLog          AlertKind = "audit-log"          // the audit log lost or changed acknowledged entries
	AlertDamagedState      AlertKind = "damaged-state"      // the Store held undecodable state for a person
	AlertRecordConflict    AlertKind = "record-conflict"    // an HR record's status and dates contradict each other
	AlertVanished          AlertKind = "vanished"           // the Source stopped holding people who have access
	AlertStaleList         AlertKind = "stale-list"         // the batch refused a full list older than the last completed run's
	AlertFieldParked       AlertKind = "field-parked"       // the platform refused one field of a person; the rest was written
)

// Severity says how urgent an alert is.
type Severity string

// Severities.
const (
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical" // access that should have ended has not: a leaver's, for one
)

// Alert is raised once per incident, not once per person.
type Alert struct {
	Kind     AlertKind
	Severity Severity // default warning
	Tenant   string
	At       time.Time
	Message  string
	RunID    string // for batch alerts
	Err      error  // the last error, if any
}

// Alerter pages an operator. Alert is called from the engine's goroutines, one
// at a time; it should return quickly. ctx bounds the call.
type Alerter interface {
	Alert(ctx context.Context, a Alert)
}

// AlerterFunc adapts a function to Alerter.
type AlerterFunc func(ctx context.Context, a Alert)

// Alert calls f.
func (f AlerterFunc) Alert(ctx context.Context, a Alert) { f(ctx, a) }
