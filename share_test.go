package hrissync

import (
	"context"
	"testing"
	"testing/synctest"
)

// TestShareCapAndCancel: a tenant never holds more than its cap, even with
// slots free; a waiter whose context ends gives up its place; a slot freed
// goes to the tenant holding fewest.
func TestShareCapAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := NewShare(3, 2)
		for range 2 {
			if err := s.acquire(ctx, "big"); err != nil {
				t.Fatal(err)
			}
		}
		third := make(chan error, 1)
		cctx, cancel := context.WithCancel(ctx)
		go func() { third <- s.acquire(cctx, "big") }()
		synctest.Wait()
		select {
		case err := <-third:
			t.Fatalf("a third slot for a tenant capped at two: %v", err)
		default:
		}
		cancel()
		if err := <-third; err == nil {
			t.Fatal("a cancelled wait returned a slot")
		}
		if err := s.acquire(ctx, "small"); err != nil { // the free slot
			t.Fatal(err)
		}
		// Full: big and small both wait; the next slot freed goes to
		// small, which holds fewer, though big asked first.
		got := make(chan string, 2)
		for _, tn := range []string{"big", "small"} {
			go func() {
				if s.acquire(ctx, tn) == nil {
					got <- tn
				}
			}()
			synctest.Wait()
		}
		s.release("small")
		synctest.Wait()
		if first := <-got; first != "small" {
			t.Fatalf("the freed slot went to %s, want small", first)
		}
		if s.busy != 3 || s.held["big"] != 2 || s.held["small"] != 1 {
			t.Fatalf("busy %d, held %v", s.busy, s.held)
		}
		s.release("big") // big's waiter, capped until now, gets it
		if last := <-got; last != "big" {
			t.Fatalf("then %s, want big", last)
		}
	})
}
