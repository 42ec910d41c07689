package scim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/sim"
)

func newSink(t testing.TB, p *provider, cfg scim.Config) *scim.Sink {
	t.Helper()
	cfg.BaseURL, cfg.Token = p.srv.URL, "secret-token"
	s, err := scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// account maps a stored SCIM User back to hrissync's fields.
func (p *provider) account(worker string) (hrissync.Account, string, bool) {
	u := p.users
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.byID {
		if s.externalID != worker {
			continue
		}
		f := hrissync.Fields{}
		str := func(m any, k string) string {
			if mm, ok := m.(map[string]any); ok {
				v, _ := mm[k].(string)
				return v
			}
			return ""
		}
		if emails, ok := s.attrs["emails"].([]any); ok && len(emails) > 0 {
			f[hrissync.FieldEmail] = str(emails[0], "value")
		}
		f[hrissync.FieldGivenName] = str(s.attrs["name"], "givenName")
		f[hrissync.FieldFamilyName] = str(s.attrs["name"], "familyName")
		f[hrissync.FieldRole], _ = s.attrs["title"].(string)
		ent := s.attrs[scim.EnterpriseSchema]
		f[hrissync.FieldEmployeeNumber] = str(ent, "employeeNumber")
		f[hrissync.FieldDepartment] = str(ent, "department")
		if m, ok := ent.(map[string]any); ok {
			if mgr := str(m["manager"], "value"); mgr != "" {
				f[hrissync.FieldManagerID] = u.byID[mgr].externalID
			}
		}
		ext := s.attrs[scim.DefaultExtension]
		for _, k := range []string{hrissync.FieldStatus, hrissync.FieldStartDate, hrissync.FieldTerminationDate, hrissync.FieldLocation} {
			f[k] = str(ext, k)
		}
		if m, ok := ext.(map[string]any); ok {
			attrs, _ := m["attributes"].([]any)
			for _, a := range attrs {
				f[hrissync.AttributePrefix+str(a, "name")] = str(a, "value")
			}
		}
		for k, v := range f {
			if v == "" {
				delete(f, k)
			}
		}
		active, _ := s.attrs["active"].(bool)
		return hrissync.Account{EmployeeID: worker, Active: active, Fields: f}, s.id, true
	}
	return hrissync.Account{}, "", false
}

func (p *provider) count() int {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	return len(p.users.byID)
}

// seed stores an account made outside hrissync (SSO), bound to no worker.
func (p *provider) seed(a hrissync.Account) {
	u := p.users
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next++
	id := fmt.Sprintf("u%04d", u.next)
	u.byID[id] = &stored{id: id, version: 1, attrs: map[string]any{
		"userName": a.Fields[hrissync.FieldEmail], "active": a.Active,
		"emails":              []any{map[string]any{"value": a.Fields[hrissync.FieldEmail]}},
		"title":               a.Fields[hrissync.FieldRole],
		scim.EnterpriseSchema: map[string]any{"employeeNumber": a.Fields[hrissync.FieldEmployeeNumber]},
	}}
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		p := newProvider(t)
		return sinktest.Harness{
			Sink:     newSink(t, p, scim.Config{}),
			Account:  p.account,
			Accounts: p.count,
			Seed:     func(a hrissync.Account) error { p.seed(a); return nil },
		}
	})
}

func TestConformanceWithPUT(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		p := newProvider(t)
		return sinktest.Harness{
			Sink: newSink(t, p, scim.Config{NoPatch: true}), Account: p.account, Accounts: p.count,
			Seed: func(a hrissync.Account) error { p.seed(a); return nil },
		}
	})
}

func create(e hrissync.Employee) hrissync.Update {
	f := e.Fields()
	u := hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Create, Fields: f, Active: true, Version: e.Version}
	for k, v := range f {
		u.Changes = append(u.Changes, hrissync.Change{Field: k, New: v})
	}
	return u
}

// A POST that answers 409 (the account exists, though the first search did
// not see it) is resolved by finding the account and updating it.
func TestConflictOnCreateFindsTheAccount(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	first := newSink(t, p, scim.Config{})
	if err := first.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	var searches atomic.Int32
	p.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Query().Get("filter") != "" && searches.Add(1) <= 3 {
				w.Header().Set("Content-Type", "application/scim+json")
				fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	e.Role = "Lead"
	restarted := newSink(t, p, scim.Config{}) // an empty id cache
	if err := restarted.Apply(context.Background(), create(e)); err != nil {
		t.Fatalf("create over an existing account: %v", err)
	}
	if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldRole] != "Lead" || p.count() != 1 {
		t.Errorf("after the 409: role %q, %d accounts", acc.Fields[hrissync.FieldRole], p.count())
	}
}

// 412: the account changed since it was read; the sink re-reads and retries
// once.
func TestPreconditionFailedRereads(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	e := sinktest.Person("w-1")
	if err := s.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	p.users.mu.Lock()
	p.users.staleOnce = true
	p.users.mu.Unlock()
	old := e.Fields()
	e.Role = "Lead"
	u := hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Modify, Fields: e.Fields(), Active: true,
		Changes: []hrissync.Change{{Field: hrissync.FieldRole, Old: old[hrissync.FieldRole], New: "Lead"}}}
	if err := s.Apply(context.Background(), u); err != nil {
		t.Fatalf("update after a 412: %v", err)
	}
	if acc, _, _ := p.account(e.ID); acc.Fields[hrissync.FieldRole] != "Lead" {
		t.Errorf("role = %q", acc.Fields[hrissync.FieldRole])
	}
}

func TestThrottleBecomesRetryAfter(t *testing.T) {
	p := newProvider(t)
	p.wrap = func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, `{"detail":"slow down"}`, http.StatusTooManyRequests)
		})
	}
	err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(sinktest.Person("w-1")))
	if after, ok := retry.After(err); !ok || after != 7*time.Second {
		t.Fatalf("429: %v, want RetryAfter 7s", err)
	}
	if retry.IsPermanent(err) {
		t.Error("a 429 was made permanent")
	}
}

func TestValidationErrorIsPermanentAndTyped(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	e.Email = "" // userName is required
	err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(e))
	var se *scim.Error
	if !retry.IsPermanent(err) || !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType == "" {
		t.Fatalf("err = %v, want a permanent *scim.Error 400 with its scimType", err)
	}
}

func TestAdoptionConflictIsReported(t *testing.T) {
	p := newProvider(t)
	e := sinktest.Person("w-1")
	for range 2 { // two accounts claim the same employee number
		p.seed(hrissync.Account{Active: true, Fields: hrissync.Fields{hrissync.FieldEmail: fmt.Sprint(p.count(), "@x"), hrissync.FieldEmployeeNumber: e.EmployeeNumber}})
	}
	err := newSink(t, p, scim.Config{}).Apply(context.Background(), create(e))
	var ce *scim.ConflictError
	if !errors.As(err, &ce) || len(ce.Candidates) != 2 || !retry.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent ConflictError with 2 candidates", err)
	}
	if p.count() != 2 {
		t.Errorf("a guess was made: %d accounts", p.count())
	}
}

func TestDeleteWhenConfigured(t *testing.T) {
	p := newProvider(t)
	s := newSink(t, p, scim.Config{Delete: true})
	e := sinktest.Person("w-1")
	if err := s.Apply(context.Background(), create(e)); err != nil {
		t.Fatal(err)
	}
	e.Status = hrissync.StatusTerminated
	if err := s.Apply(context.Background(), hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Deactivate, Fields: e.Fields()}); err != nil {
		t.Fatal(err)
	}
	if p.count() != 0 || p.users.deletes != 1 {
		t.Errorf("accounts %d, deletes %d; want the account deleted", p.count(), p.users.deletes)
	}
}

// The engine end to end: the simulated HRIS → engine → SCIM sink → the SCIM
// server, 500 people, a week of changes; the server ends equal to the HRIS.
func TestEngineThroughSCIM(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of changes over HTTP")
	}
	p := newProvider(t)
	s := newSink(t, p, scim.Config{})
	rep, err := sim.Run(t.Context(), sim.Config{People: 500, Days: 7, Seed: 3,
		WrapSink: func(platform hrissync.Sink) hrissync.Sink {
			return hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
				if err := s.Apply(ctx, u); err != nil {
					return err
				}
				return platform.Apply(ctx, u)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged || rep.Lost != 0 || rep.Writes != rep.Needed {
		t.Fatalf("simulation: %s", rep.Summary())
	}
	got := map[string]sim.AccountView{}
	for id := range rep.Expected {
		acc, _, ok := p.account(id)
		if !ok {
			continue
		}
		v := sim.AccountView{Active: acc.Active, Fields: map[string]string{}}
		for k, val := range acc.Fields {
			if acc.Active || k == hrissync.FieldStatus {
				v.Fields[k] = val
			}
		}
		got[id] = v
	}
	if d := cmp.Diff(rep.Expected, got); d != "" {
		t.Errorf("the SCIM server differs from the HRIS (-hris +scim):\n%s", d)
	}
	if n := p.count(); n != len(rep.Expected) {
		t.Errorf("the SCIM server holds %d users, want %d", n, len(rep.Expected))
	}
	t.Logf("%s; SCIM writes %d (POST %d)", rep.Summary(), p.users.writes, p.users.posts)
}
