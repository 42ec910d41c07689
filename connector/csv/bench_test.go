package csv_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hrissync/hrissync/connector/csv"
)

// BenchmarkRead1M reads a generated 1,000,000-row export (about 110 MB) and
// reports rows per second and the peak heap in use while reading, sampled
// every 50,000 rows: the memory must not grow with the file.
func BenchmarkRead1M(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Worker ID,Employee Number,Email,First Name,Last Name,Status,Hire Date,Job Title,Manager ID,Department,Location,attr.skill.go,attr.performanceRating")
	for i := range rows {
		fmt.Fprintf(w, "w-%07d,%d,person%d@example.com,Given%d,Family%d,active,2020-01-06,Engineer,w-%07d,R&D,Paris,%d,%d\n",
			i, 100000+i, i, i, i, i/7, 1+i%5, 1+i%5)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(path)
	src, err := csv.Open(b.Context(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		n := 0
		for _, err := range src.List(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			if n++; n%50_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
}
