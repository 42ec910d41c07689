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

func TestJSONDecodeBatch(t *testing.T) {
	const (
		e1 = `{"id":"evt-1","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`
		e2 = `{"id":"evt-2","type":"employee.terminated","employeeId":"w-2","occurredAt":"2026-03-02T09:16:00Z"}`
	)
	want := []string{"evt-1/w-1", "evt-2/w-2"}
	for _, body := range []string{"[" + e1 + "," + e2 + "]", `{"events":` + "\n [" + e1 + "," + e2 + "]}", " \n[" + e1 + ",\t" + e2 + "] ", `{"events":[` + e1 + "," + e2 + "]}", ` { "events" : [` + e1 + "," + e2 + "] }", `{"\u0065vents":[` + e1 + "," + e2 + "]}"} {
		items, err := webhook.JSON{}.DecodeBatch(http.Header{}, []byte(body))
		if err != nil {
			t.Fatalf("%.40s: %v", body, err)
		}
		var got []string
		for _, it := range items {
			if it.Err != nil {
				t.Errorf("%.40s: %v", body, it.Err)
			}
			got = append(got, it.Event.ID+"/"+it.Event.EmployeeID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%.40s: (-want +got)\n%s", body, diff)
		}
	}
	// An empty batch is a batch.
	for _, body := range []string{`[]`, `{"events":[]}`} {
		if items, err := (webhook.JSON{}).DecodeBatch(http.Header{}, []byte(body)); err != nil || len(items) != 0 {
			t.Errorf("%s: %v %v", body, items, err)
		}
	}
	// One event is not a batch: Decode's.
	for _, body := range []string{e1, `{"id":"evt-1"}`, `{"eventz":[]}`, `"x"`, `null`, ``, `  `} {
		if _, err := (webhook.JSON{}).DecodeBatch(http.Header{}, []byte(body)); !errors.Is(err, webhook.ErrNotBatch) {
			t.Errorf("%q: %v, want ErrNotBatch", body, err)
		}
	}
	// Not the batch's shape: the delivery's error.
	for _, c := range []struct{ body, want string }{
		{"[" + e1, "batch: unexpected end of input"},
		{"[" + e1 + "]]", "batch: trailing data"},
		{"[" + e1 + "] {}", "batch: trailing data"},
		{`[{"id":"a"},]`, "batch: syntax error at byte 12"},
		{`{"events":{"id":"evt-1"}}`, "batch: events: want an array"},
		{`{"events":"evt-1 secret"}`, "batch: events: want an array"},
		{`{"events":null}`, "batch: events: want an array"},
		{`{"events":[],"next":"c2"}`, `batch: an envelope holds "events" alone`},
		{`{"events":[],"events":[]}`, `batch: "events": duplicate name`},
		{`{"events":[],"Events":[]}`, `batch: "Events": names differ only in case`},
		{`{"events":[` + e1 + `]`, "batch: unexpected end of input"},
	} {
		_, err := webhook.JSON{}.DecodeBatch(http.Header{}, []byte(c.body))
		if !errors.Is(err, webhook.ErrMalformed) || err.Error() != "webhook: malformed event: "+c.want {
			t.Errorf("%.60s: %v, want %s", c.body, err, c.want)
		}
	}
	// What the strict decoder refuses inside one item — a name given
	// twice, nesting too deep, a name too long — is that item's error, not
	// the delivery's (found by the outside tester of issue 26).
	deep := strings.Repeat(`{"x":`, 40) + `1` + strings.Repeat(`}`, 40)
	for _, bad := range []string{
		`{"id":"bad","id":"bad2","type":"employee.updated","employeeId":"w-2","occurredAt":"2026-03-02T09:15:00Z"}`,
		`{"id":"deep","type":"employee.updated","employeeId":"w-2","occurredAt":"2026-03-02T09:15:00Z","x":` + deep + `}`,
		`{"id":"long","type":"employee.updated","employeeId":"w-2","occurredAt":"2026-03-02T09:15:00Z","` + strings.Repeat("n", 1000) + `":1}`,
	} {
		for _, body := range []string{`[` + e1 + `,` + bad + `]`, `{"events":[` + e1 + `,` + bad + `]}`} {
			items, err := webhook.JSON{}.DecodeBatch(http.Header{}, []byte(body))
			if err != nil || len(items) != 2 || items[0].Err != nil || items[1].Err == nil {
				t.Errorf("%.80s: %v, items %+v; want the second item's error alone", bad, err, items)
			}
		}
	}
	// A batch over MaxEvents is refused as the list is split, before any
	// of its items is decoded: half a million tiny items cost a split.
	zeros := "[" + strings.Repeat("0,", 500_000) + "0]"
	for _, body := range []string{zeros, `{"events":` + zeros + `}`} {
		if _, err := (webhook.JSON{MaxEvents: 10}).DecodeBatch(http.Header{}, []byte(body)); !errors.Is(err, webhook.ErrTooManyEvents) {
			t.Errorf("500,001 items over MaxEvents 10: %v, want ErrTooManyEvents", err)
		}
	}
	if allocs := testing.AllocsPerRun(3, func() { (webhook.JSON{MaxEvents: 10}).DecodeBatch(http.Header{}, []byte(zeros)) }); allocs > 200 {
		t.Errorf("refusing 500,001 items over 10 made %.0f allocations, want a handful (the split stops at 11)", allocs)
	}
	// A bad item is that item's error, the id named where it can be read.
	items, err := webhook.JSON{}.DecodeBatch(http.Header{}, []byte(`[`+e1+`,
		{"id":"evt-3","type":"payroll.secret","employeeId":"w-3","occurredAt":"2026-03-02T09:15:00Z"},
		{"id":"evt-4\u0000","type":"employee.updated"},
		{"id":42,"type":"employee.updated","employeeId":"w-5","occurredAt":"2026-03-02T09:15:00Z"},
		{"ID":"evt-6","type":"employee.updated","employeeId":"w-6","occurredAt":"2026-03-02T09:15:00Z"},
		7, null, [],`+e2+`]`))
	if err != nil {
		t.Fatal(err)
	}
	type item struct{ ID, Err string }
	var got []item
	for _, it := range items {
		msg := ""
		if it.Err != nil {
			if !errors.Is(it.Err, webhook.ErrMalformed) {
				t.Errorf("item error %v does not wrap ErrMalformed", it.Err)
			}
			msg = strings.TrimPrefix(it.Err.Error(), "webhook: malformed event: ")
		}
		got = append(got, item{it.Event.ID, msg})
	}
	if diff := cmp.Diff([]item{
		{"evt-1", ""},
		{"evt-3", "type: not one of employee.created, employee.updated, employee.terminated, employee.rehired, employee.deleted"},
		{"", "missing [employeeId occurredAt]"},
		{"", "id: want a string"},
		{"", `"ID": unknown name`},
		{"", "want an object"},
		{"", "missing [employeeId id occurredAt type]"},
		{"", "want an object"},
		{"evt-2", ""},
	}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// A BatchDecoderFunc's Decode is its batch of one.
func TestBatchDecoderFunc(t *testing.T) {
	ev := hrissync.Event{ID: "e", EmployeeID: "w"}
	var d webhook.Decoder = webhook.BatchDecoderFunc(func(_ http.Header, body []byte) ([]webhook.Decoded, error) {
		if len(body) == 0 {
			return nil, webhook.ErrMalformed
		}
		items := make([]webhook.Decoded, len(body))
		for i := range items {
			items[i].Event = ev
		}
		return items, nil
	})
	if got, err := d.Decode(nil, []byte("1")); err != nil || got != ev {
		t.Errorf("a batch of one: %+v %v", got, err)
	}
	if _, err := d.Decode(nil, []byte("12")); !errors.Is(err, webhook.ErrMalformed) {
		t.Errorf("a batch of two: %v, want ErrMalformed", err)
	}
	if _, err := d.Decode(nil, nil); !errors.Is(err, webhook.ErrMalformed) {
		t.Errorf("an error: %v", err)
	}
}
