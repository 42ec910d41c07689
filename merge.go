package hrissync

import (
	"context"
	"fmt"
	"iter"

	"github.com/hrissync/hrissync/store"
)

// mergeStep is one step of merge, in ID order: a record of the list with the
// account the Store holds for it; or an account the list lacks; or, once,
// the end of the list.
type mergeStep struct {
	// rec is a record of the list past the checkpoint; nil on the step of
	// an account the list lacks, and on the end. An error of the Store's
	// while merging rec comes with rec: it was reached.
	rec *Employee
	// held is the Store's account for rec (nil: none), or, without rec,
	// the account the list lacks.
	held *store.Person
	// active: held is an active account, which the deletion limit's base
	// counts. leaver: it is to be deprovisioned — missing from the list,
	// or held for a record out of scope.
	active, leaver bool
	// end: the list is read to its end, in order; the accounts after its
	// last ID follow.
	end bool
	// fault is, with an error, where it arose.
	fault mergeFault
}

// id is the step's person: the record's, or the account's the list lacks.
func (m mergeStep) id() string {
	if m.rec != nil {
		return m.rec.ID
	}
	return m.held.ID
}

// mergeFault is where an error of merge arose.
type mergeFault uint8

const (
	faultStore mergeFault = iota // reading the Store's accounts
	faultRead                    // reading the list
	faultOrder                   // the list out of ID order: ErrSourceOrder
)

// merge walks the Source's list, in ID order, against the Store's accounts,
// as the batch and Plan do to find leavers. Records up to after (a
// checkpoint) were done before: they are checked for order but not yielded,
// and the accounts are read from after it. Each account is read once the
// record it is compared with is reached; the accounts past the list's last
// ID only after the end step is yielded, so that the caller can finish what
// it holds first. An error ends it.
func (e *Engine) merge(ctx context.Context, list iter.Seq2[Employee, error], after string) iter.Seq2[mergeStep, error] {
	return func(yield func(mergeStep, error) bool) {
		next, stop := iter.Pull2(e.accounts(ctx, after))
		defer stop()
		var ahead *store.Person // read, not yet merged
		peek := func() (*store.Person, error) {
			if ahead == nil {
				p, err, ok := next()
				if err != nil {
					return nil, err
				}
				if ok {
					ahead = &p
				}
			}
			return ahead, nil
		}
		// upTo yields the accounts before id that the list lacks, and
		// returns the one with id, if any; id "" means to the end. more
		// is false once the caller has stopped.
		upTo := func(id string) (held *store.Person, more bool, err error) {
			for {
				p, err := peek()
				if err != nil || p == nil || (id != "" && p.ID > id) {
					return nil, true, err
				}
				ahead = nil
				if p.ID == id {
					return p, true, nil
				}
				if !yield(mergeStep{held: p, active: p.Active, leaver: p.Active}, nil) {
					return nil, false, nil
				}
			}
		}

		lastID := ""
		for rec, err := range list {
			if err != nil {
				yield(mergeStep{fault: faultRead}, fmt.Errorf("reading the full list after %q: %w", lastID, err))
				return
			}
			if lastID != "" && rec.ID <= lastID {
				yield(mergeStep{fault: faultOrder}, fmt.Errorf("%w: %q after %q", ErrSourceOrder, rec.ID, lastID))
				return
			}
			lastID = rec.ID
			if rec.ID <= after {
				continue // done before the failure
			}
			// Accounts before this ID are missing from the list.
			held, more, err := upTo(rec.ID)
			switch {
			case !more:
				return
			case err != nil:
				yield(mergeStep{rec: &rec}, err)
				return
			}
			s := mergeStep{rec: &rec, held: held}
			if held != nil && held.Active {
				// An account out of scope is a leaver too.
				s.active, s.leaver = true, !e.cfg.InScope(rec)
			}
			if !yield(s, nil) {
				return
			}
		}
		if !yield(mergeStep{end: true}, nil) {
			return
		}
		if _, _, err := upTo(""); err != nil {
			yield(mergeStep{}, err)
		}
	}
}
