package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/webhook"
)

// TestHMACBase64URL: a Merge-style signature — the HMAC-SHA256 of the body,
// base64url — verifies padded or not; the standard alphabet, a changed body
// or another key do not.
func TestHMACBase64URL(t *testing.T) {
	key := []byte("merge-signature-key")
	v := &webhook.HMAC{Secrets: [][]byte{key}, Header: "X-Merge-Webhook-Signature", Encoding: webhook.Base64URL}
	for i := range 64 { // bodies whose MACs hold '-' and '_' in base64url
		body := []byte(fmt.Sprintf(`{"hook":{"event":"Employee.changed"},"n":%d}`, i))
		m := hmac.New(sha256.New, key)
		m.Write(body)
		mac := m.Sum(nil)
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding} {
			h := http.Header{"X-Merge-Webhook-Signature": {enc.EncodeToString(mac)}}
			if err := v.Verify(h, body, time.Now()); err != nil {
				t.Fatalf("body %d: %v", i, err)
			}
			if err := v.Verify(h, append(body, ' '), time.Now()); err == nil {
				t.Fatalf("body %d: a changed body verified", i)
			}
		}
		std := base64.StdEncoding.EncodeToString(mac)
		if std != base64.URLEncoding.EncodeToString(mac) {
			if err := v.Verify(http.Header{"X-Merge-Webhook-Signature": {std}}, body, time.Now()); err == nil {
				t.Fatalf("body %d: the standard alphabet verified as base64url", i)
			}
		}
	}
}
