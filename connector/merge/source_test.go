package merge_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/merge/mergetest"
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

func byID(es []hrissync.Employee) map[string]hrissync.Employee {
	m := map[string]hrissync.Employee{}
	for _, e := range es {
		m[e.ID] = e
	}
	return m
}

func peopleOf(n int) []hrissync.Employee {
	out := make([]hrissync.Employee, n)
	for i := range out {
		id := strconv.Itoa(i + 1)
		out[i] = hrissync.Employee{ID: id, EmployeeNumber: "E" + id, GivenName: "P" + id, FamilyName: "Q", Email: "p" + id + "@acme.test",
			Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8), Role: "Engineer", Department: "R&D", Location: "Paris"}
	}
	return out
}

// calls counts the API requests srv served, by method and path.
func calls(srv *mergetest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range srv.Requests() {
		path := strings.TrimPrefix(r.Path, mergetest.BasePath)
		if strings.HasPrefix(path, "/employees/") {
			path = "/employees/{id}"
		}
		n[r.Method+" "+path]++
	}
	return n
}

// TestRecordMapping: each Merge field lands where the package doc's table
// says — a manager, a leaver, a hire pending, a field mapping, the remote id.
func TestRecordMapping(t *testing.T) {
	srv := newFake(t, fixed(t0))
	people := []hrissync.Employee{
		{ID: "1", EmployeeNumber: "E1", Email: "grace@acme.test", GivenName: "Grace", FamilyName: "Hopper", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "Rear Admiral", Department: "Engineering", Location: "Arlington",
			Attributes: map[string]string{"cert": "Gold"}},
		{ID: "2", Email: "ada@acme.test", GivenName: "Ada", FamilyName: "Lovelace", Status: hrissync.StatusTerminated,
			StartDate: hrissync.NewDate(2021, 5, 3), TerminationDate: hrissync.NewDate(2026, 2, 27), Role: "Analyst", ManagerID: "1",
			Department: "Engineering"},
		{ID: "3", GivenName: "Alan", FamilyName: "Turing", Status: hrissync.StatusPending, StartDate: hrissync.NewDate(2026, 3, 16)},
	}
	for _, e := range people {
		put(srv, e)
	}
	src := newSource(t, srv, 0, fixed(t0))
	want := map[string]hrissync.Employee{}
	for _, e := range people {
		e = expected(e)
		e.Version = hrtype.Version{Time: t0}
		want[e.ID] = e
	}
	got, err := collect(src.List(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, byID(got)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	for id, w := range want {
		e, err := src.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, e); diff != "" {
			t.Errorf("Get(%s) (-want +got):\n%s", id, diff)
		}
	}
	// Deleted in the HR system: gone from the list, not found.
	srv.DeleteEmployee("R2")
	got, err = collect(src.List(t.Context()))
	if _, listed := byID(got)["2"]; err != nil || listed {
		t.Errorf("after the deletion: listed %v, %v", listed, err)
	}
	if _, err := src.Get(t.Context(), "2"); !errors.Is(err, hrissync.ErrNotFound) {
		t.Errorf("Get of a deleted employee: %v, want ErrNotFound", err)
	}
}

// TestJobTitleChangeIsAChange: a new job title is a change of the
// employee's employment; ChangedSince still names the employee, at a newer
// version.
func TestJobTitleChangeIsAChange(t *testing.T) {
	now := t0
	srv := newFake(t, func() time.Time { return now })
	people := peopleOf(3)
	for _, e := range people {
		put(srv, e)
	}
	src := newSource(t, srv, 0, func() time.Time { return now })
	now = t0.Add(time.Hour)
	people[1].Role = "Lead"
	put(srv, people[1])
	got, err := collect(src.ChangedSince(t.Context(), t0.Add(30*time.Minute)))
	if err != nil || len(got) != 1 || got[0].ID != "2" || got[0].Role != "Lead" || !got[0].Version.Time.Equal(now) {
		t.Errorf("ChangedSince after a new job title: %+v, %v", got, err)
	}
}

// TestCallsPerTrigger measures what each trigger costs, as the package doc
// states: a Get one request; a List a page per PageSize; ChangedSince a
// page of employees and one of employments.
func TestCallsPerTrigger(t *testing.T) {
	now := t0
	srv := newFake(t, func() time.Time { return now })
	people := peopleOf(5)
	for _, e := range people {
		put(srv, e)
	}
	src := newSource(t, srv, 2, func() time.Time { return now })
	srv.ResetRequests()
	if got, err := collect(src.List(t.Context())); err != nil || len(got) != 5 {
		t.Fatalf("List: %d, %v", len(got), err)
	}
	if c := calls(srv); c["GET /employees"] != 3 || len(c) != 1 {
		t.Errorf("List of 5 in pages of 2 cost %v; want 3 pages", c)
	}
	srv.ResetRequests()
	if _, err := src.Get(t.Context(), "3"); err != nil {
		t.Fatal(err)
	}
	if c := calls(srv); c["GET /employees/{id}"] != 1 || len(c) != 1 {
		t.Errorf("Get cost %v", c)
	}
	now = t0.Add(time.Hour)
	people[0].GivenName = "Renamed"
	put(srv, people[0])
	srv.ResetRequests()
	if got, err := collect(src.ChangedSince(t.Context(), t0.Add(30*time.Minute))); err != nil || len(got) != 1 {
		t.Fatalf("ChangedSince: %d, %v", len(got), err)
	}
	if c := calls(srv); c["GET /employees"] != 1 || c["GET /employments"] != 1 || len(c) != 2 {
		t.Errorf("ChangedSince of one change cost %v; want a page of each", c)
	}
}

func TestErrors(t *testing.T) {
	ctx := t.Context()
	setup := func(t *testing.T) (*mergetest.Server, *merge.Source) {
		srv := newFake(t, fixed(t0))
		for _, e := range peopleOf(5) {
			put(srv, e)
		}
		return srv, newSource(t, srv, 2, fixed(t0))
	}
	t.Run("not found", func(t *testing.T) {
		srv, src := setup(t)
		srv.ResetRequests()
		for _, id := range []string{"99", "", "../linked-accounts", "1/2", "1?x=y", strings.Repeat("a", 65)} {
			if _, err := src.Get(ctx, id); !errors.Is(err, hrissync.ErrNotFound) {
				t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
			}
		}
		if c := calls(srv); c["GET /employees/{id}"] != 1 {
			t.Errorf("requests %v: want only Get(99) asked", c)
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		srv, _ := setup(t)
		for _, cfg := range []merge.Config{{APIKey: "revoked", AccountToken: accountToken}, {APIKey: apiKey, AccountToken: "other"}} {
			cfg.BaseURL = srv.URL + mergetest.BasePath
			src, err := merge.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Get(ctx, "1")
			var e *merge.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden || errors.Is(err, hrissync.ErrNotFound) {
				t.Errorf("%+v: %v; want a 401 or 403 *Error", cfg, err)
			}
		}
	})
	t.Run("short Retry-After is waited out", func(t *testing.T) {
		srv, src := setup(t)
		srv.Inject(mergetest.Fault{Path: "/employees", Status: http.StatusTooManyRequests, RetryAfter: "0"})
		srv.ResetRequests()
		if got, err := collect(src.List(ctx)); err != nil || len(got) != 5 {
			t.Errorf("429 then success: %d, %v", len(got), err)
		}
		if c := calls(srv); c["GET /employees"] != 4 {
			t.Errorf("requests %v; want the throttled one repeated", c)
		}
	})
	t.Run("long Retry-After goes to the engine", func(t *testing.T) {
		srv, src := setup(t)
		srv.Inject(mergetest.Fault{Path: "/employees", Status: http.StatusTooManyRequests, RetryAfter: "600"})
		_, err := collect(src.List(ctx))
		if d, ok := retry.After(err); !ok || d != 10*time.Minute {
			t.Errorf("429, Retry-After 600: %v", err)
		}
	})
	t.Run("malformed answer ends the list", func(t *testing.T) {
		srv, src := setup(t)
		srv.Inject(mergetest.Fault{Path: "/employees", Malformed: true})
		if _, err := collect(src.List(ctx)); !errors.Is(err, merge.ErrMalformed) {
			t.Errorf("malformed: %v", err)
		}
	})
	t.Run("an expired cursor ends the list", func(t *testing.T) {
		srv, src := setup(t)
		n := 0
		var err error
		for _, e := range src.List(ctx) {
			if e != nil {
				err = e
				break
			}
			if n++; n == 2 {
				srv.ExpireCursors()
			}
		}
		if err == nil || n != 2 {
			t.Errorf("%d people, then %v; want an error after the first page", n, err)
		}
	})
	t.Run("an empty last page", func(t *testing.T) {
		srv, src := setup(t)
		srv.SetTrailingEmptyPage(true)
		if got, err := collect(src.List(ctx)); err != nil || len(got) != 5 {
			t.Errorf("with an empty last page: %d, %v", len(got), err)
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]merge.Config{
		"no key":             {AccountToken: "t"},
		"no account":         {APIKey: "k"},
		"page too large":     {APIKey: "k", AccountToken: "t", PageSize: 101},
		"bad base URL":       {APIKey: "k", AccountToken: "t", BaseURL: "ftp://x"},
		"a mapping to twice": {APIKey: "k", AccountToken: "t", FieldMappings: map[string]string{"a": "x", "b": "x"}},
		"onto the remote id": {APIKey: "k", AccountToken: "t", FieldMappings: map[string]string{"a": "remote_id"}},
	} {
		if _, err := merge.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
