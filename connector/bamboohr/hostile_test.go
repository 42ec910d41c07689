package bamboohr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hrissync/hrissync/connector/bamboohr"
)

// answering is a server answering the directory and the report as script
// says, for answers the fake would never give.
func answering(t *testing.T, directory func(page int) string, report string) *bamboohr.Source {
	return answeringBy(t, directory, func([]string) string { return report })
}

// answeringBy is answering with a report made for the ids asked for.
func answeringBy(t *testing.T, directory func(page int) string, report func(ids []string) string) *bamboohr.Source {
	t.Helper()
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/employees":
			fmt.Fprint(w, directory(int(pages.Add(1))))
		case "/api/v1/reports/custom":
			var req struct {
				Filters struct {
					EmployeeIDs []int `json:"employeeIds"`
				} `json:"filters"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			ids := make([]string, len(req.Filters.EmployeeIDs))
			for i, id := range req.Filters.EmployeeIDs {
				ids[i] = fmt.Sprint(id)
			}
			fmt.Fprint(w, report(ids))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "k", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

const fieldsMeta = `"fields":[{"id":"employeeNumber"},{"id":"workEmail"},{"id":"firstName"},{"id":"lastName"},
{"id":"status"},{"id":"employmentHistoryStatus"},{"id":"hireDate"},{"id":"terminationDate"},{"id":"jobTitle"},
{"id":"supervisorEId"},{"id":"department"},{"id":"division"},{"id":"location"},{"id":"lastChanged"}]`

func employee(id string) string {
	return `{"id":"` + id + `","employeeNumber":null,"workEmail":null,"firstName":"F","lastName":"L","status":"Active",
"employmentHistoryStatus":null,"hireDate":"0000-00-00","terminationDate":null,"jobTitle":null,"supervisorEId":null,
"department":null,"division":null,"location":null,"lastChanged":"2026-03-02T09:00:00+00:00"}`
}

func page(next string, ids ...string) string {
	data := make([]string, len(ids))
	for i, id := range ids {
		data[i] = `{"employeeId":"` + id + `"}`
	}
	cursor := "null"
	if next != "" {
		cursor = `"` + next + `"`
	}
	return `{"data":[` + strings.Join(data, ",") + `],"meta":{"page":{"nextCursor":` + cursor + `}}}`
}

// TestListRefusesWhatIsNotTheWholeList: a list ends with an error, never
// quietly short or long, when the directory or the report is not what the
// reference promises — and never runs on for ever.
func TestListRefusesWhatIsNotTheWholeList(t *testing.T) {
	for name, tc := range map[string]struct {
		directory func(int) string
		report    string // "" for a report of the employees asked for
		want      int    // people before the error; -1 for no error
	}{
		"the report leaves one out": {func(int) string { return page("", "1", "2") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `]}`, 1},
		"the report adds one": {func(int) string { return page("", "1") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `,` + employee("9") + `]}`, 1},
		"the report gives one twice": {func(int) string { return page("", "1", "2") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `,` + employee("1") + `]}`, 1},
		"the report lacks a field": {func(int) string { return page("", "1") },
			`{"title":"t","fields":[{"id":"firstName"}],"employees":[` + employee("1") + `]}`, 0},
		"the report is cut short": {func(int) string { return page("", "1", "2") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `,`, 1},
		"the directory lists one twice": {func(n int) string {
			if n == 1 {
				return page("c1", "1")
			}
			return page("", "1")
		}, `{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `]}`, 1},
		"the cursor leads back": {func(n int) string {
			return page("c"+fmt.Sprint(n%2), fmt.Sprint(n))
		}, "", 3},
		"an employee id that is not one": {func(int) string { return page("", "0") }, `{}`, 0},
		"a date that is not one": {func(int) string { return page("", "1") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + strings.Replace(employee("1"), `"0000-00-00"`, `"31/12/2025"`, 1) + `]}`, 0},
		"a field of the wrong type": {func(int) string { return page("", "1") },
			`{"title":"t",` + fieldsMeta + `,"employees":[` + strings.Replace(employee("1"), `"jobTitle":null`, `"jobTitle":{"name":"x"}`, 1) + `]}`, 0},
		// An empty page with a cursor still ends the directory.
		"empty pages with cursors": {func(n int) string {
			if n == 1 {
				return page("c1", "1")
			}
			return page(fmt.Sprint("c", n))
		}, `{"title":"t",` + fieldsMeta + `,"employees":[` + employee("1") + `]}`, -1},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			src := answering(t, tc.directory, tc.report)
			if tc.report == "" {
				src = answeringBy(t, tc.directory, func(ids []string) string {
					es := make([]string, len(ids))
					for i, id := range ids {
						es[i] = employee(id)
					}
					return `{"title":"t",` + fieldsMeta + `,"employees":[` + strings.Join(es, ",") + `]}`
				})
			}
			n := 0
			var err error
			for _, e := range src.List(ctx) {
				if e != nil {
					err = e
					break
				}
				if n++; n > 10 {
					t.Fatal("the list runs on")
				}
			}
			switch {
			case tc.want == -1 && err != nil:
				t.Errorf("error %v after %d people, want the list", err, n)
			case tc.want == -1:
			case err == nil:
				t.Errorf("%d people and no error", n)
			case tc.want >= 0 && n != tc.want:
				t.Errorf("%d people before %v, want %d", n, err, tc.want)
			}
		})
	}
}

// TestSlowBambooHR: a BambooHR that never answers holds a call no longer
// than its context.
func TestSlowBambooHR(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "k", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := src.Get(ctx, "1")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Get cancelled: %v", err)
	}
}
