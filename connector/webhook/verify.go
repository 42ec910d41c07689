package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrUnauthenticated wraps every verification failure: a missing or bad
// signature, or a timestamp outside the tolerance. The handler answers 401.
var ErrUnauthenticated = errors.New("webhook: not authenticated")

// Verifier checks that a delivery comes from the HRIS. Verify sees the
// headers and the raw body before anything is decoded; now is the receiver's
// clock. It must compare secrets in constant time, and is called
// concurrently.
type Verifier interface {
	Verify(h http.Header, body []byte, now time.Time) error
}

// A DeliveryIdentifier is a Verifier whose scheme names each message with
// an id that is the same on every retry of it (Standard Webhooks'
// webhook-id). The handler asks it only after Verify has passed, and uses
// the id as the event's, in place of the id the Decoder read from the body:
// repeats are recognised by the delivery's idempotency key, and a different
// event reusing a body's id is not taken for a repeat.
type DeliveryIdentifier interface {
	DeliveryID(h http.Header) string
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(h http.Header, body []byte, now time.Time) error

// Verify calls f.
func (f VerifierFunc) Verify(h http.Header, body []byte, now time.Time) error { return f(h, body, now) }

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnauthenticated}, args...)...)
}

// ErrHeaderTooLarge wraps a refusal of a header longer than its scheme can
// need, before any signature is computed. The handler answers 431.
var ErrHeaderTooLarge = errors.New("webhook: header too large")

// Limits on what a verifier reads from an unauthenticated caller, so that
// refusing a hostile delivery costs about what accepting a valid one does.
const (
	maxIDLen         = 256  // webhook-id: Svix sends 31 bytes
	maxTimestampLen  = 64   // Unix seconds or RFC 3339
	maxSignatureLen  = 1024 // 8 signatures of 88 base64 bytes each fit
	maxSignatures    = 8    // a rotation has two or three
	minStandardKey   = 24   // bytes: the Standard Webhooks specification asks for 24 to 64
	maxHMACHeaderLen = 512  // the hex of an HMAC-SHA512 is 128 bytes
)

// header returns h's value for name, refusing one over max bytes.
func header(h http.Header, name string, max int) (string, error) {
	v := h.Get(name)
	if len(v) > max {
		return "", fmt.Errorf("%w: %s is %d bytes, over %d", ErrHeaderTooLarge, name, len(v), max)
	}
	return v, nil
}

// StandardWebhooks verifies the Standard Webhooks scheme (standardwebhooks.com):
// headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature,
// which holds one or more space-separated "v1,<base64 HMAC-SHA256>" over
// "id.timestamp.body". Several secrets may be given during a rotation; a
// signature by any of them passes.
//
// It is a DeliveryIdentifier: the handler takes webhook-id, the same on
// every retry of one message, as the event's id.
//
// Before any HMAC it refuses a webhook-id over 256 bytes or holding control
// characters, a timestamp over 64 bytes, a signature header over 1 KiB
// (ErrHeaderTooLarge) and more than 8 signatures.
type StandardWebhooks struct {
	secrets [][]byte
	// Tolerance bounds how far the timestamp may be from now, either way;
	// zero means five minutes, negative disables the check.
	Tolerance time.Duration
}

// NewStandardWebhooks returns the verifier for the given secrets, each
// "whsec_" followed by the base64 of at least 24 bytes, as the
// specification asks. A longer secret than its 64 is accepted: HMAC-SHA256
// hashes a key over 64 bytes first, which loses nothing a sender relies on.
func NewStandardWebhooks(secrets ...string) (*StandardWebhooks, error) {
	if len(secrets) == 0 {
		return nil, errors.New("webhook: at least one secret is required")
	}
	v := &StandardWebhooks{}
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return nil, fmt.Errorf("webhook: secret %d is not whsec_-prefixed base64", i+1)
		}
		if len(key) < minStandardKey {
			return nil, fmt.Errorf("webhook: secret %d is %d bytes: Standard Webhooks secrets are at least %d", i+1, len(key), minStandardKey)
		}
		v.secrets = append(v.secrets, key)
	}
	return v, nil
}

// DeliveryID implements DeliveryIdentifier: the webhook-id header.
func (v *StandardWebhooks) DeliveryID(h http.Header) string { return h.Get("webhook-id") }

// Verify implements Verifier.
func (v *StandardWebhooks) Verify(h http.Header, body []byte, now time.Time) error {
	id, err := header(h, "webhook-id", maxIDLen)
	if err != nil {
		return err
	}
	ts, err := header(h, "webhook-timestamp", maxTimestampLen)
	if err != nil {
		return err
	}
	sigs, err := header(h, "webhook-signature", maxSignatureLen)
	if err != nil {
		return err
	}
	if id == "" || ts == "" || sigs == "" {
		return unauthenticated("webhook-id, webhook-timestamp and webhook-signature are required")
	}
	if strings.ContainsFunc(id, unicode.IsControl) {
		return unauthenticated("webhook-id holds control characters")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unauthenticated("webhook-timestamp is not Unix seconds")
	}
	tol := v.Tolerance
	if tol == 0 {
		tol = 5 * time.Minute
	}
	if tol > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tol || d < -tol {
			return unauthenticated("timestamp %s is outside the tolerance of %v", time.Unix(sec, 0).UTC().Format(time.RFC3339), tol)
		}
	}
	// Decode each v1 signature once, whatever the number of secrets; other
	// versions (v1a, asymmetric) are skipped but still count.
	fields := strings.Fields(sigs)
	if len(fields) > maxSignatures {
		return unauthenticated("%d signatures, over %d", len(fields), maxSignatures)
	}
	var candidates [][]byte
	for _, s := range fields {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && len(got) == sha256.Size {
			candidates = append(candidates, got)
		}
	}
	if len(candidates) == 0 {
		return unauthenticated("no v1 signature")
	}
	for _, key := range v.secrets {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		want := m.Sum(nil)
		for _, got := range candidates {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return unauthenticated("no valid v1 signature")
}

// Encoding is how an HMAC signature is written in its header.
type Encoding int

// Encodings.
const (
	Hex Encoding = iota
	Base64
)

// Signed says which bytes an HMAC scheme signs, from the body and the
// timestamp header's value ("" when the scheme has none).
type Signed func(body []byte, timestamp string) []byte

// BodyOnly is a Signed layout: the raw body.
func BodyOnly(body []byte, _ string) []byte { return body }

// TimestampDotBody is a Signed layout: "timestamp.body", the common way to
// bind a timestamp against replays.
func TimestampDotBody(body []byte, ts string) []byte {
	return append(append([]byte(ts), '.'), body...)
}

// BodyThenTimestamp is a Signed layout: the body followed by the timestamp,
// as BambooHR documents for X-BambooHR-Signature and X-BambooHR-Timestamp.
func BodyThenTimestamp(body []byte, ts string) []byte {
	return append(append([]byte{}, body...), ts...)
}

// HMAC verifies the vendor-style schemes: an HMAC of the body (optionally
// bound to a timestamp header) in one header, hex or base64, with an
// optional prefix such as "sha256=". Examples:
//
//   - BambooHR: HMAC{Header: "X-BambooHR-Signature", TimestampHeader:
//     "X-BambooHR-Timestamp", Signed: BodyThenTimestamp, Encoding: Hex}
//   - GitHub-style senders: HMAC{Header: "X-Hub-Signature-256", Prefix:
//     "sha256="} over the body
//   - senders signing with SHA-512: HMAC{Hash: sha512.New, …}
//
// Check the vendor's documentation for the exact layout: a mismatch shows as
// every delivery failing with 401, never as a silent pass. A signature
// header over 512 bytes or a timestamp over 64 is refused before any HMAC
// (ErrHeaderTooLarge). Vendor schemes have no delivery id: the Decoder's
// event id is the idempotency key.
type HMAC struct {
	Secrets  [][]byte         // one or more (rotation)
	Header   string           // the signature header
	Prefix   string           // stripped from the header's value, e.g. "sha256="
	Encoding Encoding         // Hex (default) or Base64
	Hash     func() hash.Hash // sha256.New by default; sha512.New for HMAC-SHA512
	// TimestampHeader, if set, is required, bound into the signed content
	// by Signed, and checked against Tolerance (Unix seconds or RFC 3339).
	TimestampHeader string
	Signed          Signed        // default BodyOnly, or TimestampDotBody with a TimestampHeader
	Tolerance       time.Duration // zero: five minutes; negative: unchecked
}

// Verify implements Verifier.
func (v *HMAC) Verify(h http.Header, body []byte, now time.Time) error {
	if v.Header == "" || len(v.Secrets) == 0 {
		return unauthenticated("HMAC verifier without header or secret")
	}
	raw, err := header(h, v.Header, maxHMACHeaderLen)
	if err != nil {
		return err
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return unauthenticated("%s is required", v.Header)
	}
	sigText, ok := strings.CutPrefix(raw, v.Prefix)
	if !ok {
		return unauthenticated("%s lacks its %q prefix", v.Header, v.Prefix)
	}
	var got []byte
	if v.Encoding == Base64 {
		got, err = base64.StdEncoding.DecodeString(sigText)
	} else {
		got, err = hex.DecodeString(sigText)
	}
	if err != nil {
		return unauthenticated("%s is not %s", v.Header, map[Encoding]string{Hex: "hex", Base64: "base64"}[v.Encoding])
	}
	ts, signed := "", v.Signed
	if v.TimestampHeader != "" {
		if ts, err = header(h, v.TimestampHeader, maxTimestampLen); err != nil {
			return err
		}
		if ts == "" {
			return unauthenticated("%s is required", v.TimestampHeader)
		}
		at, err := parseTimestamp(ts)
		if err != nil {
			return unauthenticated("%s: %v", v.TimestampHeader, err)
		}
		tol := v.Tolerance
		if tol == 0 {
			tol = 5 * time.Minute
		}
		if d := now.Sub(at); tol > 0 && (d > tol || d < -tol) {
			return unauthenticated("timestamp outside the tolerance of %v", tol)
		}
		if signed == nil {
			signed = TimestampDotBody
		}
	}
	if signed == nil {
		signed = BodyOnly
	}
	newHash := v.Hash
	if newHash == nil {
		newHash = sha256.New
	}
	content := signed(body, ts)
	for _, key := range v.Secrets {
		m := hmac.New(newHash, key)
		m.Write(content)
		if hmac.Equal(got, m.Sum(nil)) {
			return nil
		}
	}
	return unauthenticated("signature does not match")
}

func parseTimestamp(s string) (time.Time, error) {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("not Unix seconds or RFC 3339")
	}
	return t, nil
}
