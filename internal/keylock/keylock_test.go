package keylock_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hrissync/hrissync/internal/keylock"
)

func TestOneHolderPerKey(t *testing.T) {
	var l keylock.Locks
	var inside [3]atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			for range 200 {
				k := i % 3
				l.Lock(string(rune('a' + k)))
				if inside[k].Add(1) > 1 {
					overlap.Store(true)
				}
				inside[k].Add(-1)
				l.Unlock(string(rune('a' + k)))
			}
		})
	}
	wg.Wait()
	if overlap.Load() {
		t.Fatal("two holders of one key at once")
	}
}

func TestTryLock(t *testing.T) {
	var l keylock.Locks
	if !l.TryLock("a") {
		t.Fatal("TryLock on a free key failed")
	}
	if l.TryLock("a") {
		t.Fatal("TryLock on a held key succeeded")
	}
	if !l.TryLock("b") {
		t.Fatal("keys are not independent")
	}
	l.Unlock("a")
	if !l.TryLock("a") {
		t.Fatal("TryLock after Unlock failed")
	}
}
