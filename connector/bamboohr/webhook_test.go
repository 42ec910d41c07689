package bamboohr_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/webhook"
)

// The payloads BambooHR publishes as examples, quoted.
const (
	// documentation.bamboohr.com/docs/event-based-webhooks, "JSON Format".
	docEventJSON = `{
  "type": "employee.updated",
  "timestamp": "2026-01-31T18:42:00+0000",
  "data": {
    "companyId": "12345",
    "employeeId": "67890",
    "changedFields": [
      "firstName"
    ]
  }
}`
	// Same page, "Form Post Format" (one pair a line there).
	docEventForm = "type=employee.updated&data[companyId]=12345&data[employeeId]=67890&data[changedFields][0]=firstName"

	// documentation.bamboohr.com/docs/field-based-webhooks, "JSON Format".
	docFieldJSON = `{
  "employees": [
    {
      "action": "Updated",
      "changedFields": [
        "First Name"
      ],
      "fields": {
        "First Name": "Bryony"
      },
      "id": "12345",
      "timestamp": "2026-01-31T18:42:00+0000"
    }
  ]
}`
	// Same page, "Form Post Format".
	docFieldForm = "employees[12345][changedFields][0]=First+name&employees[12345][First+name]=John"
)

func header(contentType, ts string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	if ts != "" {
		h.Set(bamboohr.TimestampHeader, ts)
	}
	return h
}

const (
	jsonType = "application/json"
	formType = "application/x-www-form-urlencoded"
)

func TestDecodeDocumentedPayloads(t *testing.T) {
	at := time.Date(2026, 1, 31, 18, 42, 0, 0, time.UTC)
	delivered := strconv.FormatInt(at.Add(3*time.Second).Unix(), 10)
	var d bamboohr.Decoder
	for _, tc := range []struct {
		name, contentType, body string
		batch                   bool
		employee                string
		occurred                time.Time
	}{
		{"event-based JSON", jsonType, docEventJSON, false, "67890", at},
		// The form example has no timestamp: the delivery's is the event's.
		{"event-based form", formType, docEventForm, false, "67890", at.Add(3 * time.Second)},
		{"field-based JSON", jsonType, docFieldJSON, true, "12345", at},
		{"field-based form", formType, docFieldForm, true, "12345", at.Add(3 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := header(tc.contentType, delivered)
			items, err := d.DecodeBatch(h, []byte(tc.body))
			if !tc.batch {
				if !errors.Is(err, webhook.ErrNotBatch) {
					t.Fatalf("DecodeBatch of an event-based delivery: %v, want ErrNotBatch", err)
				}
			} else if err != nil || len(items) != 1 || items[0].Err != nil {
				t.Fatalf("DecodeBatch: %+v, %v", items, err)
			}
			ev, err := d.Decode(h, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.EmployeeID != tc.employee || ev.Type != "employee.updated" || !ev.OccurredAt.Equal(tc.occurred) || ev.ID == "" || ev.Record != nil {
				t.Errorf("event %+v, want employee %s updated at %v, an id, no record", ev, tc.employee, tc.occurred)
			}
			if tc.batch && items[0].Event != ev {
				t.Errorf("DecodeBatch's event %+v differs from Decode's %+v", items[0].Event, ev)
			}
			again, _ := d.Decode(h, []byte(tc.body))
			if again.ID != ev.ID {
				t.Error("the same delivery decoded under two ids: a retry would not be a repeat")
			}
			other, _ := d.Decode(header(tc.contentType, delivered+"1"), []byte(tc.body))
			if other.ID == ev.ID {
				t.Error("deliveries at two times share an id: a later change could be dropped as a repeat")
			}
		})
	}
}

// TestDecodeFieldBasedBatch: a field-based delivery naming several employees
// is an event for each, and two changes of one employee that differ only in
// the values posted are two events.
func TestDecodeFieldBasedBatch(t *testing.T) {
	body := `{"employees":[
	  {"action":"Created","changedFields":[],"fields":{},"id":"7","timestamp":"2026-03-02T09:00:00+0000"},
	  {"action":"Updated","changedFields":["Job Title"],"fields":{"Job Title":"Lead"},"id":"8","timestamp":"2026-03-02T09:00:01+0000"},
	  {"action":"Deleted","changedFields":[],"fields":{},"id":"9","timestamp":"2026-03-02T09:00:02+0000"},
	  {"action":"Updated","changedFields":["Job Title"],"fields":{"Job Title":"Head"},"id":"8","timestamp":"2026-03-02T09:00:01+0000"},
	  {"action":"Renamed","id":"10","timestamp":"2026-03-02T09:00:02+0000"},
	  {"action":"Updated","changedFields":["Job Title"],"id":"0","timestamp":"2026-03-02T09:00:02+0000"}
	]}`
	items, err := bamboohr.Decoder{}.DecodeBatch(header(jsonType, "1772442000"), []byte(body))
	if err != nil || len(items) != 6 {
		t.Fatalf("DecodeBatch: %d items, %v", len(items), err)
	}
	want := []struct{ employee, kind string }{{"7", "employee.created"}, {"8", "employee.updated"}, {"9", "employee.deleted"}, {"8", "employee.updated"}}
	for i, w := range want {
		if ev := items[i].Event; items[i].Err != nil || ev.EmployeeID != w.employee || ev.Type != w.kind {
			t.Errorf("item %d: %+v, %v; want employee %s %s", i, ev, items[i].Err, w.employee, w.kind)
		}
	}
	if items[1].Event.ID == items[3].Event.ID {
		t.Error("two changes with other values share an id")
	}
	for i, why := range map[int]string{4: "an unknown action", 5: "employee id 0 (the API key's own employee)"} {
		if !errors.Is(items[i].Err, webhook.ErrMalformed) || items[i].Event.ID == "" {
			t.Errorf("item %d, %s: %+v, want a malformed item with an id to name it", i, why, items[i])
		}
	}
}

func TestDecodeRefusesMalformedDeliveries(t *testing.T) {
	var d bamboohr.Decoder
	for name, tc := range map[string]struct{ contentType, body string }{
		"not JSON":                   {jsonType, `{"type":`},
		"JSON not an object":         {jsonType, `["employee.updated"]`},
		"neither shape":              {jsonType, `{"event":"employee.updated"}`},
		"employees not a list":       {jsonType, `{"employees":{"1":{}}}`},
		"data not an object":         {jsonType, `{"type":"employee.updated","data":"67890"}`},
		"form neither shape":         {formType, "hello=world"},
		"form of both shapes":        {formType, "type=employee.updated&data[employeeId]=1&employees[2][changedFields][0]=x"},
		"form key given twice":       {formType, "type=employee.updated&data[employeeId]=1&data[employeeId]=2"},
		"form key not bracketed":     {formType, "type=employee.updated&data[employeeId=1"},
		"form not a form":            {formType, "type=%zz"},
		"event with no employee":     {jsonType, `{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{}}`},
		"event with an unknown type": {jsonType, `{"type":"company.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"employeeId":"5"}}`},
		"event with a bad time":      {jsonType, `{"type":"employee.updated","timestamp":"yesterday","data":{"employeeId":"5"}}`},
		"event with a signed id":     {jsonType, `{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"employeeId":"-5"}}`},
		"a name given twice":         {jsonType, `{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000","data":{"employeeId":"5","employeeId":"6"}}`},
		"a name given in two cases":  {jsonType, `{"type":"employee.updated","Type":"employee.deleted","data":{"employeeId":"5"}}`},
		"both shapes":                {jsonType, `{"type":"employee.updated","data":{"employeeId":"5"},"employees":[{"id":"6","action":"Updated"}]}`},
		"no employees":               {jsonType, `{"employees":[]}`},
		"employees null":             {jsonType, `{"employees":null}`},
		"a form id naming another":   {formType, "employees[5][id]=6&employees[5][action]=Updated"},
	} {
		_, err := d.Decode(header(tc.contentType, "1772442000"), []byte(tc.body))
		if !errors.Is(err, webhook.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// recorder is a webhook.Notifier and BatchNotifier that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []hrissync.Event
}

func (r *recorder) Notify(_ context.Context, ev hrissync.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) NotifyBatch(ctx context.Context, evs []hrissync.Event) ([]error, error) {
	for _, ev := range evs {
		r.Notify(ctx, ev)
	}
	return make([]error, len(evs)), nil
}

func (r *recorder) got() []hrissync.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hrissync.Event(nil), r.events...)
}

// sign signs as BambooHR's documentation says: the hex HMAC-SHA-256 of the
// body followed by the timestamp (docs/webhooks-2, its PHP example).
func sign(key []byte, body, ts string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body + ts))
	return hex.EncodeToString(m.Sum(nil))
}

// TestWebhookEndpoint serves the decoder and verifier behind the library's
// handler, over loopback HTTP: each shape signed is taken, and what is
// unsigned, signed with another key, stale or of another content type is
// refused with nothing recorded.
func TestWebhookEndpoint(t *testing.T) {
	key := []byte("private-key-from-the-webhooks-page")
	now := time.Date(2026, 1, 31, 18, 42, 5, 0, time.UTC)
	v, err := bamboohr.NewVerifier(0, key)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	h, err := webhook.New(rec, v, &webhook.Config{Decoder: bamboohr.Decoder{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(contentType, body, ts, signature string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", contentType)
		if ts != "" {
			req.Header.Set(bamboohr.TimestampHeader, ts)
		}
		if signature != "" {
			req.Header.Set(bamboohr.SignatureHeader, signature)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	stale := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name, contentType, body, ts, signature string
		status                                 int
	}{
		{"unsigned", jsonType, docEventJSON, ts, "", http.StatusUnauthorized},
		{"signed with another key", jsonType, docEventJSON, ts, sign([]byte("other"), docEventJSON, ts), http.StatusUnauthorized},
		{"signed without the timestamp", jsonType, docEventJSON, ts, sign(key, docEventJSON, ""), http.StatusUnauthorized},
		{"stale", jsonType, docEventJSON, stale, sign(key, docEventJSON, stale), http.StatusUnauthorized},
		{"another content type", "text/plain", docEventJSON, ts, sign(key, docEventJSON, ts), http.StatusUnsupportedMediaType},
		{"malformed, signed", jsonType, `{"type":`, ts, sign(key, `{"type":`, ts), http.StatusBadRequest},
	} {
		if got := post(tc.contentType, tc.body, tc.ts, tc.signature); got != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.status)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Fatalf("refused deliveries recorded %d events", len(got))
	}
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"event-based JSON", jsonType, docEventJSON, http.StatusNoContent},
		{"event-based form", formType, docEventForm, http.StatusNoContent},
		{"field-based JSON", jsonType, docFieldJSON, http.StatusOK},
		{"field-based form", formType, docFieldForm, http.StatusOK},
	} {
		if got := post(tc.contentType, tc.body, ts, sign(key, tc.body, ts)); got != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.status)
		}
	}
	got := rec.got()
	if len(got) != 4 {
		t.Fatalf("recorded %d events, want 4", len(got))
	}
	for i, want := range []string{"67890", "67890", "12345", "12345"} {
		if got[i].EmployeeID != want {
			t.Errorf("event %d for %s, want %s", i, got[i].EmployeeID, want)
		}
	}
}

func TestNewVerifierNeedsAKey(t *testing.T) {
	if _, err := bamboohr.NewVerifier(0); err == nil {
		t.Error("no key: accepted")
	}
	if _, err := bamboohr.NewVerifier(0, []byte{}); err == nil {
		t.Error("an empty key: accepted")
	}
	if _, err := bamboohr.NewVerifier(-1, []byte("k")); err == nil {
		t.Error("no replay window: accepted")
	}
}

// TestDecodeBoundsTheEventTime: an event cannot have happened after its
// delivery was signed; a later timestamp in the body is taken as the
// delivery's, so that the engine does not wait for a record that new.
func TestDecodeBoundsTheEventTime(t *testing.T) {
	sent := time.Date(2026, 1, 31, 18, 42, 0, 0, time.UTC)
	body := `{"type":"employee.updated","timestamp":"2099-01-01T00:00:00+0000","data":{"employeeId":"5"}}`
	ev, err := bamboohr.Decoder{}.Decode(header(jsonType, strconv.FormatInt(sent.Unix(), 10)), []byte(body))
	if err != nil || !ev.OccurredAt.Equal(sent) {
		t.Errorf("event at %v, %v; want the delivery's time %v", ev.OccurredAt, err, sent)
	}
}
