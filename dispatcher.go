package hrissync

import (
	"context"
	"time"
)

// Dispatcher hands people to the engine's workers: "reconcile this person, not
// before at". It is only a hint — the Store's dirty set and due times are the
// truth, swept on start and by every poll — so a Dispatcher may lose work on a
// crash, and may deliver an id twice.
//
// The default is an in-process keyed queue; several replicas share a
// distributed one.
type Dispatcher interface {
	// Dispatch asks for id to be worked on at or after at. Adding an id
	// already waiting keeps the earlier time. Safe for concurrent use; it
	// must not block.
	Dispatch(id string, at time.Time)

	// Run calls work for dispatched ids, at most limit at once and never
	// twice at once for the same id, until ctx ends or Stop is called; it
	// returns once every call of work has returned. An id dispatched while
	// its work runs is worked on again afterwards.
	Run(ctx context.Context, limit int, work func(ctx context.Context, id string)) error

	// Stop makes Run finish the work in hand and return, leaving waiting
	// ids undone (they stay dirty in the Store).
	Stop()
}
