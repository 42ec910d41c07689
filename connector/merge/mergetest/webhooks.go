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
)

// Event names. Data change events are "<CommonModel>.added", ".changed",
// ".removed" (help.merge.dev/en/articles/5389453-creating-webhooks-in-merge:
// "common_model_name.added, common_model_name.changed,
// common_model_name.removed"; docs.merge.dev/basics/webhooks/merge-to-you
// shows "Candidate.changed"). The sync notification ("Linked account synced"
// in the dashboard) is "LinkedAccount.sync_completed"
// (help.merge.dev/articles/2988671375-initial-sync-overview-and-best-practices;
// Merge's webhooks reference in merge-api/merge-unified-skills calls
// "LinkedAccount.synced" its deprecated predecessor).
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

// linkedAccount is the payload's linked_account object, with the fields of
// the sample payloads of help.merge.dev/en/articles/5389453 and
// help.merge.dev/articles/2988671375 (the later adds account_type and
// completed_at).
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
		"account_type":               "PRODUCTION",
		"completed_at":               formatTime(s.created),
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

// syncModels are the model ids whose sync the fake reports.
var syncModels = []string{"hris.Employee", "hris.Employment", "hris.Team", "hris.Location"}

// CompleteSync queues LinkedAccount.sync_completed as Merge sends it after a
// sync of the Linked Account. Its data follows the sample payload of
// help.merge.dev/articles/2988671375-initial-sync-overview-and-best-practices,
// {"is_initial_sync", "sync_status": {"<model id>": {"last_sync_result",
// "last_sync_finished"}}}, with the fields Merge's webhooks reference
// (merge-api/merge-unified-skills, references/webhooks.md) adds:
// integration_name, integration_id, and per model data_fresh_as_of and
// sync_status_reason. Every model reports DONE, finished at Now; the first
// call reports is_initial_sync true.
func (s *Server) CompleteSync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	t := formatTime(s.now())
	status := map[string]any{}
	for _, m := range syncModels {
		status[m] = map[string]any{
			"last_sync_result":   "DONE",
			"last_sync_finished": t,
			"data_fresh_as_of":   t,
			"sync_status_reason": nil,
		}
	}
	s.queueLocked(EventSyncCompleted, map[string]any{
		"is_initial_sync":  s.syncs == 1,
		"integration_name": s.cfg.Integration,
		"integration_id":   s.cfg.IntegrationSlug,
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
