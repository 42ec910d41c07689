package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/hrissync/hrissync/connector/webhook"
)

func FuzzStandardWebhooks(f *testing.F) {
	f.Add(vecID, vecTS, vecSig, []byte(vecBody))
	f.Add("", "", "", []byte{})
	f.Add(vecID, "-1", "v1,", []byte("{}"))
	f.Add(vecID, vecTS, "v2,abc v1,"+vecSig[3:]+" v1", []byte(vecBody))
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	v.Tolerance = -1
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := v.Verify(headers(id, ts, sig), body, time.Now())
		if err != nil && !errors.Is(err, webhook.ErrUnauthenticated) && !errors.Is(err, webhook.ErrHeaderTooLarge) {
			t.Fatalf("error of the wrong kind: %v", err)
		}
		// Only the one signed triple passes.
		if err == nil && (id != vecID || ts != vecTS || string(body) != vecBody) {
			t.Fatalf("forged delivery verified: id=%q ts=%q body=%q", id, ts, body)
		}
	})
}

func FuzzJSONDecoder(f *testing.F) {
	for _, s := range []string{
		`{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"id":"e","type":"employee.created","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","record":{"id":"w","status":"active","startDate":"2026-01-05"}}`,
		`{"id":"e","type":"employee.created","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","record":{"ID":"w","Status":"active"}}`,
		`{"id":"e","type":"employee.created","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","record":{"id":"other-worker"}}`,
		`{"id":"e","type":"employee.created","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","record":{"id":"w","startDate":"5 Jan 2026"}}`,
		`{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"}}`,
		`{"id":"e","type":"employee.updated","employeeId":"w","employeeId":"x","occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"id":"e","type":"employee.updated","employeeId":"w","EmployeeId":"x","occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"id":"e\u0000x","type":"employee.updated","employeeId":"w\n","occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"id":"e","type":"payroll.secret","employeeId":"w","occurredAt":"last tuesday"}`,
		`{}`, `[`,
		`[{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"},{"id":"f\u0000","type":"x"},7]`,
		`{"events":[{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"},{"ID":"secret-id"}]}`,
		`{"events":[],"next":"cursor"}`, `{"events":{}}`, `[[],null,"secret-value"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		names, values := stringsOf(body)
		// noValue checks that a message repeats no value of the body (a
		// name of the body, quoted, it may name; and words of its own).
		noValue := func(err error) {
			for _, v := range values {
				if len(v) >= 4 && strings.Contains(err.Error(), v) && !strings.Contains(vocabulary, v) &&
					!strings.Contains(strings.Join(names, "\x00"), v) {
					t.Fatalf("the error %q repeats the value %q", err, v)
				}
			}
		}
		items, err := webhook.JSON{}.DecodeBatch(http.Header{}, body)
		switch {
		case errors.Is(err, webhook.ErrNotBatch):
		case err != nil:
			if !errors.Is(err, webhook.ErrMalformed) {
				t.Fatalf("batch: error of the wrong kind: %v", err)
			}
			noValue(err)
		default:
			for _, it := range items {
				if it.Err != nil {
					if !errors.Is(it.Err, webhook.ErrMalformed) {
						t.Fatalf("item: error of the wrong kind: %v", it.Err)
					}
					noValue(it.Err)
					if len(it.Event.ID) > 256 || strings.ContainsFunc(it.Event.ID, unicode.IsControl) {
						t.Fatalf("a rejected item named by an id no event could carry: %q", it.Event.ID)
					}
					continue
				}
				if it.Event.ID == "" || it.Event.EmployeeID == "" || it.Event.OccurredAt.IsZero() || it.Event.Type == "" {
					t.Fatalf("accepted an incomplete event in a batch: %+v", it.Event)
				}
			}
		}
		ev, err := webhook.JSON{}.Decode(http.Header{}, body)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformed) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			noValue(err)
			return
		}
		if ev.ID == "" || ev.EmployeeID == "" || ev.OccurredAt.IsZero() || ev.Type == "" {
			t.Fatalf("accepted an incomplete event: %+v", ev)
		}
		if strings.ContainsFunc(ev.ID+ev.EmployeeID, unicode.IsControl) {
			t.Fatalf("accepted control characters in an id: %q %q", ev.ID, ev.EmployeeID)
		}
		if ev.Record != nil && ev.Record.ID != ev.EmployeeID {
			t.Fatalf("accepted a record of someone else")
		}
	})
}

// vocabulary holds the words of the decoder's own messages.
const vocabulary = `webhook: malformed event: batch: an envelope holds "events" alone events: missing [id type employeeId occurredAt] record.id does not match
	type: not one of employee.created, employee.updated, employee.terminated, employee.rehired, employee.deleted
	longer than 256 bytes control characters duplicate name names differ only in case unknown name trailing data
	name too long nested too deeply syntax error at byte unexpected end of input invalid value not an RFC 3339 time
	not a date YYYY-MM-DD want a string want a boolean want an integer in range want a number in range want an array
	want an object want another type record. status startDate terminationDate employeeNumber email givenName
	familyName role managerId department location attributes immediate timeZone version versionSeq 0123456789`

// stringsOf returns the names and the string values of data, as far as it
// is JSON.
func stringsOf(data []byte) (names, values []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var inObject []bool // per open delimiter
	expectName := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return names, values
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				inObject = append(inObject, tok == '{')
				expectName = tok == '{'
				continue
			}
			inObject = inObject[:len(inObject)-1]
		case string:
			if expectName {
				names = append(names, tok)
				expectName = false
				continue
			}
			values = append(values, tok)
		}
		expectName = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}
