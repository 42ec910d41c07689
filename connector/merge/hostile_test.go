package merge_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/retry"
)

// serving is a Merge answering path (the query left out) as answers says.
func serving(t *testing.T, answers map[string]string) *merge.Source {
	t.Helper()
	return servingQueries(t, answers, nil)
}

// servingQueries is serving, keeping each request's query in asked.
func servingQueries(t *testing.T, answers map[string]string, asked map[string]url.Values) *merge.Source {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked != nil {
			mu.Lock()
			asked[r.URL.Path] = r.URL.Query()
			mu.Unlock()
		}
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
	asked := map[string]url.Values{}
	src := servingQueries(t, map[string]string{
		"/employees":   `{"next":null,"previous":null,"results":[]}`,
		"/employments": `{"next":null,"previous":null,"results":[{"id":"e2","employee":"7","job_title":"Lead","modified_at":"2026-03-02T08:30:00Z"}]}`,
		"/employees/7": employee7,
	}, asked)
	got, err := collect(src.ChangedSince(t.Context(), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)))
	if err != nil || len(got) != 1 {
		t.Fatalf("ChangedSince: %+v, %v; want employee 7", got, err)
	}
	// Removed employments are asked for too: a role that ended is a change.
	if q := asked["/employments"]; q.Get("include_deleted_data") != "true" || q.Get("modified_after") != "2026-03-02T07:59:59Z" {
		t.Errorf("/employments asked with %v", q)
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

// TestEndlessEmptyPages: empty pages that lead on for ever end the list
// with an error, not with the account's rate limit.
func TestEndlessEmptyPages(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"next":"c%d","previous":null,"results":[]}`, n.Add(1))
	}))
	defer srv.Close()
	src, err := merge.New(merge.Config{APIKey: "k", AccountToken: "a", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(src.List(t.Context())); !errors.Is(err, merge.ErrMalformed) || n.Load() > 200 {
		t.Errorf("after %d pages: %v; want ErrMalformed within a bound", n.Load(), err)
	}
}

// TestNotFoundFirstPage: a 404 for the first page is the base URL, which
// no rerun mends (permanent); for a later page, an expired cursor, which a
// rerun does.
func TestNotFoundFirstPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("cursor") {
			http.Error(w, `{"detail":"Invalid cursor"}`, http.StatusNotFound)
			return
		}
		if r.URL.Path != "/api/hris/v1/employees" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"next":"c1","previous":null,"results":[]}`)
	}))
	defer srv.Close()
	for base, permanent := range map[string]bool{srv.URL + "/wrong": true, srv.URL + "/api/hris/v1": false} {
		src, err := merge.New(merge.Config{APIKey: "k", AccountToken: "a", BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		_, err = collect(src.List(t.Context()))
		if err == nil || retry.IsPermanent(err) != permanent {
			t.Errorf("%s: %v; want permanent %v", base, err, permanent)
		}
	}
}

// TestEmploymentEnded: an employment that ended may leave the employee's
// answer without a trace of it — every stamp there older than the change.
// ChangedSince still names the employee, their role the one still in
// effect, at the version of the change, so that the engine does not take
// the record for an older one than the role it replaces.
func TestEmploymentEnded(t *testing.T) {
	before := strings.Replace(strings.Replace(employee7, `,
 {"employee":"7","job_title":"Head","effective_date":"2026-06-01T00:00:00Z","modified_at":"2026-03-02T08:31:00Z"}`, "", 1), `,
 {"employee":"7","job_title":"Lead","effective_date":"2026-03-02T00:00:00Z","modified_at":"2026-03-02T08:30:00Z"}`, "", 1)
	src := serving(t, map[string]string{
		"/employees":   `{"next":null,"previous":null,"results":[]}`,
		"/employments": `{"next":null,"previous":null,"results":[{"id":"e2","employee":"7","job_title":"Lead","remote_was_deleted":true,"modified_at":"2026-03-02T08:45:00Z"}]}`,
		"/employees/7": before,
	})
	got, err := collect(src.ChangedSince(t.Context(), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)))
	if err != nil || len(got) != 1 {
		t.Fatalf("ChangedSince: %+v, %v; want employee 7", got, err)
	}
	if e := got[0]; e.Role != "Engineer" || !e.Version.Time.Equal(time.Date(2026, 3, 2, 8, 45, 0, 0, time.UTC)) {
		t.Errorf("employee 7: role %q at %v; want Engineer at the ended employment's time", e.Role, e.Version.Time)
	}
}
