package status_test

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/status"
)

// get fetches path from srv, returning the status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

var camelCase = regexp.MustCompile(`^[a-z][a-z0-9]*([A-Z][a-z0-9]+)*$`)

// durationWords are what a key naming a duration says; such a key must be
// in seconds, and say so.
var durationWords = regexp.MustCompile(`(?i)duration|took|elapsed|latency|lag|delay|wait|timeout|^p\d+|^max|^min`)

// dataMaps hold names as keys (a platform's field names, a trigger's), not
// keys of ours: their keys are not checked, their values are.
var dataMaps = map[string]bool{"fields": true, "byField": true, "byKind": true, "lag": true}

// checkKeys walks v, reporting every key that is not camelCase and every
// number whose key names a duration without being in seconds.
func checkKeys(t *testing.T, doc string, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if !dataMaps[lastKey(path)] {
				if !camelCase.MatchString(k) {
					t.Errorf("%s: key %s.%s is not camelCase", doc, path, k)
				}
				if _, num := child.(float64); num && durationWords.MatchString(k) && !strings.HasSuffix(k, "Seconds") {
					t.Errorf("%s: %s.%s is a duration not in seconds", doc, path, k)
				}
			}
			checkKeys(t, doc, path+"."+k, child)
		}
	case []any:
		for _, child := range v {
			checkKeys(t, doc, path+"[]", child)
		}
	}
}

func lastKey(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

// checkTypes walks a JSON document type's fields, reporting any tag that is
// not camelCase and any time.Duration (nanoseconds in JSON): it covers the
// fields the served documents leave out when empty.
func checkTypes(t *testing.T, typ reflect.Type, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || seen[typ] || typ == reflect.TypeFor[time.Time]() {
		return
	}
	seen[typ] = true
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" || !camelCase.MatchString(name) {
			t.Errorf("%s.%s: JSON key %q is not camelCase", typ.Name(), f.Name, name)
		}
		if f.Type == reflect.TypeFor[time.Duration]() {
			t.Errorf("%s.%s: a time.Duration is nanoseconds in JSON; give seconds", typ.Name(), f.Name)
		}
		checkTypes(t, f.Type, seen)
	}
}

// Every key of status.json, person.json and plan.json is camelCase, and
// every duration is in seconds (named so): the documents as served, and
// their types for the fields left out when empty. The runs' and the lag's
// seconds are the engine's durations.
func TestJSONKeysAreCamelCaseAndDurationsSeconds(t *testing.T) {
	eng, _ := scene(t)
	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()

	for _, path := range []string{"/status.json", "/person.json?id=w-0001", "/person.json?id=w-0004", "/person.json?id=w-0002", "/plan.json"} {
		code, body := get(t, srv, path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		checkKeys(t, path, "", v)
	}
	seen := map[reflect.Type]bool{}
	for _, v := range []any{status.Document{}, status.Person{}, status.Plan{}} {
		checkTypes(t, reflect.TypeOf(v), seen)
	}

	_, body := get(t, srv, "/status.json")
	var doc struct {
		Runs []struct {
			DurationSeconds *float64 `json:"durationSeconds"`
		} `json:"runs"`
		Lag map[string]struct {
			P50Seconds *float64 `json:"p50Seconds"`
			MaxSeconds *float64 `json:"maxSeconds"`
		} `json:"lag"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	runs := eng.Recent()
	if len(doc.Runs) != len(runs) || len(runs) == 0 {
		t.Fatalf("%d runs in status.json, the engine ran %d", len(doc.Runs), len(runs))
	}
	for i, r := range doc.Runs {
		if r.DurationSeconds == nil || math.Abs(*r.DurationSeconds-runs[i].Took.Seconds()) > 1e-9 {
			t.Errorf("run %d: durationSeconds %v, the engine's %v", i, r.DurationSeconds, runs[i].Took)
		}
	}
	lag := eng.Stats().Triggers["batch"].Latency
	if got := doc.Lag["batch"]; got.P50Seconds == nil || got.MaxSeconds == nil ||
		math.Abs(*got.P50Seconds-lag.P50.Seconds()) > 1e-9 || math.Abs(*got.MaxSeconds-lag.Max.Seconds()) > 1e-9 {
		t.Errorf("batch lag %+v, the engine's p50 %v max %v", got, lag.P50, lag.Max)
	}
}

// The person view answers with Explain (values shown there, and not on the
// main page); an unknown id is 404. The plan lists each person's write and
// the deletion limit's verdict. Poll now and Batch now run the poll and the
// batch, and only with the page's token from the page's own origin.
func TestPersonPlanAndRunNow(t *testing.T) {
	eng, _ := scene(t)
	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()

	code, body := get(t, srv, "/person.json?id=w-0001")
	var p status.Person
	if err := json.Unmarshal(body, &p); err != nil || code != http.StatusOK {
		t.Fatalf("person.json: %d %v", code, err)
	}
	role := -1
	for i, f := range p.Applied {
		if f.Field == "role" {
			role = i
		}
	}
	if role < 0 || p.Applied[role].Value != "Engineer" || p.Desired == nil || p.Desired.Fields["role"] != "Lead" ||
		p.Attempts == nil || !p.Attempts.Dead || p.Next.Kind != "update" || len(p.Next.Changes) != 1 || p.Next.Changes[0].New != "Lead" {
		t.Errorf("person w-0001: %+v", p)
	}
	if _, page := get(t, srv, "/person?id=w-0001"); !strings.Contains(string(page), "w-0001@example.com") {
		t.Error("the person page does not show the person's values")
	}
	if _, page := get(t, srv, "/"); strings.Contains(string(page), "@example.com") || strings.Contains(string(page), "Engineer") {
		t.Error("the main page shows a person's values")
	}
	_, body = get(t, srv, "/person.json?id=w-0004")
	if err := json.Unmarshal(body, &p); err != nil || len(p.Holds) != 1 || !strings.HasPrefix(p.Holds[0].ID, "batch-") {
		t.Errorf("a leaver of the held batch: holds %+v (%v)", p.Holds, err)
	}
	for _, path := range []string{"/person.json?id=w-9999", "/person?id=w-9999"} {
		if code, _ := get(t, srv, path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}

	code, body = get(t, srv, "/plan.json")
	var plan status.Plan
	if err := json.Unmarshal(body, &plan); err != nil || code != http.StatusOK {
		t.Fatalf("plan.json: %d %v", code, err)
	}
	if !plan.Held || len(plan.Leavers) != 2 || plan.Allowed != 1 || !strings.HasPrefix(plan.Verdict, "held") ||
		len(plan.Writes) != 1 || plan.Writes[0].ID != "w-0001" || plan.Writes[0].Kind != "update" || plan.Writes[0].Fields[0] != "role" {
		t.Errorf("plan: %+v", plan)
	}

	_, page := get(t, srv, "/")
	_, token, ok := strings.Cut(string(page), `name="token" value="`)
	if !ok {
		t.Fatal("no token in the page")
	}
	token = token[:strings.IndexByte(token, '"')]
	post := func(path string, form url.Values, site string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/poll", "/batch"} {
		runs := len(eng.Recent())
		if code := post(path, url.Values{}, "same-origin"); code != http.StatusForbidden {
			t.Errorf("%s without the token: %d, want 403", path, code)
		}
		if code := post(path, url.Values{"token": {token}}, "cross-site"); code != http.StatusForbidden {
			t.Errorf("%s from another site: %d, want 403", path, code)
		}
		if n := len(eng.Recent()); n != runs {
			t.Fatalf("a refused %s ran: %d runs, were %d", path, n, runs)
		}
		if code := post(path, url.Values{"token": {token}}, "same-origin"); code != http.StatusSeeOther {
			t.Errorf("%s with the page's token: %d, want 303", path, code)
		}
		if got := eng.Recent(); len(got) != runs+1 || "/"+got[0].Name != path {
			t.Errorf("after %s the last run is %+v", path, got[0])
		}
	}
}
