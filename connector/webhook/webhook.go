// Package webhook is the HTTP endpoint where the HRIS delivers change events:
// an http.Handler that authenticates each delivery, decodes it strictly, and
// answers 2xx only once the engine has durably recorded the event.
//
//	v, _ := webhook.NewStandardWebhooks(secret)
//	h, _ := webhook.New(eng, v, nil)
//	http.Handle("POST /hris/webhooks", h)
//
// Answers: 204 accepted (or a repeat, acknowledged and ignored); for a
// batch, 200 with a BatchResult (see Batches) or 413 over MaxBatch; 405 wrong
// method; 415 not JSON (nor another type the Decoder reads: MediaTyper); 413
// body over the limit; 431 a signature header longer than the scheme can
// need; 401 missing or bad signature or a stale timestamp; 400 malformed; 409
// an event id already recorded for another event; 503 with Retry-After when
// the backlog is over its bound or the engine is shut down (ErrClosed); 500
// when the event could not be recorded (the sender retries). A rejection
// records nothing, is logged with its reason and never with the body, and
// never echoes the body back.
//
// # Batches
//
// A delivery may hold several events, where the Decoder is a BatchDecoder
// (JSON is: a JSON array of events, or {"events": [...]}). Authentication
// and framing concern the delivery: one not authenticated is refused whole
// with 401, one whose body is not the batch's shape with 400, one of more
// than Config.MaxBatch events with 413, and nothing of it is recorded. Its
// events are then judged one by one: the good ones are recorded together
// (in one Store commit where the Notifier is a BatchNotifier and the Store
// a store.BatchAccepter), each deduplicated on its own; an event that is
// malformed, or that the engine refuses (no id, an id recorded for another
// event), is reported to the Notifier's Rejected (Rejecter: the engine
// records an audit entry, audit.ActionEventRejected, with the reason and no
// value, and raises an alert, hrissync.AlertEventRejected) and logged. The
// delivery is answered 200 with a BatchResult, {"accepted":99,"rejected":1}:
// a 4xx would have the sender retry the batch, good events and all, until it
// gives up on the endpoint. Only an error for the whole — the Store failed
// (500), the engine shut down (503 with Retry-After), a rejection that could
// not be recorded (500) — refuses it, and the sender's retry finds the
// events recorded repeats.
//
// Backpressure counts people, not deliveries: a batch naming N people is
// let in when each of them would be, arriving one by one — when the
// backlog plus N-1 is within MaxBacklog (so a delivery of one person is
// refused, as ever, when the backlog is over MaxBacklog) — or when the
// backlog is empty, since a batch larger than the bound could never be
// let in otherwise; else it is refused whole with 503 and Retry-After.
//
// With a DeliveryIdentifier (Standard Webhooks), an event of a batch is
// known by the delivery's id and its own, joined by U+001F (which neither
// may hold, so that no two pairs read the same): a retry of the
// delivery is a repeat, and an id the sender reuses in another delivery is
// another event, as for a delivery of one.
//
// # Idempotency
//
// A repeat is recognised by the delivery's id where the scheme has one
// (Standard Webhooks' webhook-id: see DeliveryIdentifier), else by the id
// the Decoder reads from the body. The engine remembers each id with a
// fingerprint of what the event says (person, type, time, record version):
// a retry saying the same is acknowledged and ignored; another event under
// the same id is refused with 409 and logged, never dropped as a repeat.
//
// # What a caller can cost before it is authenticated
//
// Headers are bounded before any signature is computed (see the verifiers),
// the body by Config.MaxBody, and values the caller chose (webhook-id, the
// method, the content type) are logged at most 64 bytes long, quoted,
// until the delivery is authenticated. Serve the handler from an
// http.Server with ReadHeaderTimeout, ReadTimeout, IdleTimeout and
// MaxHeaderBytes set (see the package example): the library cannot set a
// connection's deadlines.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/hrissync/hrissync"
)

// Notifier records events: *hrissync.Engine is one.
type Notifier interface {
	Notify(ctx context.Context, ev hrissync.Event) error
}

// Config configures New. Every field is optional: a nil *Config, like the
// zero value, means the defaults. (The Verifier is not here but an argument of
// New, since there is no default for it: an endpoint on the public internet
// must let in only the HRIS.)
type Config struct {
	Decoder Decoder // default JSON{}
	// MaxBody bounds a delivery's body. Default 1 MiB.
	MaxBody int64
	// MaxBatch bounds the events of a batched delivery; one over it is
	// refused whole with 413. Default 1000.
	MaxBatch int
	// Backlog reports the work waiting (Engine.Backlog); when it exceeds
	// MaxBacklog the handler answers 503 with Retry-After — for a batch,
	// when the people it names would take it over (see Batches). Default:
	// no bound.
	Backlog    func() int
	MaxBacklog int
	// RetryAfter is the pause asked for with a 503 (a backlog over its
	// bound, an engine shut down). Default 30 s.
	RetryAfter time.Duration
	// Now is the clock for timestamp tolerance. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger // default slog.Default()
	// MeterProvider receives hrissync.webhook.rejected, the deliveries
	// refused before reaching the engine, by HTTP status (the engine
	// counts what it accepts). Default none.
	MeterProvider metric.MeterProvider
}

// Handler is the webhook endpoint. Use New.
type Handler struct {
	n        Notifier
	v        Verifier
	cfg      Config
	rejected metric.Int64Counter
}

// New returns a Handler that lets in the deliveries v authenticates and
// records their events into n. Both are required; cfg may be nil for the
// defaults.
func New(n Notifier, v Verifier, cfg *Config) (*Handler, error) {
	if n == nil || v == nil {
		return nil, errors.New("webhook: New needs a Notifier and a Verifier")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Decoder == nil {
		c.Decoder = JSON{}
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if j, ok := c.Decoder.(JSON); ok && j.MaxEvents == 0 {
		// Counted as the batch is split, before any event is decoded.
		j.MaxEvents = c.MaxBatch
		c.Decoder = j
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MeterProvider == nil {
		c.MeterProvider = noop.NewMeterProvider()
	}
	rejected, err := c.MeterProvider.Meter("github.com/hrissync/hrissync/connector/webhook").Int64Counter("hrissync.webhook.rejected",
		metric.WithUnit("{delivery}"), metric.WithDescription("Webhook deliveries refused before reaching the engine, by HTTP status."))
	if err != nil {
		return nil, fmt.Errorf("webhook: metrics: %w", err)
	}
	return &Handler{n: n, v: v, cfg: c, rejected: rejected}, nil
}

// MediaTyper is a Decoder that reads bodies of other media types than JSON
// (a vendor posting form-encoded deliveries). The handler refuses with 415 a
// delivery of any type not listed.
type MediaTyper interface {
	MediaTypes() []string // e.g. "application/json", "application/x-www-form-urlencoded"
}

// mediaTypes are the delivery types the Decoder reads.
func (h *Handler) mediaTypes() []string {
	if m, ok := h.cfg.Decoder.(MediaTyper); ok {
		return m.MediaTypes()
	}
	return []string{"application/json"}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, "method "+clip(r.Method))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !slices.Contains(h.mediaTypes(), mt) {
		h.reject(w, r, http.StatusUnsupportedMediaType, "content type "+clip(r.Header.Get("Content-Type")))
		return
	}
	if h.cfg.Backlog != nil && h.cfg.MaxBacklog > 0 {
		if n := h.cfg.Backlog(); n > h.cfg.MaxBacklog {
			w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
			h.reject(w, r, http.StatusServiceUnavailable, fmt.Sprintf("backlog %d over %d", n, h.cfg.MaxBacklog))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.cfg.MaxBody))
			return
		}
		h.reject(w, r, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if err := h.v.Verify(r.Header, body, h.cfg.Now()); err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, ErrHeaderTooLarge) {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
		h.reject(w, r, status, err.Error())
		return
	}
	if bd, ok := h.cfg.Decoder.(BatchDecoder); ok {
		items, err := bd.DecodeBatch(r.Header, body)
		if !errors.Is(err, ErrNotBatch) {
			if errors.Is(err, ErrTooManyEvents) {
				h.reject(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch over %d events", h.cfg.MaxBatch))
				return
			}
			if err != nil {
				h.reject(w, r, http.StatusBadRequest, err.Error())
				return
			}
			h.serveBatch(w, r, items)
			return
		}
	}
	ev, err := h.cfg.Decoder.Decode(r.Header, body)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if d, ok := h.v.(DeliveryIdentifier); ok {
		if id := d.DeliveryID(r.Header); id != "" {
			ev.ID = id
		}
	}
	if err := h.n.Notify(r.Context(), ev); err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, hrissync.ErrInvalidEvent):
			status = http.StatusBadRequest
		case errors.Is(err, hrissync.ErrEventConflict):
			status = http.StatusConflict
		default:
			status = h.unrecorded(w, err)
		}
		h.reject(w, r, status, "recording: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// unrecorded returns the status for an error that left a delivery
// unrecorded: 503 with Retry-After for an engine shut down (a deploy, say:
// the sender retries, and another replica or the next engine takes it),
// 500 for the rest (the Store failed: the sender retries).
func (h *Handler) unrecorded(w http.ResponseWriter, err error) int {
	if errors.Is(err, hrissync.ErrClosed) {
		w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// BatchNotifier is a Notifier that records the events of a batched delivery
// together: *hrissync.Engine is one (see Engine.NotifyBatch). It returns an
// error per event — nil for one recorded or a repeat, one wrapping
// hrissync.ErrInvalidEvent or hrissync.ErrEventConflict for one refused
// alone — or an error for the whole, when none may be taken as recorded.
// Without it the handler calls Notify once per event.
type BatchNotifier interface {
	NotifyBatch(ctx context.Context, evs []hrissync.Event) ([]error, error)
}

// A Rejecter is told of each event of an authenticated batch that could not
// be taken while the rest was: *hrissync.Engine is one (Engine.Rejected
// records an audit entry and raises an alert). reason names fields, never
// a value. Without it the handler only logs them.
type Rejecter interface {
	Rejected(ctx context.Context, eventID, reason string) error
}

// BatchResult is the body of the 200 answering a batched delivery.
type BatchResult struct {
	Accepted int `json:"accepted"` // events recorded, or repeats of events recorded before
	Rejected int `json:"rejected"` // events that could not be taken: recorded as such and alerted
}

// serveBatch records the events of an authenticated batch: the good ones
// (in one Store commit through a BatchNotifier), then the bad ones as
// rejected; the delivery is answered 200 with a BatchResult, or refused
// whole when nothing may be taken as recorded.
// batchSeparator joins a delivery's id and an event's within it.
const batchSeparator = "\x1f"

func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request, items []Decoded) {
	if len(items) > h.cfg.MaxBatch {
		h.reject(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch of %d events over %d", len(items), h.cfg.MaxBatch))
		return
	}
	delivery := ""
	if d, ok := h.v.(DeliveryIdentifier); ok {
		delivery = d.DeliveryID(r.Header)
	}
	type bad struct {
		item   int
		id     string
		reason string
	}
	var rejected []bad
	var evs []hrissync.Event
	var at []int // evs[k] is items[at[k]]
	people := map[string]bool{}
	for i, it := range items {
		ev := it.Event
		if delivery != "" && ev.ID != "" {
			// The delivery's id, the same on every retry of it, and the
			// event's within it: a retry is a repeat, and an id a sender
			// reuses in another delivery is another event. Neither id
			// may hold a control character, so joined by one (U+001F)
			// no two pairs — nor a pair and a single delivery's id — can
			// read the same.
			ev.ID = delivery + batchSeparator + ev.ID
		}
		if it.Err != nil {
			rejected = append(rejected, bad{i, ev.ID, strings.TrimPrefix(it.Err.Error(), ErrMalformed.Error()+": ")})
			continue
		}
		evs, at = append(evs, ev), append(at, i)
		people[ev.EmployeeID] = true
	}
	// Backpressure counts people: the delivery is let in if each of its
	// people would be, arriving one by one — backlog+people-1 within the
	// bound —, or if the backlog is empty (a batch larger than the bound
	// could never be let in otherwise).
	if h.cfg.Backlog != nil && h.cfg.MaxBacklog > 0 && len(people) > 1 {
		if n := h.cfg.Backlog(); n > 0 && n+len(people)-1 > h.cfg.MaxBacklog {
			w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
			h.reject(w, r, http.StatusServiceUnavailable, fmt.Sprintf("backlog %d and %d people over %d", n, len(people), h.cfg.MaxBacklog))
			return
		}
	}
	ctx := r.Context()
	errs, err := h.notifyBatch(ctx, evs)
	if err != nil {
		h.reject(w, r, h.unrecorded(w, err), fmt.Sprintf("recording a batch of %d events: %v", len(evs), err))
		return
	}
	accepted := 0
	for k, err := range errs {
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, hrissync.ErrEventConflict):
			rejected = append(rejected, bad{at[k], evs[k].ID, "the event id was recorded for another event"})
		default: // hrissync.ErrInvalidEvent
			rejected = append(rejected, bad{at[k], evs[k].ID, "the engine refused the event as invalid"})
		}
	}
	rej, _ := h.n.(Rejecter)
	for _, b := range rejected {
		id := b.id
		if id == "" {
			id = delivery // the audit entry names the delivery at least
		}
		reason := fmt.Sprintf("item %d of %d: %s", b.item, len(items), b.reason)
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook event rejected",
			slog.String("reason", reason), slog.String("event", id), slog.String("remote", r.RemoteAddr))
		if rej == nil {
			continue
		}
		if err := rej.Rejected(ctx, id, reason); err != nil {
			// The good events are recorded: the sender's retry finds them
			// repeats, and reports the bad ones again.
			h.reject(w, r, h.unrecorded(w, err), "recording a rejected event: "+err.Error())
			return
		}
	}
	res, _ := json.Marshal(BatchResult{Accepted: accepted, Rejected: len(rejected)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(res, '\n'))
}

// notifyBatch records evs through NotifyBatch, or one Notify each: an error
// other than a refusal of that event ends it (those before are recorded, and
// are repeats when the sender retries).
func (h *Handler) notifyBatch(ctx context.Context, evs []hrissync.Event) ([]error, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	var errs []error
	if b, ok := h.n.(BatchNotifier); ok {
		var err error
		if errs, err = b.NotifyBatch(ctx, evs); err != nil {
			return nil, err
		}
		if len(errs) != len(evs) {
			return nil, fmt.Errorf("webhook: NotifyBatch returned %d results for %d events", len(errs), len(evs))
		}
	} else {
		errs = make([]error, len(evs))
		for i, ev := range evs {
			errs[i] = h.n.Notify(ctx, ev)
			if errs[i] != nil && !refused(errs[i]) {
				return nil, errs[i]
			}
		}
	}
	for _, err := range errs {
		if err != nil && !refused(err) {
			return nil, err
		}
	}
	return errs, nil
}

// refused says whether err is the engine's refusal of one event, which
// leaves the others of its batch unaffected.
func refused(err error) bool {
	return errors.Is(err, hrissync.ErrInvalidEvent) || errors.Is(err, hrissync.ErrEventConflict)
}

// reject answers with status and a short reason of the handler's own words.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	h.rejected.Add(r.Context(), 1, metric.WithAttributes(attribute.Int("status", status)))
	h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "webhook rejected",
		slog.Int("status", status), slog.String("reason", reason),
		slog.String("remote", r.RemoteAddr), slog.String("webhook-id", clip(r.Header.Get("webhook-id"))))
	// The answer is in the handler's own words: no more to an
	// unauthenticated caller than that, and nothing of the Store's errors.
	switch status {
	case http.StatusUnauthorized:
		reason = "not authenticated"
	case http.StatusRequestHeaderFieldsTooLarge:
		reason = "header too large"
	case http.StatusConflict:
		reason = "this id was recorded for another event"
	case http.StatusInternalServerError:
		reason = "the event could not be recorded: retry"
	}
	http.Error(w, reason, status)
}

// clipLen bounds a caller's value in a log line: a 900 KB header must not
// make 900 KB of log per request.
const clipLen = 64

// clip quotes s (control characters escaped) after cutting it to clipLen
// bytes, saying how long it was.
func clip(s string) string {
	if len(s) <= clipLen {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(strings.ToValidUTF8(s[:clipLen], "")), len(s))
}

// The engine records batches and rejections.
var (
	_ BatchNotifier = (*hrissync.Engine)(nil)
	_ Rejecter      = (*hrissync.Engine)(nil)
	_ BatchDecoder  = JSON{}
)
