// Command webhook-server takes HRIS webhooks over HTTP and syncs them into a
// learning platform, with its state in SQLite and its audit trail in a
// hash-chained log.
//
// It has no real HRIS or learning platform to talk to, so it stands in the
// in-memory ones: an HRIS seeded with -people synthetic workers (w-000001 …)
// and a platform whose accounts GET /accounts/{id} shows. A real deployment
// wires its own Source and Sink in their place; everything else is as here.
//
//	go run ./examples/webhook-server -secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
//
// Deliveries use Standard Webhooks signatures and the generic JSON event
// format of package connector/webhook. SIGINT or SIGTERM stops it gracefully:
// requests in flight finish, then reconciles in hand.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-server:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (loopback by default; put TLS in front for the internet)")
	secret := flag.String("secret", os.Getenv("HRISSYNC_WEBHOOK_SECRET"), "Standard Webhooks secret, whsec_…; several separated by spaces during a rotation (default $HRISSYNC_WEBHOOK_SECRET)")
	statePath := flag.String("store", "hrissync-state.db", "SQLite file for the engine's state")
	auditPath := flag.String("audit", "hrissync-audit.jsonl", "hash-chained audit log")
	people := flag.Int("people", 100, "synthetic workers in the stand-in HRIS")
	maxBacklog := flag.Int("max-backlog", 10000, "answer 503 with Retry-After above this many people waiting")
	maxBody := flag.Int64("max-body", 1<<20, "largest delivery accepted, in bytes")
	initial := flag.Bool("initial-sync", true, "run a full batch before serving")
	flag.Parse()
	if *secret == "" {
		return errors.New("-secret (or HRISSYNC_WEBHOOK_SECRET) is required")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	for i := 1; i <= *people; i++ {
		id := fmt.Sprintf("w-%06d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, Role: "Employee",
			StartDate: hrissync.NewDate(2024, 1, 8)})
	}
	platform := memory.NewPlatform(clock, 1)

	st, err := sqlite.Open(ctx, *statePath, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// The log is checked against the anchor the Store acknowledged: a
	// torn final line (a crash mid-append) is recovered, a loss refused.
	anchor, err := st.Anchor(ctx, "default")
	if err != nil {
		return err
	}
	trail, err := audit.OpenLog(ctx, *auditPath, &audit.LogOptions{Anchors: map[string]audit.Head{"default": anchor}})
	if err != nil {
		return err
	}
	defer trail.Close()
	eng, err := hrissync.New(hris, platform, st, &hrissync.Config{Auditor: trail, Logger: log})
	if err != nil {
		return err
	}
	verifier, err := webhook.NewStandardWebhooks(strings.Fields(*secret)...)
	if err != nil {
		return err
	}
	hooks, err := webhook.New(standIn{hris, eng}, verifier, &webhook.Config{Backlog: eng.Backlog, MaxBacklog: *maxBacklog, MaxBody: *maxBody, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks", hooks)
	mux.HandleFunc("GET /accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := platform.Account(r.PathValue("id"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a)
	})
	// The limits the handler cannot set itself (connector/webhook's doc).
	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}

	// A new integration starts with a full sync; after that the 02:00
	// batch and the webhooks keep it in step.
	if *initial {
		if err := eng.Batch(ctx); err != nil {
			return fmt.Errorf("initial sync: %w", err)
		}
	}
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(context.Background()) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.ListenAndServe() }()
	log.Info("listening", "addr", *addr, "store", *statePath, "audit", *auditPath)

	select {
	case err := <-serveDone:
		eng.Shutdown(context.Background())
		<-engineDone
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(shutdownCtx), eng.Shutdown(shutdownCtx))
	if runErr := <-engineDone; !errors.Is(runErr, hrissync.ErrClosed) {
		err = errors.Join(err, runErr) // like ListenAndServe's ErrServerClosed, ErrClosed is the clean end
	}
	if serveErr := <-serveDone; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// standIn makes the stand-in HRIS hold the change a delivery announces, as a
// real HRIS would before sending it, then records the event. Without it the
// engine would find the stand-in's record older than the event (read-after-
// write lag) and wait for it to catch up. A real deployment passes the
// engine itself to webhook.New.
type standIn struct {
	hris *memory.HRIS
	eng  *hrissync.Engine
}

func (s standIn) Notify(ctx context.Context, ev hrissync.Event) error {
	if _, ok := s.hris.Employee(ev.EmployeeID); ok {
		s.hris.Update(ev.Type, ev.EmployeeID, func(e *hrissync.Employee) {
			switch ev.Type {
			case "employee.terminated":
				e.Status = hrissync.StatusTerminated
			case "employee.rehired":
				e.Status, e.TerminationDate = hrissync.StatusActive, hrissync.Date{}
			}
		})
	}
	return s.eng.Notify(ctx, ev)
}
