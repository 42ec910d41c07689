package bamboohr_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/retry"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func collect(seq func(func(hrissync.Employee, error) bool)) ([]hrissync.Employee, error) {
	var out []hrissync.Employee
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// calls counts the API requests srv served, by method and path.
func calls(srv *bamboohrtest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range srv.Requests() {
		path := r.Path
		if strings.HasPrefix(path, "/api/v1/employees/") && path != "/api/v1/employees/changed" {
			path = "/api/v1/employees/{id}"
		}
		n[r.Method+" "+path]++
	}
	return n
}

// TestRecordMapping: each BambooHR field lands where the package doc's table
// says, for an active employee, a leaver and a rehire.
func TestRecordMapping(t *testing.T) {
	srv := newFake(t, fixed(t0))
	srv.Add(map[string]string{"id": "7", "firstName": "Grace", "lastName": "Hopper", "workEmail": "grace@acme.test",
		"employeeNumber": "E7", "status": "Active", "employmentHistoryStatus": "Full-Time", "hireDate": "2020-01-06",
		"jobTitle": "Rear Admiral", "department": "Engineering", "division": "Navy", "location": "Arlington"})
	srv.Add(map[string]string{"id": "8", "firstName": "Ada", "lastName": "Lovelace", "workEmail": "ada@acme.test",
		"status": "Active", "employmentHistoryStatus": "Full-Time", "hireDate": "2021-05-03", "supervisorEId": "7",
		"jobTitle": "Analyst", "department": "Engineering", "location": "London", customCertAlias: "Gold"})
	srv.Add(map[string]string{"id": "9", "firstName": "Alan", "lastName": "Turing", "status": "Inactive",
		"employmentHistoryStatus": "Terminated", "hireDate": "2019-02-01", "terminationDate": "2026-02-27"})
	srv.Add(map[string]string{"id": "10", "firstName": "Joan", "lastName": "Clarke", "status": "Active",
		"employmentHistoryStatus": "Full-Time", "hireDate": "2026-03-16", "terminationDate": "2025-12-31"})
	src := newSource(t, srv, 0, bamboohr.Config{})
	v := hrtype.Version{Time: t0}
	want := []hrissync.Employee{
		{ID: "7", EmployeeNumber: "E7", Email: "grace@acme.test", GivenName: "Grace", FamilyName: "Hopper",
			Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Rear Admiral",
			Department: "Engineering", Location: "Arlington", Attributes: map[string]string{"division": "Navy"}, Version: v},
		{ID: "8", Email: "ada@acme.test", GivenName: "Ada", FamilyName: "Lovelace", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2021, 5, 3), Role: "Analyst", ManagerID: "7", Department: "Engineering",
			Location: "London", Attributes: map[string]string{"cert": "Gold"}, Version: v},
		{ID: "9", GivenName: "Alan", FamilyName: "Turing", Status: hrissync.StatusTerminated,
			StartDate: hrissync.NewDate(2019, 2, 1), TerminationDate: hrissync.NewDate(2026, 2, 27), Version: v},
		// A rehire: the new start after the old termination.
		{ID: "10", GivenName: "Joan", FamilyName: "Clarke", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2026, 3, 16), TerminationDate: hrissync.NewDate(2025, 12, 31), Version: v},
	}
	got, err := collect(src.List(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	byID := func(es []hrissync.Employee) map[string]hrissync.Employee {
		m := map[string]hrissync.Employee{}
		for _, e := range es {
			m[e.ID] = e
		}
		return m
	}
	if diff := cmp.Diff(byID(want), byID(got)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	for _, w := range want {
		e, err := src.Get(t.Context(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, e); diff != "" {
			t.Errorf("Get(%s) (-want +got):\n%s", w.ID, diff)
		}
	}
}

// TestStatuses: an inactive employee is terminated whatever
// employmentHistoryStatus says; else Config.Statuses reads it, without
// regard to case.
func TestStatuses(t *testing.T) {
	srv := newFake(t, fixed(t0))
	srv.Add(map[string]string{"id": "1", "status": "Active", "employmentHistoryStatus": "Leave of Absence"})
	srv.Add(map[string]string{"id": "2", "status": "Inactive", "employmentHistoryStatus": "Leave of Absence"})
	srv.Add(map[string]string{"id": "3", "status": "Active", "employmentHistoryStatus": "Contractor"})
	srv.Add(map[string]string{"id": "4", "status": "Inactive", "employmentHistoryStatus": "Full-Time"})
	srv.Add(map[string]string{"id": "5", "status": "Active", "employmentHistoryStatus": "TERMINATED"})
	src := newSource(t, srv, 0, bamboohr.Config{Statuses: map[string]hrissync.Status{
		"leave of absence": hrissync.StatusLeave, "Terminated": hrissync.StatusTerminated}})
	for id, want := range map[string]hrissync.Status{"1": hrissync.StatusLeave, "2": hrissync.StatusTerminated,
		"3": hrissync.StatusActive, "4": hrissync.StatusTerminated, "5": hrissync.StatusTerminated} {
		e, err := src.Get(t.Context(), id)
		if err != nil || e.Status != want {
			t.Errorf("Get(%s): status %q, %v; want %q", id, e.Status, err, want)
		}
	}
}

// TestCallsPerTrigger measures what each trigger costs in API requests, as
// the package doc states: a Get one; a List two a page (the directory's, an
// empty last one included, and its report); ChangedSince the feed and a
// report a page.
func TestCallsPerTrigger(t *testing.T) {
	now := t0
	srv := newFake(t, func() time.Time { return now })
	company := newHR(srv)
	people := peopleOf(6)
	company.set(people)
	src := newSource(t, srv, 2, bamboohr.Config{})

	srv.ResetRequests()
	got, err := collect(src.List(t.Context()))
	if err != nil || len(got) != 6 {
		t.Fatalf("List: %d people, %v", len(got), err)
	}
	c := calls(srv)
	if c["GET /api/v1/employees"] < 3 || c["GET /api/v1/employees"] > 4 || c["POST /api/v1/reports/custom"] != 3 || len(c) != 2 {
		t.Errorf("List of 6 in pages of 2 cost %v; want 3 directory pages (4 with an empty last) and 3 reports", c)
	}

	srv.ResetRequests()
	if _, err := src.Get(t.Context(), "3"); err != nil {
		t.Fatal(err)
	}
	if c := calls(srv); c["GET /api/v1/employees/{id}"] != 1 || len(c) != 1 {
		t.Errorf("Get cost %v", c)
	}

	now = t0.Add(time.Hour)
	for i := range 3 {
		people[i].Role = "Lead"
	}
	company.set(people)
	srv.ResetRequests()
	changed, err := collect(src.ChangedSince(t.Context(), t0.Add(30*time.Minute)))
	if err != nil || len(changed) != 3 {
		t.Fatalf("ChangedSince: %d people, %v; want 3", len(changed), err)
	}
	if c := calls(srv); c["GET /api/v1/employees/changed"] != 1 || c["POST /api/v1/reports/custom"] != 2 || len(c) != 2 {
		t.Errorf("ChangedSince of 3 in pages of 2 cost %v; want the feed and 2 reports", c)
	}
	srv.ResetRequests()
	if none, err := collect(src.ChangedSince(t.Context(), t0.Add(2*time.Hour))); err != nil || len(none) != 0 {
		t.Errorf("ChangedSince with nothing changed: %d, %v", len(none), err)
	}
	if c := calls(srv); c["GET /api/v1/employees/changed"] != 1 || len(c) != 1 {
		t.Errorf("ChangedSince of none cost %v; want the feed alone", c)
	}
}

func peopleOf(n int) []hrissync.Employee {
	out := make([]hrissync.Employee, n)
	for i := range out {
		id := strconv.Itoa(i + 1)
		out[i] = hrissync.Employee{ID: id, GivenName: "P" + id, Email: "p" + id + "@acme.test", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2024, 1, 8), Role: "Engineer", Department: "R&D"}
	}
	return out
}

// TestErrors: what BambooHR answers becomes what the engine needs to
// decide — an ErrNotFound, a retry in place, a pause for the engine, a
// permanent error, a list ended rather than cut short.
func TestErrors(t *testing.T) {
	ctx := t.Context()
	setup := func(t *testing.T) (*bamboohrtest.Server, *bamboohr.Source) {
		srv := newFake(t, fixed(t0))
		newHR(srv).set(peopleOf(3))
		return srv, newSource(t, srv, 0, bamboohr.Config{RetryWaitMax: 10 * time.Second})
	}
	t.Run("not found", func(t *testing.T) {
		srv, src := setup(t)
		srv.ResetRequests()
		for _, id := range []string{"4", "0", "-1", "1 ", "01", "x", "1/../2", ""} {
			if _, err := src.Get(ctx, id); !errors.Is(err, hrissync.ErrNotFound) {
				t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
			}
		}
		// Only "4" is an id worth asking about: 0 is the key's own
		// employee to BambooHR, and the rest are not ids.
		if c := calls(srv); c["GET /api/v1/employees/{id}"] != 1 {
			t.Errorf("requests %v; want only Get(4) asked", c)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		srv, _ := setup(t)
		src, err := bamboohr.New(bamboohr.Config{CompanyDomain: company, APIKey: "revoked", BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Get(ctx, "1")
		var e *bamboohr.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || retry.IsPermanent(err) {
			t.Errorf("Get with a revoked key: %v; want a retryable *Error 401", err)
		}
		if _, err := collect(src.List(ctx)); !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			t.Errorf("List with a revoked key: %v", err)
		}
	})
	t.Run("forbidden employee", func(t *testing.T) {
		srv, src := setup(t)
		srv.Restrict("2")
		_, err := src.Get(ctx, "2")
		var e *bamboohr.Error
		if !errors.As(err, &e) || e.Status != http.StatusForbidden || !retry.IsPermanent(err) {
			t.Errorf("Get of an employee the key may not see: %v; want a permanent *Error 403", err)
		}
		if errors.Is(err, hrissync.ErrNotFound) {
			t.Error("a forbidden employee reads as not found: the engine would take them for gone")
		}
	})
	t.Run("short Retry-After is waited out", func(t *testing.T) {
		for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			srv, src := setup(t)
			srv.Inject(bamboohrtest.Fault{Method: http.MethodGet, Path: "/employees/", Status: code, RetryAfter: "0"})
			srv.ResetRequests()
			if e, err := src.Get(ctx, "1"); err != nil || e.ID != "1" {
				t.Errorf("%d then success: %v", code, err)
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("%d then success: %d requests, want 2", code, n)
			}
		}
	})
	t.Run("long Retry-After goes to the engine", func(t *testing.T) {
		for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			srv, src := setup(t)
			srv.Inject(bamboohrtest.Fault{Path: "/reports/custom", Status: code, RetryAfter: "120"})
			srv.ResetRequests()
			_, err := collect(src.List(ctx))
			if d, ok := retry.After(err); !ok || d != 2*time.Minute {
				t.Errorf("%d, Retry-After 120: %v; want retry.After 2m", code, err)
			}
			if c := calls(srv); c["POST /api/v1/reports/custom"] != 1 {
				t.Errorf("%d, Retry-After 120: %v; the pause was waited out in place", code, c)
			}
		}
	})
	t.Run("malformed answer ends the list", func(t *testing.T) {
		for _, path := range []string{"/reports/custom", "/employees"} {
			srv, src := setup(t)
			srv.Inject(bamboohrtest.Fault{Path: path, Malformed: true})
			got, err := collect(src.List(ctx))
			if !errors.Is(err, bamboohr.ErrMalformed) {
				t.Errorf("malformed %s: %d people, %v; want ErrMalformed", path, len(got), err)
			}
		}
		srv, src := setup(t)
		srv.Inject(bamboohrtest.Fault{Path: "/employees/changed", Malformed: true})
		if _, err := collect(src.ChangedSince(ctx, t0.Add(-time.Hour))); !errors.Is(err, bamboohr.ErrMalformed) {
			t.Errorf("malformed change feed: %v", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		srv, src := setup(t)
		srv.Inject(bamboohrtest.Fault{Path: "/employees/", Status: http.StatusInternalServerError})
		_, err := src.Get(ctx, "1")
		var e *bamboohr.Error
		if !errors.As(err, &e) || e.Status != 500 || retry.IsPermanent(err) {
			t.Errorf("500: %v; want a retryable *Error", err)
		}
	})
	t.Run("a field the key may not see", func(t *testing.T) {
		srv, _ := setup(t)
		src := newSource(t, srv, 0, bamboohr.Config{Attributes: map[string]string{"customNoSuchField": "x"}})
		if _, err := collect(src.List(ctx)); err == nil || !strings.Contains(err.Error(), "customNoSuchField") {
			t.Errorf("List with an unknown field: %v; want an error naming it", err)
		}
		if _, err := src.Get(ctx, "1"); err == nil || !strings.Contains(err.Error(), "customNoSuchField") {
			t.Errorf("Get with an unknown field: %v; want an error naming it", err)
		}
	})
	t.Run("an employee hidden from the key", func(t *testing.T) {
		srv, src := setup(t)
		srv.Restrict("2")
		got, err := collect(src.List(ctx))
		// Either the directory leaves them out too (nothing to tell), or
		// the report does and the list must fail rather than drop them.
		if err == nil && len(got) != 2 {
			t.Errorf("List with a hidden employee: %d people, no error", len(got))
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]bamboohr.Config{
		"no company":          {APIKey: "k"},
		"a URL as company":    {CompanyDomain: "acme.bamboohr.com", APIKey: "k"},
		"no key":              {CompanyDomain: "acme"},
		"page too large":      {CompanyDomain: "acme", APIKey: "k", PageSize: 101},
		"bad base URL":        {CompanyDomain: "acme", APIKey: "k", BaseURL: "ftp://x"},
		"attribute over core": {CompanyDomain: "acme", APIKey: "k", Attributes: map[string]string{"workEmail": "mail"}},
	} {
		if _, err := bamboohr.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
