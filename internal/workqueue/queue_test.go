package workqueue_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync/internal/workqueue"
)

func realQueue() *workqueue.Queue {
	return workqueue.New(time.Now, func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop })
}

// run starts q in the background and returns a function that stops it and
// waits for Run to return.
func run(t *testing.T, q *workqueue.Queue, limit int, work func(ctx context.Context, id string)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx, limit, work) }()
	return func() { cancel(); <-done }
}

func TestAddWhilePendingRunsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		for range 5 {
			q.Add("w1")
		}
		q.Add("w2")
		var mu sync.Mutex
		runs := map[string]int{}
		stop := run(t, q, 4, func(_ context.Context, id string) {
			mu.Lock()
			runs[id]++
			mu.Unlock()
		})
		synctest.Wait()
		stop()
		if runs["w1"] != 1 || runs["w2"] != 1 {
			t.Errorf("runs = %v, want each id once", runs)
		}
	})
}

func TestAddWhileRunningRunsOnceMoreAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		started, release := make(chan struct{}), make(chan struct{})
		var runs atomic.Int32
		stop := run(t, q, 4, func(_ context.Context, id string) {
			if runs.Add(1) == 1 {
				close(started)
				<-release
			}
		})
		q.Add("w1")
		<-started
		q.Add("w1") // while it runs: must run again afterwards, once
		q.Add("w1")
		synctest.Wait()
		if n := runs.Load(); n != 1 {
			t.Fatalf("ran %d times while the first run was in hand, want 1", n)
		}
		close(release)
		synctest.Wait()
		stop()
		if n := runs.Load(); n != 2 {
			t.Errorf("runs = %d, want 2", n)
		}
	})
}

func TestNeverTwiceAtOnceUnderLoad(t *testing.T) {
	// Real goroutines and -race: many adders, few ids, many workers.
	q := realQueue()
	var active [4]atomic.Int32
	var overlap atomic.Bool
	var total atomic.Int64
	stop := run(t, q, 16, func(_ context.Context, id string) {
		i := int(id[0] - 'a')
		if active[i].Add(1) > 1 {
			overlap.Store(true)
		}
		time.Sleep(50 * time.Microsecond)
		active[i].Add(-1)
		total.Add(1)
	})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				q.Add(string(rune('a' + (w+i)%4)))
			}
		})
	}
	wg.Wait()
	if err := q.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop()
	if overlap.Load() {
		t.Fatal("an id was worked on by two workers at once")
	}
	if n := total.Load(); n < 4 || n > 4000 {
		t.Errorf("total runs = %d, want between 4 and 4000", n)
	}
}

func TestLimitBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		var now, peak atomic.Int32
		stop := run(t, q, 3, func(context.Context, string) {
			n := now.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Second)
			now.Add(-1)
		})
		for i := range 20 {
			q.Add(fmt.Sprint(i))
		}
		time.Sleep(time.Minute)
		stop()
		if p := peak.Load(); p != 3 {
			t.Errorf("peak concurrency = %d, want 3", p)
		}
	})
}

func TestDelayedRequeue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		stop := run(t, q, 2, func(_ context.Context, id string) {
			mu.Lock()
			at = append(at, time.Since(start))
			mu.Unlock()
		})
		q.AddAt("w1", start.Add(60*time.Second))
		q.AddAt("w1", start.Add(90*time.Second)) // later: the earlier time stands
		q.AddAt("w2", start.Add(120*time.Second))
		q.AddAt("w2", start.Add(30*time.Second)) // earlier: replaces
		time.Sleep(59 * time.Second)
		synctest.Wait()
		mu.Lock()
		if len(at) != 1 || at[0] != 30*time.Second {
			t.Errorf("by 59s ran at %v, want only w2 at 30s", at)
		}
		mu.Unlock()
		time.Sleep(5 * time.Minute)
		stop()
		if len(at) != 2 || at[1] != 60*time.Second {
			t.Errorf("ran at %v, want 30s and 60s, each id once", at)
		}
	})
}

func TestAddCancelsWaitingTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		var runs atomic.Int32
		stop := run(t, q, 1, func(context.Context, string) { runs.Add(1) })
		q.AddAt("w1", time.Now().Add(time.Minute))
		q.Add("w1")
		time.Sleep(2 * time.Minute)
		stop()
		if n := runs.Load(); n != 1 {
			t.Errorf("runs = %d, want 1: the immediate add replaces the timer", n)
		}
	})
}

// BenchmarkAddAndRun measures an id's trip through the queue: Add, handed
// to a worker, done; 8 workers, 1,000 distinct ids.
func BenchmarkAddAndRun(b *testing.B) {
	q := realQueue()
	var done atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { q.Run(ctx, 8, func(context.Context, string) { done.Add(1) }); close(finished) }()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprint("w-", i)
	}
	i := 0
	for b.Loop() {
		q.Add(ids[i%len(ids)])
		i++
	}
	q.WaitIdle(context.Background())
	cancel()
	<-finished
	b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "runs/s")
}

// A Stop is for good: one that lands before Run (an engine shut down during
// its start-up) is not undone by it, and ids added after it are not taken —
// nor do they leave timers behind.
func TestStopSticks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := realQueue()
		q.Add("w1")
		q.Stop()
		q.Add("w2")
		q.AddAt("w3", time.Now().Add(time.Minute))
		var runs atomic.Int32
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			_ = q.Run(context.Background(), 1, func(context.Context, string) { runs.Add(1) })
		}()
		synctest.Wait()
		select {
		case <-returned:
		default:
			t.Fatal("Run after Stop did not return")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n := runs.Load(); n != 0 {
			t.Errorf("a stopped queue ran %d ids", n)
		}
		if ready, processing, waiting := q.Len(); ready+processing+waiting != 0 {
			t.Errorf("a stopped queue holds ready %d, processing %d, waiting %d", ready, processing, waiting)
		}
	})
}
