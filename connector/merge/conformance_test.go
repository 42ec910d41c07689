package merge_test

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/sourcetest"
)

// TestConformance runs the Source conformance suite against the fake Merge
// linked account, written from Merge's reference apart from this connector.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		// Merge's clock moves a second with each change of the list.
		var mu sync.Mutex
		now := time.Now().Truncate(time.Second)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		srv := newFake(t, clock)
		held := map[string]bool{}
		src := &swappable{}
		src.s.Store(newSource(t, srv, 0, clock))
		return sourcetest.Harness{
			Source: src,
			Set: func(people []hrissync.Employee) error {
				mu.Lock()
				now = now.Add(time.Second)
				mu.Unlock()
				keep := map[string]bool{}
				for _, e := range people {
					keep[e.ID] = true
					put(srv, e)
					held[e.ID] = true
				}
				for id := range held {
					if !keep[id] {
						srv.DeleteEmployee("R" + id)
						delete(held, id)
					}
				}
				return nil
			},
			// Merge pages at most 100.
			Pages: func(n int) { src.s.Store(newSource(t, srv, min(n, 100), clock)) },
		}
	})
}

// swappable is a Source whose page size the suite can change.
type swappable struct{ s atomic.Pointer[merge.Source] }

func (w *swappable) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	return w.s.Load().Get(ctx, id)
}

func (w *swappable) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return w.s.Load().List(ctx)
}

func (w *swappable) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return w.s.Load().ChangedSince(ctx, since)
}
