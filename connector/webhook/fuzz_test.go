package webhook_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/webhook"
)

func FuzzStandardWebhooks(f *testing.F) {
	f.Add(vecID, vecTS, vecSig, []byte(vecBody))
	f.Add("", "", "", []byte{})
	f.Add(vecID, "-1", "v1,", []byte("{}"))
	f.Add(vecID, vecTS, "v2,abc v1,"+vecSig[3:]+" v1", []byte(vecBody))
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	v.Tolerance = -1
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := v.Verify(headers(id, ts, sig), body, time.Now())
		if err != nil && !errors.Is(err, webhook.ErrUnauthenticated) {
			t.Fatalf("error of the wrong kind: %v", err)
		}
		// Only the one signed triple passes.
		if err == nil && (id != vecID || ts != vecTS || string(body) != vecBody) {
			t.Fatalf("forged delivery verified: id=%q ts=%q body=%q", id, ts, body)
		}
	})
}

func FuzzJSONDecoder(f *testing.F) {
	f.Add([]byte(`{"id":"e","type":"employee.updated","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"e","type":"employee.created","employeeId":"w","occurredAt":"2026-01-01T00:00:00Z","record":{"ID":"w","Status":"active"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := webhook.JSON{}.Decode(http.Header{}, body)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformed) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if ev.ID == "" || ev.EmployeeID == "" || ev.OccurredAt.IsZero() || ev.Type == "" {
			t.Fatalf("accepted an incomplete event: %+v", ev)
		}
	})
}
