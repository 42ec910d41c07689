// Package bamboohrtest is a fake BambooHR server for tests: an in-memory
// company whose employees are served over loopback HTTP the way BambooHR's
// public API documents it, plus the webhooks BambooHR would send about them.
//
// It was written from BambooHR's published documents alone, without reading
// any client of it, so that a connector tested against it is tested against
// the vendor's contract and not against its own author's assumptions.
//
// # Documents followed
//
//   - The official OpenAPI description, public-openapi.yaml
//     (https://d40bgjb2zs35x.cloudfront.net/main/latest/docs/openapi/public-openapi.yaml,
//     as saved in github.com/BambooHR/bhr-api-python specs/public.yaml):
//     operations list-employees, get-employee, get-changed-employee-ids,
//     request-custom-report, list-fields, and its webhooks section
//     (employee.created / employee.updated / employee.deleted).
//   - https://documentation.bamboohr.com/docs/api-details (base URL
//     /api/gateway.php/{company}/, status codes, 503 throttling).
//   - https://documentation.bamboohr.com/docs/getting-started (HTTP basic
//     auth, API key as the user name, any password).
//   - https://bamboohr.screenstepslive.com/m/53907/l/587843-api-error-code-definitions
//     (X-BambooHR-Error-Messsage header, 503 with Retry-After).
//   - https://documentation.bamboohr.com/reference/get-changed-employee-ids
//     (sample response, accepted `since` formats, %2B).
//   - https://documentation.bamboohr.com/reference/request-custom-report
//   - https://documentation.bamboohr.com/docs/list-of-field-names and
//     https://documentation.bamboohr.com/docs/field-types
//   - https://documentation.bamboohr.com/docs/past-changes-to-the-api
//     (400-field limits, custom field aliases such as customShirtSize)
//   - https://documentation.bamboohr.com/docs/webhooks-2 and
//     https://documentation.bamboohr.com/docs/webhooks (security: SHA-256
//     HMAC, X-BambooHR-Timestamp, X-BambooHR-Signature; scheduling and rate
//     limiting of global webhooks),
//     https://documentation.bamboohr.com/docs/event-based-webhooks,
//     https://documentation.bamboohr.com/docs/field-based-webhooks and
//     https://documentation.bamboohr.com/docs/global-webhooks (payloads, JSON
//     and form encodings).
//
// Where the documents are silent the fake takes the plainest behaviour and
// says so in a comment starting "Docs silent:".
//
// # Not modelled
//
// OAuth; XML, CSV, XLS and PDF output (answered 501); history tables and
// future-dated values (onlyCurrent is accepted and ignored); sorting of
// List Employees other than by employeeId; filter[firstName],
// filter[lastName] and filter[jobTitleName]; the employee of id 0 (the API
// key's own employee); writes through the API (employees change only through
// the control methods); webhook retries, schedules and rate limits (a test
// decides when deliveries go out with Deliver or Drop); the legacy
// employee_with_fields vs employee.* subscription rules; the HTTPS-only rule
// for webhook URLs (the fake posts to any URL, loopback included); per-field
// permissions other than those set with RestrictField.
//
// # Use
//
//	s := bamboohrtest.NewServer(bamboohrtest.Config{})
//	defer s.Close()
//	id := s.Add(map[string]string{"firstName": "Ava", "hireDate": "2020-01-02"})
//	// point the client at s.APIBase() (or s.GatewayBase()), key "test-api-key"
//	s.Update(id, map[string]string{"department": "Sales"})
//	s.Inject(bamboohrtest.Fault{Path: "/employees/changed", Status: 503, RetryAfter: "2"})
package bamboohrtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	CompanyDomain string           // default "acme"
	APIKey        string           // the accepted key; default "test-api-key"
	Now           func() time.Time // clock for lastChanged, webhook timestamps; default time.Now

	// CompanyID is the data.companyId of event-based webhooks; default "1".
	CompanyID string
	// EmptyDate is what an empty date field reads as. "" (the default) means
	// JSON null, which is what the OpenAPI's `type: [string, 'null']` for
	// hireDate/terminationDate/... gives; set "0000-00-00" to imitate older
	// behaviour some clients guard against (not documented by BambooHR).
	EmptyDate string
	// ExactLastPage makes List Employees return a null nextCursor on a full
	// page that happens to be the last. By default (false) the fake does not
	// look ahead: a full page always has a nextCursor, so when the count
	// divides evenly by the limit the walk ends on an empty page.
	ExactLastPage bool
}

// Server is the fake. All methods are safe for concurrent use with each
// other and with the HTTP handlers.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:12345". Endpoints live at
	// URL+"/api/v1/..." and URL+"/api/gateway.php/{CompanyDomain}/v1/...".
	URL string

	cfg Config
	hs  *httptest.Server

	mu          sync.Mutex
	employees   map[string]*employee
	changes     map[string]change // latest change per employee id, incl. deleted ones
	nextID      int
	custom      []fieldDef
	hiddenField map[string]bool // storage keys the API key may not see
	faults      []*Fault
	webhooks    []*webhookState
	queue       []queued

	reqMu    sync.Mutex // guards requests; separate from mu, which handlers hold while writing
	requests []Request
}

type employee struct {
	id          string
	fields      map[string]string // storage key -> value
	lastChanged time.Time
	restricted  bool
}

type change struct {
	action string // Inserted, Updated, Deleted
	at     time.Time
}

// NewServer starts a fake on 127.0.0.1 (httptest.NewServer).
func NewServer(cfg Config) *Server {
	if cfg.CompanyDomain == "" {
		cfg.CompanyDomain = "acme"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = "test-api-key"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CompanyID == "" {
		cfg.CompanyID = "1"
	}
	s := &Server{
		cfg:         cfg,
		employees:   map[string]*employee{},
		changes:     map[string]change{},
		nextID:      1,
		hiddenField: map[string]bool{},
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.hs.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.hs.Close() }

// Client returns an *http.Client for the server (the httptest client).
func (s *Server) Client() *http.Client { return s.hs.Client() }

// APIBase returns the base of the documented API for this company:
// URL+"/api/v1" (the OpenAPI's https://{companyDomain}.bamboohr.com/api/v1).
func (s *Server) APIBase() string { return s.URL + "/api/v1" }

// GatewayBase returns the legacy base URL+"/api/gateway.php/{CompanyDomain}/v1"
// (https://documentation.bamboohr.com/docs/api-details).
func (s *Server) GatewayBase() string {
	return s.URL + "/api/gateway.php/" + url.PathEscape(s.cfg.CompanyDomain) + "/v1"
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// canonLocked turns a map of field names (API name, alias or id) into storage
// keys. Unknown names panic: a test that misspells a field should fail loudly.
func (s *Server) canonLocked(fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if k == "id" {
			continue
		}
		f := s.resolveLocked(k)
		if f == nil {
			panic(fmt.Sprintf("bamboohrtest: unknown field %q (add it with AddCustomField)", k))
		}
		if f.readOnly {
			panic(fmt.Sprintf("bamboohrtest: field %q is computed by the fake", k))
		}
		out[f.key] = v
	}
	return out
}

// Add creates an employee (an Inserted change at Now) and returns its id.
// Ids are "1", "2", ... unless fields["id"] gives one. fields maps BambooHR
// API field names (or custom field aliases/ids) to values; dates are
// "YYYY-MM-DD". status defaults to "Active". Unknown field names panic.
func (s *Server) Add(fields map[string]string) (id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := s.canonLocked(fields)
	if given, ok := fields["id"]; ok && given != "" {
		id = given
		if n, err := strconv.Atoi(given); err == nil && n >= s.nextID {
			s.nextID = n + 1
		}
	} else {
		for {
			id = strconv.Itoa(s.nextID)
			s.nextID++
			if _, taken := s.employees[id]; !taken {
				break
			}
		}
	}
	if _, taken := s.employees[id]; taken {
		panic(fmt.Sprintf("bamboohrtest: employee %q already exists", id))
	}
	for k, v := range vals {
		if v == "" {
			delete(vals, k)
		}
	}
	if vals["status"] == "" {
		vals["status"] = "Active"
	}
	now := s.now()
	e := &employee{id: id, fields: vals, lastChanged: now}
	s.employees[id] = e
	s.changes[id] = change{action: "Inserted", at: now}
	changed := make([]string, 0, len(vals))
	for k := range vals {
		changed = append(changed, k)
	}
	sort.Strings(changed)
	s.queueLocked(e, "created", changed, now)
	return id
}

// Update changes fields of an employee (an Updated change at Now, which bumps
// lastChanged). "" clears a field. Updating an unknown employee panics.
func (s *Server) Update(id string, fields map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		panic(fmt.Sprintf("bamboohrtest: no employee %q", id))
	}
	vals := s.canonLocked(fields)
	var changed []string
	for k, v := range vals {
		if e.fields[k] == v {
			continue
		}
		changed = append(changed, k)
		if v == "" {
			delete(e.fields, k)
		} else {
			e.fields[k] = v
		}
	}
	sort.Strings(changed)
	now := s.now()
	e.lastChanged = now
	s.changes[id] = change{action: "Updated", at: now}
	if len(changed) > 0 {
		s.queueLocked(e, "updated", changed, now)
	}
}

// Delete removes an employee (a Deleted change at Now). Unknown ids are ignored.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		return
	}
	delete(s.employees, id)
	now := s.now()
	s.changes[id] = change{action: "Deleted", at: now}
	s.queueLocked(e, "deleted", nil, now)
}

// Employee returns a copy of an employee's stored fields (keyed by API field
// name; custom fields by their id), with "id" and "lastChanged".
func (s *Server) Employee(id string) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(e.fields)+2)
	for k, v := range e.fields {
		out[k] = v
	}
	out["id"] = e.id
	out["lastChanged"] = formatTimestamp(e.lastChanged)
	return out, true
}

// AddCustomField defines a custom field: listed by meta/fields, readable and
// writable by alias or id. typ is a BambooHR field type ("text", "date",
// "list", ...). Aliases look like "customShirtSize"
// (https://documentation.bamboohr.com/docs/past-changes-to-the-api,
// 2023.10.19).
func (s *Server) AddCustomField(id, name, alias, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if typ == "" {
		typ = "text"
	}
	s.custom = append(s.custom, fieldDef{key: id, id: id, name: name, alias: alias, typ: typ, custom: true})
}

// Restrict makes an employee invisible to the API key: Get Employee answers
// 403 (as the OpenAPI's get-employee documents); List Employees, the custom
// report and the changed-ids list omit the employee. Docs silent on the last
// two: the report "silently omits" what the caller may not view, and the fake
// extends that to whole employees and to changed ids.
func (s *Server) Restrict(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.employees[id]; ok {
		e.restricted = true
	}
}

// Unrestrict undoes Restrict.
func (s *Server) Unrestrict(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.employees[id]; ok {
		e.restricted = false
	}
}

// RestrictField makes a field (API name, alias or id) one the API key may not
// see: Get Employee and the custom report omit it (both documented), List
// Employees returns null and lists it in _restrictedFields (documented).
func (s *Server) RestrictField(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.resolveLocked(name); f != nil {
		s.hiddenField[f.key] = true
	}
}

// Fault is an injected failure.
type Fault struct {
	Method, Path string // Path matched as a prefix of the request path after the /api/v1 (or gateway) prefix, e.g. "/employees/changed", "/reports/custom"; "" matches all
	Status       int    // e.g. 401, 403, 429, 500, 503 — with the documented error headers
	RetryAfter   string // Retry-After header value, e.g. "2" (seconds) or an HTTP date
	Malformed    bool   // answer 200 with truncated/invalid JSON instead
	Times        int    // how many matching requests it affects (0 = 1)
}

// Inject queues a fault. Faults are matched in the order injected, before
// authentication.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Request is one API request served.
type Request struct {
	Method, Path string
	Query        url.Values
	Status       int
}

// Requests returns every API request served, in order.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.requests = nil
}
