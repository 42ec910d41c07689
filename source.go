package hrissync

import (
	"context"
	"iter"
	"time"
)

// Source is the HRIS. Its methods are called concurrently, from the webhook
// workers, the poll and the batch.
type Source interface {
	// Get returns one person's current record, or an error wrapping
	// ErrNotFound. ctx bounds the call.
	Get(ctx context.Context, id string) (Employee, error)

	// List streams every person once, in any order (the batch marks whom
	// it has seen in the Store rather than relying on an order no vendor
	// promises). An error ends the stream: a truncated export must not be
	// taken for a complete one. ctx bounds the whole iteration.
	// connector/sourcetest is the conformance suite.
	List(ctx context.Context) iter.Seq2[Employee, error]

	// ChangedSince streams the people whose records changed at or after
	// since, in any order. A Source that cannot answer yields
	// ErrChangedSinceUnsupported as its first error. ctx bounds the whole
	// iteration.
	ChangedSince(ctx context.Context, since time.Time) iter.Seq2[Employee, error]
}

// Snapshotter is a Source that can say when its full list was taken. The
// batch prefers it to List: it records the time in the run (Run.AsOf) and
// refuses a list taken before the one the last completed run read
// (ErrStaleList), since applying it would take back what that run and the
// realtime path since applied — and its missing people for leavers
// (docs/design.md §5.11).
//
// It exists because a Source whose list is an export (a file, a report
// downloaded overnight) may serve a list older than the last one read — a
// failed upload leaves yesterday's file in place — and only the Source knows
// the moment it describes. A Source that reads its records live has no need
// of it.
type Snapshotter interface {
	// Snapshot returns a full list taken at one moment, asOf in the
	// Source's clock — the time its records are versioned with, where they
	// carry no versions of their own — and the list itself, under List's
	// contract: everyone once, in any order, an error ends it, ctx bounds the whole
	// iteration. Zero asOf means the Source cannot tell for this list.
	//
	// The list is ranged once. A Snapshot may hold what it read from (an
	// open file) until then, so a caller that does not want the list ranges
	// it and stops at once.
	Snapshot(ctx context.Context) (asOf time.Time, list iter.Seq2[Employee, error], err error)
}

// Pager is a Source whose List and ChangedSince read the HRIS a page at a
// time, PageSize records to a page — as most HRIS APIs answer. The engine
// asks it only to count the Source's calls (TriggerStats.SourceCalls): a
// listing counts one call for its first page and one more each time a
// record beyond a full page is read; a listing of none counts one.
type Pager interface {
	PageSize() int
}
