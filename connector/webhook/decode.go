package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/internal/strictjson"
)

// ErrMalformed wraps every decoding failure; the handler answers 400 with the
// message (never the body) — for a batch, only when the delivery as a whole
// is not the batch's shape: an event of a batch that is malformed is
// rejected alone (see BatchDecoder).
var ErrMalformed = errors.New("webhook: malformed event")

// ErrNotBatch is what a BatchDecoder returns for a delivery that is one
// event, not a batch: the handler then calls its Decode.
var ErrNotBatch = errors.New("webhook: not a batch")

// Decoder turns an authenticated delivery into an engine event. It is called
// concurrently.
type Decoder interface {
	Decode(h http.Header, body []byte) (hrissync.Event, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(h http.Header, body []byte) (hrissync.Event, error)

// Decode calls f.
func (f DecoderFunc) Decode(h http.Header, body []byte) (hrissync.Event, error) { return f(h, body) }

// Decoded is one item of a batched delivery: an event, or why the item
// could not be one.
type Decoded struct {
	// Event is the item's event. With Err, only its ID may be set: the
	// item's id where one could be read, to name it in the audit log.
	Event hrissync.Event
	// Err, if not nil, is why the item is not an event. Its message ends
	// up in the audit log and an alert: it names fields, never a value of
	// the body.
	Err error
}

// BatchDecoder is a Decoder for senders that batch: a delivery may hold
// several events. DecodeBatch returns them in order, each item an event or
// its own error, or an error for the whole delivery (wrapping ErrMalformed:
// the body is not JSON, or not the batch's shape), which the handler
// refuses with 400; or ErrNotBatch for a delivery of one event, which the
// handler gives to Decode. It is called concurrently.
type BatchDecoder interface {
	Decoder
	DecodeBatch(h http.Header, body []byte) ([]Decoded, error)
}

// BatchDecoderFunc adapts a function to BatchDecoder, for a sender whose
// deliveries are always batches (a vendor's envelope, say).
type BatchDecoderFunc func(h http.Header, body []byte) ([]Decoded, error)

// DecodeBatch calls f.
func (f BatchDecoderFunc) DecodeBatch(h http.Header, body []byte) ([]Decoded, error) {
	return f(h, body)
}

// Decode returns the event of a batch of one, and an error for any other.
// (The handler calls it only if f returns ErrNotBatch.)
func (f BatchDecoderFunc) Decode(h http.Header, body []byte) (hrissync.Event, error) {
	items, err := f(h, body)
	switch {
	case err != nil:
		return hrissync.Event{}, err
	case len(items) != 1:
		return hrissync.Event{}, fmt.Errorf("%w: %d events, want one", ErrMalformed, len(items))
	}
	return items[0].Event, items[0].Err
}

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
//
// JSON is a BatchDecoder too: a delivery may be a batch of events in that
// format, as a JSON array or as an object whose only name is "events":
//
//	[{"id":"evt_1", …}, {"id":"evt_2", …}]
//	{"events": [{"id":"evt_1", …}, {"id":"evt_2", …}]}
//
// Each event of a batch is decoded on its own, as above: one malformed is
// that item's error, not the delivery's. An empty list is a batch of none. A body that is not JSON, or an
// array or "events" that is not a list (or an envelope with other names),
// is an error for the whole delivery. A vendor whose envelope differs
// ({"employees": […]} of field-based webhooks, records rather than
// events) takes a BatchDecoderFunc of its own.
type JSON struct {
	// MaxEvents, if positive, bounds a batch: one holding more is refused
	// (ErrTooManyEvents) as soon as the count is passed, before any event
	// is decoded, so that a signed body of half a million tiny items costs
	// a split, not half a million decodes. The Handler sets it from
	// Config.MaxBatch when its Decoder is a JSON with none.
	MaxEvents int
}

// ErrTooManyEvents: a batch holds more events than the decoder takes (a
// Handler answers 413).
var ErrTooManyEvents = errors.New("webhook: too many events in a batch")

type jsonEvent struct {
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	EmployeeID string             `json:"employeeId"`
	OccurredAt *time.Time         `json:"occurredAt"`
	Record     *hrissync.Employee `json:"record"`
}

// DecodeBatch implements BatchDecoder. Only the batch's frame — the array,
// or the envelope naming "events" — is read here; each item is decoded on
// its own by Decode, so that what is wrong inside one item (a name given
// twice, nesting too deep, a name too long) is that item's error, not the
// delivery's.
func (d JSON) DecodeBatch(h http.Header, body []byte) ([]Decoded, error) {
	var raws []json.RawMessage
	switch first(body) {
	case '[':
		var err error
		if raws, err = splitArray(body, d.MaxEvents); err != nil {
			return nil, d.batchError(body, err)
		}
	case '{':
		// An object is a batch if it names "events"; an event never
		// does.
		list, err := envelope(body)
		if errors.Is(err, ErrNotBatch) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: batch: %v", ErrMalformed, framing(body, err))
		}
		if first(list) != '[' {
			return nil, fmt.Errorf("%w: batch: events: want an array", ErrMalformed)
		}
		if raws, err = splitArray(list, d.MaxEvents); err != nil {
			return nil, d.batchError(list, err)
		}
	default:
		return nil, ErrNotBatch // Decode says what is wrong
	}
	items := make([]Decoded, len(raws))
	for i, raw := range raws {
		ev, err := d.Decode(h, raw)
		if err != nil {
			ev = hrissync.Event{ID: readableID(raw)}
		}
		items[i] = Decoded{Event: ev, Err: err}
	}
	return items, nil
}

// batchError is the error of a batch the split refused.
func (d JSON) batchError(data []byte, err error) error {
	if errors.Is(err, ErrTooManyEvents) {
		return err
	}
	return fmt.Errorf("%w: batch: %v", ErrMalformed, framing(data, err))
}

// splitArray splits a JSON array into its items, unread, refusing anything
// after it, and more than limit items if limit is positive.
func splitArray(data []byte, limit int) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("want an array")
	}
	var items []json.RawMessage
	for dec.More() {
		if limit > 0 && len(items) == limit {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyEvents, limit)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("item %d: %v", len(items), syntaxOnly(err))
		}
		items = append(items, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxOnly(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return items, nil
}

// envelope returns the list an envelope names "events": ErrNotBatch for an
// object that names no "events" (an event), an error for one that names it
// twice, or beside other names, or is not an object.
func envelope(data []byte) (json.RawMessage, error) {
	// A body in which no name can be "events" — the word is nowhere in
	// it, and there is no escape to spell it with — is not an envelope:
	// a delivery of one event, the common case, is spared a walk of its
	// tokens here before Decode reads it.
	if !bytes.Contains(data, []byte("events")) && bytes.IndexByte(data, '\\') < 0 {
		return nil, ErrNotBatch
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotBatch
	}
	var list json.RawMessage
	names, found := 0, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, ErrNotBatch // Decode says what is wrong
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, ErrNotBatch
		}
		names++
		if tok == "events" {
			if found {
				return nil, errors.New(`"events" given twice`)
			}
			list, found = value, true
		}
	}
	if !found {
		return nil, ErrNotBatch
	}
	if names != 1 {
		return nil, errors.New(`an envelope holds "events" alone`)
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxOnly(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return list, nil
}

// framing says what is wrong with a batch's frame that the split refused:
// the strict decoder's account where it has one (the same words as for an
// event: a syntax error's byte, a name given twice), else the split's.
// Only a delivery refused whole pays for it.
func framing(data []byte, split error) error {
	var v any
	if err := strictjson.Decode(data, &v); err != nil {
		return err
	}
	return split
}

// syntaxOnly says where a JSON syntax error is, never what the data held.
func syntaxOnly(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	return errors.New("invalid JSON")
}

// first returns the first byte of data that is not JSON white space, or 0.
func first(data []byte) byte {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

// readableID returns the "id" of a malformed item, where it is a string a
// decoded event could carry, to name the item in the audit log; else "".
func readableID(raw []byte) string {
	var names map[string]json.RawMessage
	var id string
	if json.Unmarshal(raw, &names) != nil || json.Unmarshal(names["id"], &id) != nil || checkID(id) != "" {
		return ""
	}
	return id
}

// checkID says what is wrong with an id ("" for nothing).
func checkID(v string) string {
	switch {
	case len(v) > 256:
		return "longer than 256 bytes"
	case strings.ContainsFunc(v, unicode.IsControl):
		return "control characters"
	}
	return ""
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
		if why := checkID(f.v); why != "" {
			return hrissync.Event{}, fmt.Errorf("%w: %s: %s", ErrMalformed, f.name, why)
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
