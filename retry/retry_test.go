package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync/retry"
)

var errDown = errors.New("sink down")

func TestFixedMakesFourAttemptsSixtySecondsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		err := retry.Do(t.Context(), func(context.Context) error {
			at = append(at, time.Now())
			return errDown
		}, &retry.Options{Policy: retry.Fixed(3, 60*time.Second)})
		if !errors.Is(err, errDown) {
			t.Fatalf("Do = %v, want the last error", err)
		}
		if len(at) != 4 {
			t.Fatalf("attempts = %d, want 4", len(at))
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap != 60*time.Second {
				t.Errorf("gap before attempt %d = %v, want 60s", i+1, gap)
			}
		}
	})
}

func TestPermanentStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		invalid := errors.New("invalid email")
		err := retry.Do(t.Context(), func(context.Context) error {
			calls++
			return retry.Permanent(invalid)
		}, nil)
		if calls != 1 || !errors.Is(err, invalid) || retry.IsPermanent(err) {
			t.Fatalf("calls=%d err=%v, want one call and the unwrapped error", calls, err)
		}
	})
}

func TestRetryAfterOverridesInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		err := retry.Do(t.Context(), func(context.Context) error {
			at = append(at, time.Now())
			if len(at) == 1 {
				return retry.RetryAfter(errDown, 5*time.Second)
			}
			return nil
		}, &retry.Options{Policy: retry.Fixed(3, time.Minute)})
		if err != nil || len(at) != 2 {
			t.Fatalf("err=%v attempts=%d", err, len(at))
		}
		if gap := at[1].Sub(at[0]); gap != 5*time.Second {
			t.Errorf("gap = %v, want the 5s the service asked for", gap)
		}
	})
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		calls := 0
		err := retry.Do(ctx, func(context.Context) error { calls++; return errDown }, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errDown) || calls != 2 {
			t.Fatalf("err=%v calls=%d, want deadline joined with the last error after 2 calls", err, calls)
		}
	})
}

func TestExponentialStaysWithinBounds(t *testing.T) {
	p := retry.Exponential(time.Second, 10*time.Second, 5)
	for attempt := 1; attempt <= 5; attempt++ {
		want := min(time.Second<<(attempt-1), 10*time.Second)
		for range 100 {
			d, ok := p.Next(attempt, errDown)
			if !ok || d < want/2 || d > want {
				t.Fatalf("attempt %d: %v %v, want in [%v, %v]", attempt, d, ok, want/2, want)
			}
		}
	}
	if _, ok := p.Next(6, errDown); ok {
		t.Error("Exponential retried past its limit")
	}
}

func TestDelayKeepsAttemptLimitUnderRetryAfter(t *testing.T) {
	p := retry.Fixed(1, time.Minute)
	if _, ok := retry.Delay(p, 2, retry.RetryAfter(errDown, time.Second)); ok {
		t.Error("RetryAfter lifted the policy's limit")
	}
}
