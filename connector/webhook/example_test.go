package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// A Standard Webhooks delivery, signed as the HRIS signs it, posted to the
// endpoint: 204 once the engine has recorded the event; the sender's retry
// of the same event is acknowledged and ignored; a forged one is refused.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // shared with the HRIS
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := hrissync.RealClock{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), memstore.New(),
		&hrissync.Config{Logger: discard})
	if err != nil {
		panic(err)
	}

	v, err := webhook.NewStandardWebhooks(secret)
	if err != nil {
		panic(err)
	}
	h, err := webhook.New(eng, v, &webhook.Config{Backlog: eng.Backlog, MaxBacklog: 10_000, Logger: discard})
	if err != nil {
		panic(err)
	}

	body := []byte(`{"id":"evt-1","type":"employee.terminated","employeeId":"w-42","occurredAt":"2026-03-06T17:00:00Z"}`)
	fmt.Println("delivery:", deliver(h, secret, "msg_1", body))
	fmt.Println("retry:", deliver(h, secret, "msg_1", body))
	fmt.Println("forged:", deliver(h, "whsec_c2VjcmV0IGd1ZXNzZWQ=", "msg_2", body))
	fmt.Println("events:", eng.Stats().Events, "duplicates:", eng.Stats().Duplicates)
	// Output:
	// delivery: 204
	// retry: 204
	// forged: 401
	// events: 1 duplicates: 1
}

// The endpoint served as on the public internet: an http.Server whose
// limits bound what a slow or hostile client can hold (the handler cannot
// set a connection's deadlines), here on loopback.
func Example_server() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := hrissync.RealClock{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), memstore.New(),
		&hrissync.Config{Logger: discard})
	if err != nil {
		panic(err)
	}
	v, err := webhook.NewStandardWebhooks(secret)
	if err != nil {
		panic(err)
	}
	h, err := webhook.New(eng, v, &webhook.Config{Backlog: eng.Backlog, MaxBacklog: 10_000, Logger: discard})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hris/webhooks", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,  // a client trickling its headers
		ReadTimeout:       30 * time.Second, // … or its body (1 MiB at most: Config.MaxBody)
		WriteTimeout:      30 * time.Second, // the answer waits for the Store's commit
		IdleTimeout:       2 * time.Minute,  // kept-alive connections between deliveries
		MaxHeaderBytes:    64 << 10,         // a signed delivery needs about 1 KiB of headers
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	body := []byte(`{"id":"evt-1","type":"employee.terminated","employeeId":"w-42","occurredAt":"2026-03-06T17:00:00Z"}`)
	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/hris/webhooks", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header = signedHeaders(secret, "msg_1", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("delivery:", resp.StatusCode)

	// Headers past MaxHeaderBytes are refused by the server itself.
	req, _ = http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/hris/webhooks", bytes.NewReader(body))
	req.Header = signedHeaders(secret, "msg_2", body)
	req.Header.Set("webhook-id", strings.Repeat("x", 1<<20))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("1 MB of headers:", resp.StatusCode)
	// Output:
	// delivery: 204
	// 1 MB of headers: 431
}

// signedHeaders are the headers of body signed with secret as a Standard
// Webhooks sender signs it.
func signedHeaders(secret, msgID string, body []byte) http.Header {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	sig, err := wh.Sign(msgID, now, body)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

// deliver signs body with secret as a Standard Webhooks sender does, posts it
// to h and returns the status code.
func deliver(h http.Handler, secret, msgID string, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, "/hris/webhooks", bytes.NewReader(body))
	req.Header = signedHeaders(secret, msgID, body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// A batched delivery — a JSON array of events, as HR systems that batch
// post them — with one event that cannot be taken: the others are
// recorded, the bad one is audited (audit.ActionEventRejected) and
// alerted, and the delivery is answered 200 with what became of its
// events, so that the sender does not retry the batch until it gives up.
func Example_batch() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	discard := slog.New(slog.DiscardHandler)
	clock := hrissync.RealClock{}
	log := &audit.Memory{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), memstore.New(),
		&hrissync.Config{Logger: discard, Auditor: log, Alerter: hrissync.AlerterFunc(func(_ context.Context, a hrissync.Alert) {
			fmt.Println("alert:", a.Kind)
		})})
	if err != nil {
		panic(err)
	}
	v, err := webhook.NewStandardWebhooks(secret)
	if err != nil {
		panic(err)
	}
	h, err := webhook.New(eng, v, &webhook.Config{Backlog: eng.Backlog, MaxBacklog: 10_000, Logger: discard})
	if err != nil {
		panic(err)
	}

	body := []byte(`[
	  {"id":"evt-1","type":"employee.updated","employeeId":"w-41","occurredAt":"2026-03-06T17:00:00Z"},
	  {"id":"evt-2","type":"payroll.closed","employeeId":"w-42","occurredAt":"2026-03-06T17:00:00Z"},
	  {"id":"evt-3","type":"employee.terminated","employeeId":"w-43","occurredAt":"2026-03-06T17:00:00Z"}
	]`)
	req := httptest.NewRequest(http.MethodPost, "/hris/webhooks", bytes.NewReader(body))
	req.Header = signedHeaders(secret, "msg_1", body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print("delivery: ", rec.Code, " ", rec.Body)
	for _, e := range log.Entries() {
		fmt.Printf("audit: %s %q: %s\n", e.Action, e.EventID, e.Summary)
	}
	fmt.Println("events:", eng.Stats().Events)
	// Output:
	// alert: event-rejected
	// delivery: 200 {"accepted":2,"rejected":1}
	// audit: event-rejected "msg_1\x1fevt-2": item 1 of 3: type: not one of employee.created, employee.updated, employee.terminated, employee.rehired, employee.deleted
	// events: 2
}
