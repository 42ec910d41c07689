package mergetest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type renderOpts struct {
	expand     map[string]bool
	remoteData bool
}

type badRequest map[string][]string

func parseOpts(q url.Values) (renderOpts, error) {
	o := renderOpts{expand: map[string]bool{}}
	// expand: "Separate multiple expansions with a comma (ie.
	// expand=groups,employments)"
	// (help.merge.dev/articles/6153657-using-the-expand-parameter).
	// Docs silent on unknown names: ignored.
	for _, e := range strings.Split(q.Get("expand"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.expand[e] = true
		}
	}
	var err error
	o.remoteData, err = parseBool(q, "include_remote_data")
	return o, err
}

// parseBool reads a boolean query parameter. Docs silent on spellings and on
// bad values: true/True/1 and false/False/0 are accepted, anything else is
// 400 with a DRF field error.
func parseBool(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "":
		return false, nil
	case "true", "True", "1":
		return true, nil
	case "false", "False", "0":
		return false, nil
	}
	return false, badRequest{name: {"Must be a valid boolean."}}
}

func (b badRequest) Error() string { return "bad request" }

// parseTime reads a date-time query parameter (OpenAPI: format date-time).
// RFC 3339 with or without fractional seconds; also a naive
// "2021-03-30T20:44:18", the form https://docs.merge.dev/basics/syncing-data
// shows for modified_after, taken as UTC (Docs silent on the zone), and a bare
// date. Anything else is 400 (Docs silent on the body: Django's message).
func parseTime(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, badRequest{name: {"Enter a valid date/time."}}
}

// commonFilter reads the filters every list endpoint documents:
// created_after, created_before, modified_after, modified_before ("only
// objects synced by Merge after this date time", strictly after),
// remote_id and include_deleted_data.
func commonFilter(q url.Values) (func(o *object) bool, error) {
	var ts [4]*time.Time
	for i, n := range []string{"created_after", "created_before", "modified_after", "modified_before"} {
		t, err := parseTime(q, n)
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	withDeleted, err := parseBool(q, "include_deleted_data")
	if err != nil {
		return nil, err
	}
	remoteID, hasRemote := q["remote_id"]
	return func(o *object) bool {
		switch {
		case o.deleted && !withDeleted,
			ts[0] != nil && !o.created.After(*ts[0]),
			ts[1] != nil && !o.created.Before(*ts[1]),
			ts[2] != nil && !o.modified.After(*ts[2]),
			ts[3] != nil && !o.modified.Before(*ts[3]),
			hasRemote && o.remoteID != remoteID[0]:
			return false
		}
		return true
	}, nil
}

type item struct {
	obj    *object
	render func() map[string]any
}

// page serves one page of items (already filtered, in creation order) as the
// Paginated*List envelope {"next", "previous", "results"}.
func (s *Server) page(w http.ResponseWriter, q url.Values, items []item) {
	size := DefaultPageSize
	if v := q.Get("page_size"); v != "" {
		// Docs silent on bad values: DRF falls back to the default; above
		// the maximum it is clamped.
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	c := cursor{gen: s.epoch}
	if v, ok := q["cursor"]; ok && v[0] != "" {
		var good bool
		c, good = decodeCursor(v[0])
		if !good || c.gen != s.epoch {
			// Docs silent: DRF CursorPagination's answer to a cursor it
			// cannot use.
			detail(w, http.StatusNotFound, "Invalid cursor")
			return
		}
	}
	var res []item
	var next, prev any
	if !c.reverse {
		i := 0
		for i < len(items) && items[i].obj.seq <= c.pos {
			i++
		}
		before := i > 0
		end := min(i+size, len(items))
		res = items[i:end]
		if end < len(items) || (s.trailingEmpty && len(res) == size) {
			last := c.pos
			if len(res) > 0 {
				last = res[len(res)-1].obj.seq
			}
			next = encodeCursor(cursor{pos: last, gen: s.epoch})
		}
		if before && c.pos > 0 {
			first := c.pos + 1
			if len(res) > 0 {
				first = res[0].obj.seq
			}
			prev = encodeCursor(cursor{reverse: true, pos: first, gen: s.epoch})
		}
	} else {
		j := 0
		for j < len(items) && items[j].obj.seq < c.pos {
			j++
		}
		start := max(j-size, 0)
		res = items[start:j]
		if j < len(items) {
			last := c.pos - 1
			if len(res) > 0 {
				last = res[len(res)-1].obj.seq
			}
			next = encodeCursor(cursor{pos: last, gen: s.epoch})
		}
		if start > 0 {
			prev = encodeCursor(cursor{reverse: true, pos: res[0].obj.seq, gen: s.epoch})
		}
	}
	out := make([]map[string]any, len(res))
	for i, it := range res {
		out[i] = it.render()
	}
	writeJSON(w, http.StatusOK, map[string]any{"next": next, "previous": prev, "results": out})
}

func writeErr(w http.ResponseWriter, err error) {
	if b, ok := err.(badRequest); ok {
		writeJSON(w, http.StatusBadRequest, b)
		return
	}
	detail(w, http.StatusBadRequest, err.Error())
}

func notFound(w http.ResponseWriter) { detail(w, http.StatusNotFound, "Not found.") }

// ---- employees ----

func (s *Server) employeesEndpoint(w http.ResponseWriter, q url.Values, id string, one bool) {
	opts, err := parseOpts(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if one {
		for _, r := range s.employees {
			// Docs silent on deleted objects by id: hidden, as in lists.
			if r.id == id && !r.deleted {
				writeJSON(w, http.StatusOK, s.renderEmployee(r, &opts))
				return
			}
		}
		notFound(w)
		return
	}
	keep, err := commonFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	status := q.Get("employment_status")
	switch status {
	case "", "ACTIVE", "PENDING", "INACTIVE":
	default:
		writeErr(w, badRequest{"employment_status": {"Select a valid choice. " + status + " is not one of the available choices."}})
		return
	}
	var times [4]*time.Time
	for i, n := range []string{"started_after", "started_before", "terminated_after", "terminated_before"} {
		if times[i], err = parseTime(q, n); err != nil {
			writeErr(w, err)
			return
		}
	}
	eq := func(param, v string) bool {
		want, ok := q[param]
		return !ok || want[0] == v
	}
	var items []item
	for _, r := range s.employees {
		e := r.e
		if !keep(&r.object) || (status != "" && e.EmploymentStatus != status) ||
			!eq("first_name", e.FirstName) || !eq("last_name", e.LastName) ||
			!eq("display_full_name", displayName(e)) ||
			!eq("work_email", e.WorkEmail) || !eq("personal_email", e.PersonalEmail) ||
			!eq("manager_id", e.ManagerID) || !eq("team_id", e.TeamID) ||
			!eq("work_location_id", e.WorkLocationID) ||
			!eq("company_id", "") || !eq("pay_group_id", "") || !eq("groups", "") ||
			!inRange(e.StartDate, times[0], times[1]) || !inRange(e.TerminationDate, times[2], times[3]) {
			continue
		}
		items = append(items, item{&r.object, func() map[string]any { return s.renderEmployee(r, &opts) }})
	}
	s.page(w, q, items)
}

func inRange(t, after, before *time.Time) bool {
	if after == nil && before == nil {
		return true
	}
	return t != nil && (after == nil || t.After(*after)) && (before == nil || t.Before(*before))
}

func displayName(e Employee) string { return strings.TrimSpace(e.FirstName + " " + e.LastName) }

func fieldMappings(org, linked map[string]any) any {
	if org == nil && linked == nil {
		return nil
	}
	if org == nil {
		org = map[string]any{}
	}
	if linked == nil {
		linked = map[string]any{}
	}
	// Shape from the OpenAPI Employee example: {"organization_defined_targets":
	// {...}, "linked_account_defined_targets": {...}}.
	return map[string]any{"organization_defined_targets": org, "linked_account_defined_targets": linked}
}

// remoteData is what include_remote_data=true adds. The OpenAPI gives only
// the shape [{"path": ..., "data": ...}] ("Varies by platform"); Docs silent
// on the content, so the fake sends the remote id.
func remoteData(o renderOpts, path, remoteID string) any {
	if !o.remoteData {
		return nil
	}
	return []map[string]any{{"path": path, "data": map[string]any{"id": remoteID}}}
}

func (s *Server) employeeByID(id string) *employeeRec {
	for _, r := range s.employees {
		if r.id == id {
			return r
		}
	}
	return nil
}

// renderEmployee renders the Employee object (docs.merge.dev/hris/employees;
// field list of the current reference). opts nil renders as a webhook
// payload: no expansion, no remote_data.
func (s *Server) renderEmployee(r *employeeRec, opts *renderOpts) map[string]any {
	o := renderOpts{}
	if opts != nil {
		o = *opts
	}
	e := r.e
	var employments any = []string{r.job.id}
	if o.expand["employments"] {
		employments = []map[string]any{s.renderEmployment(r, renderOpts{remoteData: o.remoteData})}
	}
	ref := func(name, id string, expand func() any) any {
		if id == "" {
			return nil
		}
		if o.expand[name] {
			// Docs silent on an expanded id that points nowhere: null.
			return expand()
		}
		return id
	}
	manager := ref("manager", e.ManagerID, func() any {
		if m := s.employeeByID(e.ManagerID); m != nil {
			return s.renderEmployee(m, &renderOpts{remoteData: o.remoteData})
		}
		return nil
	})
	team := ref("team", e.TeamID, func() any {
		for _, t := range s.teams {
			if t.id == e.TeamID {
				return renderTeam(t, renderOpts{remoteData: o.remoteData})
			}
		}
		return nil
	})
	work := ref("work_location", e.WorkLocationID, func() any {
		for _, l := range s.locations {
			if l.id == e.WorkLocationID {
				return renderLocation(l, renderOpts{remoteData: o.remoteData})
			}
		}
		return nil
	})
	var custom any
	if e.CustomFields != nil {
		custom = e.CustomFields
	}
	return map[string]any{
		"id":                  r.id,
		"remote_id":           r.remoteID,
		"created_at":          formatTime(r.created),
		"modified_at":         formatTime(r.modified),
		"employee_number":     strOrNil(e.EmployeeNumber),
		"company":             nil,
		"first_name":          strOrNil(e.FirstName),
		"last_name":           strOrNil(e.LastName),
		"preferred_name":      nil,
		"display_full_name":   strOrNil(displayName(e)),
		"username":            nil,
		"groups":              []string{},
		"work_email":          strOrNil(e.WorkEmail),
		"personal_email":      strOrNil(e.PersonalEmail),
		"mobile_phone_number": nil,
		"employments":         employments,
		"home_location":       nil,
		"work_location":       work,
		"manager":             manager,
		"team":                team,
		"pay_group":           nil,
		"ssn":                 nil,
		"gender":              nil,
		"ethnicity":           nil,
		"marital_status":      nil,
		"date_of_birth":       nil,
		"hire_date":           timeOrNil(e.HireDate),
		"start_date":          timeOrNil(e.StartDate),
		"remote_created_at":   formatTime(r.remoteCreated),
		"employment_status":   strOrNil(e.EmploymentStatus),
		"termination_date":    timeOrNil(e.TerminationDate),
		"avatar":              nil,
		"custom_fields":       custom,
		"remote_was_deleted":  r.deleted,
		"field_mappings":      fieldMappings(e.FieldMappings, e.LinkedAccountFieldMappings),
		"remote_data":         remoteData(o, "/employees", r.remoteID),
	}
}

// ---- employments ----

// renderEmployment renders the one Employment the fake keeps per employee
// (docs.merge.dev/hris/employments). Docs silent on what the fake cannot
// know: pay fields and employment_type are null; effective_date is the
// employee's start_date.
func (s *Server) renderEmployment(r *employeeRec, o renderOpts) map[string]any {
	var emp any = r.id
	if o.expand["employee"] {
		emp = s.renderEmployee(r, &renderOpts{remoteData: o.remoteData})
	}
	return map[string]any{
		"id":                 r.job.id,
		"remote_id":          r.job.remoteID,
		"created_at":         formatTime(r.job.created),
		"modified_at":        formatTime(r.job.modified),
		"employee":           emp,
		"job_title":          strOrNil(r.job.jobTitle),
		"pay_rate":           nil,
		"pay_period":         nil,
		"pay_frequency":      nil,
		"pay_currency":       nil,
		"pay_group":          nil,
		"flsa_status":        nil,
		"effective_date":     timeOrNil(r.e.StartDate),
		"employment_type":    nil,
		"remote_was_deleted": r.job.deleted,
		"field_mappings":     nil,
		"remote_data":        remoteData(o, "/jobs", r.job.remoteID),
	}
}

func (s *Server) employmentsEndpoint(w http.ResponseWriter, q url.Values, id string, one bool) {
	opts, err := parseOpts(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byJob := make([]*employeeRec, len(s.employees))
	copy(byJob, s.employees)
	// Employments were created right after their employee, so creation
	// order is the employees' order.
	if one {
		for _, r := range byJob {
			if r.job.id == id && !r.job.deleted {
				writeJSON(w, http.StatusOK, s.renderEmployment(r, opts))
				return
			}
		}
		notFound(w)
		return
	}
	keep, err := commonFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	empID, hasEmp := q["employee_id"]
	var items []item
	for _, r := range byJob {
		if !keep(&r.job.object) || (hasEmp && r.id != empID[0]) {
			continue
		}
		items = append(items, item{&r.job.object, func() map[string]any { return s.renderEmployment(r, opts) }})
	}
	s.page(w, q, items)
}

// ---- teams and locations ----

func renderTeam(t *teamRec, o renderOpts) map[string]any {
	return map[string]any{
		"id":                 t.id,
		"remote_id":          t.remoteID,
		"created_at":         formatTime(t.created),
		"modified_at":        formatTime(t.modified),
		"name":               t.name,
		"parent_team":        nil,
		"remote_was_deleted": t.deleted,
		"field_mappings":     nil,
		"remote_data":        remoteData(o, "/teams", t.remoteID),
	}
}

func renderLocation(l *locationRec, o renderOpts) map[string]any {
	return map[string]any{
		"id":                 l.id,
		"remote_id":          l.remoteID,
		"created_at":         formatTime(l.created),
		"modified_at":        formatTime(l.modified),
		"name":               l.name,
		"phone_number":       nil,
		"street_1":           nil,
		"street_2":           nil,
		"city":               nil,
		"state":              nil,
		"zip_code":           nil,
		"country":            nil,
		"location_type":      "WORK",
		"remote_was_deleted": l.deleted,
		"field_mappings":     nil,
		"remote_data":        remoteData(o, "/locations", l.remoteID),
	}
}

func (s *Server) teamsEndpoint(w http.ResponseWriter, q url.Values, id string, one bool) {
	opts, err := parseOpts(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if one {
		for _, t := range s.teams {
			if t.id == id && !t.deleted {
				writeJSON(w, http.StatusOK, renderTeam(t, opts))
				return
			}
		}
		notFound(w)
		return
	}
	keep, err := commonFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	_, hasParent := q["parent_team_id"] // the fake's teams have no parents
	var items []item
	for _, t := range s.teams {
		if !keep(&t.object) || hasParent {
			continue
		}
		items = append(items, item{&t.object, func() map[string]any { return renderTeam(t, opts) }})
	}
	s.page(w, q, items)
}

func (s *Server) locationsEndpoint(w http.ResponseWriter, q url.Values, id string, one bool) {
	opts, err := parseOpts(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if one {
		for _, l := range s.locations {
			if l.id == id && !l.deleted {
				writeJSON(w, http.StatusOK, renderLocation(l, opts))
				return
			}
		}
		notFound(w)
		return
	}
	keep, err := commonFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	var items []item
	for _, l := range s.locations {
		if !keep(&l.object) {
			continue
		}
		items = append(items, item{&l.object, func() map[string]any { return renderLocation(l, opts) }})
	}
	s.page(w, q, items)
}
