package merge_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/webhook"
)

// docSync is the sync notification Merge's help centre shows ("Creating
// Webhooks in Merge", help.merge.dev/en/articles/5389453), its redacted
// fields filled in and cut to what it shows.
const docSync = `{
"hook": {
"id": "164f934e-5b1a-433e-9f7f-85c72b8cd155",
"event": "LinkedAccount.synced",
"target": "https://typedwebhook.tools/webhook/620e9c36-9242-4f53-9ea5-fb908bc16556"
},
"linked_account": {
"id": "0e7cceaa-9b5c-4d44-8606-6e99f2b83026",
"integration": "Linear",
"integration_slug": "linear",
"category": "ticketing",
"end_user_origin_id": null,
"end_user_organization_name": "Merge Sandbox Account",
"status": "COMPLETE",
"is_duplicate": null
},
"data": {
"account_token": "redacted"
}
}`

// employeeChanged is a data-change delivery: the hook and linked account as
// docs.merge.dev shows them, and data an Employee as the HRIS reference
// shows one (docs.merge.dev/hris/employees), cut.
const employeeChanged = `{
"hook": {"id": "cb1fe0a7-c2a1-4bd6-8cf5-57e70c7f1d53", "event": "Employee.changed", "target": "https://yoururl.com"},
"linked_account": {"id": "a3602c03-aba7-4d9d-a349-dbc338504092", "integration": "Workday", "integration_slug": "workday", "category": "hris"},
"data": {"id": "0958cbc6-6040-430a-848e-aafacbadf4ae", "remote_id": "19202938", "first_name": "Greg", "last_name": "Hirsch",
 "employment_status": "INACTIVE", "termination_date": "2021-10-12 00:00:00+00:00", "modified_at": "2021-10-16 00:00:00+00:00"}
}`

func TestDecodeEvents(t *testing.T) {
	var synced int
	d := merge.Decoder{LinkedAccount: "a3602c03-aba7-4d9d-a349-dbc338504092", Synced: func() { synced++ }}
	items, err := d.DecodeBatch(nil, []byte(employeeChanged))
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("Employee.changed: %+v, %v", items, err)
	}
	ev := items[0].Event
	if ev.EmployeeID != "0958cbc6-6040-430a-848e-aafacbadf4ae" || ev.Type != "employee.updated" ||
		!ev.OccurredAt.Equal(time.Date(2021, 10, 16, 0, 0, 0, 0, time.UTC)) || ev.ID == "" || ev.Record != nil {
		t.Errorf("event %+v", ev)
	}
	again, _ := d.Decode(nil, []byte(employeeChanged))
	if again.ID != ev.ID {
		t.Error("a retry of the delivery is another event")
	}
	other, _ := d.Decode(nil, []byte(strings.Replace(employeeChanged, "2021-10-16", "2021-10-17", 1)))
	if other.ID == ev.ID {
		t.Error("another change under the same id")
	}

	employment := strings.NewReplacer(`"Employee.changed"`, `"Employment.added"`,
		`"id": "0958cbc6-6040-430a-848e-aafacbadf4ae"`, `"id": "65a2bb8d-4b6c-4a2b-9a2a-2c8d1f8b2a11", "employee": "0958cbc6-6040-430a-848e-aafacbadf4ae", "job_title": "Analyst"`).Replace(employeeChanged)
	if ev, err := d.Decode(nil, []byte(employment)); err != nil || ev.EmployeeID != "0958cbc6-6040-430a-848e-aafacbadf4ae" || ev.Type != "employee.updated" {
		t.Errorf("Employment.added: %+v, %v; want an update of the employee", ev, err)
	}

	// The sync notification is for another linked account: nothing, and
	// no poll.
	if items, err := d.DecodeBatch(nil, []byte(docSync)); err != nil || len(items) != 0 || synced != 0 {
		t.Errorf("another account's sync: %+v, %v, synced %d", items, err, synced)
	}
	mine := strings.ReplaceAll(docSync, "0e7cceaa-9b5c-4d44-8606-6e99f2b83026", "a3602c03-aba7-4d9d-a349-dbc338504092")
	if items, err := d.DecodeBatch(nil, []byte(mine)); err != nil || len(items) != 0 || synced != 1 {
		t.Errorf("the account's sync: %+v, %v, synced %d; want no event and a poll", items, err, synced)
	}
	for name, body := range map[string]string{
		"an issue":           strings.Replace(employeeChanged, "Employee.changed", "Issue.created", 1),
		"another model":      strings.Replace(employeeChanged, "Employee.changed", "TimeOff.changed", 1),
		"another's employee": strings.Replace(employeeChanged, "a3602c03-aba7-4d9d-a349-dbc338504092", "0e7cceaa-9b5c-4d44-8606-6e99f2b83026", 1),
		// Names are matched as written: "ID" is not the linked account's id.
		"an account's id in another case": strings.Replace(employeeChanged, `"linked_account": {"id"`, `"linked_account": {"ID"`, 1),
		"another model's sync":            strings.Replace(mine, "LinkedAccount.synced", "Ticket.synced", 1),
	} {
		if items, err := d.DecodeBatch(nil, []byte(body)); err != nil || len(items) != 0 {
			t.Errorf("%s: %+v, %v; want acknowledged, no event", name, items, err)
		}
	}
	if synced != 1 {
		t.Errorf("polls asked: %d, want only the account's own sync's", synced)
	}
}

func TestDecodeRefuses(t *testing.T) {
	var d merge.Decoder
	whole := map[string]string{
		"not JSON":          `{"hook":`,
		"no hook":           `{"linked_account":{"id":"x"},"data":{}}`,
		"no linked account": `{"hook":{"event":"Employee.changed"},"data":{}}`,
		"a name twice":      strings.Replace(employeeChanged, `"first_name": "Greg"`, `"first_name": "Greg", "first_name": "G"`, 1),
		"an event not M.a":  strings.Replace(employeeChanged, "Employee.changed", "EmployeeChanged", 1),
	}
	for name, body := range whole {
		if _, err := d.DecodeBatch(nil, []byte(body)); !errors.Is(err, webhook.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	items := map[string]string{
		"an unknown action": strings.Replace(employeeChanged, "Employee.changed", "Employee.exploded", 1),
		"no employee id":    strings.Replace(employeeChanged, `"id": "0958cbc6-6040-430a-848e-aafacbadf4ae", `, "", 1),
		"a path as id":      strings.Replace(employeeChanged, "0958cbc6-6040-430a-848e-aafacbadf4ae", "../../linked-accounts", 1),
		"no modified_at":    strings.Replace(employeeChanged, `, "modified_at": "2021-10-16 00:00:00+00:00"`, "", 1),
		"data not object":   `{"hook":{"event":"Employee.changed"},"linked_account":{"id":"a"},"data":"x"}`,
	}
	for name, body := range items {
		got, err := d.DecodeBatch(nil, []byte(body))
		if err != nil || len(got) != 1 || !errors.Is(got[0].Err, webhook.ErrMalformed) || got[0].Event.ID == "" {
			t.Errorf("%s: %+v, %v; want one malformed item, named", name, got, err)
		}
	}
}

// TestVerifier: the docs' recipe — HMAC-SHA256 of the body, base64url —
// verifies; another key, a changed body, none do not.
func TestVerifier(t *testing.T) {
	key := []byte("merge-signature-key")
	v, err := merge.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(employeeChanged))
	sig := base64.URLEncoding.EncodeToString(m.Sum(nil))
	h := http.Header{merge.SignatureHeader: {sig}}
	if err := v.Verify(h, []byte(employeeChanged), time.Now()); err != nil {
		t.Errorf("signed as documented: %v", err)
	}
	if err := v.Verify(h, []byte(employeeChanged+" "), time.Now()); err == nil {
		t.Error("a changed body verified")
	}
	if err := v.Verify(http.Header{}, []byte(employeeChanged), time.Now()); err == nil {
		t.Error("an unsigned delivery verified")
	}
	if _, err := merge.NewVerifier(); err == nil {
		t.Error("no key: accepted")
	}
}
