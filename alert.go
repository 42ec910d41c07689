package hrissync

import (
	"context"
	"log/slog"
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
	AlertRollUp            AlertKind = "roll-up"            // more people failing at once than Config.RollUp: one alert for them all
	AlertIdentityConflict  AlertKind = "identity-conflict"  // a re-keyed person has an account under each id, or the sink cannot re-key
	AlertEventRejected     AlertKind = "event-rejected"     // an authenticated batched delivery held an event that could not be taken
)

// Severity says how urgent an alert is.
type Severity string

// Severities, least urgent first. A person's incident is critical when the
// write that failed takes access away or sets a termination date, high when
// it carries a realtime field (a role, a manager, a status), and low when it
// carries attributes only; the engine's own troubles (polls, the batch, the
// circuit, the audit log) are warnings unless access is at stake.
const (
	SeverityLow      Severity = "low"
	SeverityWarning  Severity = "warning"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical" // access that should have ended has not: a leaver's, for one
)

// rank orders severities; an unknown one ranks as a warning.
func (s Severity) rank() int {
	switch s {
	case SeverityLow:
		return 0
	case SeverityHigh:
		return 2
	case SeverityCritical:
		return 3
	}
	return 1
}

// Alert is raised once per incident, not once per attempt: a person failing
// through retries, polls and batches is one incident until a write of theirs
// lands. When more people fail at once than Config.RollUp, one AlertRollUp
// stands for them all and names every critical one.
type Alert struct {
	Kind     AlertKind
	Severity Severity // default warning
	Tenant   string
	Sink     string    // the sink's name, in an engine of several (NewMulti)
	At       time.Time // when the incident opened; on a resolution, when it ended
	Message  string
	RunID    string // for batch alerts
	Err      error  // the last error, if any
	// Incident is the same on an alert, its updates (an escalation, a
	// roll-up listing a new critical person) and its resolution: a
	// pager's deduplication key. It begins with the tenant
	// ("acme/dead/w-42"), so that tenants may share a pager.
	Incident string
	// EmployeeID is the person an incident is about, if it is one
	// person's.
	EmployeeID string
	// Count is, on a roll-up, how many people's incidents are open.
	Count int
	// Critical lists, on a roll-up, every person whose incident is
	// critical, by id: an outage pages once without hiding a leaver.
	Critical []string
}

// Alerter pages an operator. Alert is called from the engine's goroutines, one
// at a time; it should return quickly. ctx bounds the call.
type Alerter interface {
	Alert(ctx context.Context, a Alert)
}

// Resolver is an Alerter that is also told when an incident ends: the
// alert that opened it, At the moment it ended. A roll-up resolves once,
// when the last of its people's writes lands. An incident is remembered in
// memory, so one open when the engine stopped is not resolved by the next.
type Resolver interface {
	Resolve(ctx context.Context, a Alert)
}

// AlerterFunc adapts a function to Alerter.
type AlerterFunc func(ctx context.Context, a Alert)

// Alert calls f.
func (f AlerterFunc) Alert(ctx context.Context, a Alert) { f(ctx, a) }

// logAlerter is the default Alerter: it logs.
type logAlerter struct{ l *slog.Logger }

func (l logAlerter) Alert(ctx context.Context, a Alert) {
	l.l.ErrorContext(ctx, "hrissync alert", "kind", a.Kind, "severity", a.Severity, "incident", a.Incident,
		"tenant", a.Tenant, "sink", a.Sink, "message", a.Message, "run", a.RunID, "err", a.Err)
}

func (l logAlerter) Resolve(ctx context.Context, a Alert) {
	l.l.InfoContext(ctx, "hrissync incident resolved", "kind", a.Kind, "incident", a.Incident, "tenant", a.Tenant)
}
