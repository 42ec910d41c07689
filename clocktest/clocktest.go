// Package clocktest provides a fake [hrissync.Clock] for tests and
// simulations, as net/http/httptest provides test servers: a Clock that
// moves only when advanced, so a test decides when every timer fires.
//
// Timers fire in time order (first set, first fired among timers due at the
// same instant), from the goroutine that advances the clock, with the clock
// reading each timer's due time while it runs. A callback that hands work to
// the engine has therefore done so before AdvanceTo returns; a callback must
// not block waiting for another advance.
//
// The simulator (package sim) runs a month on one of these by advancing it
// from timer to timer with [Clock.Next] and [Clock.AdvanceTo]. Tests that
// run the engine inside a testing/synctest bubble need no fake clock: the
// real one is fake there.
//
// clocktest imports only the root package, for the Clock and Timer
// interfaces; the root imports nothing of it.
package clocktest

import (
	"container/heap"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
)

// Clock is a fake hrissync.Clock that only moves when advanced. Timers fire
// in time order, from the goroutine that advances the clock, so a callback
// that hands work to the engine has done so before AdvanceTo returns. A
// Clock is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    int64
}

var _ hrissync.Clock = (*Clock)(nil)

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements hrissync.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements hrissync.Clock. A timer due now or earlier fires on
// the next Advance.
func (c *Clock) AfterFunc(d time.Duration, f func()) hrissync.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return t
}

// Next returns when the earliest pending timer is due, and false if no
// timer is pending.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// AdvanceTo moves the clock to t, firing every timer due by then in order,
// each with the clock reading its due time. It never moves the clock back.
func (c *Clock) AdvanceTo(t time.Time) {
	for c.fire(t) {
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// Step fires the earliest pending timer alone, moving the clock to its due
// time, and reports whether there was one. A simulation that waits for the
// engine to be idle after each Step sees timers due at one instant handled
// one after the other, in the order they were set, rather than together:
// the same run on any machine, whatever the scheduler does.
func (c *Clock) Step() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	limit := c.timers[0].at
	c.mu.Unlock()
	return c.fire(limit)
}

// fire fires the earliest pending timer if it is due by limit, moving the
// clock to its due time (never back), and reports whether it did. The
// callback runs without the lock, so that it may set timers.
func (c *Clock) fire(limit time.Time) bool {
	c.mu.Lock()
	if len(c.timers) == 0 || c.timers[0].at.After(limit) {
		c.mu.Unlock()
		return false
	}
	next := heap.Pop(&c.timers).(*timer)
	next.index = -1
	if next.at.After(c.now) {
		c.now = next.at
	}
	c.mu.Unlock()
	next.f()
	return true
}

type timer struct {
	c     *Clock
	at    time.Time
	seq   int64 // FIFO among timers due at the same instant
	f     func()
	index int
}

// Stop implements hrissync.Timer.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	t.index = -1
	return true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
