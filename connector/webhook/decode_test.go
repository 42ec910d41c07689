package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/webhook"
)

func TestJSONDecoder(t *testing.T) {
	const head = `{"id":"evt-1","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"`
	ev, err := webhook.JSON{}.Decode(http.Header{}, []byte(head+`,"record":{"id":"w-1","status":"active","startDate":"2026-01-05"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := hrissync.Event{ID: "evt-1", Type: "employee.updated", EmployeeID: "w-1", OccurredAt: time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC),
		Record: &hrissync.Employee{ID: "w-1", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2026, 1, 5)}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	for _, c := range []struct{ body, want string }{
		{head + `}}`, "trailing data"},
		{head + `}]`, "trailing data"},
		{head + `}{}`, "trailing data"},
		{head + `,"id":"evt-2"}`, "id: duplicate name"},
		{head + `,"ID":"evt-2"}`, `"ID": names differ only in case`},
		{`{"ID":"evt-1","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`, `"ID": unknown name`},
		{head + `,"secretName":1}`, `"secretName": unknown name`},
		{`{"id":"evt-1","type":"payroll.secret","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`,
			"type: not one of employee.created, employee.updated, employee.terminated, employee.rehired, employee.deleted"},
		{`{"id":"evt-1","type":"employee.updated","employeeId":"w-1","occurredAt":"last tuesday"}`, "occurredAt: not an RFC 3339 time"},
		{`{"id":"evt\u0000x","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`, "id: control characters"},
		{`{"id":"evt-1","type":"employee.updated","employeeId":"w-1\n","occurredAt":"2026-03-02T09:15:00Z"}`, "employeeId: control characters"},
		{`{"id":"` + strings.Repeat("e", 257) + `","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`, "id: longer than 256 bytes"},
		{`{"type":"employee.updated"}`, "missing [employeeId id occurredAt]"},
		{head + `,"record":{"id":"w-someone-else"}}`, "record.id does not match employeeId"},
		{head + `,"record":{"id":"w-1","startDate":"5 Jan 2026"}}`, "record.startDate: not a date YYYY-MM-DD"},
		{head + `,"record":{"id":"w-1","StartDate":{"Year":2026}}}`, `record."StartDate": unknown name`},
		{head + `,"record":{"id":"w-1","email":"a@b","Email":"c@d"}}`, `record."Email": names differ only in case`},
		{head + `,"record":{"id":"w-1","status":12345}}`, "record.status: want a string"},
		{`{"id":"evt-1",}`, "syntax error at byte 14"},
	} {
		_, err := webhook.JSON{}.Decode(http.Header{}, []byte(c.body))
		if !errors.Is(err, webhook.ErrMalformed) || err.Error() != "webhook: malformed event: "+c.want {
			t.Errorf("%.70s: %v, want %s", c.body, err, c.want)
		}
	}
}
