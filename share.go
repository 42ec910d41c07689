package hrissync

import (
	"context"
	"slices"
	"sync"
)

// Share bounds the reconciles in flight across several engines — the
// tenants of one process — and shares them fairly: when a slot frees, it goes
// to the waiting tenant holding the fewest (the one waited longest among
// equals), and no tenant holds more than its cap. A customer flooding the
// process with events, or one whose platform hangs, gets its share and no
// more; the others keep theirs.
//
// Give the same Share to every tenant's Config.Share. It is safe for
// concurrent use.
type Share struct {
	mu      sync.Mutex
	limit   int
	cap     int
	busy    int
	held    map[string]int
	waiting map[string][]chan struct{}
	turns   []string // tenants with waiters, in the order they began waiting
}

// NewShare returns a Share of limit slots, of which one tenant may hold at
// most perTenant (0: limit).
func NewShare(limit, perTenant int) *Share {
	limit = max(limit, 1)
	if perTenant <= 0 || perTenant > limit {
		perTenant = limit
	}
	return &Share{limit: limit, cap: perTenant, held: map[string]int{}, waiting: map[string][]chan struct{}{}}
}

// acquire blocks until tenant holds a slot, or ctx ends.
func (s *Share) acquire(ctx context.Context, tenant string) error {
	s.mu.Lock()
	if s.busy < s.limit && s.held[tenant] < s.cap && len(s.waiting[tenant]) == 0 && len(s.turns) == 0 {
		s.busy++
		s.held[tenant]++
		s.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	if len(s.waiting[tenant]) == 0 {
		s.turns = append(s.turns, tenant)
	}
	s.waiting[tenant] = append(s.waiting[tenant], ready)
	s.grant()
	s.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ready: // granted meanwhile: hand it back
			s.releaseLocked(tenant)
		default:
			q := s.waiting[tenant]
			s.waiting[tenant] = slices.DeleteFunc(q, func(c chan struct{}) bool { return c == ready })
			if len(s.waiting[tenant]) == 0 {
				s.turns = slices.DeleteFunc(s.turns, func(t string) bool { return t == tenant })
			}
		}
		return ctx.Err()
	}
}

func (s *Share) release(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(tenant)
}

func (s *Share) releaseLocked(tenant string) {
	s.busy--
	if s.held[tenant]--; s.held[tenant] == 0 {
		delete(s.held, tenant)
	}
	s.grant()
}

// grant hands free slots to waiting tenants, fewest held first; s.mu is
// held.
func (s *Share) grant() {
	for s.busy < s.limit {
		best := -1
		for i, t := range s.turns {
			if s.held[t] < s.cap && (best < 0 || s.held[t] < s.held[s.turns[best]]) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		t := s.turns[best]
		ready := s.waiting[t][0]
		s.waiting[t] = s.waiting[t][1:]
		s.turns = slices.Delete(s.turns, best, best+1)
		if len(s.waiting[t]) > 0 {
			s.turns = append(s.turns, t) // to the back of the line
		} else {
			delete(s.waiting, t)
		}
		s.busy++
		s.held[t]++
		close(ready)
	}
}
