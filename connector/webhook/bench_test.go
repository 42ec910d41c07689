package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

// BenchmarkLoopback measures accepted deliveries per second, and the accept
// latency percentiles, for signed deliveries over loopback HTTP from 64
// concurrent senders that reuse their connections and do not ask for
// compression: into the memory store and into the SQLite store.
func BenchmarkLoopback(b *testing.B) {
	for _, name := range []string{"memory", "sqlite"} {
		b.Run("store="+name, func(b *testing.B) {
			var st store.Store = memstore.New()
			if name == "sqlite" {
				s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st = s
			}
			clock := hrissync.RealClock{}
			eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), st,
				&hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			v, _ := webhook.NewStandardWebhooks(vecSecret)
			h, _ := webhook.New(eng, v, &webhook.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			const senders = 64
			var next atomic.Int64
			lat := make([][]time.Duration, senders)
			var wg sync.WaitGroup
			b.ResetTimer()
			for s := range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						body := event(fmt.Sprintf("evt-%d", i), fmt.Sprintf("w-%d", i%5000))
						req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
						req.Header = sign(vecSecret, fmt.Sprintf("msg-%d", i), time.Now(), body)
						start := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusNoContent {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
						lat[s] = append(lat[s], time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "accepts/s")
				b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkDeliveries measures events per second through the handler, one
// event per delivery against batches of 100 (a JSON array), each delivery
// signed by the Standard Webhooks library and posted over loopback HTTP into
// a SQLite file, by one sender delivering in order (as many HR systems do
// per endpoint) and by 16 concurrent senders reusing their connections —
// whose single events the SQLite store's group committer already commits
// together. One op is one delivery; events/s counts the events the engine
// accepted.
func BenchmarkDeliveries(b *testing.B) {
	for _, senders := range []int{1, 16} {
		for _, size := range []int{1, 100} {
			b.Run(fmt.Sprintf("senders=%d/events=%d", senders, size), func(b *testing.B) { deliveries(b, senders, size) })
		}
	}
}

func deliveries(b *testing.B, senders, size int) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	discard := slog.New(slog.DiscardHandler)
	clock := hrissync.RealClock{}
	eng, err := hrissync.New(memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1), s, &hrissync.Config{Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	v, _ := webhook.NewStandardWebhooks(vecSecret)
	h, _ := webhook.New(eng, v, &webhook.Config{Logger: discard})
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}
	want := http.StatusNoContent
	if size > 1 {
		want = http.StatusOK
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range senders {
		wg.Go(func() {
			buf := make([]byte, 0, size*160)
			for {
				d := next.Add(1)
				if d > int64(b.N) {
					return
				}
				buf = buf[:0]
				if size > 1 {
					buf = append(buf, '[')
				}
				for k := range size {
					if k > 0 {
						buf = append(buf, ',')
					}
					i := int(d)*size + k
					buf = append(buf, event(fmt.Sprintf("evt-%d", i), fmt.Sprintf("w-%d", i%5000))...)
				}
				if size > 1 {
					buf = append(buf, ']')
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(buf))
				req.Header = sign(vecSecret, fmt.Sprintf("msg-%d", d), time.Now(), buf)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if got := eng.Stats().Events; got != int64(b.N*size) {
		b.Fatalf("%d events accepted, want %d", got, b.N*size)
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}
