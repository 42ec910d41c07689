package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/merge/mergetest"
	"github.com/hrissync/hrissync/connector/webhook"
)

// mergeSyncEvery is how often the fake Merge reads the HR system: a change
// HR makes reaches Merge's API, and its webhooks, at the next sync.
const mergeSyncEvery = time.Hour

// mergeAPI is -source merge: a fake Merge linked account that syncs the HR
// system every hour, then posts each change's webhook and its sync
// notification, whose poll finds what the lost webhooks did not say.
type mergeAPI struct {
	api      *mergetest.Server
	clock    *clocktest.Clock
	endpoint *http.Client
	poll     func()
	synced   atomic.Bool
	pending  []pendingChange // HR's changes Merge has not synced yet
}

type pendingChange struct {
	e    hrissync.Employee
	lose bool
}

const mergeAccount = "5d7c0f36-2b8e-4c41-9a6e-3f2b1c0d9e8a"

func newMerge(clock *clocktest.Clock) vendor {
	return &mergeAPI{clock: clock, api: mergetest.NewServer(mergetest.Config{APIKey: "standalone", AccountToken: "linked-account",
		Now: clock.Now, LinkedAccountID: mergeAccount})}
}

func (m *mergeAPI) source() (hrissync.Source, error) {
	return merge.New(merge.Config{APIKey: "standalone", AccountToken: "linked-account", BaseURL: m.api.URL + mergetest.BasePath,
		FieldMappings: map[string]string{"certification": "cert"}, Now: m.clock.Now})
}

// read is e with its remote id, which the connector keeps as an attribute.
func (m *mergeAPI) read(e hrissync.Employee) hrissync.Employee {
	e = e.Clone()
	if e.Attributes == nil {
		e.Attributes = map[string]string{}
	}
	e.Attributes["remote_id"] = "R" + e.ID
	return e
}

func (m *mergeAPI) serve(eng *hrissync.Engine, mux *http.ServeMux, base string, now func() time.Time, poll func()) error {
	key := []byte("merge-signature-key")
	v, err := merge.NewVerifier(key)
	if err != nil {
		return err
	}
	h, err := webhook.New(eng, v, &webhook.Config{Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Decoder: merge.Decoder{LinkedAccount: mergeAccount, Synced: func() { m.synced.Store(true) }}})
	if err != nil {
		return err
	}
	mux.Handle("POST /merge", h)
	m.api.AddWebhook(mergetest.Webhook{URL: base + "/merge", Key: key})
	m.endpoint, m.poll = http.DefaultClient, poll
	m.clock.AfterFunc(mergeSyncEvery, m.sync)
	return nil
}

// change waits for Merge's next sync, once the endpoint serves; before,
// it is the first load.
func (m *mergeAPI) change(_ context.Context, e hrissync.Employee, lose bool) error {
	if m.endpoint == nil {
		m.put(e)
		m.api.Drop()
		return nil
	}
	m.pending = append(m.pending, pendingChange{e, lose})
	return nil
}

// sync is Merge reading the HR system: each change reaches the API and
// posts its webhook (or loses it), then the sync notification, whose
// poll the host starts.
func (m *mergeAPI) sync() {
	defer m.clock.AfterFunc(mergeSyncEvery, m.sync)
	ctx := context.Background()
	for _, c := range m.pending {
		m.put(c.e)
		if c.lose {
			m.api.Drop()
			continue
		}
		if err := m.deliver(ctx); err != nil {
			fmt.Println("standalone: merge:", err)
		}
	}
	m.pending = nil
	m.api.CompleteSync()
	if err := m.deliver(ctx); err != nil {
		fmt.Println("standalone: merge:", err)
	}
	if m.synced.Swap(false) {
		m.poll()
	}
}

func (m *mergeAPI) deliver(ctx context.Context) error {
	codes, err := m.api.Deliver(ctx, m.endpoint)
	for _, c := range codes {
		if c != http.StatusNoContent && c != http.StatusOK {
			return fmt.Errorf("a webhook was answered %d", c)
		}
	}
	return err
}

// put is e as Merge holds it, its remote id "R"+ID.
func (m *mergeAPI) put(e hrissync.Employee) {
	day := func(d hrissync.Date) *time.Time {
		if d.IsZero() {
			return nil
		}
		t := d.Start(time.UTC)
		return &t
	}
	status := "ACTIVE"
	if e.Status == hrissync.StatusTerminated {
		status = "INACTIVE"
	}
	rec := mergetest.Employee{ID: e.ID, RemoteID: "R" + e.ID, EmployeeNumber: e.EmployeeNumber, FirstName: e.GivenName,
		LastName: e.FamilyName, WorkEmail: e.Email, EmploymentStatus: status, StartDate: day(e.StartDate),
		TerminationDate: day(e.TerminationDate), ManagerID: e.ManagerID, JobTitle: e.Role,
		FieldMappings: map[string]any{"certification": e.Attributes["cert"]}}
	if e.Department != "" {
		rec.TeamID = m.api.PutTeam(e.Department)
	}
	if e.Location != "" {
		rec.WorkLocationID = m.api.PutLocation(e.Location)
	}
	m.api.PutEmployee(rec)
}

func (m *mergeAPI) calls() map[string]int {
	n := map[string]int{}
	for _, r := range m.api.Requests() {
		p := strings.TrimPrefix(r.Path, mergetest.BasePath)
		switch {
		case strings.HasPrefix(p, "/employees/"):
			n["get"]++
		case p == "/employees" && r.Query.Get("modified_after") != "":
			n["employees-changed"]++
		case p == "/employees":
			n["employees"]++
		case p == "/employments":
			n["employments-changed"]++
		default:
			n[r.Method+" "+p]++
		}
	}
	return n
}

func (m *mergeAPI) reset() { m.api.ResetRequests() }
func (m *mergeAPI) close() { m.api.Close() }
