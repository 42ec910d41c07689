package merge_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/merge"
)

// serving is a Merge answering path (the query left out) as answers says.
func serving(t *testing.T, answers map[string]string) *merge.Source {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	src, err := merge.New(merge.Config{APIKey: "k", AccountToken: "a", BaseURL: srv.URL, Now: fixed(t0)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

const employee7 = `{"id":"7","remote_id":"r7","first_name":"G","employment_status":"ACTIVE","start_date":"2024-01-08 00:00:00+00:00",
"modified_at":"2026-03-01T10:00:00Z","team":null,"work_location":null,"remote_was_deleted":false,
"employments":[
 {"employee":"7","job_title":"Engineer","effective_date":"2024-01-08T00:00:00Z","modified_at":"2026-02-01T10:00:00Z"},
 {"employee":"7","job_title":"Lead","effective_date":"2026-03-02T00:00:00Z","modified_at":"2026-03-02T08:30:00Z"},
 {"employee":"7","job_title":"Head","effective_date":"2026-06-01T00:00:00Z","modified_at":"2026-03-02T08:31:00Z"}]}`

// TestEmploymentOnlyChange: Merge stamps an employment apart from its
// employee, so a new job title may leave the employee's modified_at as it
// was. ChangedSince still names the employee, through the employments
// modified; the role is the employment in effect (not the one dated June),
// and the version the latest employment's.
func TestEmploymentOnlyChange(t *testing.T) {
	src := serving(t, map[string]string{
		"/employees":   `{"next":null,"previous":null,"results":[]}`,
		"/employments": `{"next":null,"previous":null,"results":[{"id":"e2","employee":"7","job_title":"Lead","modified_at":"2026-03-02T08:30:00Z"}]}`,
		"/employees/7": employee7,
	})
	got, err := collect(src.ChangedSince(t.Context(), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)))
	if err != nil || len(got) != 1 {
		t.Fatalf("ChangedSince: %+v, %v; want employee 7", got, err)
	}
	if e := got[0]; e.ID != "7" || e.Role != "Lead" || !e.Version.Time.Equal(time.Date(2026, 3, 2, 8, 31, 0, 0, time.UTC)) {
		t.Errorf("employee %+v; want role Lead at the latest employment's version", e)
	}
}

// TestAnswersOfTheWrongShape: what is not Merge's documented shape ends
// the list, never quietly short.
func TestAnswersOfTheWrongShape(t *testing.T) {
	for name, page := range map[string]string{
		"no results":            `{"next":null,"previous":null}`,
		"results null":          `{"next":null,"results":null}`,
		"an unknown status":     `{"next":null,"results":[` + strings.Replace(employee7, `"ACTIVE"`, `"FIRED"`, 1) + `]}`,
		"a name twice":          `{"next":null,"results":[` + strings.Replace(employee7, `"first_name":"G"`, `"first_name":"G","first_name":"H"`, 1) + `]}`,
		"employments not there": `{"next":null,"results":[` + strings.Replace(employee7, `"employments":[`, `"employments":["e1"],"x":[`, 1) + `]}`,
		"a date not one":        `{"next":null,"results":[` + strings.Replace(employee7, `2024-01-08 00:00:00+00:00`, `08/01/2024`, 1) + `]}`,
		"a cursor leading back": `{"next":"c1","results":[]}`,
		"an id that is a path":  `{"next":null,"results":[` + strings.Replace(employee7, `"id":"7"`, `"id":"../7"`, 1) + `]}`,
		"data after the answer": `{"next":null,"results":[]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			src := serving(t, map[string]string{"/employees": page})
			n := 0
			var err error
			for _, e := range src.List(t.Context()) {
				if e != nil {
					err = e
					break
				}
				if n++; n > 5 {
					t.Fatal("the list runs on")
				}
			}
			if !errors.Is(err, merge.ErrMalformed) {
				t.Errorf("%d people, %v; want ErrMalformed", n, err)
			}
		})
	}
}
