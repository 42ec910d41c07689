package postgres

import (
	"testing"

	"github.com/hrissync/hrissync/store"
)

// BenchmarkCanonical is what reading a mark adds to a row's check: the
// jsonb text PostgreSQL returns, decoded and encoded again to be summed.
func BenchmarkCanonical(b *testing.B) {
	js := []byte(`{"Since": "2026-12-02T09:00:00Z", "Classes": 1, "EventID": "e-1", "Trigger": "realtime", "Generation": 0, "MinVersion": {"Seq": 3, "Time": "2026-12-02T09:00:03Z"}}`)
	for b.Loop() {
		if _, ok := canonical[store.Mark](js); !ok {
			b.Fatal("does not decode")
		}
	}
}
