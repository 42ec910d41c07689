package mergetest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BasePath is where the HRIS API lives under Server.URL, as under
// https://api.merge.dev (https://docs.merge.dev/hris, "Base API URL").
const BasePath = "/api/hris/v1"

// Page sizes from https://docs.merge.dev/basics/pagination: "Defaults to 30,
// maximum of 100."
const (
	DefaultPageSize = 30
	MaxPageSize     = 100
)

// Config configures a Server. Zero values take the defaults.
type Config struct {
	APIKey       string           // default "test-api-key"
	AccountToken string           // default "test-account-token"
	Now          func() time.Time // stamps modified_at, remote_created_at, webhook timestamps; default time.Now

	// LinkedAccountID is the id of the Linked Account in webhook payloads;
	// a UUID is assigned when empty.
	LinkedAccountID string
	// Integration and IntegrationSlug name the third party in webhook
	// payloads; defaults "BambooHR" and "bamboohr".
	Integration, IntegrationSlug string
}

// Employee is the Merge common model as the fake stores it. It is served as
// the Employee object of docs.merge.dev/hris/employees.
type Employee struct {
	ID                                                            string // Merge's id (a UUID the fake assigns when empty)
	RemoteID                                                      string // the underlying HRIS's id (required)
	EmployeeNumber, FirstName, LastName, WorkEmail, PersonalEmail string
	EmploymentStatus                                              string     // "ACTIVE", "PENDING", "INACTIVE"
	StartDate, HireDate, TerminationDate                          *time.Time // served as date-time strings, null when nil
	ManagerID, TeamID, WorkLocationID                             string     // Merge ids of another employee / a team / a location
	CustomFields                                                  map[string]any
	FieldMappings                                                 map[string]any // organization_defined_targets, served under field_mappings
	// LinkedAccountFieldMappings is served as
	// field_mappings.linked_account_defined_targets.
	LinkedAccountFieldMappings map[string]any
	JobTitle                   string // the fake keeps one current Employment per employee with this job title
	Deleted                    bool   // remote_was_deleted
}

// Fault makes matching requests fail. Method "" matches any method; Path is a
// prefix of the path after /api/hris/v1 ("" matches all). Status 0 with
// Malformed answers 200 with a body that is not JSON. RetryAfter, when set,
// is sent as the Retry-After header; Status 0 without Malformed is 500.
// Times is how many requests it affects: 0 means once, a negative number
// means every request until Close. Error bodies are {"detail": ...}; a 429's
// is DRF's "Request was throttled. Expected available in N seconds." when
// RetryAfter is a number of seconds.
type Fault struct {
	Method, Path string
	Status       int
	RetryAfter   string
	Malformed    bool
	Times        int
}

// Request is one request the server saw. Path is the whole URL path, with
// BasePath; Status is the status answered.
type Request struct {
	Method, Path string
	Query        url.Values
	Status       int
}

type object struct {
	id, remoteID      string
	seq               int64
	created, modified time.Time // Merge's created_at / modified_at
	remoteCreated     time.Time
	deleted           bool
}

type employeeRec struct {
	object
	e   Employee
	job employmentRec
}

type employmentRec struct {
	object
	jobTitle string
}

type teamRec struct {
	object
	name string
}

type locationRec struct {
	object
	name string
}

// Server is a fake Merge HRIS API. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:1234; the API is under
	// URL + BasePath.
	URL string

	srv     *httptest.Server
	cfg     Config
	created time.Time // the Linked Account's completed_at

	mu            sync.Mutex
	seq           int64
	epoch         int
	employees     []*employeeRec // in creation order
	empByRemote   map[string]*employeeRec
	teams         []*teamRec
	locations     []*locationRec
	faults        []*Fault
	requests      []Request
	webhooks      []webhookReg
	pending       []Delivery
	syncs         int
	trailingEmpty bool
}

// NewServer starts a fake on 127.0.0.1.
func NewServer(cfg Config) *Server {
	if cfg.APIKey == "" {
		cfg.APIKey = "test-api-key"
	}
	if cfg.AccountToken == "" {
		cfg.AccountToken = "test-account-token"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LinkedAccountID == "" {
		cfg.LinkedAccountID = newUUID()
	}
	if cfg.Integration == "" {
		cfg.Integration = "BambooHR"
	}
	if cfg.IntegrationSlug == "" {
		cfg.IntegrationSlug = "bamboohr"
	}
	s := &Server{cfg: cfg, empByRemote: map[string]*employeeRec{}}
	s.created = s.now()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// now is Config.Now truncated to microseconds, the precision Merge's
// date-times carry ("2021-03-30T19:44:18.695973Z" in the OpenAPI's
// SyncStatus x-merge-sample-json), so that a served modified_at given back as
// modified_after means the same instant.
func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

func (s *Server) nextObject(id, remoteID string) object {
	s.seq++
	if id == "" {
		id = newUUID()
	}
	t := s.now()
	return object{id: id, remoteID: remoteID, seq: s.seq, created: t, modified: t, remoteCreated: t}
}

// PutEmployee creates (by RemoteID) or replaces an employee, stamps its
// modified_at with Now, queues the Employee.added or Employee.changed webhook,
// and returns it with its ID. It panics when RemoteID is empty.
func (s *Server) PutEmployee(e Employee) Employee {
	if e.RemoteID == "" {
		panic("mergetest: PutEmployee needs a RemoteID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e = cloneEmployee(e)
	r, ok := s.empByRemote[e.RemoteID]
	event := "Employee.changed"
	if !ok {
		event = "Employee.added"
		r = &employeeRec{object: s.nextObject(e.ID, e.RemoteID)}
		r.job = employmentRec{object: s.nextObject("", e.RemoteID+"-employment")}
		r.job.jobTitle = e.JobTitle
		s.employees = append(s.employees, r)
		s.empByRemote[e.RemoteID] = r
	} else if e.ID != "" {
		r.id = e.ID
	}
	t := s.now()
	r.modified = t
	r.deleted = e.Deleted
	if r.job.jobTitle != e.JobTitle || r.job.deleted != e.Deleted {
		r.job.modified = t
	}
	r.job.jobTitle = e.JobTitle
	r.job.deleted = e.Deleted
	e.ID = r.id
	r.e = e
	s.queueLocked(event, s.renderEmployee(r, nil))
	return cloneEmployee(e)
}

// Employee returns the stored employee with that RemoteID.
func (s *Server) Employee(remoteID string) (Employee, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.empByRemote[remoteID]
	if !ok {
		return Employee{}, false
	}
	return cloneEmployee(r.e), true
}

// DeleteEmployee marks the employee remote_was_deleted (and its Employment
// with it), stamps modified_at, and queues Employee.removed. A deleted
// employee is left out of lists unless include_deleted_data=true.
func (s *Server) DeleteEmployee(remoteID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.empByRemote[remoteID]
	if !ok {
		return
	}
	t := s.now()
	r.deleted, r.e.Deleted, r.modified = true, true, t
	r.job.deleted, r.job.modified = true, t
	// The removed event's data is "the record as last seen, including its id"
	// (Merge's webhooks reference, merge-api/merge-unified-skills
	// references/webhooks.md): the object, now remote_was_deleted true.
	s.queueLocked("Employee.removed", s.renderEmployee(r, nil))
}

// PutTeam creates a team with that name, or finds the one already there, and
// returns its id.
func (s *Server) PutTeam(name string) (id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.teams {
		if t.name == name {
			return t.id
		}
	}
	t := &teamRec{name: name}
	t.object = s.nextObject("", fmt.Sprintf("team-%d", len(s.teams)+1))
	s.teams = append(s.teams, t)
	return t.id
}

// PutLocation creates a WORK location with that name, or finds the one
// already there, and returns its id.
func (s *Server) PutLocation(name string) (id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.locations {
		if l.name == name {
			return l.id
		}
	}
	l := &locationRec{name: name}
	l.object = s.nextObject("", fmt.Sprintf("location-%d", len(s.locations)+1))
	s.locations = append(s.locations, l)
	return l.id
}

// Inject adds a fault. Faults are checked in the order added, before
// authentication.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ExpireCursors makes every cursor handed out so far invalid: using one is
// answered 404 {"detail": "Invalid cursor"}.
func (s *Server) ExpireCursors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
}

// SetTrailingEmptyPage controls what a full page with nothing after it
// carries. Off (the default, DRF CursorPagination's behaviour) next is null.
// On, next is a cursor whose page is empty, with next null: the walk ends with
// an empty last page.
func (s *Server) SetTrailingEmptyPage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailingEmpty = on
}

// Requests returns the requests seen so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		q := url.Values{}
		for k, v := range r.Query {
			q[k] = append([]string(nil), v...)
		}
		r.Query = q
		out[i] = r
	}
	return out
}

// ResetRequests forgets the requests seen so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ---- HTTP ----

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	rec := &recorder{ResponseWriter: w}
	s.handle(rec, req)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Status: rec.status})
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	w.Write(b)
}

// detail writes an error body. Docs silent on error bodies: Merge is served
// by Django REST framework (its cursors are DRF CursorPagination cursors), so
// the fake answers DRF's {"detail": "..."}.
func detail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

func (s *Server) takeFault(method, rel string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(rel, f.Path) {
			out := *f
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			return &out
		}
	}
	return nil
}

func (s *Server) handle(w http.ResponseWriter, req *http.Request) {
	rel, ok := strings.CutPrefix(req.URL.Path, BasePath)
	if !ok || (rel != "" && rel[0] != '/') {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	if f := s.takeFault(req.Method, rel); f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		status := f.Status
		if f.Malformed {
			if status == 0 {
				status = http.StatusOK
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"next": "cD0x", "results": [{"id": `))
			return
		}
		if status == http.StatusTooManyRequests {
			// Docs silent on the 429 body: DRF's throttled message.
			msg := "Request was throttled."
			if n, err := strconv.Atoi(f.RetryAfter); err == nil {
				msg = fmt.Sprintf("Request was throttled. Expected available in %d seconds.", n)
			}
			detail(w, status, msg)
			return
		}
		if status == 0 {
			status = http.StatusInternalServerError
		}
		detail(w, status, http.StatusText(status))
		return
	}
	// Authentication, https://docs.merge.dev/hris: "Authorization: Bearer
	// <production key>" and "X-Account-Token" on every request for Linked
	// Account data. Missing or misconfigured authorization is 401
	// (help.merge.dev/articles/9660257). Docs silent on the bodies.
	auth := req.Header.Get("Authorization")
	if auth == "" {
		detail(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
		return
	}
	if key, ok := strings.CutPrefix(auth, "Bearer "); !ok || key != s.cfg.APIKey {
		detail(w, http.StatusUnauthorized, "Invalid token.")
		return
	}
	if tok := req.Header.Get("X-Account-Token"); tok == "" {
		detail(w, http.StatusUnauthorized, "Missing X-Account-Token header.")
		return
	} else if tok != s.cfg.AccountToken {
		detail(w, http.StatusUnauthorized, "Invalid X-Account-Token.")
		return
	}
	if req.Method != http.MethodGet {
		detail(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %q not allowed.", req.Method))
		return
	}
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	if len(parts) > 2 || parts[0] == "" {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	q := req.URL.Query()
	var id string
	if len(parts) == 2 {
		id = parts[1]
	}
	switch parts[0] {
	case "employees":
		s.employeesEndpoint(w, q, id, len(parts) == 2)
	case "employments":
		s.employmentsEndpoint(w, q, id, len(parts) == 2)
	case "teams":
		s.teamsEndpoint(w, q, id, len(parts) == 2)
	case "locations":
		s.locationsEndpoint(w, q, id, len(parts) == 2)
	default:
		detail(w, http.StatusNotFound, "Not found.")
	}
}

// ---- helpers ----

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// formatTime renders a date-time the way the OpenAPI examples and samples
// show them: "2021-10-16T00:00:00Z", "2021-03-30T19:44:18.695973Z".
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000Z07:00")
	}
	return t.Format("2006-01-02T15:04:05Z07:00")
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func cloneEmployee(e Employee) Employee {
	e.CustomFields = maps.Clone(e.CustomFields)
	e.FieldMappings = maps.Clone(e.FieldMappings)
	e.LinkedAccountFieldMappings = maps.Clone(e.LinkedAccountFieldMappings)
	for _, p := range []**time.Time{&e.StartDate, &e.HireDate, &e.TerminationDate} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	return e
}

// cursor encoding: DRF's CursorPagination format, base64 of a query string
// ("p=<position>", "r=1" for reverse), plus "g=<generation>" so that
// ExpireCursors can refuse the ones handed out before.
type cursor struct {
	reverse bool
	pos     int64
	gen     int
}

func encodeCursor(c cursor) string {
	v := url.Values{}
	v.Set("p", strconv.FormatInt(c.pos, 10))
	v.Set("g", strconv.Itoa(c.gen))
	if c.reverse {
		v.Set("r", "1")
	}
	return base64.StdEncoding.EncodeToString([]byte(v.Encode()))
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return cursor{}, false
	}
	pos, err1 := strconv.ParseInt(v.Get("p"), 10, 64)
	gen, err2 := strconv.Atoi(v.Get("g"))
	if err1 != nil || err2 != nil {
		return cursor{}, false
	}
	return cursor{reverse: v.Get("r") == "1", pos: pos, gen: gen}, true
}
