package hrissync

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Stats are the engine's counters since New.
type Stats struct {
	Events     int64 // events accepted by Notify
	Duplicates int64 // events dropped as repeats
	Alerts     int64 // alerts raised
	Deferred   int64 // reconciles put off by a pause, an open breaker or source lag
	Triggers   map[Trigger]TriggerStats
}

// TriggerStats counts one trigger's work.
type TriggerStats struct {
	Reconciles int64 // people looked at
	// NeededWrites are the writes a reconcile set out to make: one per
	// person per coalesced change, counted on the first attempt only.
	NeededWrites int64
	Writes       int64 // sink calls that succeeded
	Attempts     int64 // sink calls, failed ones included
	Retries      int64 // attempts after the first of their series
	DeadLetters  int64 // people whose retries ran out
	// Runs and FailedRuns count a poll's or batch's runs, and those that
	// failed: a failed batch is rerun once, and pages only if the rerun
	// fails too, so the first failure shows here and in the logs (Warn).
	Runs, FailedRuns int64
	// SourceCalls are the trigger's reads of the Source. With Attempts
	// they are its integration operations (Operations).
	SourceCalls SourceCalls
	// Latency runs from the HR change (or its taking effect) to the
	// sink's acknowledgement, over the writes made.
	Latency Percentiles
}

// Operations are the trigger's calls of either system — sink calls
// (Attempts, failed ones included) and Source calls — the unit an
// integration platform bills and rate-limits by, and the cost to compare
// cadences by.
func (t TriggerStats) Operations() int64 { return t.Attempts + t.SourceCalls.Total() }

// SourceCalls count calls of the Source, failed ones included. A List or
// ChangedSince whose Source reads its HRIS a page at a time (a Pager) counts
// one call per page read; otherwise one per call.
type SourceCalls struct {
	Get          int64 // Source.Get
	List         int64 // pages of the full list (Source.List, or Snapshotter.Snapshot)
	ChangedSince int64 // pages of Source.ChangedSince
}

// Total is every call counted.
func (c SourceCalls) Total() int64 { return c.Get + c.List + c.ChangedSince }

// Percentiles summarise a latency distribution.
type Percentiles struct {
	Count         int64
	P50, P99, Max time.Duration
}

// stats is the engine's mutable counters; Stats is its snapshot.
type stats struct {
	mu       sync.Mutex
	s        Stats
	latency  map[Trigger]*reservoir
	sampling *rand.Rand
}

func newStats() *stats {
	return &stats{
		s:        Stats{Triggers: map[Trigger]TriggerStats{}},
		latency:  map[Trigger]*reservoir{},
		sampling: rand.New(rand.NewPCG(1, 2)),
	}
}

func (s *stats) add(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.s)
}

func (s *stats) trigger(t Trigger, f func(*TriggerStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.s.Triggers[t]
	f(&ts)
	s.s.Triggers[t] = ts
}

func (s *stats) observe(t Trigger, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.latency[t]
	if !ok {
		r = &reservoir{}
		s.latency[t] = r
	}
	r.add(d, s.sampling)
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.s
	out.Triggers = make(map[Trigger]TriggerStats, len(s.s.Triggers))
	for t, ts := range s.s.Triggers {
		if r := s.latency[t]; r != nil {
			ts.Latency = r.percentiles()
		}
		out.Triggers[t] = ts
	}
	return out
}

// reservoir keeps a uniform sample of at most reservoirSize durations, and the
// exact count and maximum, so memory stays bounded in a long-running engine.
type reservoir struct {
	n      int64
	max    time.Duration
	sample []time.Duration
}

const reservoirSize = 1 << 16

func (r *reservoir) add(d time.Duration, rng *rand.Rand) {
	r.n++
	r.max = max(r.max, d)
	if len(r.sample) < reservoirSize {
		r.sample = append(r.sample, d)
		return
	}
	if i := rng.Int64N(r.n); i < reservoirSize {
		r.sample[i] = d
	}
}

func (r *reservoir) percentiles() Percentiles {
	s := slices.Clone(r.sample)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(int(q*float64(len(s))), len(s)-1)]
	}
	return Percentiles{Count: r.n, P50: at(0.50), P99: at(0.99), Max: r.max}
}
