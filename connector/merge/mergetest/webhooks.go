package mergetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Event names. Data change events are "<CommonModel>.added", ".changed",
// ".removed" (help.merge.dev/en/articles/5389453-creating-webhooks-in-merge:
// "common_model_name.added, common_model_name.changed,
// common_model_name.removed"; docs.merge.dev/basics/webhooks/merge-to-you
// shows "Candidate.changed").
//
// The sync notification: the help center's older article names
// "LinkedAccount.synced"; the webhooks migration guide
// (help.merge.dev/en/articles/8426389) retired the old sync webhooks in April
// 2024 in favour of "Linked Account synced". Docs silent on its exact event
// string in the stored pages; the fake sends "LinkedAccount.sync_completed".
const (
	EventEmployeeAdded   = "Employee.added"
	EventEmployeeChanged = "Employee.changed"
	EventEmployeeRemoved = "Employee.removed"
	EventSyncCompleted   = "LinkedAccount.sync_completed"
)

// SignatureHeader carries the signature of a delivery
// (docs.merge.dev/basics/webhooks/merge-webhooks).
const SignatureHeader = "X-Merge-Webhook-Signature"

// Webhook is a webhook Merge sends to, signed with the webhook signature key.
type Webhook struct {
	URL    string
	Key    []byte
	Events []string // e.g. "Employee.changed"; empty = all the fake emits

	// Unpadded sends the base64url signature without its trailing "=".
	// Docs silent on padding: by default the fake sends it padded, as
	// Python's base64.urlsafe_b64encode gives it.
	Unpadded bool
}

// Delivery is one POST the fake would make to a webhook.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
}

type webhookReg struct {
	Webhook
	id string
}

// Sign is the signature of body under key as Merge computes it: "calculate
// the HMAC-SHA256 of the byte-formatted payload and encode it to Base64url"
// (docs.merge.dev/basics/webhooks/merge-webhooks), padded.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.URLEncoding.EncodeToString(m.Sum(nil))
}

// AddWebhook registers a webhook; later events are queued for it.
func (s *Server) AddWebhook(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Key = bytes.Clone(w.Key)
	w.Events = append([]string(nil), w.Events...)
	s.webhooks = append(s.webhooks, webhookReg{Webhook: w, id: newUUID()})
}

// linkedAccount is the payload's linked_account object, with the fields of the
// help center's example sync payload
// (help.merge.dev/en/articles/5389453-creating-webhooks-in-merge).
func (s *Server) linkedAccount() map[string]any {
	return map[string]any{
		"id":                         s.cfg.LinkedAccountID,
		"integration":                s.cfg.Integration,
		"integration_slug":           s.cfg.IntegrationSlug,
		"category":                   "hris",
		"end_user_origin_id":         nil,
		"end_user_organization_name": "Test Organization",
		"end_user_email_address":     "admin@example.com",
		"status":                     "COMPLETE",
		"webhook_listener_url":       "https://api.merge.dev/api/integrations/webhook-listener/" + s.cfg.LinkedAccountID,
		"is_duplicate":               nil,
	}
}

func (s *Server) queueLocked(event string, data map[string]any) {
	for _, w := range s.webhooks {
		if len(w.Events) > 0 && !contains(w.Events, event) {
			continue
		}
		body, _ := json.Marshal(map[string]any{
			"hook":           map[string]any{"id": w.id, "event": event, "target": w.URL},
			"linked_account": s.linkedAccount(),
			"data":           data,
		})
		sig := Sign(w.Key, body)
		if w.Unpadded {
			sig = base64.RawURLEncoding.EncodeToString(mustDecode(sig))
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(SignatureHeader, sig)
		s.pending = append(s.pending, Delivery{URL: w.URL, Header: h, Body: body})
	}
}

func mustDecode(s string) []byte {
	b, _ := base64.URLEncoding.DecodeString(s)
	return b
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// syncModels are the models whose sync the fake reports.
var syncModels = []struct{ name, id string }{
	{"Employee", "hris.Employee"},
	{"Employment", "hris.Employment"},
	{"Team", "hris.Team"},
	{"Location", "hris.Location"},
}

// CompleteSync queues the sync notification Merge sends after a sync of the
// Linked Account. Its data is the account's sync status: "A 'sync
// notification' webhook will send a /sync-status object" (help center
// 5389453), read through https://docs.merge.dev/basics/syncing-data, whose
// important field is data.sync_status with last_sync_result. data.sync_status
// is keyed by model id ("hris.Employee"); each value has the SyncStatus fields
// of the OpenAPI (model_name, model_id, last_sync_start, next_sync_start,
// status, is_initial_sync) plus last_sync_result and last_sync_finished.
// The first call reports is_initial_sync true.
func (s *Server) CompleteSync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	t := s.now()
	status := map[string]any{}
	for _, m := range syncModels {
		status[m.id] = map[string]any{
			"model_name":         m.name,
			"model_id":           m.id,
			"last_sync_start":    formatTime(t),
			"last_sync_finished": formatTime(t),
			"next_sync_start":    formatTime(t.Add(24 * time.Hour)),
			"status":             "DONE",
			"last_sync_result":   "DONE",
			"is_initial_sync":    s.syncs == 1,
		}
	}
	s.queueLocked(EventSyncCompleted, map[string]any{
		"integration_name": s.cfg.Integration,
		"integration_slug": s.cfg.IntegrationSlug,
		"sync_status":      status,
	})
}

// Pending returns the deliveries queued and not yet delivered or dropped.
func (s *Server) Pending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.pending))
	for i, d := range s.pending {
		out[i] = Delivery{URL: d.URL, Header: d.Header.Clone(), Body: bytes.Clone(d.Body)}
	}
	return out
}

// Deliver POSTs every pending delivery in order with c (http.DefaultClient
// when nil) and clears them. It returns each delivery's status code (0 when
// the POST failed) and the errors joined. Nothing is retried.
func (s *Server) Deliver(ctx context.Context, c *http.Client) ([]int, error) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	if c == nil {
		c = http.DefaultClient
	}
	codes := make([]int, len(pending))
	var errs []error
	for i, d := range pending {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req.Header = d.Header.Clone()
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("mergetest: deliver to %s: %w", d.URL, err))
			continue
		}
		resp.Body.Close()
		codes[i] = resp.StatusCode
	}
	return codes, errors.Join(errs...)
}

// Drop loses the pending deliveries.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = nil
}
