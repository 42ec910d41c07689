package bamboohr_test

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
)

// The fake company's credentials (bamboohrtest's defaults, named here).
const (
	company = "acme"
	apiKey  = "test-api-key"
)

// customCert is a custom field of the fake company, read into the
// attribute "cert".
const (
	customCertID    = "4567"
	customCertAlias = "customCertLevel"
)

// newFake starts a fake BambooHR company on clock now, with the custom field.
func newFake(t testing.TB, now func() time.Time) *bamboohrtest.Server {
	t.Helper()
	srv := bamboohrtest.NewServer(bamboohrtest.Config{CompanyDomain: company, APIKey: apiKey, Now: now})
	t.Cleanup(srv.Close)
	srv.AddCustomField(customCertID, "Certification level", customCertAlias, "text")
	return srv
}

// newSource is the connector over srv, in pages of pageSize.
func newSource(t testing.TB, srv *bamboohrtest.Server, pageSize int, cfg bamboohr.Config) *bamboohr.Source {
	t.Helper()
	cfg.CompanyDomain, cfg.APIKey, cfg.BaseURL, cfg.PageSize = company, apiKey, srv.URL, pageSize
	if cfg.Attributes == nil {
		cfg.Attributes = map[string]string{customCertAlias: "cert"}
	}
	src, err := bamboohr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// fields is how HR would enter e in BambooHR: its API field names.
func fields(e hrissync.Employee) map[string]string {
	status, history := "Active", "Full-Time"
	if e.Status == hrissync.StatusTerminated {
		status, history = "Inactive", "Terminated"
	}
	date := func(d hrissync.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	return map[string]string{
		"employeeNumber": e.EmployeeNumber, "workEmail": e.Email,
		"firstName": e.GivenName, "lastName": e.FamilyName,
		"status": status, "employmentHistoryStatus": history,
		"hireDate": date(e.StartDate), "terminationDate": date(e.TerminationDate),
		"jobTitle": e.Role, "supervisorEId": e.ManagerID,
		"department": e.Department, "location": e.Location,
		"division": e.Attributes["division"], customCertAlias: e.Attributes["cert"],
	}
}

// hr keeps a fake company in step with a list of people, as HR would by
// hiring, changing and removing records.
type hr struct {
	mu   sync.Mutex
	srv  *bamboohrtest.Server
	held map[string]map[string]string
}

func newHR(srv *bamboohrtest.Server) *hr {
	return &hr{srv: srv, held: map[string]map[string]string{}}
}

// set makes the company hold exactly people.
func (h *hr) set(people []hrissync.Employee) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keep := map[string]bool{}
	for _, e := range people {
		keep[e.ID] = true
		h.putLocked(e)
	}
	for id := range h.held {
		if !keep[id] {
			h.srv.Delete(id)
			delete(h.held, id)
		}
	}
}

// put hires e, or changes their record to e.
func (h *hr) put(e hrissync.Employee) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.putLocked(e)
}

func (h *hr) putLocked(e hrissync.Employee) {
	f := fields(e)
	was, ok := h.held[e.ID]
	switch {
	case !ok:
		add := maps.Clone(f)
		add["id"] = e.ID
		if got := h.srv.Add(add); got != e.ID {
			panic("the fake gave id " + got + " for " + e.ID)
		}
	case !maps.Equal(was, f):
		changed := map[string]string{}
		for k, v := range f {
			if was[k] != v {
				changed[k] = v
			}
		}
		h.srv.Update(e.ID, changed)
	}
	h.held[e.ID] = f
}
