// Command tenants syncs three customers from one process: an engine per
// tenant on one SQLite store and one hash-chained audit log (a chain per
// tenant), each with its own time zone, cadence policy and webhook secret,
// all sharing eight workers fairly. HR changes reach each tenant as signed
// webhooks over loopback; the operator's status page of each is mounted at
// /status/<tenant>/. It prints each tenant's outcome and verifies the log.
//
//	go run ./examples/tenants            # runs about ten seconds
//	go run ./examples/tenants -serve 1m  # and keeps the status pages up
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/status"
	"github.com/hrissync/hrissync/store/sqlite"
)

// customer is one tenant's settings, as a vendor would keep them.
type customer struct {
	name    string
	zone    string
	policy  cadence.Policy
	secret  string // the tenant's webhook signing secret
	people  int
	changes int
}

var customers = []customer{
	{"acme", "America/New_York", cadence.Hybrid(), "whsec_" + "YWNtZS1zZWNyZXQtb25lLXR3by10aHJlZQ==", 300, 300},
	{"globex", "Europe/Paris", cadence.RealtimeOnly(), "whsec_" + "Z2xvYmV4LXNlY3JldC1mb3VyLWZpdmUtc2l4", 2000, 3000},
	{"initech", "Asia/Kolkata", cadence.Hybrid(), "whsec_" + "aW5pdGVjaC1zZWNyZXQtc2V2ZW4tZWlnaHQ=", 100, 60},
}

type running struct {
	customer
	eng      *hrissync.Engine
	hris     *memory.HRIS
	platform *memory.Platform
	signer   *standardwebhooks.Webhook
}

func main() {
	serve := flag.Duration("serve", 0, "keep the status pages up this long after the run")
	flag.Parse()
	if err := run(*serve); err != nil {
		fmt.Fprintln(os.Stderr, "tenants:", err)
		os.Exit(1)
	}
}

func run(serve time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "hrissync-tenants-")
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), nil)
	if err != nil {
		return err
	}
	defer st.Close()
	logPath := filepath.Join(dir, "audit.jsonl")
	log, err := audit.OpenLog(ctx, logPath, nil)
	if err != nil {
		return err
	}
	share := hrissync.NewShare(8, 6) // eight workers for everyone; at most six for one tenant
	mux := http.NewServeMux()
	quiet := slog.New(slog.DiscardHandler)
	var tenants []*running
	done := make(chan error, len(customers))
	for _, c := range customers {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			return err
		}
		r := &running{customer: c, hris: memory.NewHRIS(hrissync.RealClock{}, 1), platform: memory.NewPlatform(hrissync.RealClock{}, 1)}
		r.platform.SetFaults(memory.SinkFaults{Latency: time.Millisecond})
		for i := range c.people {
			id := fmt.Sprintf("%s-%05d", c.name, i)
			r.hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
				StartDate: hrissync.DateOf(time.Now()).AddDays(-90), Role: "Engineer"})
		}
		r.eng, err = hrissync.New(r.hris, r.platform, st, &hrissync.Config{
			Tenant: c.name, Location: loc, Policy: c.policy, Share: share, Concurrency: 16,
			Auditor: log, Logger: quiet, PollSchedule: cadence.Every(2 * time.Second),
			PollWindow: cadence.Window{Length: 3 * time.Second, Overlap: time.Second},
		})
		if err != nil {
			return err
		}
		verifier, err := webhook.NewStandardWebhooks(c.secret)
		if err != nil {
			return err
		}
		hook, err := webhook.New(r.eng, verifier, &webhook.Config{Logger: quiet})
		if err != nil {
			return err
		}
		if r.signer, err = standardwebhooks.NewWebhook(c.secret); err != nil {
			return err
		}
		mux.Handle("POST /hooks/"+c.name, hook)
		mux.Handle("/status/"+c.name+"/", http.StripPrefix("/status/"+c.name, status.Handler(r.eng)))
		go func() { done <- r.eng.Run(ctx) }()
		if err := r.eng.Batch(ctx); err != nil { // provision everyone first
			return err
		}
		tenants = append(tenants, r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	fmt.Printf("state %s, audit %s\n", filepath.Join(dir, "state.db"), logPath)

	// HR changes for every tenant at once, delivered as signed webhooks.
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	sent := make(chan error, 64)
	inFlight := 0
	for n := 0; ; n++ {
		more := false
		for _, r := range tenants {
			if n >= r.changes {
				continue
			}
			more = true
			id := fmt.Sprintf("%s-%05d", r.name, rng.IntN(r.people))
			e, err := r.hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "Role " + strconv.Itoa(n) })
			if err != nil {
				return err
			}
			inFlight++
			go func() { sent <- deliver(base+"/hooks/"+r.name, r.signer, e) }()
			for inFlight >= 32 {
				if err := <-sent; err != nil {
					return err
				}
				inFlight--
			}
		}
		if !more {
			break
		}
	}
	for ; inFlight > 0; inFlight-- {
		if err := <-sent; err != nil {
			return err
		}
	}
	for _, r := range tenants {
		for time.Since(start) < time.Minute && len(memory.Diff(r.hris, r.platform, time.Now())) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		differ := len(memory.Diff(r.hris, r.platform, time.Now()))
		s := r.eng.Stats().Triggers[hrissync.TriggerRealtime]
		fmt.Printf("%-8s %-16s %-13s people=%-5d changes=%-5d differing=%d realtime writes=%d p50=%s p99=%s status %s/status/%s/\n",
			r.name, r.zone, r.policy.Name(), r.people, r.changes, differ, s.Writes,
			s.Latency.P50.Round(time.Millisecond), s.Latency.P99.Round(time.Millisecond), base, r.name)
	}
	if serve > 0 {
		fmt.Printf("status pages up for %s\n", serve)
		time.Sleep(serve)
	}
	cancel()
	for range tenants {
		<-done
	}
	if err := log.Close(); err != nil {
		return err
	}
	files, err := audit.LogFiles(logPath)
	if err != nil {
		return err
	}
	perTenant := map[string]int{}
	for rec, err := range audit.Read(files...) {
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		perTenant[rec.Entry.Tenant]++
	}
	fmt.Printf("audit log verified: one chain per tenant %v\n", perTenant)
	for _, r := range tenants {
		if n := len(memory.Diff(r.hris, r.platform, time.Now())); n > 0 {
			return fmt.Errorf("%s: %d people differ", r.name, n)
		}
	}
	return nil
}

// deliver posts one thin event, signed with the tenant's secret.
func deliver(url string, signer *standardwebhooks.Webhook, e hrissync.Employee) error {
	id := fmt.Sprintf("evt-%s-%d", e.ID, e.Version.Seq)
	body, err := json.Marshal(map[string]any{"id": id, "type": "employee.updated", "employeeId": e.ID, "occurredAt": e.Version.Time})
	if err != nil {
		return err
	}
	now := time.Now()
	sig, err := signer.Sign(id, now, body)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if attempt == 5 {
			return err
		}
		time.Sleep(100 * time.Millisecond << attempt) // a sender's backoff (503 when the backlog is full)
	}
}
