// Package keylock locks by key: one person is never reconciled by two
// goroutines at once, whichever trigger called for it.
package keylock

import "sync"

// Locks is a set of per-key mutexes. The zero value is ready.
type Locks struct {
	mu   sync.Mutex
	held map[string]*entry
}

type entry struct {
	mu   sync.Mutex
	refs int // holders and waiters
}

// Lock blocks until key is free, then holds it.
func (l *Locks) Lock(key string) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*entry{}
	}
	e, ok := l.held[key]
	if !ok {
		e = &entry{}
		l.held[key] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
}

// TryLock holds key if nobody holds or waits for it, without blocking.
func (l *Locks) TryLock(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]*entry{}
	}
	if _, busy := l.held[key]; busy {
		return false
	}
	e := &entry{refs: 1}
	e.mu.Lock()
	l.held[key] = e
	return true
}

// Unlock releases key, which must be held.
func (l *Locks) Unlock(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.held[key]
	e.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(l.held, key)
	}
}
