package bamboohrtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 2, 18, 15, 30, 0, 0, time.UTC)} }

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

func newFake(t *testing.T, cfg Config) (*Server, *clock) {
	t.Helper()
	c := newClock()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s, c
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, s *Server, method, rawURL, key string, hdr map[string]string, body []byte) resp {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "x")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := s.Client().Do(req)
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

func get(t *testing.T, s *Server, pathAndQuery string) resp {
	t.Helper()
	return do(t, s, http.MethodGet, s.APIBase()+pathAndQuery, "test-api-key", nil, nil)
}

// decodeStrict decodes b into v, failing on fields v does not declare.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------- changed ids

// changedIDs is the shape of the Get Changed Employee IDs sample
// (testdata/changed_ids_sample.json).
type changedIDs struct {
	Latest    *string `json:"latest"`
	Employees map[string]struct {
		ID          string `json:"id"`
		Action      string `json:"action"`
		LastChanged string `json:"lastChanged"`
	} `json:"employees"`
}

func TestChangedIDsMatchSample(t *testing.T) {
	var sample changedIDs
	decodeStrict(t, readTestdata(t, "changed_ids_sample.json"), &sample)
	if *sample.Latest != "2011-06-02T19:26:23+00:00" || sample.Employees["5"].Action != "Deleted" {
		t.Fatalf("sample decoded wrong: %+v", sample)
	}

	s, c := newFake(t, Config{})
	t0 := c.Now()
	a := s.Add(map[string]string{"firstName": "Ava"})
	b := s.Add(map[string]string{"firstName": "Sam"})
	d := s.Add(map[string]string{"firstName": "Del"})
	c.Advance(time.Hour)
	s.Update(b, map[string]string{"lastName": "Park"})
	s.Delete(d)

	r := get(t, s, "/employees/changed?since="+url.QueryEscape(t0.Format(time.RFC3339)))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	var got changedIDs
	decodeStrict(t, r.body, &got)
	want := map[string]string{a: "Inserted", b: "Updated", d: "Deleted"}
	if len(got.Employees) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for id, action := range want {
		e := got.Employees[id]
		if e.ID != id || e.Action != action {
			t.Errorf("employee %s: %+v, want action %s", id, e, action)
		}
		// same rendering as the sample: 2011-06-02T19:26:23+00:00
		if _, err := time.Parse("2006-01-02T15:04:05-07:00", e.LastChanged); err != nil || !strings.HasSuffix(e.LastChanged, "+00:00") {
			t.Errorf("lastChanged %q not in the sample's format", e.LastChanged)
		}
	}
	if *got.Latest != t0.Add(time.Hour).Format("2006-01-02T15:04:05-07:00") {
		t.Errorf("latest %q", *got.Latest)
	}

	// type filter
	r = get(t, s, "/employees/changed?type=deleted&since="+url.QueryEscape(t0.Format(time.RFC3339)))
	var del changedIDs
	decodeStrict(t, r.body, &del)
	if len(del.Employees) != 1 || del.Employees[d].Action != "Deleted" {
		t.Errorf("type=deleted: %s", r.body)
	}
	// since after the first inserts: only the later changes
	r = get(t, s, "/employees/changed?since="+url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)))
	var later changedIDs
	decodeStrict(t, r.body, &later)
	if len(later.Employees) != 2 {
		t.Errorf("later: %s", r.body)
	}
}

func TestChangedIDsSinceFormats(t *testing.T) {
	s, _ := newFake(t, Config{})
	s.Add(map[string]string{"firstName": "Ava"})
	// The five formats of the Get Changed Employee IDs page; '+' sent as %2B.
	for _, since := range []string{
		"2011-07-04T13:05:00-07:00",
		"2011-07-04T13:05:00%2B02:00",
		"2011-07-04T13:05:00%2B0200",
		"2011-07-04T13:05:00-0700",
		"2011-07-04T13:05:00Z",
	} {
		if r := get(t, s, "/employees/changed?since="+since); r.status != 200 {
			t.Errorf("since=%s: %d", since, r.status)
		}
	}
	for _, q := range []string{
		"since=2011-07-04T13:05:00+02:00", // bare '+' arrives as a space
		"since=2011-07-04",
		"since=yesterday",
		"",
		"since=2011-07-04T13:05:00Z&type=moved",
	} {
		r := get(t, s, "/employees/changed?"+q)
		if r.status != 400 {
			t.Errorf("%s: %d, want 400", q, r.status)
		}
		if r.header.Get("X-BambooHR-Error-Message") == "" {
			t.Errorf("%s: no X-BambooHR-Error-Message", q)
		}
	}
}

// ---------------------------------------------------------------- list employees

// employeeList is the shape of the List Employees examples
// (testdata/list_employees_*.json).
type employeeList struct {
	Data []map[string]any `json:"data"`
	Meta struct {
		Total int `json:"total"`
		Page  struct {
			Limit      *int    `json:"limit"`
			NextCursor *string `json:"nextCursor"`
			PrevCursor *string `json:"prevCursor"`
		} `json:"page"`
	} `json:"meta"`
	Links map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
}

func baseKeys(rec map[string]any) []string {
	var k []string
	for key := range rec {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func TestListEmployeesMatchesExamplesAndPages(t *testing.T) {
	var ex employeeList
	decodeStrict(t, readTestdata(t, "list_employees_basic.json"), &ex)
	exKeys := baseKeys(ex.Data[0])

	s, _ := newFake(t, Config{})
	var ids []string
	for i := 0; i < 6; i++ {
		f := map[string]string{"firstName": fmt.Sprint("F", i), "lastName": "L", "jobTitle": "Engineer"}
		if i == 2 {
			f["status"] = "Inactive"
		}
		ids = append(ids, s.Add(f))
	}

	seen := map[string]int{}
	q := "/employees?page%5Blimit%5D=3"
	var pages []int
	for n := 0; n < 10; n++ {
		r := get(t, s, q)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", n, r.status, r.body)
		}
		var page employeeList
		decodeStrict(t, r.body, &page)
		if page.Meta.Total != 6 || *page.Meta.Page.Limit != 3 {
			t.Fatalf("meta %+v", page.Meta)
		}
		pages = append(pages, len(page.Data))
		for _, rec := range page.Data {
			if !reflect.DeepEqual(baseKeys(rec), exKeys) {
				t.Fatalf("record keys %v, example's %v", baseKeys(rec), exKeys)
			}
			seen[rec["employeeId"].(string)]++
			if rec["jobTitleName"] != "Engineer" {
				t.Errorf("jobTitleName %v", rec["jobTitleName"])
			}
		}
		if n > 0 && page.Meta.Page.PrevCursor == nil {
			t.Errorf("page %d: no prevCursor", n)
		}
		if page.Meta.Page.NextCursor == nil {
			if _, ok := page.Links["next"]; ok {
				t.Error("next link without nextCursor")
			}
			break
		}
		next, err := url.Parse(page.Links["next"].Href)
		if err != nil || next.Query().Get("page[after]") != *page.Meta.Page.NextCursor {
			t.Fatalf("next link %q", page.Links["next"].Href)
		}
		q = "/employees?" + next.RawQuery
	}
	// 6 employees, limit 3: the count divides evenly, the walk ends on an empty page.
	if !reflect.DeepEqual(pages, []int{3, 3, 0}) {
		t.Errorf("page sizes %v, want [3 3 0]", pages)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("employee %s seen %d times (inactive ones are listed unless filtered)", id, seen[id])
		}
	}

	// Backwards from the empty page's prevCursor.
	r := get(t, s, "/employees?page%5Blimit%5D=3&page%5Bafter%5D="+url.QueryEscape(encodeCursor("after", ids[5])))
	var empty employeeList
	decodeStrict(t, r.body, &empty)
	r = get(t, s, "/employees?page%5Blimit%5D=3&page%5Bbefore%5D="+url.QueryEscape(*empty.Meta.Page.PrevCursor))
	var back employeeList
	decodeStrict(t, r.body, &back)
	if len(back.Data) != 3 || back.Data[2]["employeeId"] != ids[5] {
		t.Errorf("before the empty page: %s", r.body)
	}

	// filters
	r = get(t, s, "/employees?filter%5Bstatus%5D=inactive")
	var inactive employeeList
	decodeStrict(t, r.body, &inactive)
	if len(inactive.Data) != 1 || inactive.Data[0]["employeeId"] != ids[2] || inactive.Data[0]["status"] != "Inactive" {
		t.Errorf("filter[status]=inactive: %s", r.body)
	}
	for _, fq := range []string{"filter%5Bids%5D%5B%5D=" + ids[1] + "&filter%5Bids%5D%5B%5D=" + ids[3], "filter%5Bids%5D=" + ids[1] + "%2C" + ids[3]} {
		r = get(t, s, "/employees?"+fq+"&fields=workEmail,hireDate,bogus")
		var batch employeeList
		decodeStrict(t, r.body, &batch)
		if batch.Meta.Total != 2 || len(batch.Data) != 2 {
			t.Errorf("%s: %s", fq, r.body)
			continue
		}
		if _, ok := batch.Data[0]["workEmail"]; !ok {
			t.Errorf("fields=workEmail not returned: %v", batch.Data[0])
		}
		if _, ok := batch.Data[0]["bogus"]; ok {
			t.Errorf("unknown field not ignored")
		}
	}

	// A cursor whose boundary employee was deleted: 400 BadPage.
	cur := encodeCursor("after", ids[0])
	s.Delete(ids[0])
	r = get(t, s, "/employees?page%5Bafter%5D="+url.QueryEscape(cur))
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	decodeStrict(t, r.body, &e)
	if r.status != 400 || e.Error.Code != "BadPage" {
		t.Errorf("deleted boundary: %d %s", r.status, r.body)
	}
	r = get(t, s, "/employees?page%5Blimit%5D=101")
	decodeStrict(t, r.body, &e)
	if r.status != 400 || e.Error.Code != "BadRequest" {
		t.Errorf("limit 101: %d %s", r.status, r.body)
	}
}

func TestListEmployeesExactLastPageAndRestricted(t *testing.T) {
	s, _ := newFake(t, Config{ExactLastPage: true})
	for i := 0; i < 4; i++ {
		s.Add(map[string]string{"firstName": "x"})
	}
	s.Restrict("4")
	s.RestrictField("firstName")
	r := get(t, s, "/employees?page%5Blimit%5D=3")
	var p employeeList
	decodeStrict(t, r.body, &p)
	if p.Meta.Total != 3 || len(p.Data) != 3 || p.Meta.Page.NextCursor != nil {
		t.Errorf("%s", r.body)
	}
	if p.Data[0]["firstName"] != nil || !reflect.DeepEqual(p.Data[0]["_restrictedFields"], []any{"firstName"}) {
		t.Errorf("restricted field: %v", p.Data[0])
	}
}

// ---------------------------------------------------------------- custom report

// customReport is the OpenAPI's RequestCustomReportResponse.
type customReport struct {
	Title  string `json:"title"`
	Fields []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"fields"`
	Employees []map[string]*string `json:"employees"`
}

func postReport(t *testing.T, s *Server, query, contentType string, body any) resp {
	t.Helper()
	b, _ := json.Marshal(body)
	return do(t, s, http.MethodPost, s.APIBase()+"/reports/custom"+query, "test-api-key", map[string]string{"Content-Type": contentType}, b)
}

func TestCustomReport(t *testing.T) {
	s, c := newFake(t, Config{})
	s.AddCustomField("4567", "Shirt Size", "customShirtSize", "list")
	a := s.Add(map[string]string{"firstName": "Ava", "hireDate": "2020-01-02", "customShirtSize": "M"})
	b := s.Add(map[string]string{"firstName": "Sam", "status": "Inactive", "4567": "L"})
	hidden := s.Add(map[string]string{"firstName": "Hid"})
	s.Restrict(hidden)
	c.Advance(time.Hour)
	s.Update(b, map[string]string{"lastName": "Park"})

	req := map[string]any{
		"title":  "sync",
		"fields": []string{"firstName", "hireDate", "terminationDate", "status", "customShirtSize", "4567", "noSuchField", "lastChanged"},
	}
	r := postReport(t, s, "?format=JSON&onlyCurrent=true", "application/json", req)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var rep customReport
	decodeStrict(t, r.body, &rep)
	if rep.Title != "sync" || len(rep.Fields) != 7 {
		t.Fatalf("fields %+v (unknown fields are silently omitted)", rep.Fields)
	}
	if len(rep.Employees) != 2 {
		t.Fatalf("employees %s (all statuses, restricted omitted)", r.body)
	}
	e0, e1 := rep.Employees[0], rep.Employees[1]
	if *e0["id"] != a || *e0["customShirtSize"] != "M" || *e0["4567"] != "M" || *e0["hireDate"] != "2020-01-02" || e0["terminationDate"] != nil {
		t.Errorf("employee a: %s", r.body)
	}
	if *e1["id"] != b || *e1["status"] != "Inactive" || *e1["4567"] != "L" {
		t.Errorf("employee b: %s", r.body)
	}
	if _, ok := e0["noSuchField"]; ok {
		t.Error("unknown field present")
	}

	// filters
	req["filters"] = map[string]any{"lastChanged": map[string]any{"includeNull": "no", "value": c.Now().Add(-time.Minute).Format("2006-01-02T15:04:05-0700")}}
	r = postReport(t, s, "?format=json", "application/json", req)
	decodeStrict(t, r.body, &rep)
	if len(rep.Employees) != 1 || *rep.Employees[0]["id"] != b {
		t.Errorf("lastChanged filter: %s", r.body)
	}
	req["filters"] = map[string]any{"employeeIds": []int{1}}
	r = postReport(t, s, "?format=json", "application/json", req)
	decodeStrict(t, r.body, &rep)
	if len(rep.Employees) != 1 || *rep.Employees[0]["id"] != "1" {
		t.Errorf("employeeIds filter: %s", r.body)
	}

	// documented quirks
	if r := postReport(t, s, "?format=json", "application/json; charset=UTF-8", req); r.status != 400 {
		t.Errorf("charset content type: %d", r.status)
	}
	many := make([]string, 401)
	for i := range many {
		many[i] = "firstName"
	}
	if r := postReport(t, s, "?format=json", "application/json", map[string]any{"fields": many}); r.status != 400 {
		t.Errorf("401 fields: %d", r.status)
	}
	if r := postReport(t, s, "?format=bogus", "application/json", req); r.status != 404 {
		t.Errorf("format=bogus: %d", r.status)
	}
	r = do(t, s, http.MethodPost, s.APIBase()+"/reports/custom", "test-api-key", map[string]string{"Content-Type": "application/json", "Accept": "*/*"}, []byte(`{"fields":["firstName"]}`))
	if r.status != 404 {
		t.Errorf("no format, Accept */*: %d", r.status)
	}
	r = do(t, s, http.MethodPost, s.APIBase()+"/reports/custom", "test-api-key", map[string]string{"Content-Type": "application/json"}, []byte(`{"fields":["firstName"]}`))
	if r.status != 200 {
		t.Errorf("no format, Accept application/json: %d", r.status)
	}
	r = do(t, s, http.MethodPost, s.APIBase()+"/reports/custom?format=json", "test-api-key", map[string]string{"Content-Type": "application/json"}, []byte(`{"fields":[`))
	if r.status != 400 {
		t.Errorf("malformed body: %d", r.status)
	}
}

// ---------------------------------------------------------------- get employee

func TestGetEmployee(t *testing.T) {
	s, _ := newFake(t, Config{})
	s.AddCustomField("4567", "Shirt Size", "customShirtSize", "list")
	id := s.Add(map[string]string{"firstName": "Ava", "lastName": "Nguyen", "customShirtSize": "S", "workEmail": "ava@example.com"})
	other := s.Add(map[string]string{"firstName": "Sam"})
	s.Restrict(other)
	s.RestrictField("workEmail")

	r := get(t, s, "/employees/"+id+"?fields=firstName,lastName,customShirtSize,4567,terminationDate,workEmail,nope&onlyCurrent=false")
	if r.status != 200 {
		t.Fatalf("%d", r.status)
	}
	var got map[string]*string
	decodeStrict(t, r.body, &got)
	if *got["id"] != id || *got["firstName"] != "Ava" || *got["customShirtSize"] != "S" || *got["4567"] != "S" {
		t.Errorf("%s", r.body)
	}
	if v, ok := got["terminationDate"]; !ok || v != nil {
		t.Errorf("empty date should be null: %s", r.body)
	}
	for _, k := range []string{"workEmail", "nope"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s should be omitted: %s", k, r.body)
		}
	}
	// default fields firstName,lastName
	r = get(t, s, "/employees/"+id)
	got = nil
	decodeStrict(t, r.body, &got)
	if len(got) != 3 || *got["lastName"] != "Nguyen" {
		t.Errorf("default fields: %s", r.body)
	}
	if r := get(t, s, "/employees/999"); r.status != 404 {
		t.Errorf("unknown: %d", r.status)
	}
	if r := get(t, s, "/employees/"+other); r.status != 403 {
		t.Errorf("restricted: %d", r.status)
	}
	s.Delete(id)
	if r := get(t, s, "/employees/"+id); r.status != 404 {
		t.Errorf("deleted: %d", r.status)
	}

	s2, _ := newFake(t, Config{EmptyDate: "0000-00-00"})
	id2 := s2.Add(map[string]string{"firstName": "Z"})
	r = get(t, s2, "/employees/"+id2+"?fields=hireDate")
	if !strings.Contains(string(r.body), `"hireDate":"0000-00-00"`) {
		t.Errorf("EmptyDate: %s", r.body)
	}
}

// ---------------------------------------------------------------- meta/fields

func TestMetaFields(t *testing.T) {
	s, _ := newFake(t, Config{})
	s.AddCustomField("4567", "Shirt Size", "customShirtSize", "list")
	r := get(t, s, "/meta/fields")
	// The OpenAPI's FieldsResponse: [{id (string|integer), name, type, alias?, deprecated?}]
	var fields []struct {
		ID         json.RawMessage `json:"id"`
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Alias      string          `json:"alias"`
		Deprecated bool            `json:"deprecated"`
	}
	decodeStrict(t, r.body, &fields)
	found := false
	for _, f := range fields {
		if f.Name == "" || f.Type == "" || len(f.ID) == 0 {
			t.Errorf("incomplete field %+v", f)
		}
		if f.Alias == "customShirtSize" {
			found = string(f.ID) == "4567" || string(f.ID) == `"4567"`
		}
	}
	if !found {
		t.Errorf("custom field missing: %s", r.body)
	}
}

// ---------------------------------------------------------------- auth, faults, prefixes

func TestAuth(t *testing.T) {
	s, _ := newFake(t, Config{APIKey: "k1"})
	for _, key := range []string{"", "wrong"} {
		r := do(t, s, http.MethodGet, s.APIBase()+"/meta/fields", key, nil, nil)
		if r.status != 401 || r.header.Get("X-BambooHR-Error-Message") == "" {
			t.Errorf("key %q: %d %v", key, r.status, r.header)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.APIBase()+"/meta/fields", nil)
	req.SetBasicAuth("k1", "any password at all")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("good key: %d", res.StatusCode)
	}
}

func TestGatewayPrefix(t *testing.T) {
	s, _ := newFake(t, Config{CompanyDomain: "acme"})
	id := s.Add(map[string]string{"firstName": "Ava"})
	r := do(t, s, http.MethodGet, s.GatewayBase()+"/employees/"+id+"/?fields=firstName", "test-api-key", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), "Ava") {
		t.Errorf("gateway: %d %s", r.status, r.body)
	}
	r = do(t, s, http.MethodGet, s.URL+"/api/gateway.php/other/v1/employees/"+id, "test-api-key", nil, nil)
	if r.status != 404 {
		t.Errorf("wrong domain: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	s, _ := newFake(t, Config{})
	s.Add(map[string]string{"firstName": "Ava"})
	since := "/employees/changed?since=2000-01-01T00:00:00Z"

	s.Inject(Fault{Path: "/employees/changed", Status: 503, RetryAfter: "2", Times: 2})
	s.Inject(Fault{Method: "POST", Path: "/reports/custom", Status: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"})
	s.Inject(Fault{Path: "/meta/fields", Malformed: true})
	s.ResetRequests()

	for i := 0; i < 2; i++ {
		r := get(t, s, since)
		// No body: none is documented for 503.
		if r.status != 503 || r.header.Get("Retry-After") != "2" || r.header.Get("X-BambooHR-Error-Message") == "" || len(r.body) != 0 {
			t.Errorf("503 #%d: %d %v", i, r.status, r.header)
		}
	}
	if r := get(t, s, since); r.status != 200 {
		t.Errorf("after Times: %d", r.status)
	}
	// a fault on another path does not fire
	if r := get(t, s, "/employees"); r.status != 200 {
		t.Errorf("unrelated path: %d", r.status)
	}
	r := postReport(t, s, "?format=json", "application/json", map[string]any{"fields": []string{"firstName"}})
	if r.status != 429 || r.header.Get("Retry-After") != "Wed, 21 Oct 2015 07:28:00 GMT" {
		t.Errorf("429: %d %v", r.status, r.header)
	}
	r = get(t, s, "/meta/fields")
	var v any
	if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
		t.Errorf("malformed: %d %q decodes", r.status, r.body)
	}
	// faults fire before auth
	s.Inject(Fault{Status: 500})
	if r := do(t, s, http.MethodGet, s.APIBase()+"/meta/fields", "", nil, nil); r.status != 500 {
		t.Errorf("fault before auth: %d", r.status)
	}

	reqs := s.Requests()
	var statuses []int
	for _, q := range reqs {
		statuses = append(statuses, q.Status)
	}
	if !reflect.DeepEqual(statuses, []int{503, 503, 200, 200, 429, 200, 500}) {
		t.Errorf("requests %v", statuses)
	}
	if reqs[0].Path != "/api/v1/employees/changed" || reqs[0].Query.Get("since") != "2000-01-01T00:00:00Z" || reqs[4].Method != "POST" {
		t.Errorf("request record %+v", reqs[0])
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Error("ResetRequests")
	}
}

// ---------------------------------------------------------------- webhooks

// verify recomputes the signature from the recipe of
// https://documentation.bamboohr.com/docs/webhooks-2: SHA-256 HMAC of the raw
// body and the X-BambooHR-Timestamp value, under the private key, compared
// with X-BambooHR-Signature.
func verify(t *testing.T, key []byte, d Delivery) {
	t.Helper()
	ts := d.Header.Get("X-BambooHR-Timestamp")
	if ts == "" {
		t.Fatal("no X-BambooHR-Timestamp")
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Errorf("timestamp %q", ts)
	}
	m := hmac.New(sha256.New, key)
	m.Write(append(append([]byte{}, d.Body...), ts...))
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(d.Header.Get("X-BambooHR-Signature"))) {
		t.Errorf("signature %q, recomputed %q", d.Header.Get("X-BambooHR-Signature"), want)
	}
}

// eventPayload is the shape of testdata/event_webhook_updated.json.
type eventPayload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		CompanyID     string   `json:"companyId"`
		EmployeeID    string   `json:"employeeId"`
		ChangedFields []string `json:"changedFields"`
	} `json:"data"`
}

// fieldPayload is the shape of testdata/field_webhook_updated.json.
type fieldPayload struct {
	Employees []struct {
		Action        string            `json:"action"`
		ChangedFields []string          `json:"changedFields"`
		Fields        map[string]string `json:"fields"`
		ID            string            `json:"id"`
		Timestamp     string            `json:"timestamp"`
	} `json:"employees"`
}

func TestEventWebhooks(t *testing.T) {
	var sample eventPayload
	decodeStrict(t, readTestdata(t, "event_webhook_updated.json"), &sample)
	if _, err := time.Parse("2006-01-02T15:04:05-0700", sample.Timestamp); err != nil {
		t.Fatal(err)
	}

	s, c := newFake(t, Config{CompanyID: "12345"})
	key := []byte("secret")
	// A loopback URL nobody listens on: deliveries to it fail at once.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	s.AddWebhook(Webhook{URL: deadURL + "/a", Kind: "event", Format: "json", PrivateKey: key, MonitorFields: []string{"firstName", "department"}})
	s.AddWebhook(Webhook{URL: deadURL + "/b", Kind: "event", Format: "form-encoded", PrivateKey: key, Events: []string{"employee.updated"}, MonitorFields: []string{"firstName"}})

	id := s.Add(map[string]string{"firstName": "Ava", "lastName": "N"})
	c.Advance(time.Minute)
	s.Update(id, map[string]string{"lastName": "M"}) // not monitored: no event
	s.Update(id, map[string]string{"firstName": "Bryony"})
	s.Delete(id)

	ds := s.Pending()
	var jsonTypes []string
	var forms []url.Values
	for _, d := range ds {
		verify(t, key, d)
		switch d.URL {
		case deadURL + "/a":
			if d.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", d.Header.Get("Content-Type"))
			}
			var p eventPayload
			decodeStrict(t, d.Body, &p)
			if p.Data.CompanyID != "12345" || p.Data.EmployeeID != id {
				t.Errorf("payload %s", d.Body)
			}
			if _, err := time.Parse("2006-01-02T15:04:05-0700", p.Timestamp); err != nil {
				t.Errorf("timestamp %q not in the docs' format", p.Timestamp)
			}
			jsonTypes = append(jsonTypes, p.Type+":"+strings.Join(p.Data.ChangedFields, ","))
		case deadURL + "/b":
			if d.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", d.Header.Get("Content-Type"))
			}
			v, err := url.ParseQuery(string(d.Body))
			if err != nil {
				t.Fatal(err)
			}
			forms = append(forms, v)
		}
	}
	// created, then updated (create-then-initialize), updated, deleted
	want := []string{"employee.created:", "employee.updated:firstName", "employee.updated:firstName", "employee.deleted:"}
	if !reflect.DeepEqual(jsonTypes, want) {
		t.Errorf("events %v, want %v", jsonTypes, want)
	}
	// The documented form keys: type, data[companyId], data[employeeId], data[changedFields][0].
	var sampleKeys []string
	for _, line := range strings.Split(strings.TrimSpace(string(readTestdata(t, "event_webhook_updated.form.txt"))), "\n") {
		sampleKeys = append(sampleKeys, strings.SplitN(line, "=", 2)[0])
	}
	if len(forms) != 2 {
		t.Fatalf("form deliveries %d", len(forms))
	}
	for _, k := range sampleKeys {
		if forms[1].Get(k) == "" {
			t.Errorf("form key %s missing: %v", k, forms[1])
		}
	}
	if forms[1].Get("data[changedFields][0]") != "firstName" || forms[1].Get("type") != "employee.updated" {
		t.Errorf("form %v", forms[1])
	}

	// Deliver posts them and clears.
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ts, sig := r.Header.Get("X-BambooHR-Timestamp"), r.Header.Get("X-BambooHR-Signature")
		if Sign(key, b, ts) != sig {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get("Content-Type"))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer rcv.Close()
	s.AddWebhook(Webhook{URL: rcv.URL, Kind: "event", PrivateKey: key})
	s.Drop()
	if len(s.Pending()) != 0 {
		t.Fatal("Drop")
	}
	s.Add(map[string]string{"firstName": "Q"})
	codes, err := s.Deliver(context.Background(), rcv.Client())
	if err == nil {
		t.Error("want errors from the dead URLs")
	}
	var ok int
	for _, c := range codes {
		if c == 204 {
			ok++
		}
	}
	if ok != 2 || len(got) != 2 { // created + updated to the receiver
		t.Errorf("codes %v, got %v", codes, got)
	}
	if len(s.Pending()) != 0 {
		t.Error("Deliver should clear")
	}
}

func TestFieldWebhooksBatch(t *testing.T) {
	var sample fieldPayload
	decodeStrict(t, readTestdata(t, "field_webhook_updated.json"), &sample)

	s, c := newFake(t, Config{})
	key := []byte("k")
	a := s.Add(map[string]string{"firstName": "A", "department": "Ops"})
	b := s.Add(map[string]string{"firstName": "B"})
	d := s.Add(map[string]string{"firstName": "D"})
	s.AddWebhook(Webhook{URL: "http://x/json", Kind: "field", PrivateKey: key, MonitorFields: []string{"firstName", "department"}})
	s.AddWebhook(Webhook{URL: "http://x/form", Kind: "field", Format: "form-encoded", PrivateKey: key,
		MonitorFields: []string{"firstName"}, PostFields: map[string]string{"firstName": "", "employeeNumber": "empNo"}})

	c.Advance(time.Minute)
	s.Update(a, map[string]string{"firstName": "Bryony"})
	s.Update(b, map[string]string{"department": "Sales"})
	s.Update(b, map[string]string{"lastName": "ignored"}) // not monitored
	s.Delete(d)
	e := s.Add(map[string]string{"firstName": "E", "employeeNumber": "42"})
	s.Update(e, map[string]string{"firstName": "Eve"})

	ds := s.Pending()
	if len(ds) != 2 {
		t.Fatalf("want one batch per webhook, got %d", len(ds))
	}
	for _, dl := range ds {
		verify(t, key, dl)
	}
	var p fieldPayload
	decodeStrict(t, ds[0].Body, &p)
	var summary []string
	for _, emp := range p.Employees {
		if _, err := time.Parse("2006-01-02T15:04:05-0700", emp.Timestamp); err != nil {
			t.Errorf("timestamp %q", emp.Timestamp)
		}
		summary = append(summary, emp.ID+":"+emp.Action+":"+strings.Join(emp.ChangedFields, ","))
		if emp.Action == "Updated" {
			for _, cf := range emp.ChangedFields {
				if _, ok := emp.Fields[cf]; !ok {
					t.Errorf("changed field %q not posted: %+v", cf, emp)
				}
			}
		} else if len(emp.ChangedFields) != 0 || len(emp.Fields) != 0 {
			t.Errorf("%s should have empty changedFields and fields", emp.Action)
		}
	}
	want := []string{a + ":Updated:First Name", b + ":Updated:Department", d + ":Deleted:", e + ":Created:", e + ":Updated:First Name"}
	if !reflect.DeepEqual(summary, want) {
		t.Errorf("batch %v, want %v", summary, want)
	}
	if p.Employees[0].Fields["First Name"] != "Bryony" {
		t.Errorf("fields %+v", p.Employees[0].Fields)
	}

	// form-encoded: employees[<id>][changedFields][0]=First Name, employees[<id>][First Name]=...
	v, err := url.ParseQuery(string(ds[1].Body))
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("employees["+a+"][changedFields][0]") != "First Name" || v.Get("employees["+a+"][First Name]") != "Bryony" {
		t.Errorf("form %v", v)
	}
	if v.Get("employees["+e+"][empNo]") != "42" || v.Get("employees["+e+"][First Name]") != "Eve" {
		t.Errorf("post fields: %v", v)
	}
	if v.Get("employees["+d+"][action]") != "Deleted" {
		t.Errorf("deleted: %v", v)
	}
	if _, ok := v["employees["+b+"][action]"]; ok {
		t.Errorf("b changed only an unmonitored field for this webhook: %v", v)
	}
	// the docs' sample form keys decode the same way
	sv, err := url.ParseQuery(strings.ReplaceAll(strings.TrimSpace(string(readTestdata(t, "field_webhook_updated.form.txt"))), "\n", "&"))
	if err != nil || sv.Get("employees[12345][changedFields][0]") != "First name" {
		t.Errorf("sample form: %v %v", sv, err)
	}
	s.Drop()
	if len(s.Pending()) != 0 {
		t.Error("Drop")
	}
}

// ---------------------------------------------------------------- concurrency

func TestConcurrentControlAndHTTP(t *testing.T) {
	s, _ := newFake(t, Config{})
	s.AddWebhook(Webhook{URL: "http://x", Kind: "field"})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				id := s.Add(map[string]string{"firstName": "x"})
				s.Update(id, map[string]string{"firstName": "y"})
				if j%5 == 0 {
					s.Restrict(id)
					s.Delete(id)
				}
				_ = s.Pending()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				req, _ := http.NewRequest(http.MethodGet, s.APIBase()+"/employees?page%5Blimit%5D=7", nil)
				req.SetBasicAuth("test-api-key", "x")
				if r, err := s.Client().Do(req); err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if n := len(s.Requests()); n != 40 {
		t.Errorf("requests %d", n)
	}
}

// ---------------------------------------------------------------- control API

func TestControlAPI(t *testing.T) {
	s, c := newFake(t, Config{})
	s.AddCustomField("4567", "Shirt Size", "customShirtSize", "list")
	if id := s.Add(map[string]string{"id": "40", "firstName": "A", "hireDate": "2020-01-01", "customShirtSize": "M"}); id != "40" {
		t.Fatalf("given id: %s", id)
	}
	if id := s.Add(map[string]string{"firstName": "B"}); id != "41" {
		t.Errorf("next id after a given one: %s", id)
	}
	c.Advance(time.Second)
	s.Update("40", map[string]string{"hireDate": "", "4567": "L"})
	e, ok := s.Employee("40")
	if !ok || e["hireDate"] != "" || e["4567"] != "L" || e["status"] != "Active" || e["lastChanged"] != formatTimestamp(c.Now()) {
		t.Errorf("%v", e)
	}
	if _, ok := s.Employee("nope"); ok {
		t.Error("unknown employee")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("unknown field should panic")
			}
		}()
		s.Add(map[string]string{"fristName": "typo"})
	}()
}
