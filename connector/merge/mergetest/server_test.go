package mergetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 3, 1, 9, 0, 0, 123456000, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T) (*Server, *clock) {
	t.Helper()
	c := newClock()
	s := NewServer(Config{Now: c.Now})
	t.Cleanup(s.Close)
	return s, c
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, s *Server, path string, q url.Values) resp {
	t.Helper()
	return getAs(t, s, path, q, "Bearer test-api-key", "test-account-token")
}

func getAs(t *testing.T, s *Server, path string, q url.Values, auth, account string) resp {
	t.Helper()
	u := s.URL + BasePath + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if account != "" {
		req.Header.Set("X-Account-Token", account)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{r.StatusCode, r.Header, b}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// strict decodes b into T, refusing fields T does not declare.
func strict[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("strict decode %s: %v", b, err)
	}
	return v
}

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return decode[map[string]any](t, b)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// docEmployee is the Employee object of the current reference
// (docs.merge.dev/hris/employees), typed as the OpenAPI types it.
type docEmployee struct {
	ID                string          `json:"id"`
	RemoteID          *string         `json:"remote_id"`
	CreatedAt         string          `json:"created_at"`
	ModifiedAt        string          `json:"modified_at"`
	EmployeeNumber    *string         `json:"employee_number"`
	Company           *string         `json:"company"`
	FirstName         *string         `json:"first_name"`
	LastName          *string         `json:"last_name"`
	PreferredName     *string         `json:"preferred_name"`
	DisplayFullName   *string         `json:"display_full_name"`
	Username          *string         `json:"username"`
	Groups            []string        `json:"groups"`
	WorkEmail         *string         `json:"work_email"`
	PersonalEmail     *string         `json:"personal_email"`
	MobilePhoneNumber *string         `json:"mobile_phone_number"`
	Employments       json.RawMessage `json:"employments"` // ids, or objects when expanded
	HomeLocation      json.RawMessage `json:"home_location"`
	WorkLocation      json.RawMessage `json:"work_location"`
	Manager           json.RawMessage `json:"manager"`
	Team              json.RawMessage `json:"team"`
	PayGroup          json.RawMessage `json:"pay_group"`
	SSN               *string         `json:"ssn"`
	Gender            *string         `json:"gender"`
	Ethnicity         *string         `json:"ethnicity"`
	MaritalStatus     *string         `json:"marital_status"`
	DateOfBirth       *string         `json:"date_of_birth"`
	HireDate          *string         `json:"hire_date"`
	StartDate         *string         `json:"start_date"`
	RemoteCreatedAt   *string         `json:"remote_created_at"`
	EmploymentStatus  *string         `json:"employment_status"`
	TerminationDate   *string         `json:"termination_date"`
	Avatar            *string         `json:"avatar"`
	CustomFields      map[string]any  `json:"custom_fields"`
	RemoteWasDeleted  bool            `json:"remote_was_deleted"`
	FieldMappings     *struct {
		OrganizationDefinedTargets  map[string]any `json:"organization_defined_targets"`
		LinkedAccountDefinedTargets map[string]any `json:"linked_account_defined_targets"`
	} `json:"field_mappings"`
	RemoteData []struct {
		Path string         `json:"path"`
		Data map[string]any `json:"data"`
	} `json:"remote_data"`
}

type page[T any] struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

func mustTime(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatal("nil time")
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEmployeeMatchesDocumentedExample(t *testing.T) {
	s, _ := newTestServer(t)
	start := time.Date(2020, 10, 11, 0, 0, 0, 0, time.UTC)
	team := s.PutTeam("Engineering")
	loc := s.PutLocation("NYC Office")
	boss := s.PutEmployee(Employee{RemoteID: "1", FirstName: "Logan", LastName: "Roy", EmploymentStatus: "ACTIVE"})
	e := s.PutEmployee(Employee{
		RemoteID: "19202938", EmployeeNumber: "2", FirstName: "Greg", LastName: "Hirsch",
		WorkEmail: "greg@merge.dev", PersonalEmail: "greg@gmail.com", EmploymentStatus: "INACTIVE",
		StartDate: &start, HireDate: &start, TerminationDate: &start,
		ManagerID: boss.ID, TeamID: team, WorkLocationID: loc,
		CustomFields:  map[string]any{"key": ""},
		FieldMappings: map[string]any{"custom_key": "custom_value"},
		JobTitle:      "Executive Assistant",
	})
	r := get(t, s, "/employees/"+e.ID, nil)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	got := decode[map[string]any](t, r.body)
	example := fixture(t, "openapi_employee_example.json")
	var extra, missing []string
	for _, k := range keys(got) {
		if _, ok := example[k]; !ok {
			extra = append(extra, k)
		}
	}
	for _, k := range keys(example) {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("keys of the documented example not served: %v", missing)
	}
	// The current reference adds these two to the 2023 example.
	if !slices.Equal(extra, []string{"created_at", "preferred_name"}) {
		t.Errorf("keys beyond the documented example: %v", extra)
	}
	// Each served value has the example's JSON type, or is null.
	for k, want := range example {
		v := got[k]
		if v == nil || k == "mobile_phone_number" {
			continue
		}
		if fmt.Sprintf("%T", v) != fmt.Sprintf("%T", want) {
			t.Errorf("%s: served %T, example %T", k, v, want)
		}
	}
	d := strict[docEmployee](t, r.body)
	if d.ID != e.ID || *d.RemoteID != "19202938" || *d.DisplayFullName != "Greg Hirsch" || *d.EmploymentStatus != "INACTIVE" {
		t.Errorf("served %+v", d)
	}
	// Date-times in the examples' form, "2020-10-11T00:00:00Z".
	if *d.StartDate != "2020-10-11T00:00:00Z" || *d.HireDate != "2020-10-11T00:00:00Z" {
		t.Errorf("start %q hire %q", *d.StartDate, *d.HireDate)
	}
	if string(d.Manager) != `"`+boss.ID+`"` || string(d.Team) != `"`+team+`"` || string(d.WorkLocation) != `"`+loc+`"` {
		t.Errorf("refs %s %s %s", d.Manager, d.Team, d.WorkLocation)
	}
	if d.RemoteData != nil {
		t.Errorf("remote_data without include_remote_data: %v", d.RemoteData)
	}
	if d.SSN != nil {
		t.Error("ssn served")
	}
}

func TestFieldMappingsAsDocumented(t *testing.T) {
	s, _ := newTestServer(t)
	e := s.PutEmployee(Employee{RemoteID: "1", FieldMappings: map[string]any{"custom_key": "custom_value"}})
	plain := s.PutEmployee(Employee{RemoteID: "2"})
	got := decode[map[string]any](t, get(t, s, "/employees/"+e.ID, nil).body)["field_mappings"]
	want := fixture(t, "openapi_employee_example.json")["field_mappings"].(map[string]any)
	want["linked_account_defined_targets"] = map[string]any{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("field_mappings %v, want %v", got, want)
	}
	if got := decode[map[string]any](t, get(t, s, "/employees/"+plain.ID, nil).body)["field_mappings"]; got != nil {
		t.Errorf("no mappings served as %v, want null (nullable)", got)
	}
	e.LinkedAccountFieldMappings = map[string]any{"la": 1.0}
	s.PutEmployee(e)
	fm := decode[map[string]any](t, get(t, s, "/employees/"+e.ID, nil).body)["field_mappings"].(map[string]any)
	if fmt.Sprint(fm["linked_account_defined_targets"]) != "map[la:1]" {
		t.Errorf("linked_account_defined_targets %v", fm)
	}
}

func TestOtherModelsMatchDocumentedExamples(t *testing.T) {
	s, _ := newTestServer(t)
	team := s.PutTeam("Engineering")
	loc := s.PutLocation("NYC Office")
	e := s.PutEmployee(Employee{RemoteID: "1", JobTitle: "Engineer"})
	job := decode[page[map[string]any]](t, get(t, s, "/employments", nil).body).Results[0]["id"].(string)
	for _, c := range []struct{ path, fixture string }{
		{"/employments/" + job, "openapi_employment_example.json"},
		{"/teams/" + team, "openapi_team_example.json"},
		{"/locations/" + loc, "openapi_location_example.json"},
	} {
		r := get(t, s, c.path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d", c.path, r.status)
		}
		got := decode[map[string]any](t, r.body)
		ex := fixture(t, c.fixture)
		var extra []string
		for _, k := range keys(got) {
			if _, ok := ex[k]; !ok {
				extra = append(extra, k)
			}
		}
		for _, k := range keys(ex) {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: example key %s not served", c.path, k)
			}
		}
		if !slices.Equal(extra, []string{"created_at"}) {
			t.Errorf("%s: extra keys %v", c.path, extra)
		}
	}
	emp := decode[map[string]any](t, get(t, s, "/employments/"+job, nil).body)
	if emp["employee"] != e.ID || emp["job_title"] != "Engineer" {
		t.Errorf("employment %v", emp)
	}
	if decode[map[string]any](t, get(t, s, "/locations/"+loc, nil).body)["name"] != "NYC Office" {
		t.Error("location name")
	}
}

func TestListEnvelopeMatchesDocumentedExample(t *testing.T) {
	s, _ := newTestServer(t)
	for _, path := range []string{"/employees", "/employments", "/teams", "/locations"} {
		got := decode[map[string]any](t, get(t, s, path, nil).body)
		want := fixture(t, "openapi_paginated_employee_list_example.json")
		if !slices.Equal(keys(got), keys(want)) {
			t.Errorf("%s: envelope keys %v, want %v", path, keys(got), keys(want))
		}
		if got["next"] != nil || got["previous"] != nil || fmt.Sprint(got["results"]) != "[]" {
			t.Errorf("%s: empty list %v", path, got)
		}
	}
}

// walk follows next from the first page and returns every page.
func walk(t *testing.T, s *Server, path string, q url.Values) []page[docEmployee] {
	t.Helper()
	var pages []page[docEmployee]
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	for range 1000 {
		r := get(t, s, path, q2)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		p := decode[page[docEmployee]](t, r.body)
		pages = append(pages, p)
		if p.Next == nil {
			return pages
		}
		q2.Set("cursor", *p.Next)
	}
	t.Fatal("walk did not end")
	return nil
}

func putN(s *Server, n int) []Employee {
	out := make([]Employee, n)
	for i := range n {
		out[i] = s.PutEmployee(Employee{RemoteID: fmt.Sprint(1000 + i), FirstName: fmt.Sprint("E", i), EmploymentStatus: "ACTIVE"})
	}
	return out
}

func idsOf(pages []page[docEmployee]) []string {
	var ids []string
	for _, p := range pages {
		for _, e := range p.Results {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func TestPagingWalksEveryoneOnce(t *testing.T) {
	s, _ := newTestServer(t)
	want := putN(s, 7)
	pages := walk(t, s, "/employees", url.Values{"page_size": {"3"}})
	if len(pages) != 3 || len(pages[2].Results) != 1 {
		t.Fatalf("pages %d", len(pages))
	}
	ids := idsOf(pages)
	if len(ids) != 7 {
		t.Fatalf("ids %v", ids)
	}
	for i, e := range want {
		if ids[i] != e.ID {
			t.Errorf("order: %d is %s, want %s", i, ids[i], e.ID)
		}
	}
	if pages[0].Previous != nil {
		t.Error("first page has previous")
	}
	// previous leads back to the page before.
	if pages[2].Previous == nil {
		t.Fatal("last page has no previous")
	}
	back := decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"page_size": {"3"}, "cursor": {*pages[2].Previous}}).body)
	if fmt.Sprint(idsOf([]page[docEmployee]{back})) != fmt.Sprint(ids[3:6]) {
		t.Errorf("previous page %v, want %v", idsOf([]page[docEmployee]{back}), ids[3:6])
	}
	if back.Next == nil || back.Previous == nil {
		t.Errorf("middle page reached backwards: next %v previous %v", back.Next, back.Previous)
	}
}

func TestPagingEmptyLastPage(t *testing.T) {
	s, _ := newTestServer(t)
	putN(s, 6)
	// By default a full page with nothing after it ends the walk.
	if pages := walk(t, s, "/employees", url.Values{"page_size": {"3"}}); len(pages) != 2 {
		t.Fatalf("default: %d pages", len(pages))
	}
	s.SetTrailingEmptyPage(true)
	pages := walk(t, s, "/employees", url.Values{"page_size": {"3"}})
	if len(pages) != 3 || len(pages[2].Results) != 0 || pages[2].Next != nil {
		t.Fatalf("pages %+v", pages)
	}
	if len(idsOf(pages)) != 6 {
		t.Errorf("ids %v", idsOf(pages))
	}
	raw := get(t, s, "/employees", url.Values{"page_size": {"3"}, "cursor": {*pages[1].Next}})
	if got := decode[map[string]any](t, raw.body); fmt.Sprint(got["results"]) != "[]" || got["next"] != nil {
		t.Errorf("empty page served as %s", raw.body)
	}
}

func TestPagingSurvivesChangesDuringWalk(t *testing.T) {
	s, c := newTestServer(t)
	all := putN(s, 6)
	q := url.Values{"page_size": {"2"}}
	first := decode[page[docEmployee]](t, get(t, s, "/employees", q).body)
	// Change one already seen and one not yet seen; add one.
	c.Advance(time.Minute)
	s.PutEmployee(all[0])
	s.PutEmployee(all[4])
	added := s.PutEmployee(Employee{RemoteID: "new"})
	q.Set("cursor", *first.Next)
	rest := walk(t, s, "/employees", q)
	ids := append(idsOf([]page[docEmployee]{first}), idsOf(rest)...)
	want := []string{all[0].ID, all[1].ID, all[2].ID, all[3].ID, all[4].ID, all[5].ID, added.ID}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("walk %v, want %v", ids, want)
	}
}

func TestPageSizeDefaultAndMaximum(t *testing.T) {
	s, _ := newTestServer(t)
	putN(s, 105)
	if n := len(decode[page[docEmployee]](t, get(t, s, "/employees", nil).body).Results); n != 30 {
		t.Errorf("default page size %d", n)
	}
	if n := len(decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"page_size": {"500"}}).body).Results); n != 100 {
		t.Errorf("page_size=500 gave %d, want the maximum 100", n)
	}
	if n := len(idsOf(walk(t, s, "/employees", url.Values{"page_size": {"100"}}))); n != 105 {
		t.Errorf("walk %d", n)
	}
}

func TestModifiedAfter(t *testing.T) {
	s, c := newTestServer(t)
	a := s.PutEmployee(Employee{RemoteID: "a"})
	s.PutEmployee(Employee{RemoteID: "b"})
	first := decode[page[docEmployee]](t, get(t, s, "/employees", nil).body)
	mark := first.Results[1].ModifiedAt // the newest modified_at seen
	c.Advance(time.Second)
	cc := s.PutEmployee(Employee{RemoteID: "c"})
	c.Advance(time.Second)
	a.FirstName = "Changed"
	s.PutEmployee(a)
	got := idsOf([]page[docEmployee]{decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"modified_after": {mark}}).body)})
	if fmt.Sprint(got) != fmt.Sprint([]string{a.ID, cc.ID}) {
		t.Errorf("modified_after %s: %v", mark, got)
	}
	// Strictly after: the served modified_at of a itself excludes a.
	am := decode[docEmployee](t, get(t, s, "/employees/"+a.ID, nil).body).ModifiedAt
	got = idsOf([]page[docEmployee]{decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"modified_after": {am}}).body)})
	if len(got) != 0 {
		t.Errorf("modified_after its own modified_at: %v", got)
	}
	// modified_before and created_after.
	got = idsOf([]page[docEmployee]{decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"modified_before": {am}}).body)})
	if len(got) != 2 {
		t.Errorf("modified_before: %v", got)
	}
	got = idsOf([]page[docEmployee]{decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"created_after": {mark}}).body)})
	if fmt.Sprint(got) != fmt.Sprint([]string{cc.ID}) {
		t.Errorf("created_after: %v", got)
	}
	// A bad date-time is a 400 naming the parameter.
	r := get(t, s, "/employees", url.Values{"modified_after": {"yesterday"}})
	if r.status != 400 || decode[map[string]any](t, r.body)["modified_after"] == nil {
		t.Errorf("bad modified_after: %d %s", r.status, r.body)
	}
	// The naive form the syncing guide shows is accepted.
	if r := get(t, s, "/employees", url.Values{"modified_after": {"2021-03-30T20:44:18"}}); r.status != 200 {
		t.Errorf("naive modified_after: %d", r.status)
	}
}

func TestModifiedAfterOtherModels(t *testing.T) {
	s, c := newTestServer(t)
	e := s.PutEmployee(Employee{RemoteID: "a", JobTitle: "Engineer"})
	s.PutTeam("T")
	s.PutLocation("L")
	mark := formatTime(c.Now())
	c.Advance(time.Second)
	s.PutEmployee(e) // same title: the employment is unchanged
	for _, p := range []string{"/employments", "/teams", "/locations"} {
		if n := len(decode[page[map[string]any]](t, get(t, s, p, url.Values{"modified_after": {mark}}).body).Results); n != 0 {
			t.Errorf("%s: %d after mark", p, n)
		}
	}
	e.JobTitle = "Manager"
	s.PutEmployee(e)
	got := decode[page[map[string]any]](t, get(t, s, "/employments", url.Values{"modified_after": {mark}}).body).Results
	if len(got) != 1 || got[0]["job_title"] != "Manager" {
		t.Errorf("employments after title change: %v", got)
	}
	if n := len(decode[page[map[string]any]](t, get(t, s, "/teams", nil).body).Results); n != 1 {
		t.Errorf("teams %d", n)
	}
}

func TestCursorExpiry(t *testing.T) {
	s, _ := newTestServer(t)
	putN(s, 5)
	q := url.Values{"page_size": {"2"}}
	p := decode[page[docEmployee]](t, get(t, s, "/employees", q).body)
	s.ExpireCursors()
	q.Set("cursor", *p.Next)
	r := get(t, s, "/employees", q)
	if r.status != 404 || decode[map[string]string](t, r.body)["detail"] != "Invalid cursor" {
		t.Errorf("expired cursor: %d %s", r.status, r.body)
	}
	q.Set("cursor", "not-a-cursor")
	if r := get(t, s, "/employees", q); r.status != 404 {
		t.Errorf("garbage cursor: %d", r.status)
	}
	// A new walk works and hands out cursors that are accepted.
	if n := len(idsOf(walk(t, s, "/employees", url.Values{"page_size": {"2"}}))); n != 5 {
		t.Errorf("walk after expiry: %d", n)
	}
}

func TestAuth(t *testing.T) {
	s, _ := newTestServer(t)
	for _, c := range []struct{ name, auth, account string }{
		{"no authorization", "", "test-account-token"},
		{"wrong key", "Bearer nope", "test-account-token"},
		{"no Bearer prefix", "test-api-key", "test-account-token"},
		{"no account token", "Bearer test-api-key", ""},
		{"wrong account token", "Bearer test-api-key", "other"},
	} {
		for _, p := range []string{"/employees", "/employees/x", "/employments", "/teams", "/locations/x"} {
			r := getAs(t, s, p, nil, c.auth, c.account)
			if r.status != 401 {
				t.Errorf("%s %s: %d", c.name, p, r.status)
			}
			if d := decode[map[string]string](t, r.body)["detail"]; d == "" {
				t.Errorf("%s: body %s", c.name, r.body)
			}
		}
	}
	if r := get(t, s, "/employees", nil); r.status != 200 {
		t.Errorf("good credentials: %d", r.status)
	}
	s2 := NewServer(Config{APIKey: "k", AccountToken: "a"})
	defer s2.Close()
	if r := getAs(t, s2, "/teams", nil, "Bearer k", "a"); r.status != 200 {
		t.Errorf("configured credentials: %d", r.status)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newTestServer(t)
	e := s.PutEmployee(Employee{RemoteID: "1"})
	for _, p := range []string{"/employees/nope", "/employments/nope", "/teams/nope", "/locations/nope", "/nothing"} {
		r := get(t, s, p, nil)
		if r.status != 404 || decode[map[string]string](t, r.body)["detail"] != "Not found." {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	s.DeleteEmployee("1")
	if r := get(t, s, "/employees/"+e.ID, nil); r.status != 404 {
		t.Errorf("deleted employee by id: %d", r.status)
	}
}

func TestRateLimitFault(t *testing.T) {
	s, _ := newTestServer(t)
	s.Inject(Fault{Method: "GET", Path: "/employees", Status: 429, RetryAfter: "7", Times: 2})
	for range 2 {
		r := get(t, s, "/employees", nil)
		if r.status != 429 || r.header.Get("Retry-After") != "7" {
			t.Fatalf("%d %v", r.status, r.header)
		}
		if d := decode[map[string]string](t, r.body)["detail"]; d != "Request was throttled. Expected available in 7 seconds." {
			t.Errorf("body %s", r.body)
		}
	}
	if r := get(t, s, "/employees", nil); r.status != 200 {
		t.Errorf("after the fault: %d", r.status)
	}
	// Path prefixes: a fault on /teams leaves /employees alone.
	s.Inject(Fault{Path: "/teams", Status: 503})
	if r := get(t, s, "/employees", nil); r.status != 200 {
		t.Errorf("unmatched: %d", r.status)
	}
	if r := get(t, s, "/teams/x", nil); r.status != 503 {
		t.Errorf("matched: %d", r.status)
	}
	// Times < 0: until Close.
	s.Inject(Fault{Path: "/locations", Status: 500, Times: -1})
	for range 3 {
		if r := get(t, s, "/locations", nil); r.status != 500 {
			t.Errorf("sticky fault: %d", r.status)
		}
	}
}

func TestMalformedFault(t *testing.T) {
	s, _ := newTestServer(t)
	s.Inject(Fault{Path: "/employees", Malformed: true})
	r := get(t, s, "/employees", nil)
	if r.status != 200 || json.Valid(r.body) {
		t.Errorf("malformed: %d %s", r.status, r.body)
	}
	if r := get(t, s, "/employees", nil); !json.Valid(r.body) {
		t.Error("fault outlived Times")
	}
}

func TestExpand(t *testing.T) {
	s, _ := newTestServer(t)
	team := s.PutTeam("Engineering")
	loc := s.PutLocation("HQ")
	boss := s.PutEmployee(Employee{RemoteID: "1", FirstName: "Boss", JobTitle: "CEO"})
	e := s.PutEmployee(Employee{RemoteID: "2", ManagerID: boss.ID, TeamID: team, WorkLocationID: loc, JobTitle: "Engineer"})
	q := url.Values{"expand": {"employments,manager,team,work_location"}}
	for _, body := range [][]byte{
		get(t, s, "/employees/"+e.ID, q).body,
		func() []byte {
			p := decode[page[json.RawMessage]](t, get(t, s, "/employees", url.Values{"expand": q["expand"], "remote_id": {"2"}}).body)
			return p.Results[0]
		}(),
	} {
		d := strict[docEmployee](t, body)
		var jobs []map[string]any
		var mgr docEmployee
		var tm, wl map[string]any
		for _, x := range []struct {
			raw json.RawMessage
			v   any
		}{{d.Employments, &jobs}, {d.Manager, &mgr}, {d.Team, &tm}, {d.WorkLocation, &wl}} {
			if err := json.Unmarshal(x.raw, x.v); err != nil {
				t.Fatalf("%s: %v", x.raw, err)
			}
		}
		if len(jobs) != 1 || jobs[0]["job_title"] != "Engineer" || jobs[0]["employee"] != e.ID {
			t.Errorf("employments %v", jobs)
		}
		if mgr.ID != boss.ID || *mgr.FirstName != "Boss" {
			t.Errorf("manager %+v", mgr)
		}
		if tm["name"] != "Engineering" || wl["name"] != "HQ" {
			t.Errorf("team %v location %v", tm, wl)
		}
	}
	// Employments expand their employee.
	p := decode[page[map[string]any]](t, get(t, s, "/employments", url.Values{"expand": {"employee"}, "employee_id": {e.ID}}).body)
	if len(p.Results) != 1 || p.Results[0]["employee"].(map[string]any)["id"] != e.ID {
		t.Errorf("employment expand: %v", p.Results)
	}
}

func TestFilters(t *testing.T) {
	s, _ := newTestServer(t)
	a := s.PutEmployee(Employee{RemoteID: "a", EmploymentStatus: "ACTIVE"})
	b := s.PutEmployee(Employee{RemoteID: "b", EmploymentStatus: "INACTIVE"})
	c := s.PutEmployee(Employee{RemoteID: "c", EmploymentStatus: "ACTIVE"})
	s.DeleteEmployee("c")
	ids := func(q url.Values) string {
		return fmt.Sprint(idsOf([]page[docEmployee]{decode[page[docEmployee]](t, get(t, s, "/employees", q).body)}))
	}
	if got := ids(nil); got != fmt.Sprint([]string{a.ID, b.ID}) {
		t.Errorf("default hides deleted: %s", got)
	}
	if got := ids(url.Values{"include_deleted_data": {"true"}}); got != fmt.Sprint([]string{a.ID, b.ID, c.ID}) {
		t.Errorf("include_deleted_data: %s", got)
	}
	p := decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"include_deleted_data": {"true"}, "remote_id": {"c"}}).body)
	if len(p.Results) != 1 || !p.Results[0].RemoteWasDeleted {
		t.Errorf("deleted served as %+v", p.Results)
	}
	if got := ids(url.Values{"remote_id": {"b"}}); got != fmt.Sprint([]string{b.ID}) {
		t.Errorf("remote_id: %s", got)
	}
	if got := ids(url.Values{"employment_status": {"ACTIVE"}}); got != fmt.Sprint([]string{a.ID}) {
		t.Errorf("employment_status: %s", got)
	}
	if r := get(t, s, "/employees", url.Values{"employment_status": {"FIRED"}}); r.status != 400 {
		t.Errorf("bad employment_status: %d", r.status)
	}
	if r := get(t, s, "/employees", url.Values{"include_deleted_data": {"maybe"}}); r.status != 400 {
		t.Errorf("bad boolean: %d", r.status)
	}
	// include_remote_data adds remote_data in the documented shape.
	p = decode[page[docEmployee]](t, get(t, s, "/employees", url.Values{"include_remote_data": {"true"}, "remote_id": {"a"}}).body)
	if len(p.Results[0].RemoteData) != 1 || p.Results[0].RemoteData[0].Path == "" {
		t.Errorf("remote_data %+v", p.Results[0].RemoteData)
	}
	// The deleted employee's employment goes with it.
	if n := len(decode[page[map[string]any]](t, get(t, s, "/employments", nil).body).Results); n != 2 {
		t.Errorf("employments %d", n)
	}
}

func TestControlAPI(t *testing.T) {
	s, c := newTestServer(t)
	start := time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC)
	e := s.PutEmployee(Employee{RemoteID: "r1", FirstName: "A", StartDate: &start, CustomFields: map[string]any{"k": "v"}})
	if e.ID == "" {
		t.Fatal("no id assigned")
	}
	start = start.AddDate(1, 0, 0) // the caller's copy is not the store's
	got, ok := s.Employee("r1")
	if !ok || got.ID != e.ID || !got.StartDate.Equal(time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Employee %+v %v", got, ok)
	}
	got.CustomFields["k"] = "changed"
	if again, _ := s.Employee("r1"); again.CustomFields["k"] != "v" {
		t.Error("Employee shares its map with the store")
	}
	c.Advance(time.Hour)
	e2 := s.PutEmployee(Employee{RemoteID: "r1", FirstName: "B"})
	if e2.ID != e.ID {
		t.Errorf("replace changed the id: %s %s", e2.ID, e.ID)
	}
	d := decode[docEmployee](t, get(t, s, "/employees/"+e.ID, nil).body)
	if *d.FirstName != "B" || !mustTime(t, &d.ModifiedAt).Equal(c.Now().Truncate(time.Microsecond)) {
		t.Errorf("after replace %+v", d)
	}
	if !mustTime(t, d.RemoteCreatedAt).Equal(newClock().Now()) || !mustTime(t, &d.CreatedAt).Equal(newClock().Now()) {
		t.Errorf("created stamps moved: %s %s", *d.RemoteCreatedAt, d.CreatedAt)
	}
	if _, ok := s.Employee("nope"); ok {
		t.Error("unknown employee found")
	}
	if s.PutTeam("X") != s.PutTeam("X") || s.PutLocation("Y") != s.PutLocation("Y") {
		t.Error("Put by name is not idempotent")
	}
	s.ResetRequests()
	get(t, s, "/teams", url.Values{"page_size": {"5"}})
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != BasePath+"/teams" || reqs[0].Query.Get("page_size") != "5" || reqs[0].Status != 200 {
		t.Errorf("requests %+v", reqs)
	}
	if r := func() int {
		req, _ := http.NewRequest(http.MethodPost, s.URL+BasePath+"/employees", nil)
		req.Header.Set("Authorization", "Bearer test-api-key")
		req.Header.Set("X-Account-Token", "test-account-token")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}(); r != 405 {
		t.Errorf("POST: %d", r)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _ := newTestServer(t)
	s.AddWebhook(Webhook{URL: "http://127.0.0.1:1/none", Key: []byte("k")})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 20 {
				s.PutEmployee(Employee{RemoteID: fmt.Sprint(i, "-", j)})
				s.CompleteSync()
				_ = s.Pending()
			}
		}()
		go func() {
			defer wg.Done()
			for range 10 {
				req, _ := http.NewRequest(http.MethodGet, s.URL+BasePath+"/employees?expand=manager", nil)
				req.Header.Set("Authorization", "Bearer test-api-key")
				req.Header.Set("X-Account-Token", "test-account-token")
				if r, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
				_ = s.Requests()
			}
		}()
	}
	wg.Wait()
	if n := len(idsOf(walk(t, s, "/employees", url.Values{"page_size": {"100"}}))); n != 160 {
		t.Errorf("employees %d", n)
	}
}

func TestFaultWithoutStatus(t *testing.T) {
	s, _ := newTestServer(t)
	s.Inject(Fault{})
	if r := get(t, s, "/employees", nil); r.status != 500 || !json.Valid(r.body) {
		t.Errorf("%d %s", r.status, r.body)
	}
}
