package hrissync_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/store/memory"
)

func TestShutdownFinishesWorkInHand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hr, lms := newHR(), newLMS()
		lms.block, lms.entered = make(chan struct{}), make(chan string, 1)
		eng, done := runWithOneEvent(t, hr, lms)
		<-lms.entered // a write is in hand
		stopped := make(chan error)
		go func() { stopped <- eng.Shutdown(context.Background()) }()
		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Shutdown returned with a write in hand")
		default:
		}
		lms.block <- struct{}{}
		if err := <-stopped; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if err := <-done; !errors.Is(err, hrissync.ErrClosed) {
			t.Fatalf("Run = %v, want ErrClosed", err)
		}
		if len(lms.writes()) != 1 {
			t.Error("the write in hand did not complete")
		}
	})
}

func TestShutdownDeadlineCancelsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hr := newHR()
		stuck := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
			<-ctx.Done() // a sink that never answers, but honours its context
			return ctx.Err()
		})
		eng, done := runWithOneEvent(t, hr, stuck)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline", err)
		}
		<-done
	})
}

// runWithOneEvent runs an engine (stopped only by Shutdown) and gives it one
// event for a new person; done receives Run's result.
func runWithOneEvent(t *testing.T, hr *fakeHR, sink hrissync.Sink) (*hrissync.Engine, chan error) {
	t.Helper()
	eng, err := hrissync.New(hr, sink, memory.New(), &hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- eng.Run(context.Background()) }()
	<-eng.Started()
	a := hr.put(alice())
	if err := eng.Notify(t.Context(), hrissync.Event{ID: "e1", EmployeeID: a.ID, OccurredAt: a.Version.Time}); err != nil {
		t.Fatal(err)
	}
	return eng, done
}
