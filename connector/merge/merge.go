// Package merge is a hrissync.Source over Merge's unified HRIS API
// (merge.dev), one request shape in front of Workday, SuccessFactors, ADP,
// HiBob, Personio, BambooHR and dozens more, and the Decoder and Verifier
// for Merge's webhooks.
//
//	src, err := merge.New(merge.Config{APIKey: key, AccountToken: linkedAccountToken})
//
// It follows Merge's public reference (docs.merge.dev/hris, and the OpenAPI
// document of Merge's HRIS clients):
//
//   - List pages through GET /employees (cursor pagination), each employee
//     with its employments, team and work location expanded in the same
//     answer.
//   - Get reads GET /employees/{id}, expanded alike.
//   - ChangedSince asks GET /employees and GET /employments with
//     modified_after (a new job title is a change of an employment, not of
//     the employee), and reads each employee an employment names.
//
// Every request carries the API key (Authorization: Bearer) and the linked
// account's token (X-Account-Token).
//
// # Latency: no faster than Merge's sync
//
// Merge reads the underlying HR system on a schedule of its own (daily,
// hourly or more often, by plan and integration). A change made in the HR
// system reaches this Source — and Merge's webhooks — only once Merge has
// synced it, so the realtime path's latency is bounded by that cadence, not
// by the engine's. A termination HR enters at 09:00 under a daily sync may
// reach the learning platform the next morning. Set Decoder.Synced to poll
// as soon as Merge reports a sync, and ask Merge for the sync frequency the
// termination budget needs.
//
// # The record
//
//	Merge                              hrissync.Employee
//	id                                 ID (Merge's id, stable across the HR system's re-keys)
//	remote_id                          Attributes["remote_id"] (the HR system's own id)
//	employee_number                    EmployeeNumber
//	work_email                         Email
//	first_name, last_name              GivenName, FamilyName
//	employment_status                  Status: ACTIVE active, PENDING pending, INACTIVE terminated;
//	                                   null active (the dates decide)
//	start_date, termination_date       StartDate, TerminationDate (the date as written, in its own offset)
//	employments[].job_title            Role: of the employment in effect (the latest effective_date not after now)
//	manager                            ManagerID (Merge's id of the manager)
//	team.name                          Department
//	work_location.name                 Location
//	field_mappings                     Attributes, by Config.FieldMappings
//	modified_at (and its employments') Version.Time: the latest
//
// An employee Merge marks remote_was_deleted is gone: not listed, and
// ErrNotFound to Get.
//
// An employment that ended may leave no trace in the employee's answer, so
// the version read then may be older than the change: ChangedSince raises it
// to the ended employment's time, which the poll therefore carries; an
// Employment.removed webhook alone may not.
//
// # What each trigger costs
//
//   - A webhook: one GET of the employee.
//   - The hourly poll: a page of /employees and a page of /employments
//     modified since (more pages past PageSize changes), and a GET for each
//     employee whose employment changed.
//   - The daily batch: a page of /employees per PageSize employees.
//
// # Errors and rate limits
//
// As for every vendor source of the library: a broken connection, a 502 or
// 504 and a 429 or 503 whose Retry-After is within Config.RetryWaitMax are
// retried in place, a longer pause is returned as retry.RetryAfter for the
// engine to schedule; 401 is retryable (a key being rotated), other 4xx are
// permanent, 404 on Get is hrissync.ErrNotFound. A cursor Merge no longer
// accepts ends the list with an error: the batch reruns rather than take the
// people not read for leavers. An answer not of the documented shape wraps
// ErrMalformed.
package merge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/hrissync/hrissync/retry"
)

// Config configures New. APIKey and AccountToken are required.
type Config struct {
	// APIKey is the Merge API key (production or test).
	APIKey string
	// AccountToken is the linked account's token: which customer's HR
	// system is read.
	AccountToken string
	// BaseURL overrides https://api.merge.dev/api/hris/v1 (the EU tenant's
	// https://api-eu.merge.dev/api/hris/v1, APAC's api-ap, a test server).
	BaseURL string
	// PageSize is the employees one page holds; default and at most 100.
	PageSize int
	// FieldMappings maps the names of Merge field mappings (the targets of
	// field_mappings.organization_defined_targets or
	// linked_account_defined_targets) to the names of
	// hrissync.Employee.Attributes they fill. A value that is not a
	// string is written as its JSON.
	FieldMappings map[string]string
	// HTTPClient is the client under the retrying one; default a pooled
	// client whose requests time out after two minutes.
	HTTPClient *http.Client
	// RetryMax is how many times one request is retried in place; default
	// 3. RetryWaitMax bounds a pause waited out in place; default 30 s.
	RetryMax     int
	RetryWaitMax time.Duration
	// Now is the clock that says which employment is in effect; default
	// time.Now.
	Now func() time.Time
}

// Error is an answer of Merge's other than success: its status and the
// request it answered (method and path, never the query or body). Errors
// the engine should not retry come wrapped in retry.Permanent; 429 and 503
// in retry.RetryAfter with Merge's pause.
type Error = httpapi.Error

// ErrMalformed is an answer Merge sent with success but that is not of the
// documented shape. It ends a list.
var ErrMalformed = errors.New("merge: malformed answer")

const (
	maxPage = 100
	// maxEmptyPages bounds a run of empty pages that lead on.
	maxEmptyPages = 100
	maxAnswer     = 64 << 20
	// expand inlines what the record needs in the employee's own answer.
	expand = "employments,team,work_location"
	// attrRemoteID keeps the HR system's own id.
	attrRemoteID = "remote_id"
)

// Source is a hrissync.Source over one Merge linked account. It is safe
// for concurrent use.
type Source struct {
	base, key, account string
	http               *http.Client
	pageSize           int
	mappings           map[string]string
	now                func() time.Time
}

// New returns a Source for cfg. It makes no request.
func New(cfg Config) (*Source, error) {
	if cfg.APIKey == "" || cfg.AccountToken == "" {
		return nil, errors.New("merge: Config.APIKey and Config.AccountToken are required")
	}
	base := cmp.Or(cfg.BaseURL, "https://api.merge.dev/api/hris/v1")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("merge: Config.BaseURL %q is not an http(s) URL", base)
	}
	pageSize := cmp.Or(cfg.PageSize, maxPage)
	if pageSize < 1 || pageSize > maxPage {
		return nil, fmt.Errorf("merge: Config.PageSize %d is outside 1..%d", cfg.PageSize, maxPage)
	}
	named := map[string]bool{attrRemoteID: true}
	for _, m := range slices.Sorted(maps.Keys(cfg.FieldMappings)) {
		name := cfg.FieldMappings[m]
		if m == "" || name == "" || named[name] {
			return nil, fmt.Errorf("merge: Config.FieldMappings: %q → %q: an empty name, or an attribute filled twice", m, name)
		}
		named[name] = true
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Source{
		base:     strings.TrimSuffix(base, "/"),
		key:      cfg.APIKey,
		account:  cfg.AccountToken,
		http:     httpapi.NewClient(cfg.HTTPClient, cmp.Or(cfg.RetryMax, 3), cmp.Or(cfg.RetryWaitMax, 30*time.Second)),
		pageSize: pageSize,
		mappings: maps.Clone(cfg.FieldMappings),
		now:      now,
	}, nil
}

// PageSize is the employees one page of a listing holds (hrissync.Pager).
func (s *Source) PageSize() int { return s.pageSize }

// get sends one GET and decodes its answer into v.
func (s *Source) get(ctx context.Context, path string, q url.Values, v any) error {
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("merge: GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("X-Account-Token", s.account)
	req.Header.Set("Accept", "application/json")
	resp, err := httpapi.Do(s.http, req, "merge", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := httpapi.DecodeWhole(ctx, resp.Body, maxAnswer, v, ErrMalformed); err != nil {
		return fmt.Errorf("merge: GET %s: %w", path, err)
	}
	return nil
}

// Get reads one employee. An id Merge does not hold, or holds as deleted,
// is hrissync.ErrNotFound.
func (s *Source) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	if !validID(id) {
		return hrissync.Employee{}, fmt.Errorf("merge: employee %s: %w", httpapi.Clip(id), hrissync.ErrNotFound)
	}
	path := "/employees/" + id
	var raw employee
	err := s.get(ctx, path, url.Values{"expand": {expand}}, &raw)
	if httpapi.Status(err) == http.StatusNotFound {
		return hrissync.Employee{}, fmt.Errorf("merge: employee %s: %w", id, hrissync.ErrNotFound)
	}
	if err != nil {
		return hrissync.Employee{}, err
	}
	if raw.RemoteWasDeleted {
		return hrissync.Employee{}, fmt.Errorf("merge: employee %s was deleted: %w", id, hrissync.ErrNotFound)
	}
	rec, err := s.record(raw)
	if err != nil {
		return hrissync.Employee{}, fmt.Errorf("merge: GET %s: %w", path, err)
	}
	if rec.ID != id {
		return hrissync.Employee{}, fmt.Errorf("merge: GET %s: answered for employee %s: %w", path, rec.ID, ErrMalformed)
	}
	return rec, nil
}

// List streams every employee Merge holds and has not seen deleted, once.
func (s *Source) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return s.employees(ctx, url.Values{})
}

// ChangedSince streams the employees modified at or after since, or whose
// employment was.
func (s *Source) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	// Merge's filter is "after"; asking from a second before keeps a
	// change made at since itself.
	after := since.UTC().Add(-time.Second).Format(time.RFC3339)
	// Merge's times have microseconds: what the wider ask brings from
	// before since's microsecond is not the window's.
	from := since.Truncate(time.Microsecond)
	inWindow := func(e hrissync.Employee) bool { return e.Version.IsZero() || !e.Version.Time.Before(from) }
	return func(yield func(hrissync.Employee, error) bool) {
		yielded := map[string]bool{}
		for e, err := range s.employees(ctx, url.Values{"modified_after": {after}}) {
			if err == nil && !inWindow(e) {
				continue
			}
			if !yield(e, err) || err != nil {
				return
			}
			yielded[e.ID] = true
		}
		// Employees whose employment changed: a new job title, or one
		// that ended. The employment's time is the employee's change: an
		// ended one may no longer be in the employee's answer to raise its
		// version, and the record read must not look older than the
		// change that named it.
		var ids []string
		changedAt := map[string]time.Time{}
		// Removed employments too: a role that ended is a change.
		for page, err := range pages[employment](ctx, s, "/employments", url.Values{"modified_after": {after}, "include_deleted_data": {"true"}}) {
			if err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			for _, m := range page {
				if m.Employee == "" || yielded[m.Employee] {
					continue
				}
				if _, named := changedAt[m.Employee]; !named {
					ids = append(ids, m.Employee)
				}
				at, err := stamp(m.ModifiedAt)
				if err != nil {
					yield(hrissync.Employee{}, fmt.Errorf("merge: GET /employments: %w", err))
					return
				}
				changedAt[m.Employee] = later(changedAt[m.Employee], at)
			}
		}
		for _, id := range ids {
			e, err := s.Get(ctx, id)
			if err == nil {
				e.Version.Time = later(e.Version.Time, changedAt[id])
			}
			if errors.Is(err, hrissync.ErrNotFound) || err == nil && !inWindow(e) {
				continue // gone since (the batch finds them gone), or not the window's
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// employees streams the employees the list with q names.
func (s *Source) employees(ctx context.Context, q url.Values) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		seen := map[string]bool{}
		q.Set("expand", expand)
		for page, err := range pages[employee](ctx, s, "/employees", q) {
			if err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			for _, raw := range page {
				if raw.RemoteWasDeleted {
					continue
				}
				e, err := s.record(raw)
				if err == nil && seen[e.ID] {
					err = fmt.Errorf("employee %s listed twice: %w", e.ID, ErrMalformed)
				}
				if err != nil {
					yield(hrissync.Employee{}, fmt.Errorf("merge: GET /employees: %w", err))
					return
				}
				seen[e.ID] = true
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// pages streams the pages of a Merge list: {"next": cursor, "previous": …,
// "results": […]}. A cursor seen twice is an error, not a loop.
func pages[T any](ctx context.Context, s *Source, path string, q url.Values) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		q := maps.Clone(q)
		q.Set("page_size", strconv.Itoa(s.pageSize))
		cursors := map[string]bool{}
		empty := 0
		for {
			var page struct {
				Next    *string `json:"next"`
				Results *[]T    `json:"results"`
			}
			if err := s.get(ctx, path, q, &page); err != nil {
				// A 404 for the first page is the URL, which no rerun
				// mends; for a later one, an expired cursor, which a
				// rerun from the start does.
				if httpapi.Status(err) == http.StatusNotFound && !q.Has("cursor") {
					err = retry.Permanent(err)
				}
				yield(nil, err)
				return
			}
			if page.Results == nil {
				yield(nil, fmt.Errorf("merge: GET %s: no results: %w", path, ErrMalformed))
				return
			}
			if !yield(*page.Results, nil) {
				return
			}
			if page.Next == nil || *page.Next == "" {
				return
			}
			if len(*page.Results) == 0 {
				empty++
			} else {
				empty = 0
			}
			if cursors[*page.Next] || empty > maxEmptyPages {
				yield(nil, fmt.Errorf("merge: GET %s: the cursors lead round: %w", path, ErrMalformed))
				return
			}
			cursors[*page.Next] = true
			q.Set("cursor", *page.Next)
		}
	}
}

// employee is Merge's Employee common model, with employments, team and
// work_location expanded.
type employee struct {
	ID               string         `json:"id"`
	RemoteID         *string        `json:"remote_id"`
	EmployeeNumber   *string        `json:"employee_number"`
	FirstName        *string        `json:"first_name"`
	LastName         *string        `json:"last_name"`
	WorkEmail        *string        `json:"work_email"`
	EmploymentStatus *string        `json:"employment_status"`
	StartDate        *string        `json:"start_date"`
	TerminationDate  *string        `json:"termination_date"`
	Manager          *string        `json:"manager"`
	Team             *named         `json:"team"`
	WorkLocation     *named         `json:"work_location"`
	Employments      []employment   `json:"employments"`
	FieldMappings    *fieldMappings `json:"field_mappings"`
	RemoteWasDeleted bool           `json:"remote_was_deleted"`
	ModifiedAt       *string        `json:"modified_at"`
}

// named is an expanded team or location.
type named struct {
	Name       *string `json:"name"`
	ModifiedAt *string `json:"modified_at"`
}

// employment is Merge's Employment common model.
type employment struct {
	Employee         string  `json:"employee"`
	JobTitle         *string `json:"job_title"`
	EffectiveDate    *string `json:"effective_date"`
	RemoteWasDeleted bool    `json:"remote_was_deleted"`
	ModifiedAt       *string `json:"modified_at"`
}

type fieldMappings struct {
	Organization  map[string]any `json:"organization_defined_targets"`
	LinkedAccount map[string]any `json:"linked_account_defined_targets"`
}

// record makes a hrissync.Employee of Merge's employee.
func (s *Source) record(raw employee) (hrissync.Employee, error) {
	if !validID(raw.ID) {
		return hrissync.Employee{}, fmt.Errorf("an employee without a valid id: %w", ErrMalformed)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e := hrissync.Employee{
		ID:             raw.ID,
		EmployeeNumber: str(raw.EmployeeNumber),
		Email:          str(raw.WorkEmail),
		GivenName:      str(raw.FirstName),
		FamilyName:     str(raw.LastName),
		ManagerID:      str(raw.Manager),
	}
	fail := func(field string, err error) (hrissync.Employee, error) {
		return hrissync.Employee{}, fmt.Errorf("employee %s: %s: %w", raw.ID, field, err)
	}
	if e.ManagerID != "" && !validID(e.ManagerID) {
		return fail("manager", fmt.Errorf("not an id: %w", ErrMalformed))
	}
	switch st := str(raw.EmploymentStatus); st {
	case "ACTIVE", "":
		e.Status = hrissync.StatusActive
	case "PENDING":
		e.Status = hrissync.StatusPending
	case "INACTIVE":
		e.Status = hrissync.StatusTerminated
	default:
		return fail("employment_status", fmt.Errorf("none of ACTIVE, PENDING, INACTIVE: %w", ErrMalformed))
	}
	var err error
	if e.StartDate, err = date(raw.StartDate); err != nil {
		return fail("start_date", err)
	}
	if e.TerminationDate, err = date(raw.TerminationDate); err != nil {
		return fail("termination_date", err)
	}
	if raw.Team != nil {
		e.Department = str(raw.Team.Name)
	}
	if raw.WorkLocation != nil {
		e.Location = str(raw.WorkLocation.Name)
	}
	version, err := stamp(raw.ModifiedAt)
	if err != nil {
		return fail("modified_at", err)
	}
	if e.Role, version, err = s.role(raw.Employments, version); err != nil {
		return fail("employments", err)
	}
	for _, related := range []*named{raw.Team, raw.WorkLocation} {
		if related != nil {
			t, err := stamp(related.ModifiedAt)
			if err != nil {
				return fail("modified_at", err)
			}
			version = later(version, t)
		}
	}
	e.Version = hrtype.Version{Time: version}
	attrs := map[string]string{}
	if id := str(raw.RemoteID); id != "" {
		attrs[attrRemoteID] = id
	}
	if raw.FieldMappings != nil {
		for _, targets := range []map[string]any{raw.FieldMappings.Organization, raw.FieldMappings.LinkedAccount} {
			for target, v := range targets {
				name, ok := s.mappings[target]
				if !ok || v == nil {
					continue
				}
				if sv, ok := v.(string); ok {
					attrs[name] = sv
				} else if b, err := json.Marshal(v); err == nil {
					attrs[name] = string(b)
				}
			}
		}
	}
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	if len(attrs) > 0 {
		e.Attributes = attrs
	}
	return e, nil
}

// role is the job title of the employment in effect — the latest
// effective_date not after now, or, without dates, the last listed — and
// the version raised to the latest employment's modified_at.
func (s *Source) role(ms []employment, version time.Time) (string, time.Time, error) {
	now := s.now()
	var (
		title string
		best  time.Time
		found bool
	)
	for _, m := range ms {
		if m.RemoteWasDeleted {
			continue
		}
		t, err := stamp(m.ModifiedAt)
		if err != nil {
			return "", version, err
		}
		version = later(version, t)
		eff, err := stamp(m.EffectiveDate)
		if err != nil {
			return "", version, err
		}
		if eff.After(now) {
			continue
		}
		if !found || !eff.Before(best) {
			found, best = true, eff
			if m.JobTitle != nil {
				title = *m.JobTitle
			} else {
				title = ""
			}
		}
	}
	return title, version, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// stamp reads one of Merge's date-times ("2021-10-16 00:00:00+00:00", or
// RFC 3339); null is the zero time.
func stamp(p *string) (time.Time, error) {
	if p == nil || *p == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, *p); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time: %w", ErrMalformed)
}

// date is the calendar date of one of Merge's date-times, in the offset it
// is written in: Merge writes a day as its midnight.
func date(p *string) (hrissync.Date, error) {
	t, err := stamp(p)
	if err != nil || t.IsZero() {
		return hrissync.Date{}, err
	}
	return hrissync.DateOf(t), nil
}

// validID reports whether id can be one of Merge's ids (UUIDs): letters,
// digits and dashes, at most 64 — never a path of its own.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

var (
	_ hrissync.Source = (*Source)(nil)
	_ hrissync.Pager  = (*Source)(nil)
)
