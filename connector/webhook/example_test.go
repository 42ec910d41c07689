package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hrissync/hrissync"
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

// deliver signs body with secret as a Standard Webhooks sender does, posts it
// to h and returns the status code.
func deliver(h http.Handler, secret, msgID string, body []byte) int {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	sig, err := wh.Sign(msgID, now, body)
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/hris/webhooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}
