package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/retry"
)

func Example() {
	// The realtime default: the first attempt, then three retries 60 s apart.
	p := retry.Fixed(3, 60*time.Second)
	busy := retry.RetryAfter(errors.New("429 Too Many Requests"), 20*time.Second)
	for attempt := 1; attempt <= 4; attempt++ {
		wait, ok := retry.Delay(p, attempt, busy)
		fmt.Println(attempt, wait, ok)
	}
	_, ok := retry.Delay(p, 1, retry.Permanent(errors.New("400 invalid userName")))
	fmt.Println("permanent retried:", ok)

	// Do with the defaults (nil Options): the realtime policy.
	calls := 0
	err := retry.Do(context.Background(), func(context.Context) error {
		calls++
		return nil
	}, nil)
	fmt.Println(calls, err)

	// Do with its own policy, told of each retry.
	calls = 0
	err = retry.Do(context.Background(), func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("503 Service Unavailable")
		}
		return nil
	}, &retry.Options{
		Policy: retry.Fixed(3, time.Millisecond),
		OnRetry: func(attempt int, err error, wait time.Duration) {
			fmt.Printf("attempt %d: %v; again in %v\n", attempt, err, wait)
		},
	})
	fmt.Println(calls, err)
	// Output:
	// 1 20s true
	// 2 20s true
	// 3 20s true
	// 4 0s false
	// permanent retried: false
	// 1 <nil>
	// attempt 1: 503 Service Unavailable; again in 1ms
	// attempt 2: 503 Service Unavailable; again in 1ms
	// 3 <nil>
}
