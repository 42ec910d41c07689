package webhook_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// delivery is one HTTP request to the webhook endpoint.
type delivery struct {
	header http.Header
	body   []byte
}

// signed is a delivery the HRIS really sent: signed by the Standard Webhooks
// reference library with the endpoint's secret.
func signed(id string, body string) delivery {
	return delivery{sign(vecSecret, id, time.Now(), []byte(body)), []byte(body)}
}

// with returns d with header name set to value (the signature left as it
// was: what an attacker without the secret can send).
func (d delivery) with(name, value string) delivery {
	h := d.header.Clone()
	h.Set(name, value)
	return delivery{h, d.body}
}

func eventBody(id, employee string) string {
	return fmt.Sprintf(`{"id":%q,"type":"employee.updated","employeeId":%q,"occurredAt":"2026-03-02T09:15:00Z"}`, id, employee)
}

// manySignatures is n signatures, the genuine one last, as a forger
// guessing would send them.
func manySignatures(d delivery, n int) delivery {
	genuine := d.header.Get("webhook-signature")
	fake := strings.Repeat("v1,"+strings.Repeat("A", 43)+"= ", n-1)
	return d.with("webhook-signature", fake+genuine)
}

// hostile is every delivery an unauthenticated (or authenticated but
// careless) caller might send, and what the endpoint must answer. Each is
// refused with its status, records nothing, echoes nothing and logs a
// bounded line; BenchmarkRefuse measures what each costs.
var hostile = []struct {
	name string
	// before is delivered (and accepted) first: the state the hostile
	// delivery meets.
	before *delivery
	d      delivery
	want   int
}{
	{name: "webhook-id of 1 MB", d: signed("m1", eventBody("e1", "w-1")).with("webhook-id", strings.Repeat("i", 1<<20)), want: http.StatusRequestHeaderFieldsTooLarge},
	{name: "signature header of 1 MB", d: signed("m1", eventBody("e1", "w-1")).with("webhook-signature", strings.Repeat("v1,AAAA ", 1<<17)), want: http.StatusRequestHeaderFieldsTooLarge},
	{name: "timestamp of 1 MB", d: signed("m1", eventBody("e1", "w-1")).with("webhook-timestamp", strings.Repeat("1", 1<<20)), want: http.StatusRequestHeaderFieldsTooLarge},
	{name: "10,000 signatures", d: manySignatures(signed("m1", eventBody("e1", "w-1")), 10_000), want: http.StatusRequestHeaderFieldsTooLarge},
	{name: "9 signatures, the genuine one last", d: manySignatures(signed("m1", eventBody("e1", "w-1")), 9), want: http.StatusUnauthorized},
	{name: "NUL in webhook-id", d: signed("m\x001", eventBody("e1", "w-1")), want: http.StatusUnauthorized},
	{name: "control characters in webhook-id", d: signed("m\x1b[2J1", eventBody("e1", "w-1")), want: http.StatusUnauthorized},
	{name: "NUL in the event id", d: signed("m1", eventBody("e\x001", "w-1")), want: http.StatusBadRequest},
	{name: "control character in employeeId", d: signed("m1", eventBody("e1", "w-\x071")), want: http.StatusBadRequest},
	{name: "trailing }", d: signed("m1", eventBody("e1", "w-1")+"}"), want: http.StatusBadRequest},
	{name: "trailing ]", d: signed("m1", eventBody("e1", "w-1")+"]"), want: http.StatusBadRequest},
	{name: "a second event after the first", d: signed("m1", eventBody("e1", "w-1")+eventBody("e2", "w-2")), want: http.StatusBadRequest},
	{name: "duplicate key", d: signed("m1", `{"id":"e1","type":"employee.updated","employeeId":"w-1","employeeId":"w-2","occurredAt":"2026-03-02T09:15:00Z"}`), want: http.StatusBadRequest},
	{name: "keys differing only in case", d: signed("m1", `{"id":"e1","ID":"e2","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`), want: http.StatusBadRequest},
	{name: "a key in the wrong case", d: signed("m1", `{"id":"e1","type":"employee.updated","EmployeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z"}`), want: http.StatusBadRequest},
	{name: "duplicate key in the record", d: signed("m1", `{"id":"e1","type":"employee.updated","employeeId":"w-1","occurredAt":"2026-03-02T09:15:00Z","record":{"id":"w-1","email":"a@example.com","email":"b@example.com"}}`), want: http.StatusBadRequest},
	{name: "the same webhook-id with another body", before: ptr(signed("m1", eventBody("e1", "w-1"))), d: signed("m1", eventBody("e1", "w-2")), want: http.StatusConflict},
}

func ptr[T any](v T) *T { return &v }

// The table of hostile deliveries (issue 19).
func TestHostileDeliveries(t *testing.T) {
	for _, c := range hostile {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := newLoggedRig(t, &logs)
			if c.before != nil {
				if code := r.deliver(*c.before); code != http.StatusNoContent {
					t.Fatalf("the delivery before: status %d", code)
				}
			}
			before := r.eng.Stats()
			pending := r.recorded(t)
			logs.Reset()

			rec := httptest.NewRecorder()
			r.h.ServeHTTP(rec, request(c.d))

			if rec.Code != c.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), c.want)
			}
			if n := r.recorded(t); n != pending {
				t.Errorf("a refused delivery changed the people waiting: %d → %d", pending, n)
			}
			if s := r.eng.Stats(); s.Events != before.Events || s.Duplicates != before.Duplicates {
				t.Errorf("a refused delivery was counted as accepted or a repeat: %+v → %+v", before, s)
			}
			for _, v := range callerValues(c.d) {
				if strings.Contains(rec.Body.String(), v) {
					t.Errorf("the answer %q echoes the caller's value %q", rec.Body.String(), v)
				}
				if len(v) > 64 && strings.Contains(logs.String(), v[:65]) {
					t.Errorf("the log holds more than 64 bytes of the caller's value (%d bytes)", len(v))
				}
			}
			if logs.Len() > 2048 {
				t.Errorf("refusing one delivery logged %d bytes", logs.Len())
			}
		})
	}
}

// callerValues are the values a caller chose in d, 4 bytes or longer:
// header values and the JSON strings of its body.
func callerValues(d delivery) []string {
	var out []string
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		if v := d.header.Get(name); len(v) >= 4 {
			out = append(out, v)
		}
	}
	// Names (object keys) may be named in an error; values may not.
	dec := json.NewDecoder(bytes.NewReader(d.body))
	var inObject []bool // per open container: is it an object?
	wantName := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		isName := wantName
		switch tok {
		case json.Delim('{'), json.Delim('['):
			inObject = append(inObject, tok == json.Delim('{'))
			wantName = tok == json.Delim('{')
			continue
		case json.Delim('}'), json.Delim(']'): // the end of a value
			inObject = inObject[:len(inObject)-1]
			wantName = len(inObject) > 0 && inObject[len(inObject)-1]
			continue
		}
		// After a name comes its value; after a value, in an object, a name.
		wantName = !isName && len(inObject) > 0 && inObject[len(inObject)-1]
		if s, ok := tok.(string); ok && !isName && len(s) >= 4 && !strings.HasPrefix(s, "employee.") {
			out = append(out, s)
		}
	}
	return out
}

// A retry of a delivery is a repeat; a different message reusing a body's
// id under its own webhook-id is another event, not dropped as a repeat.
func TestIdempotentByWebhookID(t *testing.T) {
	var logs bytes.Buffer
	r := newLoggedRig(t, &logs)
	first := signed("msg_1", eventBody("evt_1", "w-1"))
	retry := signed("msg_1", eventBody("evt_1", "w-1")) // a new timestamp and signature
	reused := signed("msg_2", eventBody("evt_1", "w-2"))
	for _, d := range []delivery{first, retry, reused} {
		if code := r.deliver(d); code != http.StatusNoContent {
			t.Fatalf("status %d", code)
		}
	}
	if s := r.eng.Stats(); s.Events != 2 || s.Duplicates != 1 {
		t.Errorf("events %d, duplicates %d: want 2 and 1", s.Events, s.Duplicates)
	}
	if n := r.recorded(t); n != 2 {
		t.Errorf("%d people waiting, want w-1 and w-2", n)
	}
}

// A 12-byte secret is refused when the verifier is built, whoever signs
// with it: Standard Webhooks asks for 24 to 64 bytes.
func TestShortStandardWebhooksSecretRefused(t *testing.T) {
	for _, n := range []int{1, 12, 23} {
		secret := "whsec_" + b64(bytes.Repeat([]byte{7}, n))
		if _, err := standardwebhooks.NewWebhook(secret); err != nil {
			t.Fatalf("the reference library refuses a %d-byte secret: %v", n, err)
		}
		if _, err := webhook.NewStandardWebhooks(secret); err == nil {
			t.Errorf("a %d-byte secret was accepted", n)
		}
	}
	if _, err := webhook.NewStandardWebhooks("whsec_" + b64(bytes.Repeat([]byte{7}, 24))); err != nil {
		t.Errorf("a 24-byte secret was refused: %v", err)
	}
}

// The rig of the hostile tests logs into logs.
func newLoggedRig(t testing.TB, logs io.Writer) *rig {
	t.Helper()
	clock := hrissync.RealClock{}
	st := memstore.New()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), st, &hrissync.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewStandardWebhooks(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.New(eng, v, &webhook.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{store: st, eng: eng, h: h}
}

func request(d delivery) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/hris/webhooks", bytes.NewReader(d.body))
	req.Header = d.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	return req
}

func (r *rig) deliver(d delivery) int {
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, request(d))
	return rec.Code
}

// BenchmarkRefuse is the cost of each hostile delivery of the table, next
// to a valid one, on the handler alone (the memory store; no network).
func BenchmarkRefuse(b *testing.B) {
	cases := []struct {
		name   string
		before *delivery
		d      delivery
	}{{name: "valid (accepted)", d: signed("m1", eventBody("e1", "w-1"))}}
	for _, c := range hostile {
		cases = append(cases, struct {
			name   string
			before *delivery
			d      delivery
		}{c.name, c.before, c.d})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var logged countingWriter
			r := newLoggedRig(b, &logged)
			if c.before != nil {
				r.deliver(*c.before)
			}
			logged = 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				d := c.d
				if c.before == nil && i > 0 && c.name == cases[0].name { // a new event each time, not a repeat
					d = signed(fmt.Sprintf("m%d", i), eventBody(fmt.Sprintf("e%d", i), "w-1"))
				}
				req, rec := request(d), httptest.NewRecorder()
				b.StartTimer()
				r.h.ServeHTTP(rec, req)
			}
			b.ReportMetric(float64(logged)/float64(b.N), "log-B/op")
		})
	}
}

// countingWriter counts what is logged, as a log file would grow.
type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
