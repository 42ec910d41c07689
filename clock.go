package hrissync

import "time"

// Clock is where the engine reads time and sets timers. The default is the
// real clock; simulations pass a fake one (clocktest.Clock) that they advance, and
// tests inside testing/synctest bubbles use the real one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless the
	// Timer is stopped first. A fake clock may call f from the goroutine
	// that advances it, so f must not block.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call, reporting whether it did.
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
