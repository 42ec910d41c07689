package hrissync_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
)

func fullEmployee() hrissync.Employee {
	return hrissync.Employee{
		ID: "w-000042", EmployeeNumber: "42", Email: "ada@example.com", GivenName: "Ada", FamilyName: "Lovelace",
		Status: hrissync.StatusTerminated, StartDate: hrissync.NewDate(2026, 1, 5), TerminationDate: hrissync.NewDate(2026, 6, 30),
		Role: "Engineer", ManagerID: "w-000007", Department: "R&D", Location: "London",
		Attributes: map[string]string{"skill.go": "4", "rating": ""}, Immediate: true, TimeZone: "Europe/London",
		Version: hrtype.Version{Time: time.Date(2026, 3, 2, 9, 15, 0, 500, time.UTC), Seq: 3},
	}
}

func TestEmployeeJSONRoundTrip(t *testing.T) {
	offset := fullEmployee()
	offset.Version = hrtype.Version{Time: time.Date(2026, 3, 2, 9, 15, 0, 0, time.FixedZone("", 3600))}
	for name, e := range map[string]hrissync.Employee{
		"zero":             {},
		"id only":          {ID: "w-1"},
		"full":             fullEmployee(),
		"seq only":         {ID: "w-1", Version: hrtype.Version{Seq: 7}},
		"time with offset": offset,
		"empty attributes": {ID: "w-1", Attributes: map[string]string{}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var got hrissync.Employee
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if diff := cmp.Diff(e, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", b, diff)
			}
		})
	}
}

// The shape is the documented one, name for name.
func TestEmployeeJSONShape(t *testing.T) {
	b, err := json.Marshal(fullEmployee())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"w-000042","employeeNumber":"42","email":"ada@example.com","givenName":"Ada","familyName":"Lovelace",` +
		`"status":"terminated","startDate":"2026-01-05","terminationDate":"2026-06-30","role":"Engineer","managerId":"w-000007",` +
		`"department":"R\u0026D","location":"London","attributes":{"rating":"","skill.go":"4"},"immediate":true,` +
		`"timeZone":"Europe/London","version":"2026-03-02T09:15:00.0000005Z","versionSeq":3}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(hrissync.Employee{}); string(b) != `{"id":""}` {
		t.Errorf("the zero Employee: %s", b)
	}
	if b, _ := json.Marshal(hrissync.Employee{Version: hrtype.Version{Time: time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)}}); !strings.Contains(string(b), `"version":"2026-03-02T09:15:00Z"`) {
		t.Errorf("a version without sub-seconds: %s", b)
	}
}

func TestEmployeeJSONStrict(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"ID":"w-1"}`, `"ID": unknown name`},
		{`{"id":"w-1","Email":"a@b"}`, `"Email": unknown name`},
		{`{"id":"w-1","email":"a@b","Email":"c@d"}`, `"Email": names differ only in case`},
		{`{"id":"w-1","id":"w-2"}`, `id: duplicate name`},
		{`{"id":"w-1","StartDate":{"Year":2026,"Month":1,"Day":5}}`, `"StartDate": unknown name`},
		{`{"id":"w-1","startDate":{"Year":2026}}`, `startDate: want a string`},
		{`{"id":"w-1","startDate":"05/01/2026"}`, `startDate: not a date YYYY-MM-DD`},
		{`{"id":"w-1","version":"yesterday-ish"}`, `version: not an RFC 3339 time`},
		{`{"id":"w-1","status":12345}`, `status: want a string`},
		{`{"id":"w-1","attributes":{"x":1234}}`, `attributes: want a string`},
		{`{"id":"w-1"} {}`, `trailing data`},
	} {
		var e hrissync.Employee
		err := e.UnmarshalJSON([]byte(c.in)) // json.Unmarshal refuses trailing data itself
		if !strings.HasSuffix(c.in, "{}") {
			err = json.Unmarshal([]byte(c.in), &e)
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.in, err, c.want)
		}
	}
}
