package audit_test

import (
	"context"
	"crypto/ed25519"
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

// BenchmarkAppendCheckpointed measures the price of signed checkpoints:
// the same appends as BenchmarkAppend's sync=each-record cases, without
// checkpoints and with one every 100 entries handed to a FileWitness (its
// own fsync per checkpoint) in another directory. Reported as entries/s;
// compare the pairs from one run.
func BenchmarkAppendCheckpointed(b *testing.B) {
	seed := [32]byte{1}
	key := ed25519.NewKeyFromSeed(seed[:])
	for _, batch := range []int{64, 1} {
		for _, on := range []bool{false, true} {
			name := fmt.Sprintf("batch=%d/checkpoints=off", batch)
			if on {
				name = fmt.Sprintf("batch=%d/checkpoints=every-100", batch)
			}
			b.Run(name, func(b *testing.B) {
				opts := &audit.LogOptions{}
				if on {
					w := &audit.FileWitness{Path: filepath.Join(b.TempDir(), "witness.jsonl")}
					defer w.Close()
					opts.Checkpoints = audit.CheckpointOptions{Signer: key, KeyID: "bench", Witness: w, Every: 100}
				}
				l, err := audit.OpenLog(b.Context(), filepath.Join(b.TempDir(), "audit.jsonl"), opts)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				n := 0
				for b.Loop() {
					entries := make([]audit.Entry, batch)
					for i := range entries {
						n++
						entries[i] = entry(n, "acme")
						entries[i].ID = fmt.Sprint(n)
					}
					if err := l.Record(context.Background(), entries); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
				if on {
					if behind, err := l.WitnessBehind(); err != nil {
						b.Fatalf("witness %d behind: %v", behind, err)
					}
				}
			})
		}
	}
}
