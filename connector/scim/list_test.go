package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// listTarget is one of the two third-party providers, as the listing and
// drift tests need it: a sink, what the provider stores, and edits made
// behind the engine's back.
type listTarget struct {
	sink      func(t *testing.T, cfg scim.Config) *scim.Sink
	accounts  func(t *testing.T) map[string]hrissync.Account // every bound account, read from the server's state
	seed      func(t *testing.T, email string)               // an account bound to no worker (SSO)
	setTitle  func(t *testing.T, worker, title string)
	setActive func(t *testing.T, worker string, active bool)
	remove    func(t *testing.T, worker string)
	lists     func() int // GET /Users list requests received so far
}

func elimityTarget(t *testing.T) listTarget {
	p := newProvider(t)
	lists := &listCounter{}
	edit := func(t *testing.T, worker string, f func(s *stored)) {
		t.Helper()
		p.users.mu.Lock()
		defer p.users.mu.Unlock()
		for _, s := range p.users.byID {
			if s.attrs["externalId"] == worker {
				f(s)
				s.version++
				return
			}
		}
		t.Fatalf("no account bound to %s", worker)
	}
	return listTarget{
		sink: func(t *testing.T, cfg scim.Config) *scim.Sink {
			cfg.HTTPClient = lists.client()
			return newSink(t, p, cfg)
		},
		accounts: func(t *testing.T) map[string]hrissync.Account {
			p.users.mu.Lock()
			var workers []string
			for _, s := range p.users.byID {
				if w, _ := s.attrs["externalId"].(string); w != "" {
					workers = append(workers, w)
				}
			}
			p.users.mu.Unlock()
			out := map[string]hrissync.Account{}
			for _, w := range workers {
				out[w], _, _ = p.account(w)
			}
			return out
		},
		seed: func(t *testing.T, email string) {
			p.seed(hrissync.Account{Active: true, Fields: hrissync.Fields{hrissync.FieldEmail: email, hrissync.FieldRole: "Admin"}})
		},
		setTitle:  func(t *testing.T, w, title string) { edit(t, w, func(s *stored) { s.attrs["title"] = title }) },
		setActive: func(t *testing.T, w string, active bool) { edit(t, w, func(s *stored) { s.attrs["active"] = active }) },
		remove: func(t *testing.T, w string) {
			_, id := p.raw(w)
			p.users.mu.Lock()
			defer p.users.mu.Unlock()
			delete(p.users.byID, id)
		},
		lists: lists.count,
	}
}

func scimmyTarget(t *testing.T) listTarget {
	p := newSCIMMYPlatform(t)
	lists := &listCounter{}
	// call sends one SCIM request to the provider directly.
	call := func(t *testing.T, method, worker string, body any) {
		t.Helper()
		_, pids, _ := p.accounts(t)
		id, ok := pids[worker]
		if !ok {
			t.Fatalf("no account bound to %s", worker)
		}
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, p.s.BaseURL+"/Users/"+id, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+p.s.Token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := scimmyClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s /Users/%s: %d %s", method, id, resp.StatusCode, b)
		}
	}
	replace := func(path string, v any) map[string]any {
		return map[string]any{"schemas": []string{patchOp}, "Operations": []any{map[string]any{"op": "replace", "path": path, "value": v}}}
	}
	return listTarget{
		sink: func(t *testing.T, cfg scim.Config) *scim.Sink { cfg.HTTPClient = lists.client(); return p.sink(t, cfg) },
		accounts: func(t *testing.T) map[string]hrissync.Account {
			accs, _, _ := p.accounts(t)
			return accs
		},
		seed: func(t *testing.T, email string) {
			p.s.Seed(t, map[string]any{"schemas": []string{scim.UserSchema}, "userName": email, "active": true, "title": "Admin",
				"emails": []any{map[string]any{"value": email, "type": "work", "primary": true}}})
		},
		setTitle:  func(t *testing.T, w, title string) { call(t, http.MethodPatch, w, replace("title", title)) },
		setActive: func(t *testing.T, w string, active bool) { call(t, http.MethodPatch, w, replace("active", active)) },
		remove:    func(t *testing.T, w string) { call(t, http.MethodDelete, w, nil) },
		lists:     lists.count,
	}
}

// listCounter counts the list requests (GET /Users without a filter, POST
// /Users/.search) its clients send.
type listCounter struct{ n atomic.Int64 }

func (c *listCounter) client() *http.Client { return &http.Client{Transport: c} }

func (c *listCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Users") && r.URL.Query().Get("filter") == "" ||
		r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Users/.search") {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *listCounter) count() int { return int(c.n.Load()) }

// onBothProviders runs test against the elimity server and SCIMMY.
func onBothProviders(t *testing.T, test func(t *testing.T, target listTarget)) {
	t.Run("elimity", func(t *testing.T) { test(t, elimityTarget(t)) })
	t.Run("SCIMMY", func(t *testing.T) { test(t, scimmyTarget(t)) })
}

// listAll drains Accounts, failing on an error or an account streamed twice.
func listAll(t *testing.T, s *scim.Sink) map[string]hrissync.Account {
	t.Helper()
	out := map[string]hrissync.Account{}
	for a, err := range s.Accounts(t.Context()) {
		if err != nil {
			t.Fatalf("Accounts: %v", err)
		}
		if _, dup := out[a.EmployeeID]; dup {
			t.Fatalf("Accounts streamed %s twice", a.EmployeeID)
		}
		out[a.EmployeeID] = a
	}
	return out
}

// person i of a small organisation: w-0000 manages w-0001…w-0009, each of
// which manages ten more, and so on.
func person(i int) hrissync.Employee {
	e := sinktest.Person(fmt.Sprintf("w-%04d", i))
	e.Attributes = nil
	e.Role = fmt.Sprintf("Role %d", i%13)
	if i > 0 {
		e.ManagerID = fmt.Sprintf("w-%04d", i/10)
	}
	return e
}

// Accounts lists exactly the bound accounts, with their carried fields as
// the provider holds them and the manager as the manager's worker id, over
// many pages: page size 7, which SCIMMY does not honour (it answers 20), and
// the default 100, which the elimity server honours and SCIMMY caps at 20.
func TestAccountsListsTheBoundAccounts(t *testing.T) {
	onBothProviders(t, func(t *testing.T, target listTarget) {
		const people = 250
		s := target.sink(t, scim.Config{})
		for i := range people {
			mustApply(t, s, create(person(i)))
		}
		for i := range 3 {
			target.seed(t, fmt.Sprintf("sso-%d@example.com", i))
		}
		// A leaver: listed, inactive.
		left := person(people - 1)
		left.Status = hrissync.StatusTerminated
		mustApply(t, s, change(hrissync.Deactivate, person(people-1), left))

		want := target.accounts(t)
		if len(want) != people {
			t.Fatalf("the provider holds %d bound accounts, want %d", len(want), people)
		}
		if m := want["w-0042"].Fields[hrissync.FieldManagerID]; m != "w-0004" {
			t.Fatalf("the provider's w-0042 has manager %q, want w-0004", m)
		}
		for id, a := range want {
			a.Opaque = []string{hrissync.GroupPrefix + "*"} // memberships are the Groups', not read back
			want[id] = a
		}
		for _, size := range []int{7, 0} {
			t.Run(fmt.Sprintf("ListPageSize=%d", size), func(t *testing.T) {
				before := target.lists()
				got := listAll(t, target.sink(t, scim.Config{ListPageSize: size}))
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("Accounts (-provider +listed):\n%s", d)
				}
				pages := target.lists() - before
				t.Logf("%d accounts (+3 unbound) in %d pages", len(got), pages)
				if size == 7 && pages < (people+3)/20 {
					t.Errorf("%d pages for %d users asked 7 at a time", pages, people+3)
				}
			})
		}
	})
}

// A consumer that stops early stops the listing: no more pages are read.
func TestAccountsStopsWhenTheConsumerStops(t *testing.T) {
	target := elimityTarget(t)
	s := target.sink(t, scim.Config{ListPageSize: 5})
	for i := range 30 {
		mustApply(t, s, create(person(i)))
	}
	before, n := target.lists(), 0
	for _, err := range s.Accounts(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if pages := target.lists() - before; pages != 1 {
		t.Errorf("stopped after 3 accounts, %d pages read, want 1", pages)
	}
}

// A manager the listing does not show (a page shifted, say) is read with
// one GET, and a manager bound to no worker is not taken for one.
func TestAccountsManagerOutsideTheListing(t *testing.T) {
	p := newProvider(t)
	admin := p.seedRaw(map[string]any{"userName": "admin@example.com", "active": true})
	p.seedRaw(map[string]any{"userName": "a@example.com", "externalId": "w-a", "active": true,
		scim.EnterpriseSchema: map[string]any{"manager": map[string]any{"value": admin}}})
	p.seedRaw(map[string]any{"userName": "b@example.com", "externalId": "w-b", "active": true,
		scim.EnterpriseSchema: map[string]any{"manager": map[string]any{"value": "u9999"}}})
	got := listAll(t, newSink(t, p, scim.Config{}))
	for w, m := range map[string]string{"w-a": "scim:unbound:" + admin, "w-b": "scim:unbound:u9999"} {
		if g := got[w].Fields[hrissync.FieldManagerID]; g != m {
			t.Errorf("%s: manager %q, want %q", w, g, m)
		}
	}
}

// Drift through the engine: accounts changed by hand in the provider — a
// title edited, an account disabled, a leaver's account re-enabled, one
// deleted — are found, SSO accounts bound to no worker are not the
// engine's, and the repair restores what HR says.
func TestDriftThroughSCIM(t *testing.T) {
	onBothProviders(t, func(t *testing.T, target listTarget) {
		ctx := t.Context()
		clock := hrissync.RealClock{}
		hris := memory.NewHRIS(clock, 1)
		const people = 40
		for i := range people {
			e := person(i)
			e.Attributes = map[string]string{"costCenter": fmt.Sprintf("CC-%d", i%3)}
			hris.Load(e)
		}
		// Mapped fields are listed back too: one not among the standard
		// ones (a cost centre), one the provider holds as sent (the
		// location), and one it holds transformed (the start date), which
		// the listing cannot turn back and drift leaves alone.
		s := target.sink(t, scim.Config{ListPageSize: 7, Map: []scim.Mapping{
			{Field: hrissync.AttributePrefix + "costCenter", Path: scim.EnterpriseSchema + ":costCenter"},
			{Field: hrissync.FieldLocation, Path: "nickName"},
			{Field: hrissync.FieldStartDate, Path: "userType", Value: scim.DateFormat("02/01/2006")},
		}})
		// Departments kept as Groups too: memberships are the Groups',
		// which the listing does not read back, so drift leaves them be.
		eng, err := hrissync.New(hris, s, memstore.New(), &hrissync.Config{Logger: slog.New(slog.DiscardHandler),
			Groups: []hrissync.GroupRule{hrissync.ByValue("department", hrissync.FieldDepartment, nil)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := hris.Update("leave", "w-0013", func(e *hrissync.Employee) {
			e.TerminationDate = hrissync.NewDate(2025, 1, 1)
			e.Status = hrissync.StatusTerminated
		}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		if a := target.accounts(t)["w-0013"]; a.Active {
			t.Fatalf("the leaver's account is active after the batch: %+v", a)
		}
		clean, err := eng.CheckDrift(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(clean.Changed)+len(clean.Missing)+len(clean.Unknown) != 0 {
			t.Fatalf("drift right after the batch: %+v", clean)
		}

		target.setTitle(t, "w-0011", "Hacker")
		target.setActive(t, "w-0012", false)
		target.setActive(t, "w-0013", true) // a leaver let back in
		target.remove(t, "w-0014")
		target.seed(t, "admin@example.com") // SSO: not the engine's, not listed

		found, err := eng.CheckDrift(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		want := hrissync.Drift{
			Changed: map[string][]string{"w-0011": {hrissync.FieldRole}, "w-0012": {"active"}, "w-0013": {"active"}},
			Missing: []string{"w-0014"},
		}
		if d := cmp.Diff(want, found); d != "" {
			t.Fatalf("drift (-want +got):\n%s", d)
		}

		repaired, err := eng.CheckDrift(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"w-0011", "w-0012", "w-0013", "w-0014"}, repaired.Repaired); d != "" || len(repaired.Failed) != 0 {
			t.Fatalf("repaired (-want +got):\n%s\nfailed: %v", d, repaired.Failed)
		}
		accs := target.accounts(t)
		for _, i := range []int{11, 12, 13, 14} {
			e := person(i)
			a, ok := accs[e.ID]
			switch {
			case !ok:
				t.Errorf("%s: no account after the repair", e.ID)
			case i == 13 && a.Active:
				t.Errorf("%s: the leaver's account is active after the repair", e.ID)
			case i != 13 && (!a.Active || a.Fields[hrissync.FieldRole] != e.Role || a.Fields[hrissync.FieldManagerID] != e.ManagerID):
				t.Errorf("%s after the repair: %+v, want active, role %q, manager %s", e.ID, a, e.Role, e.ManagerID)
			}
		}
		again, err := eng.CheckDrift(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Changed)+len(again.Missing)+len(again.Unknown) != 0 {
			t.Errorf("drift after the repair: %+v", again)
		}
	})
}

// A provider that ignores startIndex (answers the first page whatever is
// asked) is reported, after two pages, and never looped.
func TestAccountsPagingIgnored(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{ListPageSize: 7})
	for i := range 30 {
		mustApply(t, s, create(person(i)))
	}
	var mu sync.Mutex
	var queries []string
	p.setWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/Users" {
				q := r.URL.Query()
				q.Del("startIndex")
				r.URL.RawQuery = q.Encode()
				mu.Lock()
				queries = append(queries, r.URL.RawQuery)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var errs []error
	n := 0
	for a, err := range s.Accounts(ctx) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n++; n > 30 {
			t.Fatalf("listed %d accounts of 30 (last %s): looping", n, a.EmployeeID)
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], scim.ErrPagingIgnored) {
		t.Fatalf("errors %v, want one wrapping ErrPagingIgnored", errs)
	}
	if ctx.Err() != nil {
		t.Fatal("the listing ran until the deadline")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queries) > 2 {
		t.Errorf("%d list requests before the error, want 2: %v", len(queries), queries)
	}
	t.Logf("%v", errs[0])
}

// A provider whose totalResults is lower than what it lists: the listing
// goes on to an empty page rather than stop at the wrong total, which drift
// would report as missing accounts (outside finding).
func TestAccountsTotalResultsTooLow(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{ListPageSize: 7})
	for i := range 20 {
		mustApply(t, s, create(person(i)))
	}
	p.setWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/Users" {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var list map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
				t.Errorf("the provider's list: %v", err)
				return
			}
			list["totalResults"] = 5 // says 5 of 20
			w.Header().Set("Content-Type", "application/scim+json")
			json.NewEncoder(w).Encode(list)
		})
	})
	n := 0
	for _, err := range s.Accounts(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 20 {
		t.Errorf("listed %d accounts, want 20", n)
	}
}
