package hrissync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// ErrCannotList: drift needs a Sink that is an AccountLister.
var ErrCannotList = errors.New("hrissync: the sink cannot list its accounts")

// Drift is how the platform differs from what the engine applied.
type Drift struct {
	// Changed are accounts whose fields or activity differ from what the
	// engine last wrote (changed by hand in the platform): by person, the
	// fields that differ ("active" for the activity).
	Changed map[string][]string
	// Unknown are accounts the engine never wrote: made by hand, or by
	// another tool. They are reported, never touched.
	Unknown []string
	// Missing are accounts the engine wrote that the platform no longer
	// holds.
	Missing []string
	// Repaired are the people rewritten by the repair; Failed those whose
	// repair failed (left dirty and retried as usual).
	Repaired, Failed []string
}

// CheckDrift compares every account the platform holds with the applied
// state in the Store. With repair, changed accounts are rewritten from the
// Source (every field) and missing ones created again; unknown accounts are
// only reported. Counts grow with the platform: run it off-peak.
func (e *Engine) CheckDrift(ctx context.Context, repair bool) (Drift, error) {
	if e.lanes != nil {
		return Drift{}, ErrSeveralSinks
	}
	lister, ok := e.sink.(AccountLister)
	if !ok {
		return Drift{}, ErrCannotList
	}
	d := Drift{Changed: map[string][]string{}}
	seen := map[string]Account{}
	// The platform's accounts come in its order, joined with the Store a
	// chunk at a time as the batch reads the Source's list (join.go).
	accountOf := func(a Account) string { return a.EmployeeID }
	for chunk, err := range joinStore(ctx, e.store, e.cfg.Tenant, lister.Accounts(ctx), accountOf, pageSize) {
		for _, j := range chunk {
			a, p := j.item, j.held
			seen[a.EmployeeID] = a
			if !p.Exists {
				d.Unknown = append(d.Unknown, a.EmployeeID)
				continue
			}
			var fields []string
			if a.Active != p.Active {
				fields = append(fields, "active")
			}
			for _, f := range slices.Sorted(maps.Keys(p.Applied)) {
				if f != store.AppliedActivity && !opaque(a, f) && a.Fields[f] != p.Applied[f].Value {
					fields = append(fields, f)
				}
			}
			if len(fields) > 0 {
				d.Changed[a.EmployeeID] = fields
			}
		}
		if err != nil {
			return d, fmt.Errorf("hrissync: listing the platform's accounts: %w", err)
		}
	}
	for p, err := range e.accounts(ctx, "") {
		if err != nil {
			return d, err
		}
		if _, ok := seen[p.ID]; !ok {
			d.Missing = append(d.Missing, p.ID)
		}
	}
	slices.Sort(d.Unknown)
	if !repair {
		return d, nil
	}
	// Each is rewritten from the Source, every field, against what the
	// platform was seen to hold.
	fix := func(id string, held Account) {
		r := request{id: id, trigger: TriggerRepair, classes: cadence.All, fresh: true, platform: &held}
		if res, err := e.reconcile(ctx, r); err != nil || res != written {
			d.Failed = append(d.Failed, id)
			return
		}
		d.Repaired = append(d.Repaired, id)
	}
	for _, id := range slices.Sorted(maps.Keys(d.Changed)) {
		fix(id, seen[id])
	}
	for _, id := range d.Missing {
		fix(id, Account{})
	}
	return d, nil
}

// opaque reports whether the lister says it cannot read field back.
func opaque(a Account, field string) bool {
	return slices.ContainsFunc(a.Opaque, func(o string) bool {
		prefix, all := strings.CutSuffix(o, "*")
		return o == field || all && strings.HasPrefix(field, prefix)
	})
}
