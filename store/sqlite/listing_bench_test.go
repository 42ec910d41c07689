package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// BenchmarkBatchChunk is what the nightly batch asks of the Store for one
// chunk of 512 people, all settled, of 20,000 provisioned: Lookup or
// Summaries to read them, Listed to mark them listed by the run.
func BenchmarkBatchChunk(b *testing.B) {
	const n, chunk = 20_000, 512
	path := largeStore(b, n)
	st, err := sqlite.Open(context.Background(), path, &sqlite.Options{SkipCheck: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ids := func(i int) []string {
		out := make([]string, chunk)
		for k := range out {
			out[k] = fmt.Sprintf("w-%06d", (i*chunk+k)%n)
		}
		return out
	}
	b.Run("Lookup", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.Lookup(ctx, "default", ids(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Summaries", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.Summaries(ctx, "default", ids(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Listed", func(b *testing.B) {
		i := 0
		for b.Loop() {
			ls := make([]store.Listing, chunk)
			for k, id := range ids(i) {
				ls[k] = store.Listing{ID: id, Run: fmt.Sprintf("run-%d/1", i/(n/chunk)), Digest: "d-" + id}
			}
			if err := st.Listed(ctx, "default", ls); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
