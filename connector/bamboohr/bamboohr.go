// Package bamboohr is a hrissync.Source over BambooHR's REST API, and the
// Decoder and Verifier for its webhooks.
//
//	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: key})
//
// It follows BambooHR's public reference (documentation.bamboohr.com, and
// the OpenAPI document BambooHR publishes with its API clients):
//
//   - List reads the employee directory a page at a time (GET
//     /api/v1/employees, cursor-paginated, PageSize to a page) and, for each
//     page, a custom report of exactly the fields the mapping needs for
//     those employees (POST /api/v1/reports/custom). Memory is bounded by
//     a page, plus the set of ids read, which catches an id given twice.
//   - Get reads one employee (GET /api/v1/employees/{id}) with the same
//     fields.
//   - ChangedSince asks the change feed (GET /api/v1/employees/changed)
//     which employees changed, then reads them by custom report, PageSize
//     at a time.
//
// # The record
//
// Each BambooHR field becomes a field of hrissync.Employee:
//
//	BambooHR                 hrissync.Employee
//	id                       ID
//	employeeNumber           EmployeeNumber
//	workEmail                Email
//	firstName, lastName      GivenName, FamilyName
//	status,                  Status: "Inactive" is terminated; else an
//	employmentHistoryStatus    employmentHistoryStatus named in
//	                           Config.Statuses takes that status ("Terminated"
//	                           is terminated by default); else active
//	hireDate                 StartDate
//	terminationDate          TerminationDate
//	jobTitle                 Role
//	supervisorEId            ManagerID (the supervisor's employee id)
//	department               Department
//	location                 Location
//	division                 Attributes["division"]
//	Config.Attributes        Attributes (custom fields, by alias or id)
//	lastChanged              Version.Time
//
// An empty date ("", null, or BambooHR's "0000-00-00") is no date. A start
// date after the termination date is a rehire, as hrissync reads it.
// BambooHR's lastChanged, which moves with any change to the employee
// (their job, employment status or compensation rows too), is the record's
// version: a record read before a change is older than one read after. It
// has whole seconds, so two changes within a second share a version; and an
// employee unchanged since BambooHR began recording it (June 2011) has none,
// the zero version, older than any other.
//
// Every field is a string or null, status is Active or Inactive: an answer
// otherwise — a number, a name given twice, a status the reference does not
// give, bytes that are not UTF-8 — is malformed, not guessed at.
//
// # What each trigger costs
//
//   - A webhook: one GET of the employee (the engine hydrates every event,
//     and reads once however many sinks it serves).
//   - The hourly poll: one GET of the change feed, then one custom report
//     per PageSize changed employees (none when nothing changed).
//   - The daily batch: two requests per PageSize employees (a directory
//     page and its report) — for 1,200 people and the default PageSize of
//     100, 24 requests (25 when the last page is full: an empty page ends
//     the directory).
//
// The engine's TriggerStats.SourceCalls counts pages of a listing (this
// Source is a hrissync.Pager); each page of List is two requests.
//
// # Errors and rate limits
//
// Requests go through go-retryablehttp: a broken connection, a 502 or 504,
// and a 429 or 503 whose Retry-After is within Config.RetryWaitMax are
// retried in place, up to Config.RetryMax times, honouring Retry-After. A
// longer pause is not waited out but returned as retry.RetryAfter, for the
// engine to schedule. A missing employee (404 on Get) is
// hrissync.ErrNotFound; a 401 is an *Error the engine retries (a key being
// rotated); 400 and 403 are permanent (retry.Permanent(*Error)). An answer
// not of the documented shape wraps ErrMalformed, and ends a list: the batch
// then fails rather than taking the people not read for leavers. For the
// same reason a list that cannot be everyone is ErrIncomplete — an employee
// the directory lists but its report leaves out, or a directory listing
// fewer employees than its meta.total counts — and a field of the mapping
// the report omits (unknown, or hidden from the key) is an error, not a
// silence. A Retry-After is read as at most a day.
//
// The API key's user must see every employee and every mapped field: give
// the key an access level for the whole company.
package bamboohr

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/internal/httpapi"
	"github.com/hrissync/hrissync/hrtype"
)

// Config configures New. CompanyDomain and APIKey are required.
type Config struct {
	// CompanyDomain is the company's BambooHR subdomain: "acme" for
	// acme.bamboohr.com.
	CompanyDomain string
	// APIKey is a BambooHR API key, sent as the basic-auth user name.
	APIKey string
	// BaseURL overrides https://{CompanyDomain}.bamboohr.com (a proxy, a
	// test server).
	BaseURL string
	// PageSize is the employees a directory page, and a report, holds;
	// default and at most 100. (BambooHR's OpenAPI bounds the directory's
	// page[limit] by 2500 in one schema and by 100 in the one it extends;
	// the stricter holds.)
	PageSize int
	// Attributes maps BambooHR fields — custom fields by alias
	// ("customShirtSize") or numeric id ("4567") — to the names of
	// hrissync.Employee.Attributes they fill. division is always read, into
	// "division".
	Attributes map[string]string
	// Statuses maps values of employmentHistoryStatus (compared without
	// regard to case) to a hrissync.Status: {"Leave of Absence":
	// hrissync.StatusLeave}, say. Default {"Terminated":
	// hrissync.StatusTerminated}; a map given replaces it.
	Statuses map[string]hrissync.Status
	// HTTPClient is the client under the retrying one; default a pooled
	// client whose requests time out after two minutes.
	HTTPClient *http.Client
	// RetryMax is how many times one request is retried in place (see
	// Errors and rate limits); default 3. RetryWaitMax bounds a pause
	// waited out in place; default 30 s.
	RetryMax     int
	RetryWaitMax time.Duration
}

// The BambooHR fields the record is made of (docs: "List of Field Names",
// documentation.bamboohr.com/docs/list-of-field-names).
const (
	fieldID             = "id"
	fieldEmployeeNumber = "employeeNumber"
	fieldWorkEmail      = "workEmail"
	fieldFirstName      = "firstName"
	fieldLastName       = "lastName"
	fieldStatus         = "status"
	fieldHistoryStatus  = "employmentHistoryStatus"
	fieldHireDate       = "hireDate"
	fieldTermination    = "terminationDate"
	fieldJobTitle       = "jobTitle"
	fieldSupervisorEId  = "supervisorEId"
	fieldDepartment     = "department"
	fieldDivision       = "division"
	fieldLocation       = "location"
	fieldLastChanged    = "lastChanged"
)

// coreFields are read for every record, in this order.
var coreFields = []string{
	fieldEmployeeNumber, fieldWorkEmail, fieldFirstName, fieldLastName,
	fieldStatus, fieldHistoryStatus, fieldHireDate, fieldTermination,
	fieldJobTitle, fieldSupervisorEId, fieldDepartment, fieldDivision,
	fieldLocation, fieldLastChanged,
}

// maxPage bounds a directory page (see Config.PageSize).
const maxPage = 100

// Source is a hrissync.Source over one BambooHR company. It is safe for
// concurrent use.
type Source struct {
	c          client
	pageSize   int
	fields     []string          // the fields every read asks for
	attributes map[string]string // BambooHR field -> attribute name
	statuses   map[string]hrissync.Status
}

// New returns a Source for cfg. It makes no request.
func New(cfg Config) (*Source, error) {
	if cfg.CompanyDomain == "" || strings.ContainsAny(cfg.CompanyDomain, "/?#.:@ ") {
		return nil, errors.New("bamboohr: Config.CompanyDomain must be the company's subdomain")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("bamboohr: Config.APIKey is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://" + cfg.CompanyDomain + ".bamboohr.com"
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("bamboohr: Config.BaseURL %q is not an http(s) URL", base)
	}
	pageSize := cmp.Or(cfg.PageSize, maxPage)
	if pageSize < 1 || pageSize > maxPage {
		return nil, fmt.Errorf("bamboohr: Config.PageSize %d is outside 1..%d", cfg.PageSize, maxPage)
	}
	s := &Source{
		pageSize:   pageSize,
		attributes: map[string]string{fieldDivision: "division"},
		statuses:   map[string]hrissync.Status{"terminated": hrissync.StatusTerminated},
	}
	for field, name := range cfg.Attributes {
		if field == "" || name == "" || strings.Contains(field, ",") {
			return nil, fmt.Errorf("bamboohr: Config.Attributes: %q → %q is not a field and a name", field, name)
		}
		if slices.Contains(coreFields, field) && field != fieldDivision || field == fieldID {
			return nil, fmt.Errorf("bamboohr: Config.Attributes: %q is a field of the record already", field)
		}
		s.attributes[field] = name
	}
	named := map[string]bool{}
	for _, field := range slices.Sorted(maps.Keys(s.attributes)) {
		name := s.attributes[field]
		if named[name] {
			return nil, fmt.Errorf("bamboohr: Config.Attributes: two fields fill the attribute %q", name)
		}
		named[name] = true
	}
	if cfg.Statuses != nil {
		s.statuses = make(map[string]hrissync.Status, len(cfg.Statuses))
		for v, st := range cfg.Statuses {
			s.statuses[strings.ToLower(v)] = st
		}
	}
	s.fields = slices.Clone(coreFields)
	for _, f := range slices.Sorted(maps.Keys(s.attributes)) {
		if f != fieldDivision {
			s.fields = append(s.fields, f)
		}
	}
	if len(s.fields) > 400 {
		return nil, errors.New("bamboohr: more than 400 fields (BambooHR's bound for one request)")
	}
	retries := cmp.Or(cfg.RetryMax, 3)
	waitMax := cmp.Or(cfg.RetryWaitMax, 30*time.Second)
	s.c = client{
		base: strings.TrimSuffix(base, "/"),
		key:  cfg.APIKey,
		http: httpapi.NewClient(cfg.HTTPClient, retries, waitMax),
	}
	return s, nil
}

// PageSize is the employees one page of a listing holds (hrissync.Pager).
func (s *Source) PageSize() int { return s.pageSize }

// Get reads one employee. An id BambooHR does not hold — or that is not an
// employee id at all — is hrissync.ErrNotFound.
func (s *Source) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	if !validID(id) {
		// Not even asked: BambooHR reads the id 0 as "the API key's own
		// employee", which must not answer for another id.
		return hrissync.Employee{}, fmt.Errorf("bamboohr: employee %s: %w", httpapi.Clip(id), hrissync.ErrNotFound)
	}
	q := url.Values{"fields": {strings.Join(s.fields, ",")}, "onlyCurrent": {"true"}}
	path := "/api/v1/employees/" + id
	resp, err := s.c.do(ctx, http.MethodGet, path, q.Encode(), nil)
	if httpapi.Status(err) == http.StatusNotFound {
		return hrissync.Employee{}, fmt.Errorf("bamboohr: employee %s: %w", id, hrissync.ErrNotFound)
	}
	if err != nil {
		return hrissync.Employee{}, err
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := httpapi.DecodeWhole(ctx, resp.Body, maxAnswer, &raw, ErrMalformed); err != nil {
		return hrissync.Employee{}, fmt.Errorf("bamboohr: GET %s: %w", path, err)
	}
	rec, err := s.record(raw, nil)
	if err != nil {
		return hrissync.Employee{}, fmt.Errorf("bamboohr: GET %s: %w", path, err)
	}
	if rec.ID != id {
		return hrissync.Employee{}, fmt.Errorf("bamboohr: GET %s: answered for employee %q: %w", path, rec.ID, ErrMalformed)
	}
	return rec, nil
}

// List streams every employee, active and not, once.
func (s *Source) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		seen := make(map[string]struct{})
		cursors := make(map[string]struct{})
		cursor, empty := "", 0
		for {
			p, err := s.directoryPage(ctx, cursor)
			if err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			for _, id := range p.ids {
				if _, dup := seen[id]; dup {
					yield(hrissync.Employee{}, fmt.Errorf("bamboohr: the directory lists employee %s twice: %w", id, ErrMalformed))
					return
				}
				seen[id] = struct{}{}
			}
			if !s.report(ctx, p.ids, yield) {
				return
			}
			if p.next == "" {
				// The directory counts the employees it holds: fewer read
				// is a list cut short (or people the key may not see),
				// which must not be taken for everyone. More is a hire
				// made while the list was read.
				if len(seen) < p.total {
					yield(hrissync.Employee{}, fmt.Errorf("bamboohr: the directory counts %d employees but lists %d: %w", p.total, len(seen), ErrIncomplete))
				}
				return
			}
			// A page may be empty and lead on (its employees hidden from
			// the key), but not for ever.
			if len(p.ids) == 0 {
				empty++
			} else {
				empty = 0
			}
			if _, again := cursors[p.next]; again || empty > maxEmptyPages {
				yield(hrissync.Employee{}, fmt.Errorf("bamboohr: the directory's cursors lead round and round: %w", ErrMalformed))
				return
			}
			cursors[p.next] = struct{}{}
			cursor = p.next
		}
	}
}

// maxEmptyPages bounds a run of empty directory pages that lead on.
const maxEmptyPages = 100

// ChangedSince streams the employees BambooHR's change feed names as
// inserted or updated at or after since. A deleted employee has no record
// to stream: the daily batch finds them gone.
func (s *Source) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		ids, err := s.changed(ctx, since)
		if err != nil {
			yield(hrissync.Employee{}, err)
			return
		}
		for page := range slices.Chunk(ids, s.pageSize) {
			if !s.report(ctx, page, yield) {
				return
			}
		}
	}
}

// directoryPage is one page of the employee directory.
type directoryPage struct {
	ids   []string
	next  string // the next page's cursor; "" after the last
	total int    // the employees the directory holds (meta.total)
}

// directoryPage reads the page at cursor.
func (s *Source) directoryPage(ctx context.Context, cursor string) (directoryPage, error) {
	q := url.Values{"page[limit]": {strconv.Itoa(s.pageSize)}}
	if cursor != "" {
		q.Set("page[after]", cursor)
	}
	const path = "/api/v1/employees"
	resp, err := s.c.do(ctx, http.MethodGet, path, q.Encode(), nil)
	if err != nil {
		return directoryPage{}, err
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct {
			EmployeeID json.RawMessage `json:"employeeId"`
		} `json:"data"`
		Meta *struct {
			Total *int `json:"total"`
			Page  *struct {
				NextCursor json.RawMessage `json:"nextCursor"`
			} `json:"page"`
		} `json:"meta"`
	}
	malformed := func(format string, a ...any) (directoryPage, error) {
		return directoryPage{}, fmt.Errorf("bamboohr: GET %s: %s: %w", path, fmt.Sprintf(format, a...), ErrMalformed)
	}
	if err := httpapi.DecodeWhole(ctx, resp.Body, maxAnswer, &page, ErrMalformed); err != nil {
		return directoryPage{}, fmt.Errorf("bamboohr: GET %s: %w", path, err)
	}
	// data, meta.total and meta.page are required (GetEmployeesResponseObject).
	if page.Data == nil || page.Meta == nil || page.Meta.Total == nil || page.Meta.Page == nil {
		return malformed("no data, meta.total or meta.page")
	}
	p := directoryPage{total: *page.Meta.Total}
	for i, d := range page.Data {
		id, ok := scalar(d.EmployeeID)
		if !ok || !validID(id) {
			return malformed("item %d has no employee id", i)
		}
		p.ids = append(p.ids, id)
	}
	next, ok := scalar(page.Meta.Page.NextCursor)
	if !ok {
		return malformed("meta.page.nextCursor is not a cursor")
	}
	p.next = next
	return p, nil
}

// changed asks the change feed for the employees inserted or updated at or
// after since, in id order. The feed's own lastChanged decides, not the
// record read afterwards: a report that lags the feed still yields the
// person, whose older version the engine then judges.
func (s *Source) changed(ctx context.Context, since time.Time) ([]string, error) {
	// BambooHR's timestamps have whole seconds, and its reference does
	// not say whether "since" is inclusive: asking from the second before
	// keeps a change made within since's own second either way, and the
	// changes of the second before are then left out here.
	from := since.UTC().Truncate(time.Second)
	q := url.Values{"since": {from.Add(-time.Second).Format(time.RFC3339)}}
	const path = "/api/v1/employees/changed"
	resp, err := s.c.do(ctx, http.MethodGet, path, q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var feed struct {
		Employees map[string]struct {
			ID          json.RawMessage `json:"id"`
			Action      string          `json:"action"`
			LastChanged string          `json:"lastChanged"`
		} `json:"employees"`
	}
	if err := httpapi.DecodeWhole(ctx, resp.Body, maxAnswer, &feed, ErrMalformed); err != nil {
		return nil, fmt.Errorf("bamboohr: GET %s: %w", path, err)
	}
	if feed.Employees == nil { // required (ChangedEmployeeIdsResponse)
		return nil, fmt.Errorf("bamboohr: GET %s: no employees: %w", path, ErrMalformed)
	}
	var ids []string
	for key, c := range feed.Employees {
		if id, ok := scalar(c.ID); !ok || id != "" && id != key || !validID(key) {
			return nil, fmt.Errorf("bamboohr: GET %s: %s is not an employee id, or names another: %w", path, httpapi.Clip(key), ErrMalformed)
		}
		if c.LastChanged != "" {
			at, err := timestamp(c.LastChanged)
			if err != nil {
				return nil, fmt.Errorf("bamboohr: GET %s: employee %s: lastChanged: %w", path, key, err)
			}
			if at.Before(from) {
				continue
			}
		}
		switch c.Action {
		case "Inserted", "Updated":
			ids = append(ids, key)
		case "Deleted":
		default:
			return nil, fmt.Errorf("bamboohr: GET %s: employee %s has action %s: %w", path, key, httpapi.Clip(c.Action), ErrMalformed)
		}
	}
	// Ids have no leading zeros: by length, then by text, is numeric order.
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	return ids, nil
}

// report reads the mapped fields of the employees ids by custom report,
// yielding each one's record; it reports whether to go on. An employee of
// ids the report leaves out is an error, as is one it adds.
func (s *Source) report(ctx context.Context, ids []string, yield func(hrissync.Employee, error) bool) bool {
	if len(ids) == 0 {
		return true
	}
	fail := func(err error) bool {
		yield(hrissync.Employee{}, err)
		return false
	}
	nums := make([]int64, len(ids))
	for i, id := range ids {
		nums[i], _ = strconv.ParseInt(id, 10, 64)
	}
	type filters struct {
		EmployeeIDs []int64 `json:"employeeIds"`
	}
	body, err := json.Marshal(struct {
		Title   string   `json:"title"`
		Fields  []string `json:"fields"`
		Filters filters  `json:"filters"`
	}{"hrissync", s.fields, filters{nums}})
	if err != nil {
		return fail(err)
	}
	const path = "/api/v1/reports/custom"
	resp, err := s.c.do(ctx, http.MethodPost, path, url.Values{"format": {"JSON"}, "onlyCurrent": {"true"}}.Encode(), body)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	want := make(map[string]bool, len(ids)) // id -> reported yet
	for _, id := range ids {
		want[id] = false
	}
	malformed := func(format string, a ...any) bool {
		return fail(fmt.Errorf("bamboohr: POST %s: %s: %w", path, fmt.Sprintf(format, a...), ErrMalformed))
	}
	// cut is an answer that ended early: ctx's doing, or a malformed one.
	cut := func(err error) bool {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("bamboohr: POST %s: %w", path, ctx.Err()))
		}
		return malformed("%v", err)
	}
	// keys: requested field -> key in the records, once "fields" is read;
	// nil reads them by the names asked for (the field list, if it comes
	// after the employees, is still checked).
	var keys map[string]string
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err != nil {
			return cut(err)
		}
		return malformed("not a JSON object")
	}
	sawEmployees := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cut(err)
		}
		switch tok {
		case "fields":
			var meta []reportField
			if err := dec.Decode(&meta); err != nil {
				return malformed("fields: %v", err)
			}
			if keys, err = s.fieldKeys(meta); err != nil {
				return fail(fmt.Errorf("bamboohr: POST %s: %w", path, err))
			}
		case "employees":
			if sawEmployees {
				return malformed("employees given twice")
			}
			sawEmployees = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return malformed("employees is not a list")
			}
			for dec.More() {
				var item json.RawMessage
				if err := dec.Decode(&item); err != nil {
					return cut(err)
				}
				var raw map[string]any
				if err := httpapi.DecodeBytes(item, &raw, ErrMalformed); err != nil {
					return fail(fmt.Errorf("bamboohr: POST %s: employees: %w", path, err))
				}
				rec, err := s.record(raw, keys)
				if err != nil {
					return fail(fmt.Errorf("bamboohr: POST %s: %w", path, err))
				}
				reported, asked := want[rec.ID]
				switch {
				case !asked:
					return malformed("employee %s was not asked for", rec.ID)
				case reported:
					return malformed("employee %s is reported twice", rec.ID)
				}
				want[rec.ID] = true
				if !yield(rec, nil) {
					return false
				}
			}
			if _, err := dec.Token(); err != nil {
				return malformed("%v", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return malformed("%v", err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return cut(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("data after the answer")
	}
	if !sawEmployees {
		return malformed("no employees")
	}
	for _, id := range ids {
		if !want[id] {
			return fail(fmt.Errorf("bamboohr: POST %s: employee %s is listed but not reported (deleted meanwhile, or hidden from the API key): %w", path, id, ErrIncomplete))
		}
	}
	return true
}

// reportField is one column of a custom report, as its "fields" list
// describes it.
type reportField struct {
	ID    json.RawMessage `json:"id"`
	Name  string          `json:"name"`
	Alias string          `json:"alias"`
}

// fieldKeys matches the report's columns to the fields asked for, by id,
// or by alias for a custom field asked for by alias. A field asked for but
// missing is an error: BambooHR leaves out, silently, a field it does not
// know or the key may not see, and reading on would take its value for
// empty for everyone.
func (s *Source) fieldKeys(meta []reportField) (map[string]string, error) {
	keys := make(map[string]string, len(s.fields))
	for _, f := range s.fields {
		for _, m := range meta {
			id, _ := scalar(m.ID)
			if id == f || m.Alias == f && id != "" {
				keys[f] = id
				break
			}
		}
		if _, ok := keys[f]; !ok {
			return nil, fmt.Errorf("the report leaves out field %q: BambooHR does not know it, or the API key may not see it", f)
		}
	}
	return keys, nil
}

// record makes a hrissync.Employee of one BambooHR employee, its fields
// under keys (the names asked for, when keys is nil). A field the answer
// lacks is an error, for the reason fieldKeys gives.
func (s *Source) record(raw map[string]any, keys map[string]string) (hrissync.Employee, error) {
	id, err := text(raw, fieldID)
	if err != nil || !validID(id) {
		return hrissync.Employee{}, fmt.Errorf("an employee has no valid id: %w", ErrMalformed)
	}
	values := make(map[string]string, len(s.fields))
	for _, f := range s.fields {
		key := f
		if keys != nil {
			key = keys[f]
		}
		if _, ok := raw[key]; !ok {
			return hrissync.Employee{}, fmt.Errorf("employee %s: the answer leaves out field %q: BambooHR does not know it, or the API key may not see it", id, f)
		}
		v, err := text(raw, key)
		if err != nil {
			return hrissync.Employee{}, fmt.Errorf("employee %s: field %q: %w", id, f, err)
		}
		values[f] = v
	}
	e := hrissync.Employee{
		ID:             id,
		EmployeeNumber: values[fieldEmployeeNumber],
		Email:          values[fieldWorkEmail],
		GivenName:      values[fieldFirstName],
		FamilyName:     values[fieldLastName],
		Role:           values[fieldJobTitle],
		ManagerID:      values[fieldSupervisorEId],
		Department:     values[fieldDepartment],
		Location:       values[fieldLocation],
	}
	if e.StartDate, err = date(values[fieldHireDate]); err != nil {
		return hrissync.Employee{}, fmt.Errorf("employee %s: %s: %w", id, fieldHireDate, err)
	}
	if e.TerminationDate, err = date(values[fieldTermination]); err != nil {
		return hrissync.Employee{}, fmt.Errorf("employee %s: %s: %w", id, fieldTermination, err)
	}
	// status decides who has access: a value the reference does not give
	// (null, "", "Suspended") is not taken for either.
	if st := strings.TrimSpace(values[fieldStatus]); !strings.EqualFold(st, "Active") && !strings.EqualFold(st, "Inactive") {
		return hrissync.Employee{}, fmt.Errorf("employee %s: %s is neither Active nor Inactive: %w", id, fieldStatus, ErrMalformed)
	}
	e.Status = s.status(values[fieldStatus], values[fieldHistoryStatus])
	if v := values[fieldLastChanged]; v != "" {
		t, err := timestamp(v)
		if err != nil {
			return hrissync.Employee{}, fmt.Errorf("employee %s: %s: %w", id, fieldLastChanged, err)
		}
		e.Version = hrtype.Version{Time: t}
	}
	if e.ManagerID != "" && !validID(e.ManagerID) {
		return hrissync.Employee{}, fmt.Errorf("employee %s: %s is not an employee id: %w", id, fieldSupervisorEId, ErrMalformed)
	}
	for f, name := range s.attributes {
		if v := values[f]; v != "" {
			if e.Attributes == nil {
				e.Attributes = make(map[string]string)
			}
			e.Attributes[name] = v
		}
	}
	return e, nil
}

// status reads BambooHR's two status fields: "Inactive" is terminated,
// whatever employmentHistoryStatus says (the reading that ends access is the
// safe one); else employmentHistoryStatus where Config.Statuses names it;
// else active.
func (s *Source) status(active, history string) hrissync.Status {
	if strings.EqualFold(strings.TrimSpace(active), "Inactive") {
		return hrissync.StatusTerminated
	}
	if st, ok := s.statuses[strings.ToLower(strings.TrimSpace(history))]; ok {
		return st
	}
	return hrissync.StatusActive
}

// validID reports whether id is a BambooHR employee id: a positive decimal
// integer, without sign or leading zero, that fits an int64. 0 is not: to
// BambooHR it means the API key's own employee.
func validID(id string) bool {
	if id == "" || len(id) > 18 || id[0] == '0' {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// text is field name of raw as a string: a JSON string as it is, null as
// "". Anything else — a number, a boolean, an object — is not of the
// documented shape (every field is a string, or null).
func text(raw map[string]any, name string) (string, error) {
	switch v := raw[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("not a string: %w", ErrMalformed)
	}
}

// scalar reads a JSON string, number or null (as "").
func scalar(m json.RawMessage) (string, bool) {
	if len(m) == 0 || string(m) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(m, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// date reads BambooHR's YYYY-MM-DD, its "0000-00-00" being no date.
func date(v string) (hrissync.Date, error) {
	if v == "" || v == "0000-00-00" {
		return hrissync.Date{}, nil
	}
	d, err := hrissync.ParseDate(v)
	if err != nil || d.Year == 0 {
		return hrissync.Date{}, fmt.Errorf("not a date: %w", ErrMalformed)
	}
	return d, nil
}

// timestamp reads the ISO 8601 forms BambooHR writes: an offset with or
// without a colon, or Z.
func timestamp(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time: %w", ErrMalformed)
}

var _ hrissync.Source = (*Source)(nil)
var _ hrissync.Pager = (*Source)(nil)
