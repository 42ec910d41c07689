package bamboohr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/internal/httpapi"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/internal/strictjson"
)

// Webhook headers, as BambooHR documents them (docs: "Webhooks",
// documentation.bamboohr.com/docs/webhooks-2, Security).
const (
	SignatureHeader = "X-BambooHR-Signature"
	TimestampHeader = "X-BambooHR-Timestamp"
)

// NewVerifier authenticates BambooHR's webhook deliveries: the hex
// HMAC-SHA-256, under the webhook's private key, of the body followed by
// the X-BambooHR-Timestamp header, whose time must be within tolerance of
// the receiver's clock (zero: five minutes) — a delivery replayed later is
// refused. Give two keys while rotating.
func NewVerifier(tolerance time.Duration, privateKeys ...[]byte) (*webhook.HMAC, error) {
	if len(privateKeys) == 0 {
		return nil, errors.New("bamboohr: a webhook private key is required")
	}
	if tolerance < 0 {
		return nil, errors.New("bamboohr: a negative tolerance would take a delivery replayed at any time")
	}
	for _, k := range privateKeys {
		if len(k) == 0 {
			return nil, errors.New("bamboohr: an empty webhook private key")
		}
	}
	return &webhook.HMAC{
		Secrets:         slices.Clone(privateKeys),
		Header:          SignatureHeader,
		TimestampHeader: TimestampHeader,
		Signed:          webhook.BodyThenTimestamp,
		Encoding:        webhook.Hex,
		Tolerance:       tolerance,
	}, nil
}

// Decoder reads BambooHR's webhook deliveries into events, in each of the
// four shapes BambooHR posts (docs: "Event-Based Webhooks",
// documentation.bamboohr.com/docs/event-based-webhooks; "Field-Based
// Webhooks", documentation.bamboohr.com/docs/field-based-webhooks):
//
//   - event-based, JSON: {"type":"employee.updated","timestamp":…,
//     "data":{"companyId":…,"employeeId":…,"changedFields":[…]}}
//   - event-based, form-encoded: type=…&data[employeeId]=…&…
//   - field-based, JSON: {"employees":[{"action":"Updated","id":…,
//     "timestamp":…,"changedFields":[…],"fields":{…}}, …]}
//   - field-based, form-encoded: employees[<id>][changedFields][0]=…&…
//
// A field-based delivery may name several employees: it is a batch, an
// event for each (webhook.BatchDecoder). Events are thin: the engine reads
// each employee through the Source, and the values a field-based delivery
// posts are never taken as data.
//
// BambooHR sends no event id, so an event's id is a digest of what it says —
// the delivery's X-BambooHR-Timestamp, the employee, the action, its time, the
// changed fields and, for field-based deliveries, the values posted. A retry
// of the same delivery is then a repeat; a retry BambooHR signs anew at
// another time is another event, which costs a reconcile that finds nothing
// to do, never a change dropped as a repeat.
//
// Names BambooHR may add to its payloads are ignored; a name given twice (or
// in two cases), a delivery of both shapes or of no employee, an item
// without an employee id (or whose id names another), with an unknown type
// or action, or a time that is not one is malformed. An event's time is its
// own timestamp, else the delivery's — and never later than the delivery's.
type Decoder struct{}

var (
	_ webhook.BatchDecoder = Decoder{}
	_ webhook.MediaTyper   = Decoder{}
)

// MediaTypes are the encodings BambooHR posts (webhook.MediaTyper).
func (Decoder) MediaTypes() []string {
	return []string{"application/json", "application/x-www-form-urlencoded"}
}

// Decode reads a delivery of one event.
func (d Decoder) Decode(h http.Header, body []byte) (hrissync.Event, error) {
	items, err := d.decode(h, body)
	if err != nil {
		return hrissync.Event{}, err
	}
	if len(items) != 1 {
		return hrissync.Event{}, fmt.Errorf("bamboohr: %d employees where one was expected: %w", len(items), webhook.ErrMalformed)
	}
	return items[0].Event, items[0].Err
}

// DecodeBatch reads a field-based delivery, an event for each employee it
// names; an event-based delivery is not a batch (webhook.ErrNotBatch).
func (d Decoder) DecodeBatch(h http.Header, body []byte) ([]webhook.Decoded, error) {
	items, err := d.decode(h, body)
	if err != nil {
		return nil, err
	}
	if len(items) == 1 && items[0].eventBased {
		return nil, webhook.ErrNotBatch
	}
	out := make([]webhook.Decoded, len(items))
	for i, it := range items {
		out[i] = it.Decoded
	}
	return out, nil
}

// item is one employee of a delivery.
type item struct {
	webhook.Decoded
	eventBased bool
}

// change is what one employee's part of a delivery says, whatever its shape.
type change struct {
	kind       string // "employee.created", "employee.updated", "employee.deleted"
	employeeID string
	at         string            // the event's own timestamp, if it has one
	changed    []string          // changedFields
	values     map[string]string // field-based: the values posted
}

func (d Decoder) decode(h http.Header, body []byte) ([]item, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	delivered := h.Get(TimestampHeader)
	var (
		changes    []change
		eventBased bool
		err        error
	)
	if mt == "application/x-www-form-urlencoded" {
		changes, eventBased, err = decodeForm(body)
	} else {
		changes, eventBased, err = decodeJSON(body)
	}
	if err != nil {
		return nil, err
	}
	items := make([]item, len(changes))
	for i, c := range changes {
		items[i] = item{Decoded: c.event(delivered), eventBased: eventBased}
	}
	return items, nil
}

// event makes an event of a change delivered at the X-BambooHR-Timestamp
// delivered.
func (c change) event(delivered string) webhook.Decoded {
	id := c.id(delivered)
	fail := func(format string, a ...any) webhook.Decoded {
		return webhook.Decoded{Event: hrissync.Event{ID: id}, Err: fmt.Errorf("bamboohr: "+format+": %w", append(a, webhook.ErrMalformed)...)}
	}
	if !validID(c.employeeID) {
		return fail("no valid employee id")
	}
	if c.kind == "" {
		return fail("employee %s: an unknown type or action", c.employeeID)
	}
	at := c.at
	if at == "" {
		at = delivered
	}
	occurred, err := eventTime(at)
	if err != nil {
		return fail("employee %s: the timestamp is not a time", c.employeeID)
	}
	// A change cannot have been made after the delivery telling of it was
	// signed: a later time would have the engine wait for a record that
	// will never be that new.
	if sent, err := eventTime(delivered); err == nil && occurred.After(sent) {
		occurred = sent
	}
	return webhook.Decoded{Event: hrissync.Event{ID: id, EmployeeID: c.employeeID, Type: c.kind, OccurredAt: occurred}}
}

// id digests what the change says (see Decoder). Values are length-prefixed
// so that no two changes read alike.
func (c change) id(delivered string) string {
	h := sha256.New()
	put := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	put(delivered)
	put(c.kind)
	put(c.employeeID)
	put(c.at)
	for _, f := range slices.Sorted(slices.Values(c.changed)) {
		put(f)
	}
	put("|")
	for _, k := range slices.Sorted(maps.Keys(c.values)) {
		put(k)
		put(c.values[k])
	}
	return "bamboohr-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// updateByDefault makes a field-based change with no action but changed
// fields an update: the documented form example carries no action.
func (c *change) updateByDefault() {
	if c.kind == "" && len(c.changed) > 0 {
		c.kind = "employee.updated"
	}
}

// eventTime reads an event's timestamp: ISO 8601 as BambooHR writes it, or
// Unix seconds (the X-BambooHR-Timestamp header).
func eventTime(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC(), nil
	}
	return timestamp(v)
}

// eventKinds are the event-based types; actions are the field-based ones.
var (
	eventKinds = map[string]string{
		"employee.created": "employee.created",
		"employee.updated": "employee.updated",
		"employee.deleted": "employee.deleted",
	}
	actions = map[string]string{
		"created": "employee.created", "inserted": "employee.created",
		"updated": "employee.updated",
		"deleted": "employee.deleted",
	}
)

func decodeJSON(body []byte) ([]change, bool, error) {
	// A name given twice, or twice in two cases, is refused: two parsers
	// would read two different employees out of it.
	if err := strictjson.Decode(body, new(any)); err != nil {
		return nil, false, fmt.Errorf("bamboohr: %v: %w", err, webhook.ErrMalformed)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, fmt.Errorf("bamboohr: not a JSON object: %w", webhook.ErrMalformed)
	}
	if raw, ok := top["employees"]; ok {
		if _, both := top["type"]; both {
			return nil, false, fmt.Errorf("bamboohr: a delivery both event-based and field-based: %w", webhook.ErrMalformed)
		}
		changes, err := decodeFieldBasedJSON(raw)
		return changes, false, err
	}
	var ev struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			EmployeeID    json.RawMessage `json:"employeeId"`
			ChangedFields []string        `json:"changedFields"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, false, fmt.Errorf("bamboohr: an event-based delivery not of the documented shape: %w", webhook.ErrMalformed)
	}
	if ev.Type == "" {
		return nil, false, fmt.Errorf("bamboohr: neither \"type\" (event-based) nor \"employees\" (field-based): %w", webhook.ErrMalformed)
	}
	id, _ := scalar(ev.Data.EmployeeID)
	return []change{{kind: eventKinds[ev.Type], employeeID: id, at: ev.Timestamp, changed: ev.Data.ChangedFields}}, true, nil
}

func decodeFieldBasedJSON(raw json.RawMessage) ([]change, error) {
	var employees []struct {
		Action        string          `json:"action"`
		ID            json.RawMessage `json:"id"`
		Timestamp     string          `json:"timestamp"`
		ChangedFields []string        `json:"changedFields"`
		Fields        map[string]any  `json:"fields"`
	}
	if err := json.Unmarshal(raw, &employees); err != nil || len(employees) == 0 {
		return nil, fmt.Errorf("bamboohr: \"employees\" is not a list of employees: %w", webhook.ErrMalformed)
	}
	changes := make([]change, len(employees))
	for i, e := range employees {
		id, _ := scalar(e.ID)
		values := make(map[string]string, len(e.Fields))
		for k, v := range e.Fields {
			b, _ := json.Marshal(v)
			values[k] = string(b)
		}
		changes[i] = change{kind: actions[strings.ToLower(e.Action)], employeeID: id, at: e.Timestamp, changed: e.ChangedFields, values: values}
		changes[i].updateByDefault()
	}
	return changes, nil
}

// formKey splits a form key of BambooHR's bracket notation:
// employees[12345][changedFields][0] is employees, 12345, changedFields, 0.
var formKey = regexp.MustCompile(`^([^\[\]]+)((?:\[[^\[\]]*\])*)$`)

func splitKey(k string) ([]string, bool) {
	m := formKey.FindStringSubmatch(k)
	if m == nil {
		return nil, false
	}
	parts := []string{m[1]}
	if rest := m[2]; rest != "" {
		parts = append(parts, strings.Split(strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]"), "][")...)
	}
	return parts, true
}

func decodeForm(body []byte) ([]change, bool, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false, fmt.Errorf("bamboohr: not a form: %w", webhook.ErrMalformed)
	}
	byEmployee := make(map[string]*change)
	var order []string
	event := change{}
	eventBased := false
	for k, vs := range form {
		parts, ok := splitKey(k)
		if !ok {
			return nil, false, fmt.Errorf("bamboohr: a form key not in bracket notation: %w", webhook.ErrMalformed)
		}
		if len(vs) != 1 {
			return nil, false, fmt.Errorf("bamboohr: form key %s given %d times: %w", httpapi.Clip(k), len(vs), webhook.ErrMalformed)
		}
		v := vs[0]
		switch {
		case parts[0] == "employees" && len(parts) >= 3:
			c := byEmployee[parts[1]]
			if c == nil {
				c = &change{employeeID: parts[1], values: map[string]string{}}
				byEmployee[parts[1]] = c
				order = append(order, parts[1])
			}
			switch {
			case parts[2] == "changedFields" && len(parts) == 4:
				c.changed = append(c.changed, v)
			case parts[2] == "action" && len(parts) == 3:
				c.kind = actions[strings.ToLower(v)]
			case parts[2] == "timestamp" && len(parts) == 3:
				c.at = v
			case parts[2] == "id" && len(parts) == 3 && v != parts[1]:
				c.employeeID = "" // names another employee than its key: the item's error
			default:
				c.values[strings.Join(parts[2:], "/")] = v
			}
		case parts[0] == "type" && len(parts) == 1:
			eventBased = true
			event.kind = eventKinds[v] // "" for an unknown type: the event's error
		case parts[0] == "timestamp" && len(parts) == 1:
			event.at = v
		case parts[0] == "data" && len(parts) == 2 && parts[1] == "employeeId":
			event.employeeID = v
		case parts[0] == "data" && len(parts) == 3 && parts[1] == "changedFields":
			event.changed = append(event.changed, v)
		}
	}
	switch {
	case eventBased && len(byEmployee) > 0:
		return nil, false, fmt.Errorf("bamboohr: a form both event-based and field-based: %w", webhook.ErrMalformed)
	case eventBased:
		return []change{event}, true, nil
	case len(byEmployee) == 0:
		return nil, false, fmt.Errorf("bamboohr: a form with neither \"type\" nor \"employees\": %w", webhook.ErrMalformed)
	}
	// A form has no order of its own; employee order makes deliveries
	// decode alike.
	slices.Sort(order)
	changes := make([]change, len(order))
	for i, id := range order {
		c := byEmployee[id]
		c.updateByDefault()
		changes[i] = *c
	}
	return changes, false, nil
}
