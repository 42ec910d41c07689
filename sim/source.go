package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
)

// source is the HRIS as the engine reads it: the memory HRIS with the
// faults it cannot script itself. Some nights the full list is an export
// taken earlier (a stale export): it returns each record as it stood then,
// with its version then, and leaves out the people hired since. For some
// hours of one day, the per-person endpoint answers 404 for a share of the
// people (NotFound): the change listing and the full list still hold them,
// as when a security-group change strips the integration user's access to
// worker details but not to the change report.
type source struct {
	*memory.HRIS
	clock  *clocktest.Clock
	loc    *time.Location
	seed   uint64
	stale  map[hrissync.Date]time.Time // night → the export's as-of time
	notice *NotFound
	span   [2]time.Time // the 404 outage [from, to)

	mu      sync.Mutex
	history map[string][]hrissync.Employee // every version of each record, oldest first
	served  map[hrissync.Date]bool         // stale nights whose list was read
	behind  int                            // records a stale list served older than the HRIS held, or left out
	refused map[string]bool                // people answered 404
}

var _ hrissync.Source = (*source)(nil)

// staleWindow is how long after midnight a night's list is its stale export:
// the 02:00 batch and its 03:00 rerun read the same file.
const staleWindow = 5 * time.Hour

func newSource(h *memory.HRIS, clock *clocktest.Clock, cfg Config) *source {
	s := &source{HRIS: h, clock: clock, loc: cfg.Location, seed: cfg.Seed, stale: map[hrissync.Date]time.Time{},
		history: map[string][]hrissync.Employee{}, served: map[hrissync.Date]bool{}, refused: map[string]bool{}}
	f := cfg.Faults
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5354414c45))
	first := hrissync.DateOf(cfg.Start)
	// Not the last night: the changes a stale export misses come with
	// the next night's, and the run ends before the night after the last.
	for day := 1; day < cfg.Days; day++ {
		if f.StaleExports > 0 && rng.Float64() < f.StaleExports {
			date := first.AddDays(day)
			lag := f.StaleBy[0]
			if spread := f.StaleBy[1] - f.StaleBy[0]; spread > 0 {
				lag += time.Duration(rng.Int64N(int64(spread)))
			}
			s.stale[date] = date.Start(cfg.Location).Add(2 * time.Hour).Add(-lag)
		}
	}
	if n := f.NotFound; n != nil && n.Share > 0 {
		s.notice = n
		from := first.AddDays(n.Day).Start(cfg.Location).Add(n.At)
		s.span = [2]time.Time{from, from.Add(n.Length)}
	}
	return s
}

// remember keeps a version of a record, for the stale exports.
func (s *source) remember(e hrissync.Employee) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history[e.ID] = append(s.history[e.ID], e.Clone())
}

// affected reports whether the 404 outage hides id: a share of the people,
// chosen by the seed, the same all through the outage.
func (s *source) affected(id string) bool {
	if s.notice == nil {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", s.seed, id)
	return float64(h.Sum64()%10000) < s.notice.Share*10000
}

// refusing reports whether Get answers 404 for id at t.
func (s *source) refusing(id string, t time.Time) bool {
	return s.notice != nil && !t.Before(s.span[0]) && t.Before(s.span[1]) && s.affected(id)
}

// Get implements hrissync.Source.
func (s *source) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	if s.refusing(id, s.clock.Now()) {
		s.mu.Lock()
		s.refused[id] = true
		s.mu.Unlock()
		return hrissync.Employee{}, fmt.Errorf("sim: %s: %w (outage)", id, hrissync.ErrNotFound)
	}
	return s.HRIS.Get(ctx, id)
}

// List implements hrissync.Source: on a stale night, the export as of its
// snapshot time.
// Snapshot implements hrissync.Snapshotter: the full list with the time it
// was taken — a stale night's export time, as a file export would say.
func (s *source) Snapshot(ctx context.Context) (time.Time, iter.Seq2[hrissync.Employee, error], error) {
	now := s.clock.Now()
	night := hrissync.DateOf(now.In(s.loc))
	if asOf, stale := s.stale[night]; stale && now.Sub(night.Start(s.loc)) < staleWindow {
		return asOf, s.List(ctx), nil
	}
	return now, s.List(ctx), nil
}

func (s *source) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	now := s.clock.Now()
	night := hrissync.DateOf(now.In(s.loc))
	asOf, stale := s.stale[night]
	if !stale || now.Sub(night.Start(s.loc)) >= staleWindow {
		return s.HRIS.List(ctx)
	}
	live := s.HRIS.List(ctx)
	return func(yield func(hrissync.Employee, error) bool) {
		// The live list only for its outage: an unreachable HRIS
		// cannot serve an old file either.
		next, stop := iter.Pull2(live)
		_, err, ok := next()
		stop()
		if ok && err != nil {
			yield(hrissync.Employee{}, err)
			return
		}
		s.mu.Lock()
		ids := make([]string, 0, len(s.history))
		for id := range s.history {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var out []hrissync.Employee
		for _, id := range ids {
			h := s.history[id]
			i := len(h) - 1
			for i >= 0 && h[i].Version.Time.After(asOf) {
				i--
			}
			if i < len(h)-1 && !s.served[night] {
				s.behind++
			}
			if i >= 0 {
				out = append(out, h[i].Clone())
			}
		}
		s.served[night] = true
		s.mu.Unlock()
		for _, e := range out {
			if err := ctx.Err(); err != nil {
				yield(hrissync.Employee{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}
