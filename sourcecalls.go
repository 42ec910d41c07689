package hrissync

import (
	"context"
	"errors"
	"iter"
	"time"
)

// sourceCall names a kind of Source call, as the metrics' call attribute.
type sourceCall string

const (
	callGet          sourceCall = "get"
	callList         sourceCall = "list"
	callChangedSince sourceCall = "changed_since"
)

func (c sourceCall) count(s *SourceCalls) {
	switch c {
	case callGet:
		s.Get++
	case callList:
		s.List++
	case callChangedSince:
		s.ChangedSince++
	}
}

// get reads one person from the Source for trigger t, counting the call.
func (e *Engine) get(ctx context.Context, t Trigger, id string) (Employee, error) {
	e.observe.sourceCall(ctx, t, callGet)
	return e.src.Get(ctx, id)
}

// changedSince lists the changes since since for trigger t, counting its
// pages.
func (e *Engine) changedSince(ctx context.Context, t Trigger, since time.Time) iter.Seq2[Employee, error] {
	return e.paged(ctx, t, callChangedSince, e.src.ChangedSince(ctx, since))
}

// paged counts the pages of a listing as it is read (Pager): the first
// when the first answer arrives, another each time a record beyond a full
// page is read or its request fails, and one for a listing of none. A
// Source without pages counts one call. A ChangedSince that cannot answer
// (ErrChangedSinceUnsupported) is a capability, not a call.
func (e *Engine) paged(ctx context.Context, t Trigger, c sourceCall, list iter.Seq2[Employee, error]) iter.Seq2[Employee, error] {
	return func(yield func(Employee, error) bool) {
		read := 0
		newPage := func() bool { return read == 0 || e.pageSize > 0 && read%e.pageSize == 0 }
		for rec, err := range list {
			if err != nil {
				if newPage() && !errors.Is(err, ErrChangedSinceUnsupported) {
					e.observe.sourceCall(ctx, t, c)
				}
				yield(rec, err)
				return
			}
			if newPage() {
				e.observe.sourceCall(ctx, t, c)
			}
			read++
			if !yield(rec, nil) {
				return
			}
		}
		if read == 0 {
			e.observe.sourceCall(ctx, t, c)
		}
	}
}
