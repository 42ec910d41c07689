package bamboohrtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook is a webhook as BambooHR sends them.
//
// Event-based (Kind "event"): https://documentation.bamboohr.com/docs/event-based-webhooks
// and the OpenAPI's webhooks section. One delivery per event:
//
//	{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000",
//	 "data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}
//
// Field-based (Kind "field", a.k.a. global webhooks):
// https://documentation.bamboohr.com/docs/field-based-webhooks and
// https://documentation.bamboohr.com/docs/global-webhooks. One delivery holds
// every employee change queued since the last Deliver/Drop, as a scheduled or
// rate-limited global webhook does (https://documentation.bamboohr.com/docs/webhooks:
// "Users can specify a schedule of when they want webhooks to fire ... limit
// how often a webhook will fire"):
//
//	{"employees":[{"action":"Updated","changedFields":["First Name"],
//	  "fields":{"First Name":"Bryony"},"id":"12345","timestamp":"2026-01-31T18:42:00+0000"}]}
//
// Signing (https://documentation.bamboohr.com/docs/webhooks-2, Security): the
// headers X-BambooHR-Timestamp and X-BambooHR-Signature, the signature being
// the SHA-256 HMAC, under PrivateKey, of the raw body followed by the
// timestamp, hex-encoded ("The SHA-256 HMAC signature calculated using the
// payload, the timestamp, and your private key"; "recalculate the HMAC
// signature using the raw request body, the timestamp from the
// X-BambooHR-Timestamp header, and your stored private key"). The order
// body-then-timestamp is also what https://nango.dev/docs/api-integrations/bamboohr/webhooks
// states ("The signature covers the request body followed by
// X-BambooHR-Timestamp"). Docs silent (in the text available when this was
// written; the page's PHP example could not be read) on the timestamp's
// format and the digest's encoding: the fake sends Unix seconds and
// lowercase hex, as public third-party verifiers expect. No PrivateKey, no
// signature headers.
type Webhook struct {
	URL           string
	Kind          string            // "event" or "field"
	Format        string            // "json" (default) or "form-encoded"
	PrivateKey    []byte            // HMAC-SHA256 key
	MonitorFields []string          // updated: fire only when one of these changes (API field names); empty = any field (Docs: employee.updated requires one; the fake is lenient)
	PostFields    map[string]string // field-based: API field -> name posted (default: the English field name)
	Events        []string          // event-based: subset of employee.created/updated/deleted; default all
}

// Delivery is one POST BambooHR would make.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
}

type webhookState struct {
	w       Webhook
	monitor map[string]bool   // storage keys; nil = any
	post    []postField       // resolved PostFields
	events  map[string]bool   // event-based subscriptions
	entries []fieldEntry      // field-based: queued, not yet delivered
	names   map[string]string // storage key -> posted name
	inQueue bool              // a batch marker for this webhook is in s.queue
}

type postField struct{ key, name string }

type fieldEntry struct {
	id      string
	action  string // Created, Updated, Deleted
	changed []string
	fields  [][2]string // posted name, value
	at      time.Time
}

// queued is a pending delivery: a finished event delivery, or the batch of a
// field-based webhook.
type queued struct {
	d     *Delivery
	batch *webhookState
}

// AddWebhook registers a webhook. Unknown field names panic.
func (s *Server) AddWebhook(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.Kind != "event" && w.Kind != "field" {
		panic(fmt.Sprintf("bamboohrtest: webhook Kind %q: want \"event\" or \"field\"", w.Kind))
	}
	if w.Format == "" {
		w.Format = "json"
	}
	if w.Format != "json" && w.Format != "form-encoded" {
		panic(fmt.Sprintf("bamboohrtest: webhook Format %q: want \"json\" or \"form-encoded\"", w.Format))
	}
	st := &webhookState{w: w, names: map[string]string{}}
	if len(w.MonitorFields) > 0 {
		st.monitor = map[string]bool{}
		for _, n := range w.MonitorFields {
			f := s.resolveLocked(n)
			if f == nil {
				panic(fmt.Sprintf("bamboohrtest: unknown monitor field %q", n))
			}
			st.monitor[f.key] = true
		}
	}
	for n, posted := range w.PostFields {
		f := s.resolveLocked(n)
		if f == nil {
			panic(fmt.Sprintf("bamboohrtest: unknown post field %q", n))
		}
		if posted == "" {
			posted = f.name
		}
		st.post = append(st.post, postField{f.key, posted})
		st.names[f.key] = posted
	}
	// deterministic order of posted fields
	for i := 1; i < len(st.post); i++ {
		for j := i; j > 0 && st.post[j].name < st.post[j-1].name; j-- {
			st.post[j], st.post[j-1] = st.post[j-1], st.post[j]
		}
	}
	st.events = map[string]bool{}
	if len(w.Events) == 0 {
		w.Events = []string{"employee.created", "employee.updated", "employee.deleted"}
	}
	for _, ev := range w.Events {
		st.events[ev] = true
	}
	s.webhooks = append(s.webhooks, st)
}

// postedNameLocked is the name a field-based webhook uses for a field.
func (s *Server) postedNameLocked(st *webhookState, key string) string {
	if n, ok := st.names[key]; ok {
		return n
	}
	for _, f := range standardFields {
		if f.key == key {
			return f.name
		}
	}
	for _, f := range s.custom {
		if f.key == key {
			return f.name
		}
	}
	return key
}

// apiAliasLocked is the "API alias" event-based webhooks put in changedFields.
func (s *Server) apiAliasLocked(key string) string {
	for _, f := range s.custom {
		if f.key == key && f.alias != "" {
			return f.alias
		}
	}
	return key
}

// queueLocked records the webhooks a change causes. kind is created, updated
// or deleted; changed lists storage keys.
func (s *Server) queueLocked(e *employee, kind string, changed []string, at time.Time) {
	for _, st := range s.webhooks {
		monitored := func() []string {
			var out []string
			for _, k := range changed {
				if st.monitor == nil || st.monitor[k] {
					out = append(out, k)
				}
			}
			return out
		}
		switch st.w.Kind {
		case "event":
			if kind == "created" && st.events["employee.created"] {
				s.queueEventLocked(st, "employee.created", e.id, nil, at)
			}
			// "When an employee is created, both employee.created and
			// employee.updated events fire sequentially due to the
			// create-then-initialize pattern." (OpenAPI webhooks)
			if (kind == "created" || kind == "updated") && st.events["employee.updated"] {
				var ch []string
				for _, k := range monitored() {
					// "this event will not fire if the webhook creator lacks
					// access to all monitored fields being changed"
					if !s.hiddenField[k] {
						ch = append(ch, s.apiAliasLocked(k))
					}
				}
				if len(ch) > 0 {
					s.queueEventLocked(st, "employee.updated", e.id, ch, at)
				}
			}
			if kind == "deleted" && st.events["employee.deleted"] {
				s.queueEventLocked(st, "employee.deleted", e.id, nil, at)
			}
		case "field":
			ent := fieldEntry{id: e.id, at: at}
			switch kind {
			case "created":
				// "For Created and Deleted actions the payload will always
				// contain empty changedFields and fields objects" (global-webhooks).
				ent.action = "Created"
			case "deleted":
				ent.action = "Deleted"
			default:
				mon := monitored()
				if len(mon) == 0 {
					continue
				}
				ent.action = "Updated"
				for _, k := range mon {
					ent.changed = append(ent.changed, s.postedNameLocked(st, k))
				}
				if len(st.post) > 0 {
					for _, p := range st.post {
						v := e.fields[p.key]
						if p.key == "lastChanged" {
							v = formatTimestamp(e.lastChanged)
						}
						ent.fields = append(ent.fields, [2]string{p.name, v})
					}
				} else {
					// Docs silent on the default post fields: the fake posts
					// the changed fields under their English names.
					for _, k := range mon {
						ent.fields = append(ent.fields, [2]string{s.postedNameLocked(st, k), e.fields[k]})
					}
				}
			}
			st.entries = append(st.entries, ent)
			if !st.inQueue {
				st.inQueue = true
				s.queue = append(s.queue, queued{batch: st})
			}
		}
	}
}

// webhookTime renders a payload timestamp as the docs' examples do:
// "2026-01-31T18:42:00+0000" (event-based-webhooks, field-based-webhooks).
func webhookTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }

func (s *Server) queueEventLocked(st *webhookState, typ, id string, changed []string, at time.Time) {
	var body []byte
	if st.w.Format == "json" {
		data := map[string]any{"companyId": s.cfg.CompanyID, "employeeId": id}
		if typ == "employee.updated" {
			data["changedFields"] = changed
		}
		body, _ = json.Marshal(map[string]any{"type": typ, "timestamp": webhookTime(at), "data": data})
	} else {
		// Form Post Format of event-based-webhooks:
		// type=employee.updated, data[companyId]=..., data[employeeId]=...,
		// data[changedFields][0]=firstName. The example shows no timestamp
		// line; docs silent: the fake also sends timestamp (it is in the
		// Payload Fields table).
		v := url.Values{}
		v.Set("type", typ)
		v.Set("timestamp", webhookTime(at))
		v.Set("data[companyId]", s.cfg.CompanyID)
		v.Set("data[employeeId]", id)
		for i, c := range changed {
			v.Set("data[changedFields]["+strconv.Itoa(i)+"]", c)
		}
		body = []byte(v.Encode())
	}
	s.queue = append(s.queue, queued{d: s.signed(st, body, at)})
}

func (s *Server) signed(st *webhookState, body []byte, at time.Time) *Delivery {
	h := http.Header{}
	if st.w.Format == "json" {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Seen in public verifiers of BambooHR webhooks, not in the docs.
	h.Set("User-Agent", "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)")
	if len(st.w.PrivateKey) > 0 {
		ts := strconv.FormatInt(at.Unix(), 10)
		h.Set("X-BambooHR-Timestamp", ts)
		h.Set("X-BambooHR-Signature", Sign(st.w.PrivateKey, body, ts))
	}
	return &Delivery{URL: st.w.URL, Header: h, Body: body}
}

// Sign is the signature recipe: hex(HMAC-SHA256(key, body + timestamp)).
func Sign(key, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	m.Write([]byte(timestamp))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) batchLocked(st *webhookState) *Delivery {
	var at time.Time
	for _, e := range st.entries {
		if e.at.After(at) {
			at = e.at
		}
	}
	var body []byte
	if st.w.Format == "json" {
		list := make([]map[string]any, 0, len(st.entries))
		for _, e := range st.entries {
			changed := append([]string{}, e.changed...)
			fields := map[string]any{}
			for _, f := range e.fields {
				fields[f[0]] = f[1]
			}
			list = append(list, map[string]any{
				"action": e.action, "changedFields": changed, "fields": fields,
				"id": e.id, "timestamp": webhookTime(e.at),
			})
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(map[string]any{"employees": list})
		body = bytes.TrimRight(buf.Bytes(), "\n")
	} else {
		// employees[<employeeId>][changedFields][0]=First Name
		// employees[<employeeId>][First Name]=Robert   (global-webhooks)
		// Docs silent on action/timestamp in the form encoding and on two
		// changes to one employee in one batch: the fake adds
		// employees[id][action] and employees[id][timestamp], and merges
		// repeated employees (last value wins, changedFields united).
		v := url.Values{}
		for _, e := range st.entries {
			p := "employees[" + e.id + "]"
			v.Set(p+"[action]", e.action)
			v.Set(p+"[timestamp]", webhookTime(e.at))
			have := map[string]bool{}
			n := 0
			for ; ; n++ {
				c := v.Get(p + "[changedFields][" + strconv.Itoa(n) + "]")
				if c == "" {
					break
				}
				have[c] = true
			}
			for _, c := range e.changed {
				if !have[c] {
					v.Set(p+"[changedFields]["+strconv.Itoa(n)+"]", c)
					have[c] = true
					n++
				}
			}
			for _, f := range e.fields {
				v.Set(p+"["+f[0]+"]", f[1])
			}
		}
		body = []byte(v.Encode())
	}
	return s.signed(st, body, at)
}

func (s *Server) pendingLocked() []Delivery {
	out := make([]Delivery, 0, len(s.queue))
	for _, q := range s.queue {
		var d *Delivery
		if q.d != nil {
			d = q.d
		} else {
			d = s.batchLocked(q.batch)
		}
		out = append(out, Delivery{URL: d.URL, Header: d.Header.Clone(), Body: append([]byte(nil), d.Body...)})
	}
	return out
}

func (s *Server) clearLocked() {
	s.queue = nil
	for _, st := range s.webhooks {
		st.entries = nil
		st.inQueue = false
	}
}

// Pending returns the deliveries queued by changes since the last
// Deliver/Drop, not yet sent, in the order the changes happened.
func (s *Server) Pending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

// Drop discards pending deliveries (a webhook that never came).
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

// Deliver POSTs every pending delivery with c (http.DefaultClient if nil),
// returns the status codes (0 for a delivery that got no response), and
// clears them. Errors of individual deliveries are joined; the rest are
// still sent. BambooHR's retries are not modelled: call Deliver again after
// re-queuing with the control methods if a test needs one.
func (s *Server) Deliver(ctx context.Context, c *http.Client) ([]int, error) {
	if c == nil {
		c = http.DefaultClient
	}
	s.mu.Lock()
	ds := s.pendingLocked()
	s.clearLocked()
	s.mu.Unlock()
	codes := make([]int, len(ds))
	var errs []error
	for i, d := range ds {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req.Header = d.Header.Clone()
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp.Body.Close()
		codes[i] = resp.StatusCode
	}
	return codes, errors.Join(errs...)
}
