package hrissync

import (
	"context"
)

// lockPerson takes the Locker's lock on a person, if there is a Locker:
// waiting for it, or only trying when wait is false. ok is false when the
// lock was busy.
func (e *Engine) lockPerson(ctx context.Context, id string, wait bool) (unlock func(), ok bool, err error) {
	if e.cfg.Locker == nil {
		return func() {}, true, nil
	}
	if !wait {
		return e.cfg.Locker.TryLock(ctx, e.cfg.Tenant, id)
	}
	unlock, err = e.cfg.Locker.Lock(ctx, e.cfg.Tenant, id)
	return unlock, err == nil, err
}
