package mergetest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that records what it is sent.
type receiver struct {
	mu   sync.Mutex
	got  []Delivery
	code int
	srv  *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{code: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, Delivery{URL: req.URL.String(), Header: req.Header.Clone(), Body: b})
		code := r.code
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// verify is the docs' recipe, written out independently of Sign: "calculate
// the HMAC-SHA256 of the byte-formatted payload and encode it to Base64url"
// and compare with X-Merge-Webhook-Signature
// (docs.merge.dev/basics/webhooks/merge-webhooks). Padding is ignored on both
// sides.
func verify(key, body []byte, header string) bool {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	want := strings.TrimRight(base64.URLEncoding.EncodeToString(m.Sum(nil)), "=")
	return hmac.Equal([]byte(want), []byte(strings.TrimRight(header, "=")))
}

type payload struct {
	Hook struct {
		ID     string `json:"id"`
		Event  string `json:"event"`
		Target string `json:"target"`
	} `json:"hook"`
	LinkedAccount map[string]any  `json:"linked_account"`
	Data          json.RawMessage `json:"data"`
}

func TestWebhookSignatureVerifies(t *testing.T) {
	s, _ := newTestServer(t)
	rcv := newReceiver(t)
	key := []byte("webhook-signature-key")
	s.AddWebhook(Webhook{URL: rcv.srv.URL + "/hooks/merge", Key: key})
	s.PutEmployee(Employee{RemoteID: "1", FirstName: "A"})
	s.CompleteSync()
	codes, err := s.Deliver(context.Background(), nil)
	if err != nil || !slices.Equal(codes, []int{200, 200}) {
		t.Fatalf("deliver %v %v", codes, err)
	}
	got := rcv.deliveries()
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	for _, d := range got {
		sig := d.Header.Get("X-Merge-Webhook-Signature")
		if !verify(key, d.Body, sig) {
			t.Errorf("signature %q does not verify", sig)
		}
		if verify([]byte("other key"), d.Body, sig) {
			t.Error("verifies under another key")
		}
		if strings.ContainsAny(sig, "+/") || !strings.HasSuffix(sig, "=") {
			t.Errorf("signature %q is not padded base64url", sig)
		}
		if ct := d.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if d.URL != "/hooks/merge" {
			t.Errorf("posted to %q", d.URL)
		}
		tampered := append([]byte(nil), d.Body...)
		tampered[len(tampered)-2] ^= 1
		if verify(key, tampered, sig) {
			t.Error("tampered body verifies")
		}
	}
	if len(s.Pending()) != 0 {
		t.Error("Deliver left deliveries pending")
	}
}

func TestWebhookUnpaddedSignature(t *testing.T) {
	s, _ := newTestServer(t)
	key := []byte("k")
	s.AddWebhook(Webhook{URL: "http://x.invalid/", Key: key, Unpadded: true})
	s.PutEmployee(Employee{RemoteID: "1"})
	d := s.Pending()[0]
	sig := d.Header.Get(SignatureHeader)
	if strings.Contains(sig, "=") || !verify(key, d.Body, sig) || sig+"=" != Sign(key, d.Body) {
		t.Errorf("unpadded %q", sig)
	}
}

func TestDataChangePayloads(t *testing.T) {
	s, _ := newTestServer(t)
	rcv := newReceiver(t)
	s.AddWebhook(Webhook{URL: rcv.srv.URL, Key: []byte("k")})
	team := s.PutTeam("T")
	e := s.PutEmployee(Employee{RemoteID: "1", FirstName: "A", TeamID: team, FieldMappings: map[string]any{"x": "y"}})
	e.FirstName = "B"
	s.PutEmployee(e)
	s.DeleteEmployee("1")
	pending := s.Pending()
	if _, err := s.Deliver(context.Background(), rcv.srv.Client()); err != nil {
		t.Fatal(err)
	}
	got := rcv.deliveries()
	if len(got) != 3 || len(pending) != 3 {
		t.Fatalf("received %d pending %d", len(got), len(pending))
	}
	example := fixture(t, "helpcenter_sync_completed_example.json")
	var hookID string
	for i, want := range []struct{ event, first string }{
		{"Employee.added", "A"}, {"Employee.changed", "B"}, {"Employee.removed", "B"},
	} {
		if string(pending[i].Body) != string(got[i].Body) {
			t.Error("Pending differs from what was delivered")
		}
		top := decode[map[string]any](t, got[i].Body)
		if !slices.Equal(keys(top), []string{"data", "hook", "linked_account"}) {
			t.Errorf("top-level keys %v", keys(top))
		}
		p := decode[payload](t, got[i].Body)
		if p.Hook.Event != want.event || p.Hook.Target != rcv.srv.URL || p.Hook.ID == "" {
			t.Errorf("hook %+v", p.Hook)
		}
		if hookID == "" {
			hookID = p.Hook.ID
		} else if p.Hook.ID != hookID {
			t.Error("hook id differs between deliveries of one webhook")
		}
		if !slices.Equal(keys(p.LinkedAccount), keys(example["linked_account"].(map[string]any))) {
			t.Errorf("linked_account keys %v, example %v", keys(p.LinkedAccount), keys(example["linked_account"].(map[string]any)))
		}
		if p.LinkedAccount["category"] != "hris" {
			t.Errorf("category %v", p.LinkedAccount["category"])
		}
		// data is the whole Employee common model, as GET serves it.
		d := strict[docEmployee](t, p.Data)
		if d.ID != e.ID || *d.FirstName != want.first || d.RemoteWasDeleted != (i == 2) {
			t.Errorf("%s data %+v", want.event, d)
		}
		if string(d.Team) != `"`+team+`"` || d.FieldMappings == nil || d.FieldMappings.OrganizationDefinedTargets["x"] != "y" {
			t.Errorf("data refs %s %+v", d.Team, d.FieldMappings)
		}
	}
	// The changed payload is the object GET /employees/{id} served then.
	s2, _ := newTestServer(t)
	s2.AddWebhook(Webhook{URL: "http://x.invalid/", Key: []byte("k")})
	e2 := s2.PutEmployee(Employee{RemoteID: "9", FirstName: "Z", JobTitle: "J"})
	data := decode[payload](t, s2.Pending()[0].Body).Data
	served := get(t, s2, "/employees/"+e2.ID, nil).body
	if string(compact(t, data)) != string(compact(t, served)) {
		t.Errorf("webhook data %s\nGET %s", data, served)
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

func TestSyncNotificationPayload(t *testing.T) {
	s, c := newTestServer(t)
	s.AddWebhook(Webhook{URL: "http://x.invalid/", Key: []byte("k")})
	s.CompleteSync()
	s.CompleteSync()
	pend := s.Pending()
	if len(pend) != 2 {
		t.Fatalf("pending %d", len(pend))
	}
	example := fixture(t, "helpcenter_sync_completed_example.json")
	for i, d := range pend {
		p := decode[payload](t, d.Body)
		if p.Hook.Event != "LinkedAccount.sync_completed" {
			t.Errorf("event %q", p.Hook.Event)
		}
		if !slices.Equal(keys(p.LinkedAccount), keys(example["linked_account"].(map[string]any))) {
			t.Errorf("linked_account keys %v", keys(p.LinkedAccount))
		}
		// data has every key of the published example, and each model's
		// entry every key of the example's entries.
		exData := example["data"].(map[string]any)
		got := decode[map[string]any](t, p.Data)
		for _, k := range keys(exData) {
			if _, ok := got[k]; !ok {
				t.Errorf("data lacks %s", k)
			}
		}
		exEntry := exData["sync_status"].(map[string]any)["ticketing.Ticket"].(map[string]any)
		for model, v := range got["sync_status"].(map[string]any) {
			for _, k := range keys(exEntry) {
				if _, ok := v.(map[string]any)[k]; !ok {
					t.Errorf("%s lacks %s", model, k)
				}
			}
		}
		var data struct {
			IsInitialSync   bool   `json:"is_initial_sync"`
			IntegrationName string `json:"integration_name"`
			IntegrationSlug string `json:"integration_id"`
			SyncStatus      map[string]struct {
				LastSyncResult   string  `json:"last_sync_result"`
				LastSyncFinished string  `json:"last_sync_finished"`
				DataFreshAsOf    string  `json:"data_fresh_as_of"`
				Reason           *string `json:"sync_status_reason"`
			} `json:"sync_status"`
		}
		d := json.NewDecoder(strings.NewReader(string(p.Data)))
		d.DisallowUnknownFields()
		if err := d.Decode(&data); err != nil {
			t.Fatal(err)
		}
		emp, ok := data.SyncStatus["hris.Employee"]
		if !ok || emp.LastSyncResult != "DONE" || len(data.SyncStatus) != 4 {
			t.Errorf("sync_status %+v", data.SyncStatus)
		}
		if data.IsInitialSync != (i == 0) {
			t.Errorf("is_initial_sync %v on sync %d", data.IsInitialSync, i+1)
		}
		if emp.LastSyncFinished != formatTime(c.Now()) {
			t.Errorf("last_sync_finished %q", emp.LastSyncFinished)
		}
		if _, err := time.Parse(time.RFC3339, emp.LastSyncFinished); err != nil {
			t.Error(err)
		}
		if data.IntegrationSlug != "bamboohr" {
			t.Errorf("integration_slug %q", data.IntegrationSlug)
		}
	}
}

func TestWebhookEventFilterDropAndErrors(t *testing.T) {
	s, _ := newTestServer(t)
	rcv := newReceiver(t)
	s.AddWebhook(Webhook{URL: rcv.srv.URL + "/sync", Key: []byte("a"), Events: []string{"LinkedAccount.sync_completed"}})
	s.AddWebhook(Webhook{URL: rcv.srv.URL + "/changed", Key: []byte("b"), Events: []string{"Employee.changed"}})
	s.PutEmployee(Employee{RemoteID: "1"}) // added: neither
	if n := len(s.Pending()); n != 0 {
		t.Errorf("added matched %d", n)
	}
	s.PutEmployee(Employee{RemoteID: "1"}) // changed: the second
	s.CompleteSync()                       // the first
	pend := s.Pending()
	if len(pend) != 2 || !strings.HasSuffix(pend[0].URL, "/changed") || !strings.HasSuffix(pend[1].URL, "/sync") {
		t.Fatalf("pending %v", pend)
	}
	if !verify([]byte("b"), pend[0].Body, pend[0].Header.Get(SignatureHeader)) || !verify([]byte("a"), pend[1].Body, pend[1].Header.Get(SignatureHeader)) {
		t.Error("each webhook signs with its own key")
	}
	s.Drop()
	if n := len(s.Pending()); n != 0 {
		t.Errorf("Drop left %d", n)
	}
	if codes, err := s.Deliver(context.Background(), nil); err != nil || len(codes) != 0 {
		t.Errorf("empty deliver %v %v", codes, err)
	}
	// The receiver's answer is reported; a dead URL is an error, code 0.
	rcv.mu.Lock()
	rcv.code = 500
	rcv.mu.Unlock()
	s.CompleteSync()
	s.AddWebhook(Webhook{URL: "http://127.0.0.1:1/dead", Key: []byte("c")})
	s.CompleteSync()
	codes, err := s.Deliver(context.Background(), nil)
	if err == nil || !slices.Equal(codes, []int{500, 500, 0}) {
		t.Errorf("codes %v err %v", codes, err)
	}
}
