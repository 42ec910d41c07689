package store

import "context"

// Intent is one person's intent in a bulk load (BulkLoader.IntendNew): the
// mark Intend would be given.
type Intent struct {
	ID   string
	Mark Mark
}

// BulkLoader is a Store that records the writes of many people it holds
// nothing of — an initial load — in two transactions rather than two per
// person: every intent first, then, once the sink has taken the writes,
// every commit. Each person's row ends exactly as Intend and Commit would
// have left it, and the outbox holds the same entries in the same order.
// A crash between the two leaves every person whose commit was not recorded
// dirty and unsure, as after an Intend. A Store without it has the engine
// call Intend and Commit once per person.
type BulkLoader interface {
	// IntendNew records, in one transaction, the intent of each person
	// named whom the Store holds no row for — none at all: no state, no
	// mark, no listing — as Intend would with that Mark, and returns each
	// one's generation, in order. A person the Store holds a row for is
	// left as they are, their generation 0: the engine reconciles them
	// one by one. A person named twice is new the first time only. On an
	// error nothing is recorded.
	IntendNew(ctx context.Context, tenant string, intents []Intent) ([]uint64, error)

	// CommitMany records the commits in one transaction, in order, each
	// as Commit would, its audit entries after the previous commit's. On
	// an error nothing is recorded.
	CommitMany(ctx context.Context, tenant string, cs []Commit) error
}
