package merge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/internal/httpapi"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/internal/strictjson"
)

// SignatureHeader is where Merge signs its webhooks (docs: "Merge webhooks
// sent to you", docs.merge.dev/basics/webhooks/merge-webhooks, Security).
const SignatureHeader = "X-Merge-Webhook-Signature"

// NewVerifier authenticates Merge's webhook deliveries: the HMAC-SHA256 of
// the body under the organization's webhook signature key, base64url. Give
// two keys while rotating. Merge signs no timestamp, so a delivery has no
// replay window of its own: a replay is the same body, hence the same event
// id (see Decoder), which the engine drops as a repeat while it remembers
// the id (hrissync.Config.EventRetention).
func NewVerifier(keys ...[]byte) (*webhook.HMAC, error) {
	if len(keys) == 0 {
		return nil, errors.New("merge: a webhook signature key is required")
	}
	for _, k := range keys {
		if len(k) == 0 {
			return nil, errors.New("merge: an empty webhook signature key")
		}
	}
	return &webhook.HMAC{Secrets: slices.Clone(keys), Header: SignatureHeader, Encoding: webhook.Base64URL}, nil
}

// Decoder reads Merge's webhook deliveries, {"hook": {"event": …},
// "linked_account": {"id": …}, "data": {…}} (docs: "Creating Webhooks in
// Merge", help.merge.dev; "Merge webhooks sent to you", docs.merge.dev):
//
//   - Employee.added, Employee.changed, Employee.removed: an event for the
//     employee data holds (its id), at its modified_at;
//   - Employment.added, .changed, .removed: an event for the employee whose
//     employment it is (a new job title);
//   - a sync notification — a LinkedAccount event naming a sync (the
//     deprecated LinkedAccount.synced and .fully_synced_initial, and the
//     "Linked Account synced" that replaced them, whose event string the
//     reference we read does not give) or the .synced of Employee,
//     Employment, Team or Location: no
//     event, but Synced is called — Merge has read the HR system, and a
//     poll now finds what changed;
//   - anything else (issues, other common models), and any delivery for
//     another linked account than LinkedAccount: no event, acknowledged.
//
// Events are thin: the engine reads the employee through the Source, and
// the common model data carries is never taken as data. Merge sends no event
// id; Merge's own advice is to tell deliveries apart by their signature, so
// an event's id is a digest of the delivery's body: a retry is a repeat,
// another change another event.
//
// Every delivery is a batch of none or one (webhook.BatchDecoder): the
// handler answers 200 with a webhook.BatchResult.
type Decoder struct {
	// LinkedAccount, if set, is the linked account's Merge id: Merge's
	// webhooks are the organization's, and a delivery for another linked
	// account is acknowledged and not recorded.
	LinkedAccount string
	// Synced, if set, is called for each authenticated sync notification
	// of LinkedAccount (wire it to start Engine.Poll). It must not block.
	Synced func()
}

var _ webhook.BatchDecoder = Decoder{}

// object reads a JSON object by its names exactly as written: a struct
// would match "ID" to id, and let a delivery name its linked account in
// another case.
func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	return m, json.Unmarshal(raw, &m) == nil && m != nil
}

// text reads a JSON string; null and absence are "".
func text(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// synced are the common models whose sync is the Source's concern.
var synced = map[string]bool{"Employee": true, "Employment": true, "Team": true, "Location": true}

// Decode reads a delivery that holds one event; one that holds none is
// malformed here (the handler calls DecodeBatch, which takes it).
func (d Decoder) Decode(h http.Header, body []byte) (hrissync.Event, error) {
	items, err := d.DecodeBatch(h, body)
	if err != nil {
		return hrissync.Event{}, err
	}
	if len(items) != 1 {
		return hrissync.Event{}, fmt.Errorf("merge: a delivery of %d employee events: %w", len(items), webhook.ErrMalformed)
	}
	return items[0].Event, items[0].Err
}

// DecodeBatch reads a delivery: none or one event.
func (d Decoder) DecodeBatch(_ http.Header, body []byte) ([]webhook.Decoded, error) {
	if err := strictjson.Decode(body, new(any)); err != nil {
		return nil, fmt.Errorf("merge: %v: %w", err, webhook.ErrMalformed)
	}
	top, ok := object(body)
	hook, okHook := object(top["hook"])
	linked, okLinked := object(top["linked_account"])
	event, okEvent := text(hook["event"])
	account, okAccount := text(linked["id"])
	if !ok || !okHook || !okLinked || !okEvent || !okAccount || event == "" {
		return nil, fmt.Errorf("merge: not a Merge webhook (hook.event, linked_account): %w", webhook.ErrMalformed)
	}
	if d.LinkedAccount != "" && account != d.LinkedAccount {
		return []webhook.Decoded{}, nil
	}
	model, action, ok := strings.Cut(event, ".")
	if !ok {
		return nil, fmt.Errorf("merge: hook.event is not Model.action: %w", webhook.ErrMalformed)
	}
	if model == "LinkedAccount" && strings.Contains(action, "sync") || action == "synced" && synced[model] {
		if d.Synced != nil {
			d.Synced()
		}
		return []webhook.Decoded{}, nil
	}
	if model != "Employee" && model != "Employment" {
		return []webhook.Decoded{}, nil
	}
	kinds := map[string]string{"added": "employee.created", "changed": "employee.updated", "removed": "employee.deleted", "deleted": "employee.deleted"}
	if model == "Employment" {
		kinds = map[string]string{"added": "employee.updated", "changed": "employee.updated", "removed": "employee.updated", "deleted": "employee.updated"}
	}
	sum := sha256.Sum256(body)
	id := "merge-" + hex.EncodeToString(sum[:16])
	fail := func(why string) ([]webhook.Decoded, error) {
		return []webhook.Decoded{{Event: hrissync.Event{ID: id}, Err: fmt.Errorf("merge: %s %s: %w", httpapi.Clip(event), why, webhook.ErrMalformed)}}, nil
	}
	kind, ok := kinds[action]
	if !ok {
		return fail("is not an action of the reference")
	}
	data, ok := object(top["data"])
	if !ok {
		return fail("has no data object")
	}
	field := "id"
	if model == "Employment" {
		field = "employee"
	}
	employeeID, ok := text(data[field])
	if !ok || !validID(employeeID) {
		return fail("names no valid employee")
	}
	modified, ok := text(data["modified_at"])
	if !ok {
		return fail("has no modified_at")
	}
	at, err := stamp(&modified)
	if err != nil || at.IsZero() {
		return fail("has no modified_at")
	}
	return []webhook.Decoded{{Event: hrissync.Event{ID: id, EmployeeID: employeeID, Type: kind, OccurredAt: at.UTC()}}}, nil
}
