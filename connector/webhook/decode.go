package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hrissync/hrissync"
)

// ErrMalformed wraps every decoding failure; the handler answers 400 with the
// message (never the body).
var ErrMalformed = errors.New("webhook: malformed event")

// Decoder turns an authenticated delivery into an engine event. It is called
// concurrently.
type Decoder interface {
	Decode(h http.Header, body []byte) (hrissync.Event, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(h http.Header, body []byte) (hrissync.Event, error)

// Decode calls f.
func (f DecoderFunc) Decode(h http.Header, body []byte) (hrissync.Event, error) { return f(h, body) }

// EventTypes lists the event types of the generic JSON format.
func EventTypes() []string {
	return []string{"employee.created", "employee.updated", "employee.terminated", "employee.rehired", "employee.deleted"}
}

// JSON decodes the generic event format, strictly:
//
//	{
//	  "id": "evt_01HZX…",               // required: the event's id, the same on every retry
//	  "type": "employee.updated",       // required: one of EventTypes()
//	  "employeeId": "w-000042",         // required: the HRIS worker id
//	  "occurredAt": "2026-03-02T09:15:00Z", // required: when HR made the change (RFC 3339)
//	  "record": { … }                   // optional: the changed record (a hrissync.Employee)
//	}
//
// Unknown fields and types are rejected, and so is trailing data. A thin
// event (no record) is hydrated by the engine through Source.Get; a record,
// if present, only tells the engine which version it must at least see.
type JSON struct{}

type jsonEvent struct {
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	EmployeeID string             `json:"employeeId"`
	OccurredAt *time.Time         `json:"occurredAt"`
	Record     *hrissync.Employee `json:"record"`
}

// Decode implements Decoder.
func (JSON) Decode(_ http.Header, body []byte) (hrissync.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var j jsonEvent
	if err := dec.Decode(&j); err != nil {
		return hrissync.Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return hrissync.Event{}, fmt.Errorf("%w: data after the event", ErrMalformed)
	}
	var missing []string
	for name, v := range map[string]string{"id": j.ID, "type": j.Type, "employeeId": j.EmployeeID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if j.OccurredAt == nil || j.OccurredAt.IsZero() {
		missing = append(missing, "occurredAt")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return hrissync.Event{}, fmt.Errorf("%w: missing %v", ErrMalformed, missing)
	}
	if types := EventTypes(); !slices.Contains(types, j.Type) {
		return hrissync.Event{}, fmt.Errorf("%w: unknown event type %q (want one of %v)", ErrMalformed, j.Type, types)
	}
	if j.Record != nil && j.Record.ID != j.EmployeeID {
		return hrissync.Event{}, fmt.Errorf("%w: record %q does not match employeeId %q", ErrMalformed, j.Record.ID, j.EmployeeID)
	}
	if len(j.ID) > 256 || len(j.EmployeeID) > 256 {
		return hrissync.Event{}, fmt.Errorf("%w: id or employeeId longer than 256 bytes", ErrMalformed)
	}
	return hrissync.Event{ID: j.ID, EmployeeID: j.EmployeeID, Type: j.Type, OccurredAt: *j.OccurredAt, Record: j.Record}, nil
}
