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

	// List streams every person in ascending ID order, so that the batch
	// finds leavers by merging with the Store rather than loading everyone.
	// An error ends the stream: a truncated export must not be taken for a
	// complete one. ctx bounds the whole iteration.
	List(ctx context.Context) iter.Seq2[Employee, error]

	// ChangedSince streams the people whose records changed at or after
	// since, in any order. A Source that cannot answer yields
	// ErrChangedSinceUnsupported as its first error. ctx bounds the whole
	// iteration.
	ChangedSince(ctx context.Context, since time.Time) iter.Seq2[Employee, error]
}
