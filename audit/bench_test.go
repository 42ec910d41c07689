package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hrissync/hrissync/audit"
)

// BenchmarkAppend measures durable audit appends: with an fsync per entry,
// and with one per Record call of 64 entries (how the engine hands over its
// outbox under load). Reported as entries/s.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name  string
		sync  audit.Sync
		batch int
	}{{"sync=each-entry", audit.SyncEachEntry, 1}, {"sync=each-record/batch=1", audit.SyncEachRecord, 1}, {"sync=each-record/batch=64", audit.SyncEachRecord, 64}} {
		b.Run(c.name, func(b *testing.B) {
			l, err := audit.OpenLog(b.Context(), filepath.Join(b.TempDir(), "audit.jsonl"), &audit.LogOptions{Sync: c.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			n := 0
			for b.Loop() {
				batch := make([]audit.Entry, c.batch)
				for i := range batch {
					n++
					batch[i] = entry(n, "acme")
					batch[i].ID = fmt.Sprint(n)
				}
				if err := l.Record(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
