package scim_test

// The conformance suite and the engine end to end against SCIMMY
// (scimmy_test.go), the second third-party provider: core User and
// enterprise extension only, read back through its /_state.

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
)

// scimmyPlatform is a SCIMMY provider behind a loopback proxy that can
// throttle it.
type scimmyPlatform struct {
	s     *scimmyServer
	proxy *httptest.Server

	mu       sync.Mutex
	throttle string // answer 429 with this Retry-After
}

func newSCIMMYPlatform(t *testing.T) *scimmyPlatform {
	t.Helper()
	s := startSCIMMY(t)
	base, err := url.Parse(s.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &scimmyPlatform{s: s}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: base.Scheme, Host: base.Host})
	p.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		throttle := p.throttle
		p.mu.Unlock()
		if throttle != "" {
			scimError(w, http.StatusTooManyRequests, "", "slow down", throttle)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.proxy.Close)
	return p
}

func (p *scimmyPlatform) sink(t *testing.T, cfg scim.Config) *scim.Sink {
	t.Helper()
	cfg.Token = p.s.Token
	s, err := scim.New(p.proxy.URL+"/scim/v2", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// accounts reads the provider's state: every User by externalId.
func (p *scimmyPlatform) accounts(t testing.TB) (map[string]hrissync.Account, map[string]string, int) {
	list := p.s.Users(t)
	byID := map[string]*stored{}
	for _, u := range list {
		id, _ := u["id"].(string)
		byID[id] = &stored{id: id, attrs: u}
	}
	view := &users{byID: byID}
	accs, pids := map[string]hrissync.Account{}, map[string]string{}
	for _, u := range list {
		worker, _ := u["externalId"].(string)
		if worker == "" {
			continue
		}
		active, _ := u["active"].(bool)
		accs[worker] = hrissync.Account{EmployeeID: worker, Active: active, Fields: view.fieldsOf(u)}
		pids[worker], _ = u["id"].(string)
	}
	return accs, pids, len(list)
}

func (p *scimmyPlatform) harness(t *testing.T, cfg scim.Config) sinktest.Harness {
	return sinktest.Harness{
		Sink: p.sink(t, cfg),
		Account: func(worker string) (hrissync.Account, string, bool) {
			accs, pids, _ := p.accounts(t)
			a, ok := accs[worker]
			return a, pids[worker], ok
		},
		Accounts: func() int { _, _, n := p.accounts(t); return n },
		Seed: func(a hrissync.Account) error {
			f := a.Fields
			user := map[string]any{"schemas": []string{scim.UserSchema, scim.EnterpriseSchema},
				"userName": f[hrissync.FieldEmail], "active": a.Active,
				"emails": []any{map[string]any{"value": f[hrissync.FieldEmail], "type": "work", "primary": true}},
				"name":   map[string]any{"givenName": f[hrissync.FieldGivenName], "familyName": f[hrissync.FieldFamilyName]},
				scim.EnterpriseSchema: map[string]any{"employeeNumber": f[hrissync.FieldEmployeeNumber],
					"department": f[hrissync.FieldDepartment]},
			}
			if f[hrissync.FieldRole] != "" {
				user["title"] = f[hrissync.FieldRole]
			}
			p.s.Seed(t, user)
			return nil
		},
		Restart: func() hrissync.Sink { return p.sink(t, cfg) },
		Throttle: func(after time.Duration) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.throttle = strconv.Itoa(int(after / time.Second))
		},
	}
}

func TestConformanceSCIMMY(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  scim.Config
	}{
		{name: "PATCH"},
		{name: "PUT", cfg: scim.Config{NoPatch: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sinktest.Harness { return newSCIMMYPlatform(t).harness(t, c.cfg) })
		})
	}
}

// The engine end to end through SCIMMY, as TestEngineThroughSCIM does with
// the elimity server.
func TestEngineThroughSCIMMY(t *testing.T) {
	if testing.Short() {
		t.Skip("a week of changes over HTTP")
	}
	p := newSCIMMYPlatform(t)
	s := p.sink(t, scim.Config{})
	rep := simulateThrough(t, s, 200, 5)
	accs, pids, n := p.accounts(t)
	checkCarried(t, s, rep, func(id string) (hrissync.Account, bool) {
		acc, ok := accs[id]
		return acc, ok
	}, n)
	workers := map[string]string{}
	for w, id := range pids {
		workers[id] = w
	}
	var groups []map[string]any
	p.s.call(t, http.MethodGet, p.s.root+"/_groups", nil, http.StatusOK, &groups)
	checkGroups(t, rep, groups, workers)
	t.Logf("%s", rep.Summary())
}
