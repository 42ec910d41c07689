package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = "1614265330"
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

// The test vector shared by the Standard Webhooks reference libraries.
func TestStandardWebhooksVector(t *testing.T) {
	v, err := webhook.NewStandardWebhooks(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	v.Tolerance = -1
	if err := v.Verify(headers(vecID, vecTS, vecSig), []byte(vecBody), time.Now()); err != nil {
		t.Fatalf("the reference vector does not verify: %v", err)
	}
	flip := func(s string, i int) string { b := []byte(s); b[i] ^= 1; return string(b) }
	for name, c := range map[string]struct {
		h    http.Header
		body string
	}{
		"id":        {headers(flip(vecID, 5), vecTS, vecSig), vecBody},
		"timestamp": {headers(vecID, flip(vecTS, 9), vecSig), vecBody},
		"body":      {headers(vecID, vecTS, vecSig), flip(vecBody, 3)},
		"signature": {headers(vecID, vecTS, flip(vecSig, 10)), vecBody},
	} {
		if err := v.Verify(c.h, []byte(c.body), time.Now()); err == nil {
			t.Errorf("a changed byte in the %s still verifies", name)
		}
	}
	// With the tolerance on, the 2021 timestamp is stale.
	v.Tolerance = 0
	if err := v.Verify(headers(vecID, vecTS, vecSig), []byte(vecBody), time.Now()); err == nil {
		t.Error("a timestamp years old passed the default tolerance")
	}
	// Several signatures and several secrets (rotation).
	v2, err := webhook.NewStandardWebhooks("whsec_"+"c2Vjb25kLXNlY3JldC1vZi0yNC1ieXRlcw==", vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	v2.Tolerance = -1
	if err := v2.Verify(headers(vecID, vecTS, "v1,bm9wZQ== "+vecSig), []byte(vecBody), time.Now()); err != nil {
		t.Errorf("rotation: %v", err)
	}
}

// rig is a webhook handler in front of an engine on the memory store.
type rig struct {
	store *memstore.Store
	eng   *hrissync.Engine
	h     *webhook.Handler
}

func newRig(t testing.TB, cfg webhook.Config) *rig {
	t.Helper()
	clock := hrissync.RealClock{}
	st := memstore.New()
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), st,
		&hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := webhook.New(eng, v, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{store: st, eng: eng, h: h}
}

func (r *rig) recorded(t testing.TB) int {
	t.Helper()
	p, err := r.store.Pending(context.Background(), "default", time.Now().Add(time.Hour), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

func event(id, employee string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"type":"employee.updated","employeeId":%q,"occurredAt":%q}`, id, employee, time.Now().UTC().Format(time.RFC3339)))
}

// The official Standard Webhooks Go library, as the signing client.
func TestOfficialClientAccepted(t *testing.T) {
	r := newRig(t, webhook.Config{})
	wh, err := standardwebhooks.NewWebhook(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := event("evt-1", "w-1")
	now := time.Now()
	sig, err := wh.Sign("msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header = headers("msg_1", strconv.FormatInt(now.Unix(), 10), sig)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if n := r.recorded(t); n != 1 {
		t.Errorf("recorded %d people, want 1", n)
	}
}

func sign(secret, id string, ts time.Time, body []byte) http.Header {
	wh, _ := standardwebhooks.NewWebhook(secret)
	sig, _ := wh.Sign(id, ts, body)
	h := headers(id, strconv.FormatInt(ts.Unix(), 10), sig)
	h.Set("Content-Type", "application/json")
	return h
}

func TestEveryRejectionRecordsNothing(t *testing.T) {
	good := event("evt-1", "w-1")
	now := time.Now()
	big := bytes.Repeat([]byte("x"), 2<<20)
	cases := []struct {
		name    string
		method  string
		body    []byte
		header  http.Header
		backlog int
		want    int
	}{
		{"wrong method", http.MethodGet, good, sign(vecSecret, "m1", now, good), 0, http.StatusMethodNotAllowed},
		{"wrong content type", http.MethodPost, good, func() http.Header {
			h := sign(vecSecret, "m1", now, good)
			h.Set("Content-Type", "text/plain")
			return h
		}(), 0, http.StatusUnsupportedMediaType},
		{"body over the limit", http.MethodPost, big, sign(vecSecret, "m1", now, big), 0, http.StatusRequestEntityTooLarge},
		{"no signature", http.MethodPost, good, http.Header{"Content-Type": {"application/json"}}, 0, http.StatusUnauthorized},
		{"bad signature", http.MethodPost, good, sign("whsec_"+"d3Jvbmc=", "m1", now, good), 0, http.StatusUnauthorized},
		{"stale timestamp", http.MethodPost, good, sign(vecSecret, "m1", now.Add(-6*time.Minute), good), 0, http.StatusUnauthorized},
		{"future timestamp", http.MethodPost, good, sign(vecSecret, "m1", now.Add(6*time.Minute), good), 0, http.StatusUnauthorized},
		{"malformed json", http.MethodPost, []byte(`{"id":`), sign(vecSecret, "m1", now, []byte(`{"id":`)), 0, http.StatusBadRequest},
		{"unknown type", http.MethodPost, []byte(`{"id":"e","type":"payroll.run","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"}`),
			sign(vecSecret, "m1", now, []byte(`{"id":"e","type":"payroll.run","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"}`)), 0, http.StatusBadRequest},
		{"missing ids", http.MethodPost, []byte(`{"type":"employee.updated","occurredAt":"2026-01-01T00:00:00Z"}`),
			sign(vecSecret, "m1", now, []byte(`{"type":"employee.updated","occurredAt":"2026-01-01T00:00:00Z"}`)), 0, http.StatusBadRequest},
		{"unknown field", http.MethodPost, []byte(`{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","x":1}`),
			sign(vecSecret, "m1", now, []byte(`{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","x":1}`)), 0, http.StatusBadRequest},
		{"backlog over its bound", http.MethodPost, good, sign(vecSecret, "m1", now, good), 100, http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			r := newRig(t, webhook.Config{MaxBacklog: 10, Backlog: func() int { return c.backlog },
				MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
			req := httptest.NewRequest(c.method, "/", bytes.NewReader(c.body))
			req.Header = c.header
			rec := httptest.NewRecorder()
			r.h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), c.want)
			}
			if n := r.recorded(t); n != 0 {
				t.Errorf("a rejected delivery recorded %d people", n)
			}
			if s := r.eng.Stats(); s.Events+s.Duplicates != 0 {
				t.Errorf("a rejected delivery reached the engine: %+v", s)
			}
			if len(c.body) > 20 && strings.Contains(rec.Body.String(), string(c.body[:20])) {
				t.Error("the body was echoed back")
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			counted := false
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
						status, _ := p.Attributes.Value("status")
						counted = m.Name == "hrissync.webhook.rejected" && status.AsInt64() == int64(c.want) && p.Value == 1
					}
				}
			}
			if !counted {
				t.Errorf("the rejection was not counted by status: %+v", rm.ScopeMetrics)
			}
			if c.want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "30" {
				t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
			}
		})
	}
}

func TestVendorHMAC(t *testing.T) {
	secret := []byte("bamboo-private-key")
	body := event("evt-1", "w-1")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	m.Write([]byte(ts))
	bamboo := &webhook.HMAC{Secrets: [][]byte{secret}, Header: "X-BambooHR-Signature", TimestampHeader: "X-BambooHR-Timestamp", Signed: webhook.BodyThenTimestamp}
	h := http.Header{}
	h.Set("X-BambooHR-Signature", hex.EncodeToString(m.Sum(nil)))
	h.Set("X-BambooHR-Timestamp", ts)
	if err := bamboo.Verify(h, body, time.Now()); err != nil {
		t.Errorf("BambooHR-style: %v", err)
	}
	if err := bamboo.Verify(h, append(body, ' '), time.Now()); err == nil {
		t.Error("BambooHR-style: a changed body verified")
	}
	m512 := hmac.New(sha512.New, secret)
	m512.Write(body)
	s512 := &webhook.HMAC{Secrets: [][]byte{secret}, Header: "X-Signature", Prefix: "sha512=", Hash: sha512.New}
	h = http.Header{}
	h.Set("X-Signature", "sha512="+hex.EncodeToString(m512.Sum(nil)))
	if err := s512.Verify(h, body, time.Now()); err != nil {
		t.Errorf("HMAC-SHA512: %v", err)
	}
	h.Set("X-Signature", hex.EncodeToString(m512.Sum(nil)))
	if err := s512.Verify(h, body, time.Now()); err == nil {
		t.Error("a signature without its prefix verified")
	}
}

// 10,000 signed deliveries over loopback HTTP from 64 concurrent senders,
// 10 % of them repeats of an earlier delivery: every event recorded once.
func TestLoopbackBurstAcceptedExactlyOnce(t *testing.T) {
	r := newRig(t, webhook.Config{})
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}, Timeout: 30 * time.Second}
	const total, senders = 10_000, 64
	type delivery struct {
		id   string
		body []byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []delivery
	unique := 0
	for i := range total {
		if i > 0 && rng.Float64() < 0.10 {
			all = append(all, all[rng.IntN(len(all))]) // a retry of an earlier one
			continue
		}
		unique++
		all = append(all, delivery{fmt.Sprintf("msg-%d", i), event(fmt.Sprintf("evt-%d", i), fmt.Sprintf("w-%d", i%3000))})
	}
	work := make(chan delivery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for range senders {
		wg.Go(func() {
			for d := range work {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(d.body))
				req.Header = sign(vecSecret, d.id, time.Now(), d.body)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					bad++
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		})
	}
	for _, d := range all {
		work <- d
	}
	close(work)
	wg.Wait()
	if bad != 0 {
		t.Fatalf("%d deliveries not answered 204", bad)
	}
	s := r.eng.Stats()
	if int(s.Events) != unique || int(s.Duplicates) != total-unique {
		t.Errorf("events=%d duplicates=%d, want %d and %d", s.Events, s.Duplicates, unique, total-unique)
	}
}

// A nil *Config means the defaults; the Notifier and the Verifier have none.
func TestNewNilConfigMeansDefaults(t *testing.T) {
	clock := hrissync.RealClock{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), memstore.New(),
		&hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	if _, err := webhook.New(eng, v, nil); err != nil {
		t.Errorf("New with a nil Config: %v", err)
	}
	if _, err := webhook.New(eng, nil, nil); err == nil {
		t.Error("New without a Verifier succeeded")
	}
	if _, err := webhook.New(nil, v, nil); err == nil {
		t.Error("New without a Notifier succeeded")
	}
}
