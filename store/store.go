// Package store is the contract between the hrissync engine and what it is
// built on: the Store that is its memory, the Dispatcher that hands people
// to its workers, and the Locker and Scheduler that let replicas share one
// Store. A host never needs it; whoever implements one of these does — as
// database/sql/driver stands beside database/sql. The implementations in
// this repository are store/memory, store/sqlite and store/postgres; the
// conformance suite is store/storetest.
//
// # Optional capabilities
//
// The engine asks for some abilities by interface, each checked in one place
// (the engine's capabilities.go) and named here:
//
//   - Backlogger: a Dispatcher that can count the people it holds. Without
//     it the engine's Backlog is -1, a webhook receiver's backlog guard
//     (answering 503 when too many wait) is off, and the queue-depth metric
//     is not reported.
//   - Pauser: a Dispatcher that can hold every ready person until a time,
//     used while the sink is paused (a Retry-After, an open breaker).
//     Without it people are handed out and put off one by one.
//   - Idler: a Dispatcher that can say when it has nothing in hand, for
//     Engine.WaitIdle (simulations and tests step time with it). Without it
//     WaitIdle returns an error.
//   - Locker: a Dispatcher that is also a Locker is the default
//     Config.Locker, guarding each person across processes.
//   - Scheduler: a Dispatcher that is also a Scheduler runs the poll and
//     the batch, once across replicas; the engine then sets no timers of
//     its own for them.
//   - Binder: a Dispatcher that the engine binds to itself at New, handing
//     it the engine's Store, tenant and clock rather than having them
//     configured twice. It says whether the Store dispatches a person in
//     the transaction that marks them dirty; the engine then dispatches no
//     accepted event itself, so that each is enqueued once.
//   - BulkLoader: a Store that records the intents of many people it holds
//     nothing of in one transaction, and their commits in another, for the
//     batch's initial load. Without it the engine records each person's
//     intent and commit on its own (Intend, Commit).
//   - Summarizer: a Store that can read people summarized (Summary) —
//     their applied fields as a digest rather than decoded. The batch then
//     decodes only the people whose desired state is not the one applied,
//     and finds leavers without decoding every account. Without it the
//     batch reads everyone whole (Lookup, People).
//
// Times are always passed in by the engine, never read from a database's
// clock, so that simulated time works.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
)

// ErrNotFound: the Store holds no such thing (a batch run by ID).
var ErrNotFound = errors.New("hrissync: not found")

// ErrConflict: a Rekey whose new id has an account already, or whose old id
// has none.
var ErrConflict = errors.New("hrissync: conflicting state")

// ErrEventConflict: Accept met an event id it remembers with another
// fingerprint — a different event reusing the id, which must be refused
// rather than dropped as a repeat.
var ErrEventConflict = errors.New("hrissync: event id already used by another event")

// Store is the engine's memory: what it last applied to the platform for each
// person, who is dirty or due, the audit outbox, event ids it has seen, the
// poll watermark and the batch ledger. Every method takes the tenant, and
// nothing of one tenant is visible to another. Times are always passed in by
// the engine (never the database's clock), so simulated time works.
//
// It is wider than a one-method interface because the engine needs its
// operations to be atomic together (docs/design.md §4). Implement it with the
// conformance suite in hand: store/storetest.Run. Every method is safe for
// concurrent use; ctx bounds each call.
type Store interface {
	// Accept records an event: it remembers ev.EventID (with
	// ev.Fingerprint) until ev.Forget and marks the person dirty, in one
	// transaction. A remembered event id is a repeat when the fingerprints
	// are equal or either is empty (remembered before fingerprints were):
	// Accept reports duplicate and changes nothing. With another
	// fingerprint it returns an error wrapping ErrEventConflict and changes
	// nothing.
	Accept(ctx context.Context, tenant string, ev Acceptance) (duplicate bool, err error)

	// MarkDirty marks people dirty without an event id (a poll that found
	// them changed, a replay).
	MarkDirty(ctx context.Context, tenant string, ids []string, m Mark) error

	// Person returns one person's state. An unknown person is returned
	// with only ID set (not an error).
	Person(ctx context.Context, tenant, id string) (Person, error)

	// Commit records one reconcile, all or nothing: the applied fields
	// (merged per field, so that an older version never overwrites a
	// newer), the account's existence and activity, the audit entries into
	// the outbox, the next due time, and the removal of any failure record.
	// The dirty mark is cleared only if its generation still equals
	// c.Generation; a mark made since stays, with Unsure cleared (the
	// write it was unsure of is now recorded).
	Commit(ctx context.Context, tenant string, c Commit) error

	// Intend records, just before a write, that the write may reach the
	// sink without its commit (a crash in between): it marks the person
	// dirty with m and Unsure set, and returns the mark's new generation,
	// which the reconcile then commits against.
	Intend(ctx context.Context, tenant, id string, m Mark) (generation uint64, err error)

	// Fail records a failed attempt and keeps (or makes) the person dirty
	// with m, in one transaction; the mark's Unsure becomes m.Unsure (the
	// engine knows whether the failed write may have landed). f.Dead puts
	// the person in the dead-letter listing.
	Fail(ctx context.Context, tenant, id string, f Failure, m Mark) error

	// Pending lists, in ID order after the ID after, up to limit people who
	// are dirty or whose due time is at or before until.
	Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]Person, error)

	// DeadLetters lists, in ID order, the people whose retries ran out.
	DeadLetters(ctx context.Context, tenant string) ([]Person, error)

	// People lists, in ID order after the ID after, up to limit people who
	// have an account in the platform (Exists), and the Damaged (whether
	// they have one is unknown): after reading the Source's full list, the
	// batch finds leavers among them — accounts the list did not show.
	People(ctx context.Context, tenant, after string, limit int) ([]Person, error)

	// Lookup returns the state of each person named, in the order named:
	// Person for many at once, an unknown one with only ID set. The batch
	// reads a chunk of the Source's list, in whatever order it came, with
	// one call.
	Lookup(ctx context.Context, tenant string, ids []string) ([]Person, error)

	// Listed records that a full list showed these people, in one
	// transaction: each Listing replaces the person's, except that an
	// empty Run keeps the stored one (a poll listing everyone records
	// digests only). A person the Store does not hold gets a row holding
	// only the listing — not dirty, no account, not listed by People. The
	// batch marks each chunk it has examined, so that a rerun skips them
	// and the accounts the list never showed are known without holding the
	// list in memory.
	Listed(ctx context.Context, tenant string, l []Listing) error

	// Outbox returns up to limit audit entries not yet acknowledged, oldest
	// first. Ack removes entries by ID once the Auditor holds them and, in
	// the same transaction, raises the tenant's audit anchor to anchor: a
	// zero anchor, or one whose Seq is not beyond the stored one, leaves it
	// as it is. Anchor returns the anchor (zero before any): the end of
	// the tenant's audit chain as last acknowledged, so that a log that
	// lost or changed acknowledged entries is found (docs/design.md §6.5).
	Outbox(ctx context.Context, tenant string, limit int) ([]audit.Entry, error)
	Ack(ctx context.Context, tenant string, ids []string, anchor audit.Head) error
	Anchor(ctx context.Context, tenant string) (audit.Head, error)
	// AppendAudit adds entries that describe no person's commit (batch run
	// summaries) to the outbox.
	AppendAudit(ctx context.Context, tenant string, entries []audit.Entry) error

	// ForgetEvents drops event ids whose Forget time is at or before t,
	// returning how many, and the revocations recorded more than
	// RevocationRetention before t.
	ForgetEvents(ctx context.Context, tenant string, t time.Time) (int, error)

	// Revocations counts, per budget named in Commit.Revoked, the commits
	// at or after since that ended someone's access, and the people who
	// hold an active account now: the deactivation budgets' rolling
	// window (docs/design.md §5.13).
	Revocations(ctx context.Context, tenant string, since time.Time) (Revocations, error)

	// Cursor returns a named watermark (zero if unset); SetCursor sets it.
	Cursor(ctx context.Context, tenant, name string) (time.Time, error)
	SetCursor(ctx context.Context, tenant, name string, t time.Time) error

	// Rekey moves the account of person r.From to person r.To, in one
	// transaction, before the platform's account is rebound: To gets
	// From's account, activity and applied fields (Rekeyed: their values,
	// without versions), and the dirty mark
	// r.Mark with Unsure set and RekeyFrom = r.From (the platform binds the
	// account to From until the write that mark owes); From keeps only that
	// it moved (Person.MovedTo), its mark, failure and due time cleared;
	// r.Audit goes to the outbox. It returns To's mark generation, which the
	// write's Commit is made against. It returns an error wrapping
	// ErrConflict, and changes nothing, when To has an account already or
	// From has none.
	Rekey(ctx context.Context, tenant string, r Rekeying) (generation uint64, err error)

	// SaveBatchRun inserts or replaces a batch run by ID; BatchRun returns one (an
	// error wrapping ErrNotFound if none); LastBatchRun the run whose ID was
	// first saved most recently. The batch saves a run as it starts, so
	// this is the run started last in the order the Store saw them,
	// whatever their Started times say: a clock stepped back must not hide
	// the newest run. Saving a run again keeps its place.
	SaveBatchRun(ctx context.Context, tenant string, r BatchRun) error
	BatchRun(ctx context.Context, tenant, id string) (BatchRun, error)
	LastBatchRun(ctx context.Context, tenant string) (BatchRun, error)
}

// Person is one person's state in the Store.
type Person struct {
	ID string
	// Exists reports that the platform holds an account for the person;
	// Active whether it is enabled.
	Exists, Active bool
	// Applied is what the engine last wrote, per field, with the source
	// version each value came from.
	Applied map[string]Applied
	Dirty   Mark      // Dirty.Generation is 0 when the person is clean
	Due     time.Time // when a future-dated change takes effect; zero for none
	Failure *Failure  // the current run of failed attempts, if any
	// Listed is how the last full list to show the person saw them.
	Listed Listing `json:",omitzero"`
	// Damaged: the Store holds a row for this person that it cannot
	// decode. Only ID is set, and the person is listed by Pending as if
	// dirty. The engine rebuilds the person from the Source with a full
	// rewrite, and Commit replaces the damaged row whole.
	Damaged bool `json:",omitempty"`
}

// Listing is one person as a full list showed them: the batch run that read
// the list, and a digest of the record (hrissync's, opaque to the Store).
type Listing struct {
	ID     string `json:"-"`
	Run    string `json:",omitempty"` // the batch run; "" from a poll's list
	Digest string `json:",omitempty"`
}

// Clone returns a copy of p that shares nothing with it.
func (p Person) Clone() Person {
	p.Applied = maps.Clone(p.Applied)
	if p.Failure != nil {
		f := *p.Failure
		p.Failure = &f
	}
	return p
}

// Lookup's answer, for a Store that found people by ID: for each id in
// order, the person found (an id asked again gets its own copy, so that the
// caller may change one without the other), or one with only ID set.
func LookupAnswer(ids []string, found map[string]Person) []Person {
	out := make([]Person, len(ids))
	given := make(map[string]bool, len(found))
	for i, id := range ids {
		p, ok := found[id]
		switch {
		case !ok:
			p = Person{ID: id}
		case given[id]:
			p = p.Clone()
		}
		given[id] = true
		out[i] = p
	}
	return out
}

// AppliedActivity is the key under which Person.Applied holds the account's
// activity ("true" or "false") as last written, with the version of the
// record that set it: activity is versioned like every field, so that no
// older record changes it. It is never a field of the platform.
const AppliedActivity = "@active"

// AppliedMovedTo is the key under which Person.Applied holds, for a worker
// id HR re-keyed, the id its account moved to (Store.Rekey): all that is
// left of the old id. It is never a field of the platform.
const AppliedMovedTo = "@movedTo"

// MovedTo is the worker id p's account moved to when HR re-keyed p; "" if
// it did not.
func (p Person) MovedTo() string { return p.Applied[AppliedMovedTo].Value }

// MovedTo is the applied state Store.Rekey leaves the old id: only the id
// its account moved to.
func MovedTo(id string) map[string]Applied {
	return map[string]Applied{AppliedMovedTo: {Value: id}}
}

// Rekeyed is the applied state Store.Rekey gives the new id: the old id's
// values, without their versions — those came from the old id's records,
// which do not order the new id's.
func Rekeyed(from Person) map[string]Applied {
	out := make(map[string]Applied, len(from.Applied))
	for f, a := range from.Applied {
		out[f] = Applied{Value: a.Value}
	}
	return out
}

// CheckRekey is Store.Rekey's precondition, for Stores: from has an account
// and to has none.
func CheckRekey(from, to Person) error {
	switch {
	case !from.Exists:
		return fmt.Errorf("re-keying %s to %s: %s has no account: %w", from.ID, to.ID, from.ID, ErrConflict)
	case to.Exists:
		return fmt.Errorf("re-keying %s to %s: %s has an account already: %w", from.ID, to.ID, to.ID, ErrConflict)
	}
	return nil
}

// Rekeying is one re-key as Store.Rekey records it.
type Rekeying struct {
	From, To string
	Mark     Mark        // To's: the write that rebinds the account is owed
	Audit    audit.Entry // the re-key, naming both ids
}

// Applied is one field's value as last written, and its source version.
type Applied struct {
	Value   string
	Version hrtype.Version
}

// Mark is why a person is dirty. Marks merge: classes are united, the later
// event id and the newer MinVersion kept, the first Since kept.
type Mark struct {
	// Generation is assigned by the Store: it grows on every mark, so a
	// commit can tell whether a mark arrived while it ran. Callers leave
	// it zero.
	Generation uint64
	Since      time.Time     // when the person first became dirty
	Classes    cadence.Class // the field classes to reconcile
	Trigger    string        // who marked: the engine's Trigger (realtime, poll, batch, replay)
	EventID    string        // the latest event, if any
	// MinVersion is the oldest record version that satisfies the mark: a
	// record read from the Source that is older is stale (read-after-write
	// lag) and the person is tried again shortly.
	MinVersion hrtype.Version
	// Unsure: a write may have reached the sink without being recorded
	// (a crash between the write and its commit), so the applied state
	// cannot be trusted; the next reconcile rewrites every field.
	Unsure bool `json:",omitempty"`
	// RekeyFrom: the person's account was moved to them from this worker
	// id in the Store (Store.Rekey), and the platform still binds it to
	// that id until a write rebinds it. Cleared like Unsure by a commit.
	RekeyFrom string `json:",omitempty"`
}

// Acceptance is an event as the Store records it.
type Acceptance struct {
	EventID string
	// Fingerprint digests what the event says (the engine's choice of
	// fields); empty means unknown.
	Fingerprint string
	EmployeeID  string
	Mark        Mark
	Forget      time.Time // when the event id may be forgotten
}

// Commit is the outcome of one reconcile.
type Commit struct {
	ID         string
	Generation uint64 // the dirty generation the reconcile started from
	Exists     bool
	Active     bool
	Applied    map[string]Applied // fields written (or confirmed) by this reconcile
	Audit      []audit.Entry
	Due        time.Time // the next due time, replacing the old; zero for none
	// Revoked, when this commit ends the person's access, names the
	// deactivation budget it spends (BudgetVanished, BudgetTerminated, or
	// BudgetApproved beyond a budget by an operator), and At is when it
	// was applied; Revocations counts them. "" for any other commit.
	Revoked string    `json:",omitempty"`
	At      time.Time `json:",omitzero"`
}

// Revocations is a deactivation budget's window as the Store counts it.
type Revocations struct {
	Spent  map[string]int // commits that ended access, per Commit.Revoked
	Active int            // people with an active account (Exists and Active)
}

// RevocationRetention is how long a Store keeps revocations: longer than
// any budget's window.
const RevocationRetention = 31 * 24 * time.Hour

// Failure is the current run of failed attempts for one person.
type Failure struct {
	Attempts int
	Err      string
	At       time.Time // the last attempt
	Dead     bool      // retries ran out: listed in DeadLetters
}

// BatchStatus is the state of a batch run.
type BatchStatus string

// Run statuses.
const (
	BatchRunning   BatchStatus = "running"
	BatchSucceeded BatchStatus = "succeeded"
	BatchFailed    BatchStatus = "failed"
	// BatchHeld: the run stopped before deprovisioning because the leavers
	// passed the deletion threshold; ApproveDeletions lets it go on.
	BatchHeld BatchStatus = "held"
	// BatchSuperseded: a held run that a later run took the place of,
	// unapproved; its leavers are the later run's to decide.
	BatchSuperseded BatchStatus = "superseded"
)

// BatchRun is one run of the daily batch in the ledger. A failed run is
// resumed by its rerun, which reads the list again and skips the people the
// run marked listed (Store.Listed). Runs saved before that kept an ordered
// list's checkpoint, which is ignored when read.
type BatchRun struct {
	ID       string
	Status   BatchStatus
	Attempt  int // 1 for the scheduled run, 2 for its rerun
	Started  time.Time
	Finished time.Time
	Err      string
	Seen     int      // people read from the Source
	Writes   int      // writes made
	Leavers  []string // people to deprovision, kept while Held
	// Accounts is how many active accounts the merge with the list saw,
	// over the whole run (a resumed run adds to it): the share of them
	// the leavers are is judged against it.
	Accounts int `json:",omitempty"`
	// AsOf is when the Source's list was taken, in the Source's clock
	// (zero: the Source cannot tell). Baseline is the AsOf of the newest
	// run completed before this one: a list older than it is refused.
	AsOf     time.Time `json:",omitzero"`
	Baseline time.Time `json:",omitzero"`
	// Stale counts people for whom the Store held something newer than
	// the list: those fields were left alone.
	Stale int `json:",omitempty"`
	// ApprovedBy is who let the held leavers go, as the host
	// authenticated them (Engine.ApproveDeletions).
	ApprovedBy string `json:",omitempty"`
}

// MergeApplied merges a commit's fields into what a Store holds, field by
// field, keeping whichever value has the newer version. Stores call it so
// that an older version never overwrites a newer one, whatever order commits
// arrive in.
func MergeApplied(held, commit map[string]Applied) map[string]Applied {
	out := make(map[string]Applied, len(held)+len(commit))
	for k, v := range held {
		out[k] = v
	}
	for k, v := range commit {
		if old, ok := out[k]; ok && v.Version.Before(old.Version) {
			continue
		}
		out[k] = v
	}
	return out
}

// MergeMark merges a new mark into a held one (docs/design.md §4.3), for
// Stores. The generation is the Store's to set.
func MergeMark(held, m Mark) Mark {
	if held.Generation == 0 {
		m.Generation = 0
		return m
	}
	held.Classes |= m.Classes
	if m.EventID != "" {
		held.EventID = m.EventID
	}
	if held.MinVersion.Before(m.MinVersion) {
		held.MinVersion = m.MinVersion
	}
	if m.Trigger != "" {
		held.Trigger = m.Trigger
	}
	held.Unsure = held.Unsure || m.Unsure
	if m.RekeyFrom != "" {
		held.RekeyFrom = m.RekeyFrom
	}
	return held
}

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
	// ids undone (they stay dirty in the Store). It is for good: a Run
	// called after Stop returns at once, for the engine may be shut down
	// while its Run is still starting up.
	Stop()
}

// Locker guards one person across processes for the length of a reconcile,
// for replicas sharing a Store (a PostgreSQL advisory lock, say). Within one
// process the engine already never reconciles a person twice at once; a
// Locker extends that to every process.
type Locker interface {
	// Lock blocks until it holds the person's lock, or ctx ends.
	Lock(ctx context.Context, tenant, id string) (unlock func(), err error)
	// TryLock takes the person's lock only if it is free.
	TryLock(ctx context.Context, tenant, id string) (unlock func(), ok bool, err error)
}

// Scheduler runs the engine's periodic work — the fallback poll and the daily
// batch — once per scheduled time across every replica. A Dispatcher that
// implements it is given the poll and the batch when Run starts, and the
// engine sets no timers of its own for them.
type Scheduler interface {
	// Every calls run at each time of s, on one replica. run returns a
	// time to run once more before the schedule's next (the rerun of a
	// failed batch), or the zero time.
	Every(name string, s cadence.Schedule, run func(ctx context.Context) (again time.Time))
}

// Backlogger is a Dispatcher that can count the people it holds.
type Backlogger interface {
	// Len returns how many people are ready for a worker, being worked
	// on, and waiting for a later time.
	Len() (ready, processing, waiting int)
}

// Pauser is a Dispatcher that can hold every ready person until a time.
type Pauser interface {
	PauseUntil(t time.Time)
}

// Idler is a Dispatcher that can say when it has nothing ready and nothing
// being worked on (people set for later do not count).
type Idler interface {
	Idle() bool
	// WaitIdle blocks until Idle would report true, or ctx ends.
	WaitIdle(ctx context.Context) error
}

// Binder is a Dispatcher that the engine binds to itself, once, at New.
type Binder interface {
	// Bind hands the Dispatcher what it shares with the engine. It
	// reports whether b.Store dispatches a person to this Dispatcher in
	// the transaction that marks them dirty (Accept, MarkDirty): the
	// engine then does not dispatch an accepted event again. An error
	// fails New.
	Bind(b Binding) (marksDispatch bool, err error)
}

// Binding is what the engine shares with a Binder.
type Binding struct {
	Store  Store
	Tenant string           // the engine's Config.Tenant
	Now    func() time.Time // the engine's Config.Clock
}

// SinkKey is the key under which a Store keeps the state of one named sink
// of a tenant's engine (hrissync.NewMulti): each sink's applied state,
// marks, failures, outbox, ledger and cursors are apart from every other's,
// as tenants' are, with no change to the Store. The tenant's own key (the
// key of an engine with one sink) is the tenant's name; a sink's adds its
// name after a separator no name contains (U+001F, the unit separator).
func SinkKey(tenant, sink string) string { return tenant + SinkSeparator + sink }

// SinkSeparator separates a tenant from a sink's name in a SinkKey.
const SinkSeparator = "\x1f"

// Accepted is what a Store made of one event of a batch (BatchAccepter).
type Accepted int

// What a Store made of one event of a batch.
const (
	AcceptedNew       Accepted = iota // recorded: the person is marked dirty
	AcceptedDuplicate                 // a repeat (as Accept's duplicate): nothing changed
	AcceptedConflict                  // the id is remembered for another event (ErrEventConflict): nothing changed
)

// BatchAccepter is a Store that records a batch of events in one
// transaction — one commit, one fsync — as a batched webhook delivery
// brings them. Each event is judged as Accept judges it, the events before
// it in the batch included (an id given twice is a repeat the second
// time), and one event's repeat or conflict changes nothing for the others.
// It returns what it made of each, in order, or an error and records
// nothing. A Store without it has the engine call Accept once per event.
type BatchAccepter interface {
	AcceptBatch(ctx context.Context, tenant string, evs []Acceptance) ([]Accepted, error)
}

// Summarizer is a Store that can read people without decoding what they
// hold: each as Summarize would summarize what Lookup or People returns,
// except that Digest may be "" where the Store cannot tell it without
// decoding (a row written before it kept digests). The nightly batch reads a
// million people, nearly all of whom need nothing; it decodes only those
// whose summary does not show that.
type Summarizer interface {
	// Summaries is Lookup summarized: for each id in order, the person's
	// Summary; an unknown one's is Summarize's of a Person with only ID
	// set.
	Summaries(ctx context.Context, tenant string, ids []string) ([]Summary, error)
	// PeopleSummaries is People summarized.
	PeopleSummaries(ctx context.Context, tenant, after string, limit int) ([]Summary, error)
}

// Summary is a person as a Summarizer reads them: their Person less the
// applied fields, the mark and the failure, which are reduced to a digest
// and two flags.
type Summary struct {
	ID             string
	Exists, Active bool
	Dirty          bool // Dirty.Generation != 0
	Failed         bool // Failure != nil
	Due            time.Time
	Listed         Listing
	Damaged        bool
	// Digest is AppliedDigest of the person's Applied, "" if the Store
	// cannot tell; Newest is then the newest version among them.
	Digest string
	Newest hrtype.Version
}

// Summarize is p's Summary: what a Summarizer returns for p, and what its
// answers are checked against.
func Summarize(p Person) Summary {
	s := Summary{ID: p.ID, Exists: p.Exists, Active: p.Active, Dirty: p.Dirty.Generation != 0, Failed: p.Failure != nil,
		Due: p.Due, Listed: p.Listed, Damaged: p.Damaged}
	if !p.Damaged {
		s.Digest, s.Newest = AppliedDigest(p.Applied), NewestApplied(p.Applied)
	}
	return s
}

// AppliedDigest digests applied fields by their values alone, the versions
// left out: two sets of fields with the same values have the same digest,
// whatever versions brought them.
func AppliedDigest(applied map[string]Applied) string {
	return ValuesDigest(func(yield func(name, value string) bool) {
		for _, f := range slices.Sorted(maps.Keys(applied)) {
			if !yield(f, applied[f].Value) {
				return
			}
		}
	})
}

// ValuesDigest is AppliedDigest of fields holding these values, given in
// name order, whatever their versions. It is a SHA-256 (cut to 128 bits) of
// the fields in order, each name and value length-prefixed, so that no two
// different sets share one: equal digests are taken for equal values.
func ValuesDigest(fields iter.Seq2[string, string]) string {
	b := make([]byte, 0, 512)
	for name, value := range fields {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(value)))
		b = append(b, value...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// NewestApplied is the newest version among applied fields (zero for none).
func NewestApplied(applied map[string]Applied) hrtype.Version {
	var newest hrtype.Version
	for _, a := range applied {
		if newest.Before(a.Version) {
			newest = a.Version
		}
	}
	return newest
}
