package bamboohr_test

import (
	"testing"

	"github.com/hrissync/hrissync/connector/bamboohr"
)

// BenchmarkList reads a company of 2,000 from the fake over loopback HTTP,
// in pages of 100: 21 directory pages and 20 reports a list. The fake runs
// in the same process: the time and the allocations are both sides', the
// loopback's too.
func BenchmarkList(b *testing.B) {
	srv := newFake(b, fixed(t0))
	newHR(srv).set(peopleOf(2000))
	src := newSource(b, srv, 100, bamboohr.Config{})
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
