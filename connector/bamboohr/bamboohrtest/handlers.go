package bamboohrtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// statusWriter records the request, with its status, when the header is
// written: before any byte reaches the client, so a test that has its
// response always finds it in Requests().
type statusWriter struct {
	http.ResponseWriter
	status int
	record func(status int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	sw := &statusWriter{ResponseWriter: w, record: func(st int) {
		rec.Status = st
		s.reqMu.Lock()
		s.requests = append(s.requests, rec)
		s.reqMu.Unlock()
	}}
	defer func() {
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
	}()

	rel, ok := s.relPath(r.URL.Path)
	if !ok {
		// https://bamboohr.screenstepslive.com/... : 404 "The given URL is
		// not a valid API" (also a wrong company domain in the gateway URL).
		writeError(sw, http.StatusNotFound, "Not found")
		return
	}

	if f := s.takeFault(r.Method, rel); f != nil {
		if f.Malformed {
			rec := httptest.NewRecorder()
			s.route(rec, r, rel)
			body := rec.Body.Bytes()
			if len(body) < 2 {
				body = []byte(`{"`)
			} else {
				body = body[:len(body)/2]
			}
			sw.Header().Set("Content-Type", "application/json")
			sw.WriteHeader(http.StatusOK)
			sw.Write(body)
			return
		}
		if f.RetryAfter != "" {
			sw.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(sw, f.Status, http.StatusText(f.Status))
		return
	}

	// HTTP basic auth, API key as the user name, any password
	// (https://documentation.bamboohr.com/docs/getting-started). 401 "Your
	// API key is missing" (https://documentation.bamboohr.com/docs/api-details).
	// Docs silent on the 401 body: the fake sends none, with a Basic
	// WWW-Authenticate challenge as RFC 9110 asks.
	user, _, hasAuth := r.BasicAuth()
	if !hasAuth || user != s.cfg.APIKey {
		sw.Header().Set("WWW-Authenticate", `Basic realm="BambooHR"`)
		writeError(sw, http.StatusUnauthorized, "Invalid API key")
		return
	}
	s.route(sw, r, rel)
}

// relPath strips /api/v1 or /api/gateway.php/{domain}/v1 and a trailing
// slash (the older docs write /v1/employees/changed/?since=...).
func (s *Server) relPath(p string) (string, bool) {
	var rel string
	switch {
	case strings.HasPrefix(p, "/api/v1/"):
		rel = p[len("/api/v1"):]
	case strings.HasPrefix(p, "/api/gateway.php/"):
		rest := p[len("/api/gateway.php/"):]
		i := strings.IndexByte(rest, '/')
		if i < 0 || rest[:i] != s.cfg.CompanyDomain || !strings.HasPrefix(rest[i:], "/v1/") {
			return "", false
		}
		rel = rest[i+len("/v1"):]
	default:
		return "", false
	}
	if len(rel) > 1 {
		rel = strings.TrimSuffix(rel, "/")
	}
	return rel, true
}

func (s *Server) takeFault(method, rel string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if !strings.HasPrefix(rel, f.Path) {
			continue
		}
		cp := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &cp
	}
	return nil
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, rel string) {
	switch {
	case rel == "/employees" && r.Method == http.MethodGet:
		s.listEmployees(w, r)
	case rel == "/employees/changed" && r.Method == http.MethodGet:
		s.changedEmployees(w, r)
	case strings.HasPrefix(rel, "/employees/") && !strings.Contains(rel[len("/employees/"):], "/") && r.Method == http.MethodGet:
		s.getEmployee(w, r, rel[len("/employees/"):])
	case rel == "/reports/custom" && r.Method == http.MethodPost:
		s.customReport(w, r)
	case rel == "/meta/fields" && r.Method == http.MethodGet:
		s.metaFields(w, r)
	default:
		// 404 also when "the method (GET, POST, PUT, DELETE) is unavailable"
		// (API error code definitions page).
		writeError(w, http.StatusNotFound, "Not found")
	}
}

// writeError answers an error. The error code page
// (https://bamboohr.screenstepslive.com/m/53907/l/587843-api-error-code-definitions)
// documents the header "X-BambooHR-Error-Messsage" (sic, three s's) on 400s;
// third-party guides spell it X-BambooHR-Error-Message. Docs silent on which
// errors carry it and on error bodies: the fake sends both spellings on every
// error, and no body except where the OpenAPI documents one.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-BambooHR-Error-Message", msg)
	w.Header().Set("X-BambooHR-Error-Messsage", msg)
	w.WriteHeader(status)
}

// writeCodedError answers with the List Employees error body of the OpenAPI:
// {"error":{"code":"BadRequest"|"BadPage","message":...}}.
func writeCodedError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-BambooHR-Error-Message", msg)
	w.Header().Set("X-BambooHR-Error-Messsage", msg)
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// formatTimestamp renders lastChanged as the changed-ids sample does:
// "2011-06-02T19:26:23+00:00"
// (https://documentation.bamboohr.com/reference/get-changed-employee-ids).
func formatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05-07:00")
}

// parseSince accepts the five formats of the Get Changed Employee IDs page:
// yyyy-mm-ddThh:mm:ss+hh:mm, -hh:mm, +hhmm, -hhmm and Z. A '+' sent
// unencoded arrives as a space (the page: "%2B will be converted to + by the
// time we receive the request"; a bare '+' is form-decoded to ' ') and is
// rejected.
func parseSince(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid ISO 8601 date-time %q", v)
}

// visibleLocked reports whether the API key may see e.
func visibleLocked(e *employee) bool { return !e.restricted }

// sortedIDsLocked returns employee ids in numeric order (non-numeric last, by string).
func (s *Server) sortedIDsLocked() []string {
	ids := make([]string, 0, len(s.employees))
	for id := range s.employees {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	return ids
}

func idLess(a, b string) bool {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		return na < nb
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return a < b
}

// valueLocked is the API value of a stored field: a string, or nil when empty.
func (s *Server) valueLocked(e *employee, f *fieldDef) any {
	if f.key == "lastChanged" {
		return formatTimestamp(e.lastChanged)
	}
	v, ok := e.fields[f.key]
	if !ok || v == "" {
		if f.typ == "date" && s.cfg.EmptyDate != "" {
			return s.cfg.EmptyDate
		}
		return nil
	}
	return v
}

// ---------------------------------------------------------------- List Employees

// cursor encodes the boundary employee like the OpenAPI's example cursor
// "eyJjdXJzb3IiOiAiYWZ0ZXItMTI0In0=", which is base64 of
// {"cursor": "after-124"}.
func encodeCursor(dir, id string) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"cursor": "` + dir + "-" + id + `"}`))
}

func decodeCursor(c, dir string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return "", false
		}
	}
	var v struct {
		Cursor string `json:"cursor"`
	}
	if json.Unmarshal(raw, &v) != nil || !strings.HasPrefix(v.Cursor, dir+"-") {
		return "", false
	}
	return v.Cursor[len(dir)+1:], true
}

// listEmployees serves GET /api/v1/employees (operationId list-employees).
func (s *Server) listEmployees(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()

	limit := 50 // default 50, at most 100 (OpenAPI page.limit)
	if v := q.Get("page[limit]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeCodedError(w, http.StatusBadRequest, "BadRequest", "page[limit] must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	after, before := q.Get("page[after]"), q.Get("page[before]")
	if after != "" && before != "" {
		writeCodedError(w, http.StatusBadRequest, "BadPage", "page[after] and page[before] are exclusive")
		return
	}

	status := q.Get("filter[status]")
	if status != "" && status != "active" && status != "inactive" {
		writeCodedError(w, http.StatusBadRequest, "BadRequest", "filter[status] must be active or inactive")
		return
	}
	var idFilter map[string]bool
	rawIDs := append(q["filter[ids][]"], q["filter[ids]"]...)
	for k, vs := range q { // filter[ids][0]=... also decodes as deepObject
		if strings.HasPrefix(k, "filter[ids][") && k != "filter[ids][]" {
			rawIDs = append(rawIDs, vs...)
		}
	}
	if len(rawIDs) > 0 {
		idFilter = map[string]bool{}
		for _, v := range rawIDs {
			for _, id := range strings.Split(v, ",") {
				id = strings.TrimSpace(id)
				if id == "" {
					continue
				}
				if _, err := strconv.Atoi(id); err != nil {
					writeCodedError(w, http.StatusBadRequest, "BadRequest", "filter[ids] must be integers")
					return
				}
				idFilter[id] = true
			}
		}
	}
	if srt := q.Get("sort"); srt != "" && srt != "employeeId" {
		writeCodedError(w, http.StatusBadRequest, "BadRequest", "bamboohrtest models only sort=employeeId")
		return
	}

	// fields: comma-separated; unrecognized names silently ignored (OpenAPI).
	var extra []string
	seen := map[string]bool{}
	for _, v := range q["fields"] {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if listOptionalFields[f] && !seen[f] {
				seen[f] = true
				extra = append(extra, f)
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	var match []*employee
	for _, id := range s.sortedIDsLocked() {
		e := s.employees[id]
		if !visibleLocked(e) {
			// "If the caller does not have access to the filtered field on a
			// matching employee, that employee is excluded" (OpenAPI); an
			// employee the key may not see at all is excluded likewise.
			continue
		}
		if idFilter != nil && !idFilter[id] {
			continue
		}
		if status != "" && !strings.EqualFold(e.fields["status"], status) {
			continue
		}
		match = append(match, e)
	}

	index := func(id string) int {
		for i, e := range match {
			if e.id == id {
				return i
			}
		}
		return -1
	}
	start, end := 0, 0
	switch {
	case after != "":
		id, ok := decodeCursor(after, "after")
		i := index(id)
		if !ok || i < 0 {
			// BadPage "when the page cursor is malformed, the wrong cursor
			// direction is supplied, or the boundary employee changed between
			// calls (for example, was deleted or no longer matches the
			// filter)" (OpenAPI).
			writeCodedError(w, http.StatusBadRequest, "BadPage", "invalid page cursor")
			return
		}
		start = i + 1
		end = min(start+limit, len(match))
	case before != "":
		id, ok := decodeCursor(before, "before")
		i := index(id)
		if id == "end" {
			i = len(match)
		}
		if !ok || i < 0 {
			writeCodedError(w, http.StatusBadRequest, "BadPage", "invalid page cursor")
			return
		}
		end = i
		start = max(0, end-limit)
	default:
		end = min(limit, len(match))
	}
	page := match[start:end]

	var next, prev any
	full := len(page) == limit
	// Docs silent on whether a full last page carries a nextCursor. Without
	// ExactLastPage the fake does not look ahead: every full page has one.
	if full && (!s.cfg.ExactLastPage || end < len(match)) {
		next = encodeCursor("after", page[len(page)-1].id)
	}
	if start > 0 {
		if len(page) > 0 {
			prev = encodeCursor("before", page[0].id)
		} else {
			// An empty page past the last employee: its previous page is the
			// one ending with the last employee ("before-end").
			prev = encodeCursor("before", "end")
		}
	}

	data := make([]map[string]any, 0, len(page))
	for _, e := range page {
		rec := map[string]any{"employeeId": e.id}
		restricted := []string{}
		for _, name := range append(append([]string{}, listDefaultFields...), extra...) {
			key, modelled := listFieldMap[name]
			if !modelled {
				rec[name] = nil
				continue
			}
			if s.hiddenField[key] {
				rec[name] = nil
				restricted = append(restricted, name)
				continue
			}
			f := s.resolveLocked(key)
			rec[name] = s.valueLocked(e, f)
		}
		rec["_restrictedFields"] = restricted
		data = append(data, rec)
	}

	self := s.APIBase() + "/employees"
	if enc := r.URL.RawQuery; enc != "" {
		self += "?" + enc
	}
	links := map[string]any{"self": map[string]any{"href": self}}
	linkWith := func(key, val string) string {
		qq := cloneValues(q)
		qq.Del("page[after]")
		qq.Del("page[before]")
		qq.Set(key, val)
		return s.APIBase() + "/employees?" + qq.Encode()
	}
	if n, ok := next.(string); ok {
		links["next"] = map[string]any{"href": linkWith("page[after]", n)}
	}
	if p, ok := prev.(string); ok {
		links["prev"] = map[string]any{"href": linkWith("page[before]", p)}
	}

	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]any{
			"total": len(match),
			"page":  map[string]any{"limit": limit, "nextCursor": next, "prevCursor": prev},
		},
		"_links": links,
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ---------------------------------------------------------------- Get Employee

// getEmployee serves GET /api/v1/employees/{id} (operationId get-employee).
func (s *Server) getEmployee(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	names := []string{"firstName", "lastName"} // OpenAPI default "firstName,lastName"
	if v := q.Get("fields"); v != "" {
		names = nil
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, f)
			}
		}
	}
	if len(names) > 400 {
		// "The request exceeded the maximum number of allowed fields (400)."
		writeError(w, http.StatusBadRequest, "The maximum number of fields per request is 400")
		return
	}
	// onlyCurrent is accepted and ignored: the fake keeps no history.

	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Employee not found") // "The employee does not exist."
		return
	}
	if !visibleLocked(e) {
		// "The API user does not have permission to see the requested employee."
		writeError(w, http.StatusForbidden, "You do not have access to this employee")
		return
	}
	out := map[string]any{"id": e.id}
	for _, name := range names {
		if name == "id" {
			continue
		}
		f := s.resolveLocked(name)
		// "Fields the caller does not have permission to view are omitted."
		// Docs silent on unknown field names here (the OpenAPI lists no 406
		// for get-employee): the fake omits them too.
		if f == nil || s.hiddenField[f.key] {
			continue
		}
		out[name] = s.valueLocked(e, f)
	}
	writeJSON(w, http.StatusOK, out)
}

// ---------------------------------------------------------------- Changed IDs

// changedEmployees serves GET /api/v1/employees/changed
// (operationId get-changed-employee-ids).
func (s *Server) changedEmployees(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sinceRaw := q.Get("since")
	if sinceRaw == "" {
		writeError(w, http.StatusBadRequest, "since is required")
		return
	}
	since, err := parseSince(sinceRaw)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	typ := strings.ToLower(q.Get("type"))
	want := ""
	switch typ {
	case "", "all":
	case "inserted", "updated", "deleted":
		want = strings.ToUpper(typ[:1]) + typ[1:]
	default:
		writeError(w, http.StatusBadRequest, "type must be inserted, updated, deleted or all")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	emps := map[string]any{}
	var latest time.Time
	for id, c := range s.changes {
		// Docs silent on whether "since" is inclusive; the fake includes
		// changes at exactly `since` (as the custom report's lastChanged
		// filter documents "at or after"), so a client that passes back
		// `latest` sees the last change again rather than missing one.
		if c.at.Before(since) {
			continue
		}
		if want != "" && c.action != want {
			continue
		}
		if e, ok := s.employees[id]; ok && !visibleLocked(e) {
			continue
		}
		emps[id] = map[string]any{"id": id, "action": c.action, "lastChanged": formatTimestamp(c.at)}
		if c.at.After(latest) {
			latest = c.at
		}
	}
	// Docs silent on "latest" when nothing changed: the fake answers null.
	var latestV any
	if !latest.IsZero() {
		latestV = formatTimestamp(latest)
	}
	writeJSON(w, http.StatusOK, map[string]any{"latest": latestV, "employees": emps})
}

// ---------------------------------------------------------------- Custom report

type reportRequest struct {
	Title   string   `json:"title"`
	Fields  []string `json:"fields"`
	Filters struct {
		LastChanged *struct {
			IncludeNull string `json:"includeNull"`
			Value       string `json:"value"`
		} `json:"lastChanged"`
		EmployeeIDs []json.RawMessage `json:"employeeIds"`
	} `json:"filters"`
	FilterDuplicates string `json:"filterDuplicates"`
}

// customReport serves POST /api/v1/reports/custom
// (operationId request-custom-report, deprecated but documented).
func (s *Server) customReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	switch format {
	case "json":
	case "":
		// "If format is omitted, the output format is inferred from the
		// Accept header, but only these exact values are supported ... Any
		// other Accept value (including application/xml and */*) will return 404."
		switch r.Header.Get("Accept") {
		case "application/json":
		case "text/xml", "text/csv", "application/pdf", "application/vnd.ms-excel":
			writeError(w, http.StatusNotImplemented, "bamboohrtest serves only JSON reports")
			return
		default:
			writeError(w, http.StatusNotFound, "Report format not found")
			return
		}
	case "xml", "csv", "xls", "pdf":
		writeError(w, http.StatusNotImplemented, "bamboohrtest serves only JSON reports")
		return
	default:
		writeError(w, http.StatusNotFound, "Report format not found")
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Unreadable body")
		return
	}
	// "set Content-Type: application/json exactly — any variation such as
	// application/json; charset=UTF-8 is not recognised as JSON and the body
	// will be parsed as XML instead, which typically results in 400 Malformed XML."
	if r.Header.Get("Content-Type") != "application/json" {
		writeError(w, http.StatusBadRequest, "Malformed XML")
		return
	}
	var req reportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Malformed JSON")
		return
	}
	if len(req.Fields) > 400 {
		writeError(w, http.StatusBadRequest, "The maximum number of fields per request is 400")
		return
	}
	var since time.Time
	includeNull := true
	if lc := req.Filters.LastChanged; lc != nil {
		if lc.Value != "" {
			since, err = parseSince(lc.Value)
			if err != nil {
				writeError(w, http.StatusBadRequest, "Invalid lastChanged value")
				return
			}
		}
		includeNull = lc.IncludeNull != "no" // "yes" is the default
	}
	_ = includeNull // every fake employee has a lastChanged; no nulls to include
	var idFilter map[string]bool
	if req.Filters.EmployeeIDs != nil {
		idFilter = map[string]bool{}
		for _, raw := range req.Filters.EmployeeIDs {
			// The schema says integers; the fake also accepts numeric strings.
			var n json.Number
			var str string
			if json.Unmarshal(raw, &n) == nil {
				idFilter[n.String()] = true
			} else if json.Unmarshal(raw, &str) == nil {
				idFilter[str] = true
			} else {
				writeError(w, http.StatusBadRequest, "employeeIds must be integers")
				return
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	type col struct {
		name string
		f    *fieldDef
	}
	var cols []col
	metaFields := []map[string]any{}
	seen := map[string]bool{}
	for _, name := range req.Fields {
		if seen[name] {
			continue
		}
		seen[name] = true
		if name == "id" {
			continue // always present
		}
		f := s.resolveLocked(name)
		// "Field IDs in the request that are unknown or that the caller does
		// not have permission to view are silently omitted from the report."
		if f == nil || s.hiddenField[f.key] {
			continue
		}
		cols = append(cols, col{name, f})
		metaFields = append(metaFields, map[string]any{"id": name, "type": f.typ, "name": f.name})
	}
	emps := []map[string]any{}
	// "The report includes all employees regardless of status."
	for _, id := range s.sortedIDsLocked() {
		e := s.employees[id]
		if !visibleLocked(e) {
			continue
		}
		if idFilter != nil && !idFilter[id] {
			continue
		}
		if !since.IsZero() && e.lastChanged.Before(since) {
			continue
		}
		rec := map[string]any{"id": e.id}
		for _, c := range cols {
			rec[c.name] = s.valueLocked(e, c.f)
		}
		emps = append(emps, rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"title": req.Title, "fields": metaFields, "employees": emps})
}

// ---------------------------------------------------------------- meta/fields

// metaFields serves GET /api/v1/meta/fields (operationId list-fields).
func (s *Server) metaFields(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	add := func(f fieldDef) {
		m := map[string]any{"id": f.id, "name": f.name, "type": f.typ}
		if n, err := strconv.Atoi(f.id); err == nil {
			m["id"] = n // "for top-level fields it may be an integer"
		}
		if f.alias != "" {
			m["alias"] = f.alias
		}
		out = append(out, m)
	}
	for _, f := range standardFields {
		add(f)
	}
	for _, f := range s.custom {
		add(f)
	}
	writeJSON(w, http.StatusOK, out)
}
