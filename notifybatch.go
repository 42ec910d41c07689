package hrissync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// NotifyBatch accepts the events of one delivery together, as HR systems
// that batch send them: in one Store commit where the Store can
// (store.BatchAccepter), each event deduplicated on its own. It returns
// once they are durable, with one error per event, in order: nil for an
// event recorded or dropped as a repeat; one wrapping ErrInvalidEvent or
// ErrEventConflict for an event refused, which changes nothing for the
// others. The second result is an error for the whole — the Store failed,
// the engine is closed — when no event may be taken as recorded, so that
// the sender delivers the batch again (its repeats are then dropped).
func (e *Engine) NotifyBatch(ctx context.Context, evs []Event) ([]error, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	errs := make([]error, len(evs))
	valid := make([]Event, 0, len(evs))
	at := make([]int, 0, len(evs)) // valid[k] is evs[at[k]]
	for i, ev := range evs {
		if ev.ID == "" || ev.EmployeeID == "" {
			e.observe.rejected(ctx)
			errs[i] = fmt.Errorf("%w: event id and employee id are required", ErrInvalidEvent)
			continue
		}
		valid, at = append(valid, ev), append(at, i)
	}
	if len(valid) == 0 {
		return errs, nil
	}
	now := e.cfg.Clock.Now()
	lanes := e.Sinks()
	if e.reads != nil {
		// The people changed: no read begun before may serve a sink now,
		// even one whose mark is older (a mark keeps its first time).
		for _, ev := range valid {
			e.reads.changed(ev.EmployeeID)
		}
	}
	// The events' fates across the sinks: new if any sink recorded it,
	// refused if any sink holds its id for another event.
	recorded, conflict := make([]bool, len(valid)), make([]bool, len(valid))
	for _, l := range lanes {
		res, err := l.acceptBatch(ctx, valid, now)
		if err != nil {
			if l.name != "" {
				err = fmt.Errorf("sink %s: %w", l.name, err)
			}
			return nil, err
		}
		for k, r := range res {
			recorded[k] = recorded[k] || r == store.AcceptedNew
			conflict[k] = conflict[k] || r == store.AcceptedConflict
		}
	}
	for k, i := range at {
		switch {
		case conflict[k]:
			errs[i] = fmt.Errorf("hrissync: accepting event %s: %w", valid[k].ID, ErrEventConflict)
			if e.lanes != nil {
				e.observe.rejected(ctx)
			}
		case e.lanes == nil:
		case recorded[k]:
			e.observe.accepted(ctx)
		default:
			e.observe.duplicate(ctx)
		}
	}
	return errs, nil
}

// acceptance is what the Store records of ev, accepted at now.
func (e *Engine) acceptance(ev Event, now time.Time) store.Acceptance {
	atLeast := hrtype.Version{Time: ev.OccurredAt}
	if ev.Record != nil {
		atLeast = ev.Record.Version
	}
	return store.Acceptance{
		EventID: ev.ID, Fingerprint: fingerprint(ev), EmployeeID: ev.EmployeeID, Forget: now.Add(e.cfg.EventRetention),
		Mark: store.Mark{Since: now, Classes: cadence.Realtime, Trigger: string(TriggerRealtime), EventID: ev.ID, MinVersion: atLeast},
	}
}

// acceptBatch records evs at now in the engine's own Store key — in one
// commit where the Store can — and dispatches the people recorded.
func (e *Engine) acceptBatch(ctx context.Context, evs []Event, now time.Time) ([]store.Accepted, error) {
	acc := make([]store.Acceptance, len(evs))
	for i, ev := range evs {
		acc[i] = e.acceptance(ev, now)
	}
	var res []store.Accepted
	if b, ok := e.store.(store.BatchAccepter); ok {
		var err error
		if res, err = b.AcceptBatch(ctx, e.cfg.Tenant, acc); err != nil {
			return nil, fmt.Errorf("hrissync: accepting a batch of %d events: %w", len(evs), err)
		}
	} else {
		res = make([]store.Accepted, len(acc))
		for i, a := range acc {
			dup, err := e.store.Accept(ctx, e.cfg.Tenant, a)
			switch {
			case errors.Is(err, ErrEventConflict):
				res[i] = store.AcceptedConflict
			case err != nil:
				// Those before it are recorded: the sender's retry
				// finds them repeats.
				return nil, fmt.Errorf("hrissync: accepting event %s: %w", a.EventID, err)
			case dup:
				res[i] = store.AcceptedDuplicate
			}
		}
	}
	for i, r := range res {
		ev := evs[i]
		switch r {
		case store.AcceptedNew:
			e.observe.accepted(ctx)
			e.dispatchAccepted(ev.EmployeeID, now)
		case store.AcceptedDuplicate:
			e.observe.duplicate(ctx)
		case store.AcceptedConflict:
			e.observe.rejected(ctx)
			e.log.Warn("event id reused by another event: refused", "event", ev.ID, "employee", ev.EmployeeID, "type", ev.Type)
		}
	}
	return res, nil
}

// Rejected records that an authenticated delivery held an event that could
// not be taken — malformed, of an unknown type, without an id — while the
// rest of it was: an audit entry (audit.ActionEventRejected) naming the
// delivery's event id where it has one and the reason, never a value of
// the event, and an alert (AlertEventRejected). A sender whose batch is
// answered 2xx does not deliver the event again: this is where it is seen.
func (e *Engine) Rejected(ctx context.Context, eventID, reason string) error {
	now := e.cfg.Clock.Now()
	entry := audit.Entry{
		ID: "rejected/" + entryID(), Tenant: e.tenant, Action: audit.ActionEventRejected,
		Trigger: string(TriggerRealtime), EventID: eventID, Applied: now, Outcome: "rejected", Summary: reason,
	}
	if err := e.store.AppendAudit(ctx, e.cfg.Tenant, []audit.Entry{entry}); err != nil {
		return fmt.Errorf("hrissync: recording a rejected event: %w", err)
	}
	e.drainAudit(ctx)
	// One alert each, and nothing to resolve later: the event is gone.
	key := entry.ID
	e.raise(ctx, key, Alert{Kind: AlertEventRejected,
		Message: fmt.Sprintf("a delivery held an event that could not be taken (event %q): %s; the rest of the delivery was accepted", eventID, reason)})
	e.resolve(ctx, key)
	return nil
}
