package merge_test

import (
	"testing"
)

// BenchmarkList reads a linked account of 2,000 employees from the fake
// over loopback HTTP, in pages of 100 with employments, team and location
// expanded: 20 requests a list. The fake runs in the same process: the time
// and the allocations are both sides', the loopback's too.
func BenchmarkList(b *testing.B) {
	srv := newFake(b, fixed(t0))
	for _, e := range peopleOf(2000) {
		put(srv, e)
	}
	src := newSource(b, srv, 100, fixed(t0))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range src.List(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 2000 {
			b.Fatalf("%d people", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/person")
}
