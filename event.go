package hrissync

import (
	"fmt"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
)

// Trigger says which path asked for a reconcile.
type Trigger string

// Triggers.
const (
	TriggerRealtime Trigger = "realtime" // a webhook event, or a future-dated change taking effect
	TriggerPoll     Trigger = "poll"     // the hourly fallback poll
	TriggerBatch    Trigger = "batch"    // the daily batch
	TriggerReplay   Trigger = "replay"   // an operator replaying dead letters
	TriggerRepair   Trigger = "repair"   // an operator repairing drift
)

// AllTriggers lists every trigger, for reports.
func AllTriggers() []Trigger {
	return []Trigger{TriggerRealtime, TriggerPoll, TriggerBatch, TriggerReplay, TriggerRepair}
}

// Event is a change notification from the HRIS: "look at this person now".
type Event struct {
	ID         string    // the same on every retry of one event (a webhook's webhook-id); a repeat is ignored, another event under it refused
	EmployeeID string    // whose record changed
	Type       string    // the HRIS's event type, for logs ("employee.updated")
	OccurredAt time.Time // when HR made the change: a record older than this is stale
	// Record optionally carries the changed record (a "fat" webhook). The
	// engine still reads the Source, and uses Record.Version as the
	// version it must at least see.
	Record *Employee
}

// Change is one field's transition in an Update.
type Change struct {
	Field    string
	Old, New string
}

// UpdateKind says what a write does to the account.
type UpdateKind int

// Update kinds.
const (
	// Create provisions a new account, carrying every mapped field.
	Create UpdateKind = iota + 1
	// Modify changes fields of an account and leaves its activity alone.
	Modify
	// Deactivate ends access (SCIM active=false), carrying every mapped field.
	Deactivate
	// Reactivate restores access to the same account (a rehire), carrying
	// every mapped field.
	Reactivate
)

func (k UpdateKind) String() string {
	switch k {
	case Create:
		return "create"
	case Modify:
		return "update"
	case Deactivate:
		return "deactivate"
	case Reactivate:
		return "reactivate"
	}
	return "unknown"
}

// MarshalText writes the kind by name, so that JSON (a Plan, an Update)
// reads "create" rather than 1.
func (k UpdateKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind written by MarshalText.
func (k *UpdateKind) UnmarshalText(b []byte) error {
	for _, c := range []UpdateKind{Create, Modify, Deactivate, Reactivate} {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("hrissync: unknown update kind %q", b)
}

// Update is one coalesced write to the learning platform.
type Update struct {
	Tenant     string
	EmployeeID string
	Kind       UpdateKind
	// Fields is the whole desired record, mapped: what the account should
	// hold once every class has been applied. Sinks that replace whole
	// records (PUT) use it; others apply Changes.
	Fields Fields
	// Changes are the fields this write changes, with their old (applied)
	// and new values, in field-name order.
	Changes []Change
	Version hrtype.Version // the source version the new values come from
	Trigger Trigger
	Classes cadence.Class // the classes this write brings up to date
	// Active is the account's activity after the write.
	Active bool
}
