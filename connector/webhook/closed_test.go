package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/webhook"
)

// A delivery to a shut-down engine is answered 503 with Retry-After, and
// nothing is recorded: the sender retries, and another replica or the
// restarted engine takes it.
func TestShutDownEngineAnswers503(t *testing.T) {
	r := newRig(t, webhook.Config{RetryAfter: 45 * time.Second})
	if err := r.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	body := event("evt-1", "w-1")
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header = sign(vecSecret, "msg-1", time.Now(), body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "45" {
		t.Errorf("Retry-After %q, want 45", got)
	}
	if n := r.recorded(t); n != 0 {
		t.Errorf("%d people recorded, want none", n)
	}
	if s := r.eng.Stats(); s.Events != 0 {
		t.Errorf("Stats.Events = %d, want 0", s.Events)
	}
}
