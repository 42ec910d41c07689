package hrissync

import (
	"context"
	"fmt"

	"github.com/hrissync/hrissync/audit"
)

// chained is an Auditor that keeps hash chains (audit.Log): the engine reads
// its heads to anchor the chain in the Store.
type chained interface {
	Heads() map[string]audit.Head
}

// anchorChecker is an Auditor that can say whether it still holds its chain
// up to an anchor, unchanged (audit.Log).
type anchorChecker interface {
	CheckAnchor(tenant string, anchor audit.Head) error
}

// checkAnchor refuses to start on an audit log that lost or changed entries
// the Store acknowledged: starting would bury the loss under new entries.
// The Alerter hears of it as critical.
func (e *Engine) checkAnchor(ctx context.Context) error {
	c, ok := e.cfg.Auditor.(anchorChecker)
	if !ok {
		return nil
	}
	anchor, err := e.store.Anchor(ctx, e.cfg.Tenant)
	if err != nil {
		return fmt.Errorf("reading the audit anchor: %w", err)
	}
	if err := c.CheckAnchor(e.tenant, anchor); err != nil {
		e.raise(ctx, "audit-anchor", Alert{Kind: AlertAuditLog, Severity: SeverityCritical, Err: err,
			Message: fmt.Sprintf("the audit log does not hold its chain up to the anchor (sequence %d); the engine will not start", anchor.Seq)})
		return err
	}
	return nil
}
