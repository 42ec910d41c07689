package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/internal/strictjson"
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
//	  "record": {                       // optional: the changed record, a hrissync.Employee
//	    "id": "w-000042", "status": "active", "startDate": "2026-01-05", …
//	  }
//	}
//
// Unknown names, names given twice or spelt in another case, and trailing
// data are refused; so are ids over 256 bytes or holding control
// characters. Errors name the field and never repeat a value of the body.
// A thin event (no record) is hydrated by the engine through Source.Get; a
// record, if present, only tells the engine which version it must at least
// see.
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
	var j jsonEvent
	if err := strictjson.Decode(body, &j); err != nil {
		return hrissync.Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
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
	for _, f := range []struct{ name, v string }{{"id", j.ID}, {"employeeId", j.EmployeeID}} {
		if len(f.v) > 256 {
			return hrissync.Event{}, fmt.Errorf("%w: %s: longer than 256 bytes", ErrMalformed, f.name)
		}
		if strings.ContainsFunc(f.v, unicode.IsControl) {
			return hrissync.Event{}, fmt.Errorf("%w: %s: control characters", ErrMalformed, f.name)
		}
	}
	if types := EventTypes(); !slices.Contains(types, j.Type) {
		return hrissync.Event{}, fmt.Errorf("%w: type: not one of %s", ErrMalformed, strings.Join(types, ", "))
	}
	if j.Record != nil && j.Record.ID != j.EmployeeID {
		return hrissync.Event{}, fmt.Errorf("%w: record.id does not match employeeId", ErrMalformed)
	}
	return hrissync.Event{ID: j.ID, EmployeeID: j.EmployeeID, Type: j.Type, OccurredAt: *j.OccurredAt, Record: j.Record}, nil
}
