package hrissync

import (
	"context"
	"fmt"
	"iter"
)

// Sink is the learning platform. Apply is called concurrently for different
// people, never for the same person at once.
//
// Errors steer the engine's retries (package retry): retry.Permanent for
// failures no retry will mend, retry.RetryAfter when the platform names a
// pause (which then applies to every write), a *MissingManagerError when the
// manager must be provisioned first; anything else is retried by the policy.
// A Sink must not retry on its own beyond re-sending a request whose
// connection broke.
type Sink interface {
	// Apply makes one write. It must be idempotent: after a crash the
	// engine may repeat a write that succeeded. ctx bounds the call.
	Apply(ctx context.Context, u Update) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, u Update) error

// Apply calls f.
func (f SinkFunc) Apply(ctx context.Context, u Update) error { return f(ctx, u) }

// FieldCarrier is implemented by Sinks that carry only some fields to the
// platform (a SCIM provider has a place for a role but not for a skill
// rating). The engine leaves every other field out of this sink's desired
// and applied state: never written, never recorded as applied or audited as
// written, never a reason to write. A Sink that does not implement it
// carries every field.
type FieldCarrier interface {
	// Carries reports whether the sink writes field to the platform. It
	// must be a pure function of its argument.
	Carries(field string) bool
}

// Account is what a learning platform holds for one person.
type Account struct {
	EmployeeID string
	Active     bool
	Fields     Fields
	// Opaque lists fields the platform holds in a form the lister cannot
	// turn back into the field's value (a SCIM mapping that transforms
	// it; group memberships kept in the platform's groups): drift checks
	// leave them alone rather than report them changed. A name ending in
	// "*" covers every field it begins ("group.*").
	Opaque []string
}

// AccountLister is implemented by Sinks that can list what the platform holds,
// for drift checks and tests. Accounts streams them in any order; ctx bounds
// the iteration.
type AccountLister interface {
	Accounts(ctx context.Context) iter.Seq2[Account, error]
}

// Rekeyer is implemented by Sinks that can move an account from one worker
// id to another (SCIM: the account's externalId), so that a person HR
// re-keys keeps their account and its learning history (docs/design.md
// §5.1). The engine re-keys through nothing else: with a Sink that is no
// Rekeyer, a re-keyed person is reported and provisioned as new.
type Rekeyer interface {
	// Rekey binds the account bound to worker id from to u.EmployeeID
	// instead, and applies u to it. It must be idempotent: called again
	// after it succeeded (an account bound to u.EmployeeID, none to from)
	// it applies u alone. An account bound to each id is a
	// *RekeyConflictError; none bound to either, an error wrapping
	// ErrNotFound. ctx bounds the call.
	Rekey(ctx context.Context, from string, u Update) error
}

// RekeyConflictError is returned when a re-key finds an account bound to
// each worker id: two accounts for one person, which only an operator can
// merge. The engine reports it and changes neither.
type RekeyConflictError struct {
	From, To string
}

func (e *RekeyConflictError) Error() string {
	return "hrissync: both " + e.From + " and its new id " + e.To + " have an account; merge them by hand"
}

// AccountTakenError is returned by a Sink when a write would give a person's
// account a unique value — an email, a user name — that an account bound to
// another worker id holds. Never a second account, nor an adoption: with
// Config.Correlate the engine may find that the holder is the same person
// under an id HR has retired, and re-key.
type AccountTakenError struct {
	EmployeeID string // the person written
	Field      string // the unique field, as the engine names fields
	HeldBy     string // the worker id the holding account is bound to
}

func (e *AccountTakenError) Error() string {
	return fmt.Sprintf("hrissync: %s of %s is held by the account of %s", e.Field, e.EmployeeID, e.HeldBy)
}
