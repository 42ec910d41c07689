package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"iter"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
)

// Sink is one platform of a simulation of several (Config.Sinks): a memory
// Platform of its own, kept by the one engine (hrissync.NewMulti) as a
// Destination of this name, policy and scope. The oracle checks each
// platform apart: it must end holding exactly the people in its scope, as
// the HRIS says, and nobody out of it with access.
type Sink struct {
	Name   string         // required, unique
	Policy cadence.Policy // default Config.Policy
	// InScope says who belongs on this platform (Destination.InScope);
	// default everyone. Someone leaving its scope must lose access there;
	// someone never in it must never be written there.
	InScope func(hrissync.Employee) bool
	// Faults are this platform's own failures; nil means the Config's
	// (Faults.SinkErrors, the throttle bursts, SinkRateLimit), with the
	// same throttle bursts as the first sink and errors drawn apart.
	Faults *SinkFaults
}

// SinkFaults are the failures of one platform of several.
type SinkFaults struct {
	Errors float64 // share of writes failing with a 503
	// ThrottleBursts is how many bursts of 429s hit the platform per
	// week, each ThrottleLength long, answering Retry-After
	// ThrottleRetryAfter.
	ThrottleBursts     int
	ThrottleLength     time.Duration
	ThrottleRetryAfter time.Duration
	RateLimit          float64  // writes per second; more are answered 429
	Down               []Outage // every write fails
}

// target is one platform the simulation keeps, and what the oracle expects
// of it. The simulation's mu guards its maps and counters.
type target struct {
	name     string // "" for the single sink of a simulation without Sinks
	policy   cadence.Policy
	inScope  func(hrissync.Employee) bool
	faults   *SinkFaults
	platform *memory.Platform

	expected   map[string]platformView
	pending    map[string][]*Expectation // by person + "\x00" + field
	done       []*Expectation
	writeTimes []time.Time // every successful write, for the storm's figures
	// premature counts writes that gave or removed access when the HR
	// record said otherwise at that instant (or gave it to someone out of
	// the platform's scope).
	premature int
	// falselyOff counts deactivations of people HR said should have
	// access at that instant.
	falselyOff int
	// strays counts writes to someone out of the platform's scope at
	// that instant other than ending their access there.
	strays int
	// written are the people the platform was ever written for; created
	// when the oracle first expected each to have an account.
	written map[string]bool
	created map[string]time.Time
}

func newTarget(name string, policy cadence.Policy, inScope func(hrissync.Employee) bool, faults *SinkFaults) *target {
	return &target{name: name, policy: policy, inScope: inScope, faults: faults,
		expected: map[string]platformView{}, pending: map[string][]*Expectation{},
		written: map[string]bool{}, created: map[string]time.Time{}}
}

// scoped reports whether e belongs on t's platform.
func (t *target) scoped(e hrissync.Employee) bool { return t.inScope == nil || t.inScope(e) }

// view is what t's platform should show for e, given v, what any platform
// should show for e: nothing new out of its scope — the account it held
// disabled, its fields left as they were — and no field its policy
// ignores.
func (t *target) view(e hrissync.Employee, v view) view {
	if !t.scoped(e) {
		return view{active: false, fields: t.expected[e.ID].fields}
	}
	cloned := false
	for f := range v.fields {
		if t.policy.Class(f) == cadence.Ignore {
			if !cloned {
				v.fields, cloned = maps.Clone(v.fields), true
			}
			delete(v.fields, f)
		}
	}
	return v
}

// platformSeed is the seed of the i-th platform's faults: the simulation's
// for the first, as with one sink; for the others, one drawn from the name.
func platformSeed(seed uint64, i int, name string) uint64 {
	if i == 0 {
		return seed
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, name)
	return h.Sum64()
}

// sinkFaults are t's platform faults: its own, its throttle bursts drawn
// from its own generator, or else the Config's, whose bursts (throttles)
// were drawn for every platform alike.
func (s *simulation) sinkFaults(i int, t *target, throttles []memory.Throttle) memory.SinkFaults {
	f := s.cfg.Faults
	if t.faults == nil {
		return memory.SinkFaults{ErrorRate: f.SinkErrors, RateLimit: f.SinkRateLimit, Throttles: throttles}
	}
	tf := t.faults
	sf := memory.SinkFaults{ErrorRate: tf.Errors, RateLimit: tf.RateLimit}
	rng := rand.New(rand.NewPCG(platformSeed(s.cfg.Seed, i, t.name), 0x5448524f54))
	weeks := (s.cfg.Days + 6) / 7
	for range tf.ThrottleBursts * weeks {
		day := hrissync.DateOf(s.cfg.Start).AddDays(rng.IntN(s.cfg.Days))
		from := workingTime(rng, day, s.cfg.Location)
		sf.Throttles = append(sf.Throttles, memory.Throttle{Span: memory.Span{From: from, To: from.Add(tf.ThrottleLength)}, RetryAfter: tf.ThrottleRetryAfter})
	}
	for _, o := range tf.Down {
		from := hrissync.DateOf(s.cfg.Start).AddDays(o.Day).Start(s.cfg.Location).Add(o.At)
		sf.Outages = append(sf.Outages, memory.Span{From: from, To: from.Add(o.Length)})
	}
	return sf
}

// SourceReads count the calls of the Source as the Source saw them — not as
// the engine counts them — and the records its listings yielded.
type SourceReads struct {
	Get, List, Snapshot, ChangedSince int64
	// Listed are the records the listings (List, Snapshot,
	// ChangedSince) yielded.
	Listed int64
	// Repeats are the Gets of a person the Source had already been asked
	// for at that same instant (on the simulation's clock): a read that
	// one before it could have served.
	Repeats int64
}

// Total is every call.
func (r SourceReads) Total() int64 { return r.Get + r.List + r.Snapshot + r.ChangedSince }

func (r SourceReads) minus(b SourceReads) SourceReads {
	return SourceReads{Get: r.Get - b.Get, List: r.List - b.List, Snapshot: r.Snapshot - b.Snapshot,
		ChangedSince: r.ChangedSince - b.ChangedSince, Listed: r.Listed - b.Listed, Repeats: r.Repeats - b.Repeats}
}

func (r SourceReads) String() string {
	return fmt.Sprintf("get=%d (repeated at one instant %d) list=%d snapshot=%d changed_since=%d (records listed %d)",
		r.Get, r.Repeats, r.List, r.Snapshot, r.ChangedSince, r.Listed)
}

// counting is the Source as the engine is given it: the simulated HRIS,
// every call counted.
type counting struct {
	src                                   *source
	get, list, snapshot, changed, records atomic.Int64

	mu      sync.Mutex
	lastGet map[string]time.Time // each person's last Get, on the clock
	repeats int64
}

var (
	_ hrissync.Source      = (*counting)(nil)
	_ hrissync.Snapshotter = (*counting)(nil)
)

func (c *counting) reads() SourceReads {
	c.mu.Lock()
	defer c.mu.Unlock()
	return SourceReads{Get: c.get.Load(), List: c.list.Load(), Snapshot: c.snapshot.Load(),
		ChangedSince: c.changed.Load(), Listed: c.records.Load(), Repeats: c.repeats}
}

func (c *counting) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	c.get.Add(1)
	now := c.src.clock.Now()
	c.mu.Lock()
	if last, ok := c.lastGet[id]; ok && last.Equal(now) {
		c.repeats++
	}
	c.lastGet[id] = now
	c.mu.Unlock()
	return c.src.Get(ctx, id)
}

func (c *counting) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	c.list.Add(1)
	return c.count(c.src.List(ctx))
}

func (c *counting) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	c.snapshot.Add(1)
	asOf, list, err := c.src.Snapshot(ctx)
	if err != nil {
		return asOf, list, err
	}
	return asOf, c.count(list), nil
}

func (c *counting) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	c.changed.Add(1)
	return c.count(c.src.ChangedSince(ctx, since))
}

func (c *counting) count(list iter.Seq2[hrissync.Employee, error]) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		for rec, err := range list {
			if err == nil {
				c.records.Add(1)
			}
			if !yield(rec, err) {
				return
			}
		}
	}
}
