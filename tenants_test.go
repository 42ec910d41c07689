package hrissync_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// tenant is one customer of a multi-tenant process.
type tenant struct {
	name     string
	people   int
	changes  int
	workers  int // the tenant's own Concurrency; 0 for the default
	failing  bool
	hris     *memory.HRIS
	platform *memory.Platform
	eng      *hrissync.Engine
}

// runTenants runs the tenants on one Store, one audit log and one Share of
// four workers, in simulated time: everyone is provisioned, then each tenant's
// changes arrive as webhooks at once. It returns the tenants when the work is
// done.
func runTenants(t *testing.T, log *audit.Log, specs ...*tenant) {
	t.Helper()
	ctx := t.Context()
	store, share := memstore.New(), hrissync.NewShare(4, 3)
	var auditor audit.Auditor = &audit.Memory{}
	if log != nil {
		auditor = log
	}
	zones := []string{"America/New_York", "Europe/Paris", "Asia/Kolkata"}
	for i, tn := range specs {
		loc, err := time.LoadLocation(zones[i%len(zones)])
		if err != nil {
			t.Fatal(err)
		}
		policy := cadence.Hybrid() // every other tenant realtime-only: policies are per tenant
		if i%2 == 1 {
			policy = cadence.RealtimeOnly()
		}
		tn.hris = memory.NewHRIS(hrissync.RealClock{}, uint64(i+1))
		tn.platform = memory.NewPlatform(hrissync.RealClock{}, uint64(i+1))
		faults := memory.SinkFaults{Latency: 100 * time.Millisecond} // a platform's round trip
		if tn.failing {
			faults.ErrorRate = 1
		}
		for j := range tn.people {
			id := fmt.Sprintf("%s-%04d", tn.name, j)
			tn.hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4), Role: "Engineer"})
		}
		tn.eng, err = hrissync.New(tn.hris, tn.platform, store, &hrissync.Config{
			Tenant: tn.name, Location: loc, Share: share, Concurrency: tn.workers, Auditor: auditor, Logger: slog.New(slog.DiscardHandler),
			Policy: policy,
		})
		if err != nil {
			t.Fatal(err)
		}
		engCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tn.eng.Run(engCtx) }()
		t.Cleanup(func() { cancel(); <-done })
		if err := tn.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		tn.platform.SetFaults(faults) // the failing tenant's platform breaks after provisioning
	}
	time.Sleep(time.Minute)
	synctest.Wait()
	for _, tn := range specs {
		for j := range tn.changes {
			id := fmt.Sprintf("%s-%04d", tn.name, j%tn.people)
			e, err := tn.hris.Update("role", id, func(e *hrissync.Employee) { e.Role = fmt.Sprint("Role ", j) })
			if err != nil {
				t.Fatal(err)
			}
			go tn.eng.Notify(ctx, hrissync.Event{ID: fmt.Sprint(tn.name, "-evt-", j), EmployeeID: id, OccurredAt: e.Version.Time})
		}
	}
	time.Sleep(10 * time.Minute)
	synctest.Wait()
}

// TestTenantsShareFairly: beside a tenant flooding the process with webhooks
// and one whose platform fails every write, a quiet tenant's changes land
// within the same budget as when it runs alone; and no tenant's state or
// audit entries appear under another.
func TestTenantsShareFairly(t *testing.T) {
	const budget = 5 * time.Second // for the quiet tenant's ten changes
	var alone, shared time.Duration
	synctest.Test(t, func(t *testing.T) {
		quiet := &tenant{name: "quiet", people: 20, changes: 10}
		runTenants(t, nil, quiet)
		alone = quiet.eng.Stats().Triggers[hrissync.TriggerRealtime].Latency.Max
	})
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		log, err := audit.OpenLog(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		quiet := &tenant{name: "quiet", people: 20, changes: 10}
		// Big customers with many workers each: without a fair Share
		// their reconciles would queue ahead of the quiet tenant's.
		flood := &tenant{name: "flood", people: 500, changes: 2000, workers: 256}
		broken := &tenant{name: "broken", people: 200, changes: 200, workers: 256, failing: true}
		runTenants(t, log, flood, broken, quiet)
		shared = quiet.eng.Stats().Triggers[hrissync.TriggerRealtime].Latency.Max
		if n := quiet.eng.Stats().Triggers[hrissync.TriggerRealtime].Writes; n != 10 {
			t.Errorf("quiet tenant: %d realtime writes, want 10", n)
		}
		if n := flood.platform.Counts().Writes; n < 500 {
			t.Errorf("flooding tenant: only %d writes", n)
		}
		if c := broken.platform.Counts(); c.Attempts <= c.Writes || broken.eng.Stats().Alerts == 0 {
			t.Errorf("the failing tenant's platform: %+v, %d alerts; want failed writes and an alert", c, broken.eng.Stats().Alerts)
		}

		// Isolation: each tenant's listing and chain hold only its own.
		for _, tn := range []*tenant{quiet, flood, broken} {
			dead, err := tn.eng.DeadLetters(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range dead {
				if !strings.HasPrefix(p.ID, tn.name+"-") {
					t.Errorf("tenant %s lists %s", tn.name, p.ID)
				}
			}
		}
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		files, err := audit.LogFiles(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.Verify(files...); err != nil {
			t.Fatalf("audit chains: %v", err)
		}
		perTenant := map[string]int{}
		for rec, err := range audit.Read(files...) {
			if err != nil {
				t.Fatal(err)
			}
			if rec.Entry.EmployeeID != "" && !strings.HasPrefix(rec.Entry.EmployeeID, rec.Entry.Tenant+"-") {
				t.Errorf("line %d: tenant %s's chain holds %s", rec.Line, rec.Entry.Tenant, rec.Entry.EmployeeID)
			}
			perTenant[rec.Entry.Tenant]++
		}
		if len(perTenant) != 3 {
			t.Errorf("audit entries by tenant: %v", perTenant)
		}
	})
	t.Logf("quiet tenant's slowest change: %s alone, %s beside a flood and a failing platform (budget %s)", alone, shared, budget)
	if alone > budget || shared > budget {
		t.Errorf("quiet tenant's slowest change: %s alone, %s shared; budget %s", alone, shared, budget)
	}
}
