package hrissync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
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
// dead letters included. For a Source that cannot list changes
// (ErrChangedSinceUnsupported) it lists everyone instead and reconciles
// those whose record differs from the one last noted (pollByDigest). After
// three failed polls in a row the Alerter is called, once until a poll
// succeeds.
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
	var versions []time.Time // what the Source's clock said, for the watermark
	changes := func(yield func(Employee, error) bool) {
		for rec, err := range e.changedSince(ctx, TriggerPoll, since) {
			if err == nil {
				versions = append(versions, rec.Version.Time)
			}
			if !yield(rec, err) {
				return
			}
		}
	}
	if e.lanes != nil {
		err = e.pollLanes(ctx, start, since, changes)
	} else {
		err = e.pollChanges(ctx, start, since, changes, e.listForPoll)
	}
	if err != nil {
		return err
	}
	watermark = e.cfg.PollWindow.Next(watermark, start, versions)
	return e.store.SetCursor(ctx, e.cfg.Tenant, pollCursor, watermark)
}

// listForPoll is the full list a poll reads when the Source has no change
// feed.
func (e *Engine) listForPoll(ctx context.Context) iter.Seq2[Employee, error] {
	return e.paged(ctx, TriggerPoll, callList, e.src.List(ctx))
}

// pollChanges reconciles the realtime fields of everyone changes names (or,
// when the Source has no change feed, of everyone list shows changed), then
// of everyone still dirty.
func (e *Engine) pollChanges(ctx context.Context, start, since time.Time, changes iter.Seq2[Employee, error], list func(context.Context) iter.Seq2[Employee, error]) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	var listErr error
	for rec, err := range changes {
		if errors.Is(err, ErrChangedSinceUnsupported) {
			listErr = e.pollByDigest(ctx, start, list(ctx))
			break
		}
		if err != nil {
			listErr = fmt.Errorf("listing changes since %s: %w", since.Format("15:04:05"), err)
			break
		}
		g.Go(func() error {
			_, err := e.reconcile(gctx, request{id: rec.ID, trigger: TriggerPoll, classes: cadence.Realtime, record: &rec, fresh: true, pass: start})
			return ignoreRecorded(err)
		})
	}
	// Then everyone left dirty: missed retries, dead letters, a crash.
	var sweepErr error
	for p, err := range e.pending(ctx, start) {
		if err != nil {
			sweepErr = err
			break
		}
		g.Go(func() error {
			_, err := e.reconcile(gctx, request{id: p.ID, trigger: TriggerPoll, classes: cadence.Realtime, fresh: true, pass: start, swept: true})
			return ignoreRecorded(err)
		})
	}
	return errors.Join(g.Wait(), listErr, sweepErr)
}

// pollByDigest is the poll of a Source without a change feed: it lists
// everyone and reconciles the realtime fields of those whose record is not
// the one the Store last noted for them (Person.Listed's digest, noted by
// the batch and by these polls), a chunk at a time — a lost webhook is
// caught within one poll interval without a change feed, at the price of a
// full list, and without a reconcile for everyone.
func (e *Engine) pollByDigest(ctx context.Context, start time.Time, list iter.Seq2[Employee, error]) error {
	for chunk, err := range joinStore(ctx, e.store, e.cfg.Tenant, list, employeeID, e.batchChunk()) {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.cfg.Concurrency)
		var noted []store.Listing
		for _, j := range chunk {
			rec, d := j.item, digest(j.item)
			if d == j.held.Listed.Digest {
				continue
			}
			noted = append(noted, store.Listing{ID: rec.ID, Digest: d}) // the run is kept
			g.Go(func() error {
				_, err := e.reconcile(gctx, request{id: rec.ID, trigger: TriggerPoll, classes: cadence.Realtime, record: &rec, fresh: true, pass: start})
				return ignoreRecorded(err)
			})
		}
		if werr := g.Wait(); werr != nil {
			return werr
		}
		// Noted once looked at: a failure is recorded and swept, so the
		// digest need not wait for the write to land.
		if nerr := e.store.Listed(ctx, e.cfg.Tenant, noted); nerr != nil {
			return nerr
		}
		if err != nil {
			return fmt.Errorf("listing everyone (the Source has no change feed): %w", err)
		}
	}
	return nil
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
