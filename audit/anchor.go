package audit

import "fmt"

// AnchorProblem is how a log fails to hold its chain up to an anchor.
type AnchorProblem int

// Anchor problems.
const (
	// LogMissing: the log has no files, though the anchor says entries
	// were acknowledged.
	LogMissing AnchorProblem = iota + 1
	// LogShorter: the chain ends before the anchor's sequence.
	LogShorter
	// LogDiffers: the chain's entry at the anchor's sequence is not the
	// anchored one, or the chain breaks before reaching it.
	LogDiffers
)

// AnchorError says that a log does not hold a tenant's chain up to an
// anchor, unchanged: entries that were acknowledged are lost or changed.
// OpenLog and CheckAnchor return it.
type AnchorError struct {
	Tenant  string
	Seq     int64 // the anchor's sequence
	Problem AnchorProblem
	// At is where the chain ends (LogShorter) or the first sequence that
	// differs or cannot be verified (LogDiffers).
	At int64
	// HeadFile is set when the anchor is the log's own head file rather
	// than the Store's.
	HeadFile string
	Err      error // LogDiffers: the break found, if any
}

func (e *AnchorError) Error() string {
	s := "audit: " + e.describe()
	if _, ok := e.Err.(*ChainError); ok {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *AnchorError) Unwrap() error { return e.Err }

// describe says it in plain words, for errors and reports alike; a break
// behind it (a *ChainError) it leaves to Error, as a report lists the break
// on its own.
func (e *AnchorError) describe() string {
	its, the := "its anchor", "the anchor"
	if e.HeadFile != "" {
		its, the = "its head file ("+e.HeadFile+")", "the head file"
	}
	switch {
	case e.Problem == LogMissing:
		return fmt.Sprintf("tenant %q: the log is missing (no files), but %s is at sequence %d", e.Tenant, its, e.Seq)
	case e.Problem == LogShorter:
		return fmt.Sprintf("tenant %q: the log is shorter than %s: the chain ends at sequence %d, %s is at sequence %d", e.Tenant, its, e.At, the, e.Seq)
	case e.At == e.Seq && e.Err == nil:
		return fmt.Sprintf("tenant %q: the log differs from %s at sequence %d: the entry there is not the one anchored", e.Tenant, its, e.Seq)
	}
	s := fmt.Sprintf("tenant %q: the log differs from %s at sequence %d (%s is at sequence %d)", e.Tenant, its, e.At, the, e.Seq)
	if _, ok := e.Err.(*ChainError); !ok && e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// measure checks that ch holds tenant's chain up to anchor a, unchanged.
// missing says the log had no files (when opened: a chain begun since that
// reaches the anchor's sequence differs from it instead); brk, if not nil, is where reading
// stopped, so nothing after it is in ch.
func measure(ch *chain, tenant string, a Head, missing bool, brk *ChainError) *AnchorError {
	if a.Seq <= 0 {
		return nil
	}
	fail := func(p AnchorProblem, at int64, err error) *AnchorError {
		return &AnchorError{Tenant: tenant, Seq: a.Seq, Problem: p, At: at, Err: err}
	}
	head := ch.heads[tenant]
	switch {
	case missing && a.Seq > head.Seq:
		return fail(LogMissing, 0, nil)
	case a.Seq > head.Seq && brk != nil:
		return fail(LogDiffers, head.Seq+1, brk)
	case a.Seq > head.Seq:
		return fail(LogShorter, head.Seq, nil)
	}
	x := ch.index[tenant]
	hash, ok := x.at(a.Seq)
	switch {
	case !ok:
		return fail(LogDiffers, a.Seq, fmt.Errorf("the chain was restarted after sequence %d", x.base.Seq))
	case hash != a.Hash:
		return fail(LogDiffers, a.Seq, nil)
	}
	return nil
}

// CheckAnchor reports whether the log holds tenant's chain up to anchor,
// unchanged: nil when its chain holds entry anchor.Seq with hash
// anchor.Hash (or anchor is zero), otherwise an *AnchorError. The engine
// calls it at start with its Store's anchor, so that a log opened without
// LogOptions.Anchors is still checked before anything is appended to it.
func (l *Log) CheckAnchor(tenant string, anchor Head) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := measure(l.chain, tenant, anchor, l.created, nil); e != nil {
		return e
	}
	return nil
}
