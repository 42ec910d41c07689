package bamboohr_test

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/sourcetest"
)

// TestConformance runs the Source conformance suite against the fake
// BambooHR company, written from BambooHR's reference apart from this
// connector.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		// BambooHR's lastChanged has whole seconds: HR's clock moves a
		// second with each change of the list, so that two changes of one
		// record do not share a version (two within one second would; see
		// the package doc).
		var mu sync.Mutex
		now := time.Now().Truncate(time.Second)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		srv := newFake(t, clock)
		company := newHR(srv)
		src := &swappable{}
		src.s.Store(newSource(t, srv, 0, bamboohr.Config{}))
		return sourcetest.Harness{
			Source: src,
			Set: func(people []hrissync.Employee) error {
				mu.Lock()
				now = now.Add(time.Second)
				mu.Unlock()
				company.set(people)
				return nil
			},
			// The directory pages at most 100 (Config.PageSize).
			Pages: func(n int) { src.s.Store(newSource(t, srv, min(n, 100), bamboohr.Config{})) },
		}
	})
}

// swappable is a Source whose page size the suite can change.
type swappable struct {
	s atomic.Pointer[bamboohr.Source]
}

func (w *swappable) Get(ctx context.Context, id string) (hrissync.Employee, error) {
	return w.s.Load().Get(ctx, id)
}

func (w *swappable) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return w.s.Load().List(ctx)
}

func (w *swappable) ChangedSince(ctx context.Context, since time.Time) iter.Seq2[hrissync.Employee, error] {
	return w.s.Load().ChangedSince(ctx, since)
}
