package hrissync

import (
	"context"
	"time"
)

// forgetEvery is how often the engine drops the event ids (and old
// revocations) the Store no longer needs to keep.
const forgetEvery = time.Hour

// startForgetting forgets once now and then every hour on the engine's own
// timer, whatever the policy: a policy without realtime fields never polls,
// yet its Notify still remembers ids, and they must not be kept forever. The
// forgetting at start-up is for a host that restarts its engine more often
// than every hour.
func (e *Engine) startForgetting(ctx context.Context) {
	e.forgetEvents(ctx)
	e.schedule("forget", e.cfg.Clock.Now().Add(forgetEvery), e.runForget)
}

func (e *Engine) runForget(ctx context.Context) {
	e.forgetEvents(ctx)
	e.schedule("forget", e.cfg.Clock.Now().Add(forgetEvery), e.runForget)
}

// forgetEvents is housekeeping: a failure is logged, and the next hour tries
// again.
func (e *Engine) forgetEvents(ctx context.Context) {
	if _, err := e.store.ForgetEvents(ctx, e.cfg.Tenant, e.cfg.Clock.Now()); err != nil && ctx.Err() == nil {
		e.log.Warn("forgetting expired event ids", "err", err)
	}
}
