// Package webhook is the HTTP endpoint where the HRIS delivers change events:
// an http.Handler that authenticates each delivery, decodes it strictly, and
// answers 2xx only once the engine has durably recorded the event.
//
//	v, _ := webhook.NewStandardWebhooks(secret)
//	h, _ := webhook.New(eng, v, nil)
//	http.Handle("POST /hris/webhooks", h)
//
// Answers: 204 accepted (or a repeat, acknowledged and ignored); 405 wrong
// method; 415 not JSON; 413 body over the limit; 431 a signature header
// longer than the scheme can need; 401 missing or bad signature or a stale
// timestamp; 400 malformed; 409 an event id already recorded for another
// event; 503 with Retry-After when the backlog is over its bound or the
// engine is shut down (ErrClosed); 500 when the event could not be recorded
// (the sender retries). A rejection records
// nothing, is logged with its reason and never with the body, and never
// echoes the body back.
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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
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
	// Backlog reports the work waiting (Engine.Backlog); when it exceeds
	// MaxBacklog the handler answers 503 with Retry-After. Default: no
	// bound.
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

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, "method "+clip(r.Method))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
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
		case errors.Is(err, hrissync.ErrClosed):
			// The engine is shut down (a deploy, say): the sender
			// retries, and another replica or the next engine takes it.
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
		}
		h.reject(w, r, status, "recording: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
