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
	"time"

	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/retry"
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

// page is a directory page of ids, leading to next ("" for none), the
// directory counting total.
func pageOf(next string, total int, ids ...string) string {
	data := make([]string, len(ids))
	for i, id := range ids {
		data[i] = `{"employeeId":"` + id + `"}`
	}
	cursor := "null"
	if next != "" {
		cursor = `"` + next + `"`
	}
	return `{"data":[` + strings.Join(data, ",") + `],"meta":{"total":` + fmt.Sprint(total) + `,"page":{"nextCursor":` + cursor + `}}}`
}

// page is pageOf counting no more than it lists.
func page(next string, ids ...string) string { return pageOf(next, 0, ids...) }

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
		// An empty page may lead on, to more people (theirs hidden from
		// the key), but not for ever.
		"an empty page leading on": {func(n int) string {
			switch n {
			case 1:
				return pageOf("c1", 3, "1", "2")
			case 2:
				return pageOf("c2", 3)
			}
			return pageOf("", 3, "3")
		}, "", -1},
		"empty pages for ever": {func(n int) string {
			if n == 1 {
				return page("c1", "1")
			}
			return page(fmt.Sprint("c", n))
		}, "", 1},
		"fewer listed than counted": {func(int) string { return pageOf("", 1200) }, "", 0},
		"fewer listed than counted, later": {func(n int) string {
			if n == 1 {
				return pageOf("c1", 5, "1")
			}
			return pageOf("", 5, "2")
		}, "", 2},
		"a page with no meta":     {func(int) string { return `{"data":[{"employeeId":"1"}]}` }, "", 0},
		"a page and then another": {func(int) string { return page("", "1") + page("", "2") }, "", 0},
		"a page naming a field twice": {func(int) string {
			return `{"data":[{"employeeId":"1"}],"data":[],"meta":{"total":0,"page":{"nextCursor":null}}}`
		}, "", 0},
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
			incomplete := strings.HasPrefix(name, "fewer") || name == "the report leaves one out"
			if err != nil && errors.Is(err, bamboohr.ErrIncomplete) != incomplete {
				t.Errorf("%v: want ErrIncomplete %v", err, incomplete)
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

// TestRecordsOfTheWrongShape: a record whose status is not Active or
// Inactive, whose field is not a string, or that names a field twice, ends
// the list: it decides who has access, and a guess could give it.
func TestRecordsOfTheWrongShape(t *testing.T) {
	for name, record := range map[string]string{
		"status null":         strings.Replace(employee("1"), `"status":"Active"`, `"status":null`, 1),
		"status empty":        strings.Replace(employee("1"), `"status":"Active"`, `"status":""`, 1),
		"status Suspended":    strings.Replace(employee("1"), `"status":"Active"`, `"status":"Suspended"`, 1),
		"status a number":     strings.Replace(employee("1"), `"status":"Active"`, `"status":1`, 1),
		"history a number":    strings.Replace(employee("1"), `"employmentHistoryStatus":null`, `"employmentHistoryStatus":3`, 1),
		"status given twice":  strings.Replace(employee("1"), `"status":"Active"`, `"status":"Active","status":"Inactive"`, 1),
		"a year 0 date":       strings.Replace(employee("1"), `"hireDate":"0000-00-00"`, `"hireDate":"0000-01-01"`, 1),
		"a time with no zone": strings.Replace(employee("1"), `"2026-03-02T09:00:00+00:00"`, `"2026-03-02 09:00:00"`, 1),
		"not UTF-8":           strings.Replace(employee("1"), `"firstName":"F"`, "\"firstName\":\"\xff\"", 1),
	} {
		t.Run(name, func(t *testing.T) {
			src := answering(t, func(int) string { return page("", "1") }, `{"title":"t",`+fieldsMeta+`,"employees":[`+record+`]}`)
			got, err := collect(src.List(t.Context()))
			if !errors.Is(err, bamboohr.ErrMalformed) || len(got) != 0 {
				t.Errorf("%d people, %v; want ErrMalformed and nobody", len(got), err)
			}
		})
	}
}

// TestChangeFeedOfTheWrongShape: a feed that is not the documented one is
// an error, never "nothing changed"; and the feed's own time decides who
// changed, not the record read after it.
func TestChangeFeedOfTheWrongShape(t *testing.T) {
	since := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	serve := func(t *testing.T, feed string) *bamboohr.Source {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/employees/changed":
				fmt.Fprint(w, feed)
			case "/api/v1/reports/custom":
				// A report lagging the feed: the record is older than since.
				fmt.Fprint(w, `{"title":"t",`+fieldsMeta+`,"employees":[`+strings.Replace(employee("1"), "09:00:00", "08:00:00", 1)+`]}`)
			}
		}))
		t.Cleanup(srv.Close)
		src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "k", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	for name, feed := range map[string]string{
		"no employees":       `{"latest":null}`,
		"employees null":     `{"latest":null,"employees":null}`,
		"a key naming other": `{"employees":{"1":{"id":"2","action":"Updated","lastChanged":"2026-03-02T09:00:00+00:00"}}}`,
		"an id given twice":  `{"employees":{"1":{"id":"1","action":"Updated"},"1":{"id":"1","action":"Deleted"}}}`,
		"a bad time":         `{"employees":{"1":{"id":"1","action":"Updated","lastChanged":"soon"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := collect(serve(t, feed).ChangedSince(t.Context(), since))
			if !errors.Is(err, bamboohr.ErrMalformed) {
				t.Errorf("%d people, %v; want ErrMalformed", len(got), err)
			}
		})
	}
	t.Run("a report lagging the feed", func(t *testing.T) {
		got, err := collect(serve(t, `{"latest":"2026-03-02T09:00:00+00:00","employees":{"1":{"id":"1","action":"Updated","lastChanged":"2026-03-02T09:00:00+00:00"}}}`).ChangedSince(t.Context(), since))
		if err != nil || len(got) != 1 {
			t.Errorf("%d people, %v; want the person the feed names, their record as read", len(got), err)
		}
	})
	t.Run("the second before since", func(t *testing.T) {
		got, err := collect(serve(t, `{"latest":"2026-03-02T08:59:59+00:00","employees":{"1":{"id":"1","action":"Updated","lastChanged":"2026-03-02T08:59:59+00:00"}}}`).ChangedSince(t.Context(), since))
		if err != nil || len(got) != 0 {
			t.Errorf("%d people, %v; want none: asked from the second before, the feed's answer for it is not the window's", len(got), err)
		}
	})
}

// TestAnswerCutByTheCaller: an answer cut off by the caller's context is
// the context's error, not a malformed answer.
func TestAnswerCutByTheCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"1","firstName":`)
		w.(http.Flusher).Flush()
		cancel()
		<-r.Context().Done()
	}))
	defer srv.Close()
	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "k", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Get(ctx, "1"); !errors.Is(err, context.Canceled) || errors.Is(err, bamboohr.ErrMalformed) {
		t.Errorf("Get cut off by its caller: %v; want context.Canceled, not ErrMalformed", err)
	}
}

// TestRetryAfterIsBounded: a Retry-After past a day is taken as a day.
func TestRetryAfterIsBounded(t *testing.T) {
	for _, v := range []string{"9223372036854775807", "86401", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", v)
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "k", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Get(t.Context(), "1")
		if d, ok := retry.After(err); !ok || d != 24*time.Hour {
			t.Errorf("Retry-After %s: %v, %v; want a day", v, d, err)
		}
		srv.Close()
	}
}
