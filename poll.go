package hrissync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hrissync/hrissync/cadence"
)

// pollCursor names the poll's watermark in the Store: the newest record
// version the successful polls have seen, in the Source's time
// (cadence.Window.Next). A value written before the watermark was kept so —
// the start of the last successful poll, on the engine's clock — reads as a
// watermark at that time, which is what it was when the clocks agreed.
const pollCursor = "poll"

// Poll runs the fallback poll now: it reconciles the realtime fields of
// everyone the Source reports changed in the window (cadence.Window: since
// the newest version the polls have seen, in the Source's time, minus 30
// minutes, and at least the last 90 minutes), then everyone still dirty —
// dead letters included. A Source that cannot list changes
// (ErrChangedSinceUnsupported) is only swept. After three failed polls in a
// row the Alerter is called, once until a poll succeeds.
func (e *Engine) Poll(ctx context.Context) error {
	e.pollMu.Lock()
	defer e.pollMu.Unlock()
	start := e.cfg.Clock.Now()
	err := e.poll(ctx)
	e.finished(ctx, Pass{Name: "poll", Started: start, Took: e.cfg.Clock.Now().Sub(start)}, err)
	if err == nil {
		e.pollFailures.Store(0)
		e.resolve(ctx, "poll")
		return nil
	}
	if n := e.pollFailures.Add(1); n >= 3 {
		e.raise(ctx, "poll", Alert{Kind: AlertPollFailing, Err: err, Message: fmt.Sprintf("%d polls in a row failed", n)})
	}
	return err
}

func (e *Engine) poll(ctx context.Context) error {
	start := e.cfg.Clock.Now()
	watermark, err := e.store.Cursor(ctx, e.cfg.Tenant, pollCursor)
	if err != nil {
		return err
	}
	since := e.cfg.PollWindow.Since(start, watermark)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	var listErr error
	var versions []time.Time // what the Source's clock said, for the watermark
	for rec, err := range e.changedSince(ctx, TriggerPoll, since) {
		if errors.Is(err, ErrChangedSinceUnsupported) {
			break
		}
		if err != nil {
			listErr = fmt.Errorf("listing changes since %s: %w", since.Format("15:04:05"), err)
			break
		}
		versions = append(versions, rec.Version.Time)
		g.Go(func() error {
			_, err := e.reconcile(gctx, request{id: rec.ID, trigger: TriggerPoll, classes: cadence.Realtime, record: &rec, fresh: true, pass: start})
			return ignoreRecorded(err)
		})
	}
	watermark = e.cfg.PollWindow.Next(watermark, start, versions)
	// Then everyone left dirty: missed retries, dead letters, a crash.
	var sweepErr error
	for p, err := range e.pending(ctx, start) {
		if err != nil {
			sweepErr = err
			break
		}
		g.Go(func() error {
			_, err := e.reconcile(gctx, request{id: p.ID, trigger: TriggerPoll, classes: cadence.Realtime, fresh: true, pass: start})
			return ignoreRecorded(err)
		})
	}
	if err := errors.Join(g.Wait(), listErr, sweepErr); err != nil {
		return err
	}
	return e.store.SetCursor(ctx, e.cfg.Tenant, pollCursor, watermark)
}

// ignoreRecorded drops the error of a reconcile whose failure is already
// recorded in the Store (and so retried): a poll or batch carries on past one
// person's failure. Only a context error stops it.
func ignoreRecorded(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
