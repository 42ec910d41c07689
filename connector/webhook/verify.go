package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/big"
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
// the id as the event's, in place of the id the Decoder read from the body
// — joined with it, by U+001F, for each event of a batch:
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
	maxSignatureLen  = 1024 // 8 v1a signatures ("v1a," and 88 base64 bytes) fit
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
// which holds one or more space-separated signatures over
// "id.timestamp.body": "v1,<base64 HMAC-SHA256>" by a shared secret
// (whsec_…), or "v1a,<base64 Ed25519 signature>" by the sender's private
// key, checked with its public key (whpk_…), for senders that cannot share a
// secret. Several secrets and public keys may be given, during a rotation or
// a move from v1 to v1a; a signature by any of them passes, and a header may
// mix v1 and v1a signatures.
//
// It is a DeliveryIdentifier: the handler takes webhook-id, the same on
// every retry of one message, as the event's id.
//
// Before any HMAC or Ed25519 verification it refuses a webhook-id over 256
// bytes or holding control characters, a timestamp over 64 bytes, a
// signature header over 1 KiB (ErrHeaderTooLarge) and more than 8
// signatures; a signature of the wrong length for its version is skipped
// undecoded, and one repeated in the header is checked once.
type StandardWebhooks struct {
	secrets    [][]byte
	publicKeys []ed25519.PublicKey
	// Tolerance bounds how far the timestamp may be from now, either way;
	// zero means five minutes, negative disables the check.
	Tolerance time.Duration
}

// Key prefixes of the Standard Webhooks specification.
const (
	secretPrefix     = "whsec_" // v1: the HMAC secret, shared
	publicKeyPrefix  = "whpk_"  // v1a: the sender's Ed25519 public key
	signingKeyPrefix = "whsk_"  // v1a: the sender's Ed25519 private key, never the receiver's
)

// Encoded lengths of the signatures: base64 of 32 and of 64 bytes.
var (
	v1SigLen  = base64.StdEncoding.EncodedLen(sha256.Size)
	v1aSigLen = base64.StdEncoding.EncodedLen(ed25519.SignatureSize)
)

// NewStandardWebhooks returns the verifier for the given keys, each either
//
//   - a secret, "whsec_" followed by the base64 of at least 24 bytes, as the
//     specification asks, for v1 signatures. A longer secret than its 64 is
//     accepted: HMAC-SHA256 hashes a key over 64 bytes first, which loses
//     nothing a sender relies on. (Unprefixed base64 is read as a secret.)
//   - a public key, "whpk_" followed by the base64 of the sender's 32-byte
//     Ed25519 public key, for v1a signatures.
//
// Give both the old and the new key while the sender rotates, then remove
// the old one. A sender's signing key (whsk_…) is refused: it must stay with
// the sender, and the receiver needs only the public key. So is a public key
// of the wrong length, and one of the eight points of small order (such a
// "key" would let anyone sign); no error repeats a key.
func NewStandardWebhooks(keys ...string) (*StandardWebhooks, error) {
	if len(keys) == 0 {
		return nil, errors.New("webhook: at least one secret or public key is required")
	}
	v := &StandardWebhooks{}
	for i, s := range keys {
		switch {
		case strings.HasPrefix(s, publicKeyPrefix):
			pk, err := parsePublicKey(strings.TrimPrefix(s, publicKeyPrefix))
			if err != nil {
				return nil, fmt.Errorf("webhook: public key %d: %w", i+1, err)
			}
			v.publicKeys = append(v.publicKeys, pk)
		case strings.HasPrefix(s, signingKeyPrefix):
			return nil, fmt.Errorf("webhook: key %d is a signing key (whsk_), which only the sender may hold: give the receiver its public key (whpk_)", i+1)
		default:
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
			if err != nil {
				return nil, fmt.Errorf("webhook: secret %d is not whsec_-prefixed base64 (or a whpk_ public key)", i+1)
			}
			if len(key) < minStandardKey {
				return nil, fmt.Errorf("webhook: secret %d is %d bytes: Standard Webhooks secrets are at least %d", i+1, len(key), minStandardKey)
			}
			v.secrets = append(v.secrets, key)
		}
	}
	return v, nil
}

// parsePublicKey decodes the base64 of a whpk_ key.
func parsePublicKey(b64 string) (ed25519.PublicKey, error) {
	pk, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("what follows whpk_ is not standard, padded base64")
	}
	if len(pk) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%d bytes: an Ed25519 public key is %d", len(pk), ed25519.PublicKeySize)
	}
	if !onCurve(pk) {
		return nil, errors.New("not a point of Ed25519's curve: no signature would verify")
	}
	if smallOrder(pk) {
		return nil, errors.New("a point of small order, not a public key: signatures under it can be forged")
	}
	return ed25519.PublicKey(pk), nil
}

// Ed25519's field prime p = 2^255 - 19 and curve constant d = -121665/121666.
var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	curveD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
)

// onCurve reports whether pk encodes a point of edwards25519, decoding as
// crypto/ed25519 does (y mod p, non-canonical encodings included): whether
// x² = (y² - 1) / (d·y² + 1) has a root. crypto/ed25519 would refuse every
// signature under a key that is not.
func onCurve(pk []byte) bool {
	le := make([]byte, len(pk))
	for i, b := range pk {
		le[len(pk)-1-i] = b
	}
	le[0] &= 0x7f // the sign of x
	y := new(big.Int).SetBytes(le)
	y.Mod(y, fieldP)
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(curveD, y2)
	v.Add(v, big.NewInt(1)).Mod(v, fieldP) // never 0: d is not a square
	x2 := u.Mul(u, new(big.Int).ModInverse(v, fieldP))
	x2.Mod(x2, fieldP)
	return x2.Sign() == 0 || big.Jacobi(x2, fieldP) == 1
}

// smallOrderY lists the encodings, sign bit cleared, of the y coordinates of
// the eight points of small order on edwards25519 (libsodium's list): 0
// (order 4), 1 (order 1), the two of order 8, p-1 (order 2), and p and p+1,
// the non-canonical encodings of 0 and 1, which crypto/ed25519 accepts. A
// forgery under each is shown in the tests.
var smallOrderY = [][ed25519.PublicKeySize]byte{
	{0x00},
	{0x01},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	fieldTop(0xec),
	fieldTop(0xed),
	fieldTop(0xee),
}

// fieldTop returns the 32 little-endian bytes low, 0xff × 30, 0x7f: p-1, p
// and p+1 for low 0xec, 0xed and 0xee.
func fieldTop(low byte) (b [ed25519.PublicKeySize]byte) {
	for i := range b {
		b[i] = 0xff
	}
	b[0], b[31] = low, 0x7f
	return b
}

func smallOrder(pk []byte) bool {
	var y [ed25519.PublicKeySize]byte
	copy(y[:], pk)
	y[31] &= 0x7f
	for _, s := range smallOrderY {
		if y == s {
			return true
		}
	}
	return false
}

// schemes names the signature versions v checks, for its errors.
func (v *StandardWebhooks) schemes() string {
	switch {
	case len(v.secrets) > 0 && len(v.publicKeys) > 0:
		return "v1 or v1a"
	case len(v.publicKeys) > 0:
		return "v1a"
	}
	return "v1"
}

// DeliveryID implements DeliveryIdentifier: the webhook-id header.
func (v *StandardWebhooks) DeliveryID(h http.Header) string { return h.Get("webhook-id") }

// Verify implements Verifier.
func (v *StandardWebhooks) Verify(h http.Header, body []byte, now time.Time) error {
	if len(v.secrets) == 0 && len(v.publicKeys) == 0 {
		return unauthenticated("Standard Webhooks verifier without secret or public key")
	}
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
	// Decode each signature of a configured version once, whatever the
	// number of keys; other versions are skipped but still count.
	fields := strings.Fields(sigs)
	if len(fields) > maxSignatures {
		return unauthenticated("%d signatures, over %d", len(fields), maxSignatures)
	}
	var hmacs, eds [][]byte
	for _, s := range fields {
		version, sig, ok := strings.Cut(s, ",")
		switch {
		case !ok:
		case version == "v1" && len(v.secrets) > 0 && len(sig) == v1SigLen:
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && len(got) == sha256.Size {
				hmacs = append(hmacs, got)
			}
		case version == "v1a" && len(v.publicKeys) > 0 && len(sig) == v1aSigLen:
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && len(got) == ed25519.SignatureSize && !containsBytes(eds, got) {
				eds = append(eds, got)
			}
		}
	}
	if len(hmacs) == 0 && len(eds) == 0 {
		return unauthenticated("no %s signature", v.schemes())
	}
	if len(hmacs) > 0 {
		for _, key := range v.secrets {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(id))
			m.Write([]byte{'.'})
			m.Write([]byte(ts))
			m.Write([]byte{'.'})
			m.Write(body)
			want := m.Sum(nil)
			for _, got := range hmacs {
				if hmac.Equal(got, want) {
					return nil
				}
			}
		}
	}
	if len(eds) > 0 {
		// Ed25519 signs the whole message: "id.timestamp.body" in one piece.
		signed := make([]byte, 0, len(id)+1+len(ts)+1+len(body))
		signed = append(append(append(append(append(signed, id...), '.'), ts...), '.'), body...)
		for _, pk := range v.publicKeys {
			for _, got := range eds {
				if ed25519.Verify(pk, signed, got) {
					return nil
				}
			}
		}
	}
	return unauthenticated("no valid %s signature", v.schemes())
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// Encoding is how an HMAC signature is written in its header.
type Encoding int

// Encodings.
const (
	Hex Encoding = iota
	Base64
	// Base64URL is the URL-safe alphabet (RFC 4648 §5), padded or not,
	// as Merge writes X-Merge-Webhook-Signature.
	Base64URL
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
	Encoding Encoding         // Hex (default), Base64 or Base64URL
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
	switch v.Encoding {
	case Base64:
		got, err = base64.StdEncoding.DecodeString(sigText)
	case Base64URL:
		got, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(sigText, "="))
	default:
		got, err = hex.DecodeString(sigText)
	}
	if err != nil {
		return unauthenticated("%s is not %s", v.Header, map[Encoding]string{Hex: "hex", Base64: "base64", Base64URL: "base64url"}[v.Encoding])
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
