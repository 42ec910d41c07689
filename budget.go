package hrissync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync/audit"
)

// ErrNoApprover: ApproveDeletions was called without saying who approves.
var ErrNoApprover = errors.New("hrissync: an approval must name its approver")

// HoldPrefix starts the id under which people held beyond a budget are
// approved: "held/" + BudgetVanished or "held/" + BudgetTerminated.
const HoldPrefix = "held/"

// How often the budgets are counted afresh from the Store (for replicas
// spending the same window, and for the window rolling on), and how soon a
// held person is looked at again.
const (
	budgetRefresh = time.Minute
	holdRecheck   = time.Hour
)

// budgets keeps the engine's deactivation budgets (docs/design.md §5.13):
// the Store's count of each rolling window, read afresh every budgetRefresh
// and added to as this engine spends; the people held beyond a budget; and
// those an operator let go. Replicas spending at once may pass a budget by
// what they spent within one refresh; that is the price of not locking the
// Store on every deactivation.
type budgets struct {
	e *Engine

	mu       sync.Mutex
	fetched  time.Time
	spent    map[string]int
	active   int
	held     map[string]map[string]time.Time // budget → person → held since
	approved map[string]bool                 // people let go, one deactivation each
	// reserved are the people who took from a budget and whose
	// deactivation is not yet committed: a retry takes nothing more, and
	// a count afresh from the Store adds them.
	reserved map[string]string // person → budget
}

func newBudgets(e *Engine) *budgets {
	return &budgets{e: e, spent: map[string]int{}, held: map[string]map[string]time.Time{}, approved: map[string]bool{},
		reserved: map[string]string{}}
}

func (b *budgets) limit(budget string) Budget {
	if budget == BudgetVanished {
		return b.e.cfg.DeletionLimit
	}
	return b.e.cfg.TerminationLimit
}

// refresh counts the windows afresh from the Store if the count is older
// than budgetRefresh. b.mu is held.
func (b *budgets) refresh(ctx context.Context, now time.Time) error {
	if !b.fetched.IsZero() && now.Sub(b.fetched) < budgetRefresh && !now.Before(b.fetched) {
		return nil
	}
	for _, budget := range []string{BudgetVanished, BudgetTerminated} {
		got, err := b.e.store.Revocations(ctx, b.e.cfg.Tenant, now.Add(-b.limit(budget).Window))
		if err != nil {
			return fmt.Errorf("hrissync: counting the %s budget: %w", budget, err)
		}
		b.spent[budget], b.active = got.Spent[budget], got.Active
	}
	for _, budget := range b.reserved {
		b.spent[budget]++
	}
	b.fetched = now
	return nil
}

// recount makes the next question read the window and the active accounts
// from the Store again: the batch asks after creating its hires, which a
// count read before it (by a Plan, a poll's deactivation) would not hold.
func (b *budgets) recount() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fetched = time.Time{}
}

// room returns what budget has spent in its window, and the active accounts.
func (b *budgets) room(ctx context.Context, budget string) (spent, active int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refresh(ctx, b.e.cfg.Clock.Now()); err != nil {
		return 0, 0, err
	}
	return b.spent[budget], b.active, nil
}

// take asks budget for one deactivation of id. It answers what to record as
// the commit's Revoked — budget, or BudgetApproved for a person an operator
// let go — or "" when the person is held beyond the budget: they keep their
// access, and the Alerter hears once, naming the window.
func (b *budgets) take(ctx context.Context, budget, id string, approved bool) (string, error) {
	now := b.e.cfg.Clock.Now()
	b.mu.Lock()
	if approved || b.approved[id] {
		// The approval is spent by the commit (settled), so that a
		// write that fails is still approved when it is retried.
		ended := b.unhold(budget, id)
		b.mu.Unlock()
		b.ended(ctx, budget, ended)
		return BudgetApproved, nil
	}
	if err := b.refresh(ctx, now); err != nil {
		b.mu.Unlock()
		return "", err
	}
	if b.reserved[id] == budget {
		b.mu.Unlock()
		return budget, nil // a retry: taken already
	}
	limit := b.limit(budget)
	if !limit.exceeded(b.spent[budget], 1, b.active) {
		b.spent[budget]++
		b.reserved[id] = budget
		ended := b.unhold(budget, id)
		b.mu.Unlock()
		b.ended(ctx, budget, ended)
		return budget, nil
	}
	if b.held[budget] == nil {
		b.held[budget] = map[string]time.Time{}
	}
	if _, ok := b.held[budget][id]; !ok {
		b.held[budget][id] = now
	}
	spent, active, n := b.spent[budget], b.active, len(b.held[budget])
	b.mu.Unlock()

	b.e.raise(ctx, HoldPrefix+budget, Alert{Kind: AlertDeletionThreshold, Severity: SeverityCritical,
		Message: fmt.Sprintf("%s budget: %d deactivations in the %v window ending %s reached its limit of %d (%s, %d active accounts); "+
			"%d people held with their access, %s first; approve with ApproveDeletions(%q)",
			budget, spent, limit.Window, now.Format(time.RFC3339), limit.allows(active), limit.describe(), active, n, id, HoldPrefix+budget)})
	return "", nil
}

// forfeit gives back the deactivation a person reserved when it failed for
// good (dead-lettered): access did not end, so the window has not spent it.
// A later try takes it again.
func (b *budgets) forfeit(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if budget, ok := b.reserved[id]; ok {
		delete(b.reserved, id)
		b.spent[budget]--
	}
}

// settled forgets a person's hold and approval once a reconcile of theirs is
// committed: the deactivation landed, or is no longer wanted.
func (b *budgets) settled(ctx context.Context, id string) {
	b.mu.Lock()
	delete(b.approved, id)
	delete(b.reserved, id)
	var ended []string
	for budget := range b.held {
		if b.unhold(budget, id) {
			ended = append(ended, budget)
		}
	}
	b.mu.Unlock()
	for _, budget := range ended {
		b.ended(ctx, budget, true)
	}
}

// unhold forgets a held person, reporting whether they were the last held
// beyond budget. b.mu is held.
func (b *budgets) unhold(budget, id string) (last bool) {
	held := b.held[budget]
	if _, ok := held[id]; !ok {
		return false
	}
	delete(held, id)
	return len(held) == 0
}

// ended closes a budget's incident once nobody is held beyond it: called
// without b.mu, since a Resolver may call back into the engine.
func (b *budgets) ended(ctx context.Context, budget string, last bool) {
	if last {
		b.e.resolve(ctx, HoldPrefix+budget)
	}
}

// release lets go the people held beyond budget — only those named, if any
// are — returning them in ID order.
func (b *budgets) release(budget string, only []string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := slices.Sorted(maps.Keys(b.held[budget]))
	if only != nil {
		ids = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(only, id) })
	}
	for _, id := range ids {
		b.approved[id] = true
	}
	return ids
}

// Holds returns, per budget, the people held beyond it with their access
// kept, in ID order, for an operator to approve with ApproveDeletions
// ("held/" + budget).
// With several sinks each sink holds its own: ask it (Engine.Sink).
func (e *Engine) Holds() map[string][]string {
	e.budgets.mu.Lock()
	defer e.budgets.mu.Unlock()
	out := map[string][]string{}
	for budget, held := range e.budgets.held {
		if len(held) > 0 {
			out[budget] = slices.Sorted(maps.Keys(held))
		}
	}
	return out
}

// describe says a budget's limits in words.
func (b Budget) describe() string {
	var parts []string
	if b.Count > 0 {
		parts = append(parts, fmt.Sprint(b.Count))
	}
	if b.Share > 0 {
		parts = append(parts, fmt.Sprintf("%g %% of active accounts", b.Share*100))
	}
	return strings.Join(parts, " or ")
}

// ApproveDeletions lets held deactivations go. id is a batch run held by
// the deletion limit (its leavers are deprovisioned now) or "held/" and a
// budget's name (the people held beyond it are deactivated now, spending
// nothing). approver is who approves, as the host authenticated them — not
// free text a form carried: it is recorded with the run and in the audit
// log. people, if given, are exactly who is approved of those held beyond a
// budget: what the operator was shown, so that someone held since (the
// runaway an approval of a small layoff must not let through) stays held.
// None: everyone held now.
func (e *Engine) ApproveDeletions(ctx context.Context, id, approver string, people ...string) error {
	if e.lanes != nil {
		return ErrSeveralSinks
	}
	if strings.TrimSpace(approver) == "" {
		return ErrNoApprover
	}
	if budget, ok := strings.CutPrefix(id, HoldPrefix); ok {
		return e.approveHeld(ctx, budget, approver, people)
	}
	return e.approveRun(ctx, id, approver)
}

func (e *Engine) approveHeld(ctx context.Context, budget, approver string, people []string) error {
	ids := e.budgets.release(budget, people)
	if len(ids) == 0 {
		return fmt.Errorf("%w: nobody is held beyond the %q budget", ErrNotHeld, budget)
	}
	if err := e.recordApproval(ctx, HoldPrefix+budget, "", approver, ids); err != nil {
		return err
	}
	now := e.cfg.Clock.Now()
	for _, id := range ids {
		e.dispatcher.Dispatch(id, now)
	}
	return nil
}

// recordApproval puts who let which deactivations go into the audit log.
func (e *Engine) recordApproval(ctx context.Context, what, runID, approver string, ids []string) error {
	now := e.cfg.Clock.Now()
	entry := audit.Entry{
		ID: "approval/" + entryID(), Tenant: e.tenant, Sink: e.name, Action: audit.ActionDeletionsApproved,
		Trigger: audit.TriggerOperator, RunID: runID, SourceChanged: now, Applied: now, Outcome: "approved",
		Summary: fmt.Sprintf("%s: %d deactivations approved by %s: %s", what, len(ids), approver, strings.Join(ids, ", ")),
	}
	if err := e.store.AppendAudit(ctx, e.cfg.Tenant, []audit.Entry{entry}); err != nil {
		return fmt.Errorf("hrissync: recording the approval: %w", err)
	}
	e.drainAudit(ctx)
	return nil
}

// wouldHold reports, spending nothing, whether a deactivation of id would be
// held beyond budget now: what Explain shows.
func (b *budgets) wouldHold(ctx context.Context, budget, id string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.approved[id] {
		return false, nil
	}
	if err := b.refresh(ctx, b.e.cfg.Clock.Now()); err != nil {
		return false, err
	}
	if b.reserved[id] == budget {
		return false, nil // taken already, by an attempt that failed
	}
	return b.limit(budget).exceeded(b.spent[budget], 1, b.active), nil
}

// heldSince returns, per budget, since when id has been held beyond it.
func (b *budgets) heldSince(id string) map[string]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]time.Time{}
	for budget, held := range b.held {
		if since, ok := held[id]; ok {
			out[budget] = since
		}
	}
	return out
}
