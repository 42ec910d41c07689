package hrissync

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hrissync/hrissync/retry"
)

// guard protects the sink as a whole: a Retry-After pause applies to every
// write, and a circuit breaker stops writes after consecutive failures until a
// probe succeeds.
type guard struct {
	failures int
	cooldown time.Duration
	// floor is the shortest pause a Retry-After makes: a platform that
	// says 0, a negative number or a date already past would otherwise
	// be hammered by every worker at once.
	floor time.Duration

	mu          sync.Mutex
	pausedUntil time.Time
	consecutive int
	open        bool
	openUntil   time.Time
	probing     bool
}

// admit says whether a write may go now. If not, it returns when to try again.
// probe marks the one write allowed through a half-open breaker.
func (g *guard) admit(now time.Time) (retryAt time.Time, probe, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.pausedUntil) {
		return g.pausedUntil, false, false
	}
	if !g.open {
		return time.Time{}, false, true
	}
	if now.Before(g.openUntil) {
		return g.openUntil, false, false
	}
	if g.probing {
		return now.Add(g.cooldown / 10), false, false
	}
	g.probing = true
	return time.Time{}, true, true
}

// tripped reports whether the breaker is open, and until when.
func (g *guard) tripped() (until time.Time, open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.openUntil, g.open
}

// resumeAt is when writes may go again after a Retry-After pause.
func (g *guard) resumeAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pausedUntil
}

// outcome records a write's result, and reports whether the breaker just
// opened or closed.
func (g *guard) outcome(now time.Time, probe bool, err error) (opened, closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if probe {
		g.probing = false
	}
	if after, ok := retry.After(err); ok {
		// The platform is up and asked for a pause: not a breaker failure.
		if after < g.floor {
			// Jittered, so that writers sharing the platform do not
			// all come back at the same instant.
			after = g.floor + rand.N(g.floor/2+1)
		}
		if until := now.Add(after); until.After(g.pausedUntil) {
			g.pausedUntil = until
		}
		return false, false
	}
	var mm *MissingManagerError
	if err == nil || retry.IsPermanent(err) || errors.As(err, &mm) {
		// The platform answered: it is healthy, whatever it thought of
		// this write.
		g.consecutive = 0
		if g.open {
			g.open = false
			return false, true
		}
		return false, false
	}
	g.consecutive++
	if probe || (!g.open && g.consecutive >= g.failures) {
		wasOpen := g.open
		g.open, g.openUntil = true, now.Add(g.cooldown)
		return !wasOpen, false
	}
	return false, false
}
