package hrissync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// numbered lists n people, counting how many it was asked for.
func numbered(n int, read *atomic.Int64) iter.Seq2[Employee, error] {
	return func(yield func(Employee, error) bool) {
		for i := range n {
			read.Add(1)
			if !yield(Employee{ID: fmt.Sprint(i)}, nil) {
				return
			}
		}
	}
}

// TestBroadcast: every reader that ranges its branch to the end sees the
// whole list once, in order; a reader that stops, or never starts, holds
// nobody back; once every reader has left, the list is read no further.
func TestBroadcast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var read atomic.Int64
		b := newBroadcast(numbered(1000, &read), 3, 8)
		var wg sync.WaitGroup
		var full []string
		wg.Go(func() {
			for e, err := range b.branch(0) {
				if err != nil {
					t.Error(err)
				}
				full = append(full, e.ID)
			}
		})
		wg.Go(func() {
			n := 0
			for range b.branch(1) {
				if n++; n == 5 {
					break
				}
			}
		})
		b.leave(2) // never ranges
		wg.Wait()
		b.wait()
		if len(full) != 1000 || full[0] != "0" || full[999] != "999" {
			t.Fatalf("the reader that read to the end saw %d people", len(full))
		}
		if read.Load() != 1000 {
			t.Errorf("the list was read %d times for 1000 people", read.Load())
		}

		read.Store(0)
		b = newBroadcast(numbered(1000, &read), 2, 8)
		wg.Go(func() {
			for range b.branch(0) {
				break
			}
		})
		b.leave(1)
		wg.Wait()
		b.wait()
		if n := read.Load(); n > 20 {
			t.Errorf("with every reader gone the list was read on: %d people", n)
		}
	})
}

// TestSharedReads: a read begun after a sink's need serves it, in flight or
// ended; one begun before does not; a record behind the sink's event is read
// again rather than served.
func TestSharedReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sharedReads{clock: RealClock{}, reads: map[string]*sharedRead{}}
		var reads atomic.Int64
		var version atomic.Int64
		version.Store(1)
		read := func(context.Context) (Employee, error) {
			reads.Add(1)
			time.Sleep(time.Second) // a Source's round trip
			return Employee{ID: "w-1", Role: fmt.Sprint(version.Load())}, nil
		}
		served := func(Employee) bool { return true }
		ctx := t.Context()
		need := time.Now()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := s.get(ctx, "w-1", need, served, read); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if reads.Load() != 1 {
			t.Fatalf("three sinks at once read %d times, want 1", reads.Load())
		}
		if _, err := s.get(ctx, "w-1", need, served, read); err != nil || reads.Load() != 1 {
			t.Fatalf("a later sink with the same need: %v, %d reads; want the read served", err, reads.Load())
		}
		version.Store(2)
		if e, _ := s.get(ctx, "w-1", time.Now(), served, read); e.Role != "2" || reads.Load() != 2 {
			t.Fatalf("a need after the read: role %s, %d reads; want a new read", e.Role, reads.Load())
		}
		version.Store(3)
		wantThree := func(e Employee) bool { return e.Role == "3" }
		if e, _ := s.get(ctx, "w-1", need, wantThree, read); e.Role != "3" || reads.Load() != 3 {
			t.Fatalf("a record behind the sink's event: role %s, %d reads; want it read again", e.Role, reads.Load())
		}
		// An event while a read is in flight: a sink whose mark is older
		// than the read (a mark keeps its first time) must not be served
		// the read, which may predate the change.
		inFlight := make(chan struct{})
		wg.Go(func() {
			s.get(ctx, "w-1", time.Now(), served, func(ctx context.Context) (Employee, error) {
				close(inFlight)
				return read(ctx)
			})
		})
		<-inFlight
		s.changed("w-1")
		version.Store(4)
		if e, _ := s.get(ctx, "w-1", need, served, read); e.Role != "4" || reads.Load() != 5 {
			t.Fatalf("after an event during a read: role %s, %d reads; want a new read", e.Role, reads.Load())
		}
		wg.Wait()
		reads.Store(3)
		failing := func(context.Context) (Employee, error) { reads.Add(1); return Employee{}, ErrNotFound }
		if _, err := s.get(ctx, "w-2", need, served, failing); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := s.get(ctx, "w-2", need, served, failing); !errors.Is(err, ErrNotFound) || reads.Load() != 4 {
			t.Fatalf("a 404 is an answer to share: %v, %d reads", err, reads.Load())
		}
	})
}
