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

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(h http.Header, body []byte, now time.Time) error

// Verify calls f.
func (f VerifierFunc) Verify(h http.Header, body []byte, now time.Time) error { return f(h, body, now) }

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnauthenticated}, args...)...)
}

// StandardWebhooks verifies the Standard Webhooks scheme (standardwebhooks.com):
// headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature,
// which holds one or more space-separated "v1,<base64 HMAC-SHA256>" over
// "id.timestamp.body". Several secrets may be given during a rotation; a
// signature by any of them passes.
type StandardWebhooks struct {
	secrets [][]byte
	// Tolerance bounds how far the timestamp may be from now, either way;
	// zero means five minutes, negative disables the check.
	Tolerance time.Duration
}

// NewStandardWebhooks returns the verifier for the given secrets, each
// "whsec_" followed by base64.
func NewStandardWebhooks(secrets ...string) (*StandardWebhooks, error) {
	if len(secrets) == 0 {
		return nil, errors.New("webhook: at least one secret is required")
	}
	v := &StandardWebhooks{}
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("webhook: a secret is not whsec_-prefixed base64")
		}
		v.secrets = append(v.secrets, key)
	}
	return v, nil
}

// Verify implements Verifier.
func (v *StandardWebhooks) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return unauthenticated("webhook-id, webhook-timestamp and webhook-signature are required")
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
	for _, key := range v.secrets {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range strings.Fields(sigs) {
			version, sig, ok := strings.Cut(s, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
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
// every delivery failing with 401, never as a silent pass.
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
	raw := strings.TrimSpace(h.Get(v.Header))
	if raw == "" {
		return unauthenticated("%s is required", v.Header)
	}
	sigText, ok := strings.CutPrefix(raw, v.Prefix)
	if !ok {
		return unauthenticated("%s lacks its %q prefix", v.Header, v.Prefix)
	}
	var got []byte
	var err error
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
		ts = h.Get(v.TimestampHeader)
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
