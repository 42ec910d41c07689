// Package retry holds the retry policies of hrissync and the two errors a
// Sink or Source uses to steer them.
//
// hrissync retries in one layer only, the engine's: a connector reports what
// happened — Permanent(err) for a failure no retry will mend (a validation
// error), RetryAfter(err, d) when the service names its own pause (429, 503) —
// and the engine's Policy decides when, and whether, to try again. Do applies
// the same rules to a plain function, for hosts that want them elsewhere.
//
// The realtime default is the seed's: the first attempt plus three retries
// sixty seconds apart.
//
//	err := retry.Do(ctx, send, &retry.Options{Policy: retry.Fixed(3, time.Minute)})
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy decides whether to try again after a failed attempt. attempt counts
// the attempts made so far (1 after the first failure). Next returns the pause
// before the next attempt, and false to give up. Permanent errors and
// RetryAfter pauses are applied by Delay around the Policy, so a Policy need
// not look at err unless it wants to.
type Policy interface {
	Next(attempt int, err error) (wait time.Duration, ok bool)
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(attempt int, err error) (time.Duration, bool)

// Next calls f.
func (f PolicyFunc) Next(attempt int, err error) (time.Duration, bool) { return f(attempt, err) }

// Fixed retries up to retries times, interval apart: Fixed(3, time.Minute) is
// four attempts in all, the realtime default.
func Fixed(retries int, interval time.Duration) Policy {
	return PolicyFunc(func(attempt int, _ error) (time.Duration, bool) {
		return interval, attempt <= retries
	})
}

// Exponential retries up to retries times, waiting base, 2·base, 4·base … up to
// max, each wait drawn at random from its upper half ("equal jitter"), so that
// many people failing at once do not retry in step.
func Exponential(base, max time.Duration, retries int) Policy {
	return PolicyFunc(func(attempt int, _ error) (time.Duration, bool) {
		if attempt > retries {
			return 0, false
		}
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		half := d / 2
		return half + rand.N(half+1), true
	})
}

// Delay applies p to a failed attempt, honouring the errors of this package:
// a Permanent error is never retried, and a RetryAfter pause replaces the
// policy's interval (the service knows best when it will be ready), though not
// its limit on attempts.
func Delay(p Policy, attempt int, err error) (time.Duration, bool) {
	if IsPermanent(err) {
		return 0, false
	}
	wait, ok := p.Next(attempt, err)
	if !ok {
		return 0, false
	}
	if after, ok := After(err); ok {
		wait = after
	}
	return wait, true
}

// Permanent marks err as not worth retrying. errors.Is and errors.As see
// through it to err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError is a failure the service says will pass after a pause:
// HTTP 429 or 503 with Retry-After. The engine pauses every write to that
// sink, not only the one that failed.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the pause the service asked for.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		err = errors.New("retry later")
	}
	return &RetryAfterError{Err: err, After: max(after, 0)}
}

// After returns the pause carried by a RetryAfter error in err's chain.
func After(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

// Options configure Do. A nil *Options, like the zero value, means the
// defaults.
type Options struct {
	// Policy decides whether and when to try again. Default Fixed(3,
	// time.Minute), the realtime default.
	Policy Policy
	// OnRetry, if set, is called before each pause, with the attempt that
	// failed.
	OnRetry func(attempt int, err error, wait time.Duration)
}

// Do calls fn until it succeeds, the policy gives up, or ctx ends. It returns
// nil, fn's last error (unwrapped from Permanent), or ctx's error joined with
// fn's last error. It waits with time.Timer, so inside a testing/synctest
// bubble its pauses take no real time.
func Do(ctx context.Context, fn func(context.Context) error, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Policy == nil {
		o.Policy = Fixed(3, time.Minute)
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		wait, ok := Delay(o.Policy, attempt, err)
		if !ok {
			var p *permanentError
			if errors.As(err, &p) {
				return p.err
			}
			return err
		}
		if o.OnRetry != nil {
			o.OnRetry(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
