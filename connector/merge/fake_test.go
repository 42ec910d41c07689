package merge_test

import (
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/merge/mergetest"
)

const (
	apiKey       = "test-api-key"
	accountToken = "test-account-token"
	account      = "3f1c9a0e-6f7b-4c1e-9d55-0a1b2c3d4e5f"
)

// newFake starts a fake Merge linked account on clock now.
func newFake(t testing.TB, now func() time.Time) *mergetest.Server {
	t.Helper()
	srv := mergetest.NewServer(mergetest.Config{APIKey: apiKey, AccountToken: accountToken, Now: now, LinkedAccountID: account})
	t.Cleanup(srv.Close)
	return srv
}

// newSource is the connector over srv, in pages of pageSize, the field
// mapping "certification" read into the attribute "cert".
func newSource(t testing.TB, srv *mergetest.Server, pageSize int, now func() time.Time) *merge.Source {
	t.Helper()
	src, err := merge.New(merge.Config{APIKey: apiKey, AccountToken: accountToken, BaseURL: srv.URL + mergetest.BasePath,
		PageSize: pageSize, FieldMappings: map[string]string{"certification": "cert"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// put makes HR's record e what Merge holds for it (after Merge's sync),
// its remote id "R"+ID.
func put(srv *mergetest.Server, e hrissync.Employee) {
	day := func(d hrissync.Date) *time.Time {
		if d.IsZero() {
			return nil
		}
		t := d.Start(time.UTC)
		return &t
	}
	status := "ACTIVE"
	switch e.Status {
	case hrissync.StatusTerminated:
		status = "INACTIVE"
	case hrissync.StatusPending:
		status = "PENDING"
	}
	m := mergetest.Employee{ID: e.ID, RemoteID: "R" + e.ID, EmployeeNumber: e.EmployeeNumber, FirstName: e.GivenName,
		LastName: e.FamilyName, WorkEmail: e.Email, EmploymentStatus: status, StartDate: day(e.StartDate),
		TerminationDate: day(e.TerminationDate), ManagerID: e.ManagerID, JobTitle: e.Role}
	if e.Department != "" {
		m.TeamID = srv.PutTeam(e.Department)
	}
	if e.Location != "" {
		m.WorkLocationID = srv.PutLocation(e.Location)
	}
	if c := e.Attributes["cert"]; c != "" {
		m.FieldMappings = map[string]any{"certification": c}
	}
	srv.PutEmployee(m)
}

// expected is e as the Source reads it back: with its remote id.
func expected(e hrissync.Employee) hrissync.Employee {
	e = e.Clone()
	if e.Attributes == nil {
		e.Attributes = map[string]string{}
	}
	e.Attributes["remote_id"] = "R" + e.ID
	return e
}
