package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

// counting counts a Store's acceptances: Accept calls, and AcceptBatch
// calls where the Store has it (countingBatch).
type counting struct {
	store.Store
	accepts, batches atomic.Int64
}

func (c *counting) Accept(ctx context.Context, tenant string, a store.Acceptance) (bool, error) {
	c.accepts.Add(1)
	return c.Store.Accept(ctx, tenant, a)
}

type countingBatch struct{ *counting }

func (c countingBatch) AcceptBatch(ctx context.Context, tenant string, evs []store.Acceptance) ([]store.Accepted, error) {
	c.batches.Add(1)
	return c.Store.(store.BatchAccepter).AcceptBatch(ctx, tenant, evs)
}

// alerts records an engine's alerts.
type alerts struct {
	mu  sync.Mutex
	got []hrissync.Alert
}

func (a *alerts) Alert(_ context.Context, al hrissync.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, al)
}

func (a *alerts) of(kind hrissync.AlertKind) []hrissync.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []hrissync.Alert
	for _, al := range a.got {
		if al.Kind == kind {
			out = append(out, al)
		}
	}
	return out
}

// batchRig is the handler served over loopback HTTP in front of a real
// engine (memory HRIS and platform) on a real Store, its audit log and its
// alerts recorded. The engine does not Run: what a delivery records stays
// in the backlog, where the test can see it.
type batchRig struct {
	st     store.Store
	count  *counting
	eng    *hrissync.Engine
	audit  *audit.Memory
	alerts *alerts
	srv    *httptest.Server
}

func newBatchRig(t testing.TB, storeName string, cfg webhook.Config) *batchRig {
	t.Helper()
	var st store.Store = memstore.New()
	if storeName == "sqlite" {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hrissync.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	r := &batchRig{st: st, count: &counting{Store: st}, audit: &audit.Memory{}, alerts: &alerts{}}
	var wrapped store.Store = r.count
	if _, ok := st.(store.BatchAccepter); ok {
		wrapped = countingBatch{r.count}
	}
	clock := hrissync.RealClock{}
	discard := slog.New(slog.DiscardHandler)
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), wrapped,
		&hrissync.Config{Logger: discard, Auditor: r.audit, Alerter: r.alerts})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	if cfg.MaxBacklog > 0 && cfg.Backlog == nil {
		cfg.Backlog = eng.Backlog
	}
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	cfg.Logger = discard
	h, err := webhook.New(eng, v, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(h) // on 127.0.0.1
	t.Cleanup(r.srv.Close)
	return r
}

// batchOf is a JSON array of n events, evt-<i> about w-<i mod people>.
func batchOf(n, people int) []json.RawMessage {
	items := make([]json.RawMessage, n)
	for i := range items {
		items[i] = event(fmt.Sprintf("evt-%d", i), fmt.Sprintf("w-%d", i%people))
	}
	return items
}

func array(items []json.RawMessage) []byte {
	b, err := json.Marshal(items)
	if err != nil {
		panic(err)
	}
	return b
}

// answer is an HTTP answer: its status, its BatchResult if it has one, its
// Retry-After.
type answer struct {
	status     int
	result     webhook.BatchResult
	retryAfter string
	body       string
}

// post signs body as msgID with secret, by the Standard Webhooks library,
// and posts it.
func (r *batchRig) post(t testing.TB, secret, msgID string, body []byte) answer {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(msgID, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL, bytes.NewReader(body))
	req.Header = headers(msgID, fmt.Sprint(now.Unix()), sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: strings.TrimSpace(string(b))}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("200 with Content-Type %q", ct)
		}
		if err := json.Unmarshal(b, &a.result); err != nil {
			t.Fatalf("200 without a BatchResult: %q", b)
		}
	}
	return a
}

// recorded is the number of people the Store holds as changed.
func (r *batchRig) recorded(t testing.TB) int {
	t.Helper()
	p, err := r.st.Pending(context.Background(), "default", time.Now().Add(time.Hour), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

func (r *batchRig) rejections() []audit.Entry {
	var out []audit.Entry
	for _, e := range r.audit.Entries() {
		if e.Action == audit.ActionEventRejected {
			out = append(out, e)
		}
	}
	return out
}

// nothingRecorded checks that a refused delivery left no trace: no person
// changed, no event counted, no rejection audited or alerted.
func (r *batchRig) nothingRecorded(t testing.TB) {
	t.Helper()
	if n := r.recorded(t); n != 0 {
		t.Errorf("a refused delivery recorded %d people", n)
	}
	if s := r.eng.Stats(); s.Events+s.Duplicates != 0 {
		t.Errorf("a refused delivery reached the engine: events %d, duplicates %d", s.Events, s.Duplicates)
	}
	if n := len(r.rejections()); n != 0 {
		t.Errorf("a refused delivery audited %d rejected events", n)
	}
	if n := len(r.alerts.of(hrissync.AlertEventRejected)); n != 0 {
		t.Errorf("a refused delivery alerted %d rejected events", n)
	}
}

var stores = []string{"memory", "sqlite"}

// A delivery of 100 events is recorded whole, in one Store commit where the
// Store has AcceptBatch; delivered again, each event is a repeat.
func TestBatchOf100AcceptedOnceReplayedAsRepeats(t *testing.T) {
	for _, name := range stores {
		t.Run(name, func(t *testing.T) {
			r := newBatchRig(t, name, webhook.Config{})
			body := array(batchOf(100, 100))
			commits, counts := r.st.(interface{ Commits() int64 }) // store/sqlite's
			var before int64
			if counts {
				before = commits.Commits()
			}
			a := r.post(t, vecSecret, "msg_batch", body)
			if a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 100}) {
				t.Fatalf("status %d %+v (%s), want 200 with 100 accepted", a.status, a.result, a.body)
			}
			if s := r.eng.Stats(); s.Events != 100 || s.Duplicates != 0 {
				t.Errorf("events %d duplicates %d, want 100 and 0", s.Events, s.Duplicates)
			}
			if n := r.recorded(t); n != 100 {
				t.Errorf("%d people recorded, want 100", n)
			}
			if _, ok := r.st.(store.BatchAccepter); ok {
				if b, n := r.count.batches.Load(), r.count.accepts.Load(); b != 1 || n != 0 {
					t.Errorf("%d AcceptBatch and %d Accept calls, want one commit", b, n)
				}
				if counts {
					if n := commits.Commits() - before; n != 1 {
						t.Errorf("the delivery took %d Store commits, want 1", n)
					}
				}
			} else {
				if n := r.count.accepts.Load(); n != 100 {
					t.Errorf("%d Accept calls, want 100 (the engine's fallback)", n)
				}
				t.Logf("store %s has no AcceptBatch: one Accept (one commit) per event", name)
			}
			// The sender's retry of the same delivery.
			a = r.post(t, vecSecret, "msg_batch", body)
			if a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 100}) {
				t.Fatalf("replay: status %d %+v (%s)", a.status, a.result, a.body)
			}
			if s := r.eng.Stats(); s.Events != 100 || s.Duplicates != 100 {
				t.Errorf("after the replay: events %d duplicates %d, want 100 and 100", s.Events, s.Duplicates)
			}
			if n := len(r.rejections()); n != 0 {
				t.Errorf("%d rejections audited", n)
			}
			// The same events in the envelope form, as another delivery:
			// other events (the delivery's id is part of theirs).
			env, _ := json.Marshal(map[string]any{"events": batchOf(100, 100)})
			if a := r.post(t, vecSecret, "msg_other", env); a.status != http.StatusOK || a.result.Accepted != 100 {
				t.Fatalf("envelope: status %d %+v (%s)", a.status, a.result, a.body)
			}
			if s := r.eng.Stats(); s.Events != 200 {
				t.Errorf("after another delivery: events %d, want 200", s.Events)
			}
		})
	}
}

// One malformed event among 100 does not poison the rest: 99 recorded, the
// bad one audited and alerted without its values, the delivery answered
// 200 — and so on the sender's retry, which records nothing new.
func TestBatchOneBadAmong100(t *testing.T) {
	for _, name := range stores {
		t.Run(name, func(t *testing.T) {
			r := newBatchRig(t, name, webhook.Config{})
			items := batchOf(100, 100)
			items[37] = json.RawMessage(`{"id":"evt-37","type":"payroll.secret","employeeId":"w-37","occurredAt":"2026-03-02T09:15:00Z"}`)
			body := array(items)
			a := r.post(t, vecSecret, "msg_1", body)
			if a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 99, Rejected: 1}) {
				t.Fatalf("status %d %+v (%s), want 200 with 99 accepted and 1 rejected", a.status, a.result, a.body)
			}
			if s := r.eng.Stats(); s.Events != 99 {
				t.Errorf("events %d, want 99", s.Events)
			}
			if n := r.recorded(t); n != 99 {
				t.Errorf("%d people recorded, want 99", n)
			}
			rej := r.rejections()
			if len(rej) != 1 {
				t.Fatalf("%d rejections audited, want 1: %+v", len(rej), r.audit.Entries())
			}
			e := rej[0]
			if e.EventID != "msg_1\x1fevt-37" || !strings.Contains(e.Summary, "item 37 of 100") || !strings.Contains(e.Summary, "type: not one of") {
				t.Errorf("audit entry %+v, want event msg_1/evt-37 and its reason", e)
			}
			if strings.Contains(e.Summary, "payroll.secret") {
				t.Errorf("the audit entry holds a value of the event: %q", e.Summary)
			}
			al := r.alerts.of(hrissync.AlertEventRejected)
			if len(al) != 1 || !strings.Contains(al[0].Message, `msg_1\x1fevt-37`) || strings.Contains(al[0].Message, "payroll.secret") {
				t.Errorf("alerts %+v, want one naming the event, without its values", al)
			}
			// The retry: repeats, and the rejection reported again.
			a = r.post(t, vecSecret, "msg_1", body)
			if a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 99, Rejected: 1}) {
				t.Fatalf("retry: status %d %+v", a.status, a.result)
			}
			if s := r.eng.Stats(); s.Events != 99 || s.Duplicates != 99 {
				t.Errorf("after the retry: events %d duplicates %d, want 99 and 99", s.Events, s.Duplicates)
			}
		})
	}
}

// Each kind of bad event of an authenticated batch is rejected alone: one
// malformed without a readable id (the audit entry names the delivery), one
// not an object, and one whose id the delivery's first version recorded for
// another event (the engine's ErrEventConflict).
func TestBatchEachBadEventRejectedAlone(t *testing.T) {
	r := newBatchRig(t, "memory", webhook.Config{})
	if a := r.post(t, vecSecret, "msg_1", array(batchOf(1, 1))); a.status != http.StatusOK || a.result.Accepted != 1 {
		t.Fatalf("first: %d %+v", a.status, a.result)
	}
	items := []json.RawMessage{
		event("evt-0", "w-other"), // msg_1/evt-0 was about w-0
		json.RawMessage(`{"type":"employee.updated","employeeId":"w-5","occurredAt":"2026-03-02T09:15:00Z"}`),
		json.RawMessage(`"w-6"`),
		event("evt-3", "w-3"),
	}
	a := r.post(t, vecSecret, "msg_1", array(items))
	if a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 1, Rejected: 3}) {
		t.Fatalf("status %d %+v (%s), want 200 with 1 accepted and 3 rejected", a.status, a.result, a.body)
	}
	got := map[string]string{}
	for _, e := range r.rejections() {
		got[e.EventID] += e.Summary
	}
	for id, reason := range map[string]string{
		"msg_1\x1fevt-0": "item 0 of 4: the event id was recorded for another event",
		"msg_1":          "item 1 of 4: missing [id]" + "item 2 of 4: want an object",
	} {
		if got[id] != reason {
			t.Errorf("rejections of %q: %q, want %q", id, got[id], reason)
		}
	}
	if n := len(r.alerts.of(hrissync.AlertEventRejected)); n != 3 {
		t.Errorf("%d alerts, want 3", n)
	}
	if s := r.eng.Stats(); s.Events != 2 {
		t.Errorf("events %d, want 2", s.Events)
	}
}

// A delivery not authenticated, or not the batch's shape, or too large, is
// refused whole: none of its events recorded, none rejected.
func TestBatchRefusedWhole(t *testing.T) {
	bad := batchOf(3, 3)
	bad[1] = json.RawMessage(`{"id":"evt-1","type":"payroll.secret","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`)
	good := array(bad)
	for _, c := range []struct {
		name   string
		secret string
		body   []byte
		want   int
	}{
		{"bad signature", "whsec_" + "c2Vjb25kLXNlY3JldC1vZi0yNC1ieXRlcw==", good, http.StatusUnauthorized},
		{"not JSON", vecSecret, good[:len(good)-1], http.StatusBadRequest},
		{"array then more", vecSecret, append(bytes.Clone(good), "[]"...), http.StatusBadRequest},
		{"events not a list", vecSecret, []byte(`{"events":{"id":"evt-1"}}`), http.StatusBadRequest},
		{"envelope with more", vecSecret, []byte(`{"events":[],"next":"cursor-2"}`), http.StatusBadRequest},
		{"events twice", vecSecret, []byte(`{"events":[],"events":[]}`), http.StatusBadRequest},
		{"over MaxBatch", vecSecret, array(batchOf(11, 11)), http.StatusRequestEntityTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newBatchRig(t, "memory", webhook.Config{MaxBatch: 10})
			a := r.post(t, c.secret, "msg_1", c.body)
			if a.status != c.want {
				t.Fatalf("status %d (%s), want %d", a.status, a.body, c.want)
			}
			if strings.Contains(a.body, "evt-") || strings.Contains(a.body, "payroll") {
				t.Errorf("the answer echoes the body: %q", a.body)
			}
			r.nothingRecorded(t)
		})
	}
}

// Backpressure counts people: a batch is let in when backlog + people - 1
// is within MaxBacklog, or onto an empty backlog; a delivery of one is
// refused, as before, once the backlog is over the bound. (The engine does
// not Run: what it records stays in its backlog.)
func TestBatchBackpressureByPeople(t *testing.T) {
	people := func(prefix string, events, n int) []byte {
		items := make([]json.RawMessage, events)
		for i := range items {
			items[i] = event(fmt.Sprintf("%s-evt-%d", prefix, i), fmt.Sprintf("%s-w-%d", prefix, i%n))
		}
		return array(items)
	}
	r := newBatchRig(t, "memory", webhook.Config{MaxBacklog: 100, RetryAfter: 7 * time.Second})
	// Over the bound onto an empty backlog: let in, else never.
	if a := r.post(t, vecSecret, "msg_big", people("big", 150, 150)); a.status != http.StatusOK || a.result.Accepted != 150 {
		t.Fatalf("150 people onto an empty backlog: %d %+v (%s)", a.status, a.result, a.body)
	}

	r = newBatchRig(t, "memory", webhook.Config{MaxBacklog: 100, RetryAfter: 7 * time.Second})
	if a := r.post(t, vecSecret, "msg_a", people("a", 60, 60)); a.status != http.StatusOK {
		t.Fatalf("60 people: %d (%s)", a.status, a.body)
	}
	if n := r.eng.Backlog(); n != 60 {
		t.Fatalf("backlog %d, want 60", n)
	}
	// 60 + 42 - 1 = 101: refused whole, nothing recorded.
	a := r.post(t, vecSecret, "msg_b", people("b", 42, 42))
	if a.status != http.StatusServiceUnavailable || a.retryAfter != "7" {
		t.Fatalf("42 more people: %d Retry-After %q, want 503 and 7", a.status, a.retryAfter)
	}
	if n, s := r.recorded(t), r.eng.Stats(); n != 60 || s.Events != 60 {
		t.Errorf("after a refused batch: %d people, %d events, want 60", n, s.Events)
	}
	// 80 events about 41 people: 60 + 41 - 1 = 100, let in.
	if a := r.post(t, vecSecret, "msg_c", people("c", 80, 41)); a.status != http.StatusOK || a.result.Accepted != 80 {
		t.Fatalf("80 events about 41 people: %d %+v (%s)", a.status, a.result, a.body)
	}
	if n := r.eng.Backlog(); n != 101 {
		t.Fatalf("backlog %d, want 101", n)
	}
	// A delivery of one, over the bound: refused as before.
	if a := r.post(t, vecSecret, "msg_d", event("d-evt", "d-w")); a.status != http.StatusServiceUnavailable {
		t.Errorf("one event with the backlog over its bound: %d, want 503", a.status)
	}
}

// A Notifier with neither NotifyBatch nor Rejected: one Notify per event,
// the bad ones logged; an error for the whole ends the delivery (500), and
// nothing is reported rejected.
func TestBatchPlainNotifier(t *testing.T) {
	var calls atomic.Int64
	var fail atomic.Bool
	n := notifierFunc(func(ctx context.Context, ev hrissync.Event) error {
		calls.Add(1)
		if ev.EmployeeID == "w-1" {
			return fmt.Errorf("%w: no", hrissync.ErrEventConflict)
		}
		if fail.Load() {
			return errors.New("store down")
		}
		return nil
	})
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	h, err := webhook.New(n, v, &webhook.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := &batchRig{srv: srv}
	if a := r.post(t, vecSecret, "msg_1", array(batchOf(3, 3))); a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 2, Rejected: 1}) {
		t.Errorf("status %d %+v (%s)", a.status, a.result, a.body)
	}
	fail.Store(true)
	calls.Store(0)
	if a := r.post(t, vecSecret, "msg_2", array(batchOf(3, 3))); a.status != http.StatusInternalServerError {
		t.Errorf("the Store down: %d, want 500", a.status)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d Notify calls after the Store failed, want 1", n)
	}
}

type notifierFunc func(ctx context.Context, ev hrissync.Event) error

func (f notifierFunc) Notify(ctx context.Context, ev hrissync.Event) error { return f(ctx, ev) }

// A batch to an engine shut down is refused whole with 503: its bad events
// are not reported either (the retry will).
func TestBatchShutDownEngine(t *testing.T) {
	r := newBatchRig(t, "memory", webhook.Config{RetryAfter: 45 * time.Second})
	if err := r.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	items := batchOf(3, 3)
	items[0] = json.RawMessage(`{}`)
	a := r.post(t, vecSecret, "msg_1", array(items))
	if a.status != http.StatusServiceUnavailable || a.retryAfter != "45" {
		t.Errorf("status %d Retry-After %q, want 503 and 45", a.status, a.retryAfter)
	}
	r.nothingRecorded(t)
}

// failingRejecter is the engine, but for Rejected, which fails while fail
// is set.
type failingRejecter struct {
	*hrissync.Engine
	fail atomic.Bool
}

func (f *failingRejecter) Rejected(ctx context.Context, eventID, reason string) error {
	if f.fail.Load() {
		return errors.New("audit log unavailable")
	}
	return f.Engine.Rejected(ctx, eventID, reason)
}

// A rejection that cannot be recorded is not acknowledged: 500, and the
// sender's retry finds the good events repeats and records the rejection.
func TestBatchRejectionUnrecordedAnswers500(t *testing.T) {
	r := newBatchRig(t, "memory", webhook.Config{})
	n := &failingRejecter{Engine: r.eng}
	n.fail.Store(true)
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	h, err := webhook.New(n, v, &webhook.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(h)
	defer r.srv.Close()
	items := batchOf(3, 3)
	items[1] = json.RawMessage(`{"id":"evt-1"}`)
	body := array(items)
	if a := r.post(t, vecSecret, "msg_1", body); a.status != http.StatusInternalServerError {
		t.Fatalf("status %d (%s), want 500", a.status, a.body)
	}
	if n := len(r.rejections()); n != 0 {
		t.Fatalf("%d rejections audited", n)
	}
	n.fail.Store(false)
	if a := r.post(t, vecSecret, "msg_1", body); a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 2, Rejected: 1}) {
		t.Fatalf("retry: status %d %+v (%s)", a.status, a.result, a.body)
	}
	if s := r.eng.Stats(); s.Events != 2 || s.Duplicates != 2 {
		t.Errorf("events %d duplicates %d, want 2 and 2", s.Events, s.Duplicates)
	}
	if rej := r.rejections(); len(rej) != 1 || rej[0].EventID != "msg_1\x1fevt-1" {
		t.Errorf("rejections %+v, want msg_1/evt-1's", rej)
	}
}

// TestBatchIdsNeverCollide: a batch's events are known by the delivery's
// id and their own, joined so that no two pairs — nor a pair and a single
// delivery's id — read the same, whatever "/" the ids hold (found by the
// outside tester of issue 26: "msg_X/y"+"z" was "msg_X"+"y/z").
func TestBatchIdsNeverCollide(t *testing.T) {
	r := newBatchRig(t, "memory", webhook.Config{})
	for _, d := range []struct {
		msg  string
		body []byte
	}{
		{"msg_X/y", array([]json.RawMessage{event("z", "w-1"), event("q", "w-9")})},
		{"msg_X", array([]json.RawMessage{event("y/z", "w-2"), event("q", "w-9")})},
	} {
		if a := r.post(t, vecSecret, d.msg, d.body); a.status != http.StatusOK || a.result != (webhook.BatchResult{Accepted: 2}) {
			t.Fatalf("delivery %s: %d %+v (%s), want both accepted", d.msg, a.status, a.result, a.body)
		}
	}
	if a := r.post(t, vecSecret, "msg_X/y/z", event("single", "w-3")); a.status != http.StatusNoContent {
		t.Fatalf("a single delivery: %d (%s)", a.status, a.body)
	}
	if s := r.eng.Stats(); s.Events != 5 || s.Duplicates != 0 {
		t.Errorf("%d events, %d repeats; want 5 distinct events and no repeat", s.Events, s.Duplicates)
	}
}
