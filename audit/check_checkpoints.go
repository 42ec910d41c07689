package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
)

// recordedCheckpoint is a checkpoint the log records, and where: its own
// entry, Seq, follows the entry it signs.
type recordedCheckpoint struct {
	c    Checkpoint
	file string
	line int
	seq  int64
}

// CheckpointProblem is how a checkpoint and a log disagree.
type CheckpointProblem int

// Checkpoint problems.
const (
	// CheckpointBadSignature: the signature does not verify.
	CheckpointBadSignature CheckpointProblem = iota + 1
	// CheckpointUnknownKey: no public key is given for its key id.
	CheckpointUnknownKey
	// CheckpointBeyondLog: the chain ends (or stops verifying) before the
	// checkpoint's sequence.
	CheckpointBeyondLog
	// CheckpointDiffers: the chain's entry at the checkpoint's sequence
	// has another hash.
	CheckpointDiffers
	// CheckpointNotWitnessed: the log records it; the witness lacks it.
	CheckpointNotWitnessed
	// CheckpointNotRecorded: the witness holds it; the log lacks its
	// record.
	CheckpointNotRecorded
)

// CheckpointError says that a signed checkpoint does not vouch for the
// log: it does not verify, or the log does not hold what it signs, or the
// log and the witness do not hold the same checkpoints.
type CheckpointError struct {
	Checkpoint Checkpoint
	Problem    CheckpointProblem
	// Where the checkpoint was found: "the witness", or the log's file
	// and line that record it.
	Where string
	// At is where the chain ends (CheckpointBeyondLog) or the first
	// sequence that may have been rewritten (CheckpointDiffers): the one
	// after the last checkpoint that matched.
	At  int64
	Err error // ErrBadSignature or ErrUnknownKey
}

func (e *CheckpointError) Error() string { return "audit: " + e.describe() }

func (e *CheckpointError) Unwrap() error { return e.Err }

func (e *CheckpointError) describe() string {
	c := e.Checkpoint
	what := fmt.Sprintf("tenant %q: the checkpoint of sequence %d (key %q, %s) in %s", c.Tenant, c.Seq, c.KeyID, c.Time.UTC().Format("2006-01-02 15:04:05Z"), e.Where)
	switch e.Problem {
	case CheckpointBadSignature:
		return what + ": its signature does not verify: forged or altered"
	case CheckpointUnknownKey:
		return what + ": signed with a key id no public key was given for"
	case CheckpointBeyondLog:
		return fmt.Sprintf("%s: the log is shorter than the checkpoint: the chain ends (or stops verifying) at sequence %d", what, e.At)
	case CheckpointDiffers:
		return fmt.Sprintf("%s: the log differs from it: entries from sequence %d to %d were rewritten", what, e.At, c.Seq)
	case CheckpointNotWitnessed:
		return what + ": the witness does not hold it: dropped at the witness"
	case CheckpointNotRecorded:
		return what + ": the log does not record it: its record was cut off or removed"
	}
	return what
}

// judgeCheckpoints checks the log's checkpoints and the witness's against
// the keys and the chains, and against each other; it says how far each
// chain is witnessed. Nothing, unless keys or a witness's list are given.
func (s *scanned) judgeCheckpoints(keys map[string]ed25519.PublicKey, witnessed []Checkpoint) []Finding {
	if keys == nil && witnessed == nil {
		return nil
	}
	var out []Finding
	damaged := map[string]bool{} // tenants whose checkpoints disagree: how far they are witnessed means nothing
	if s.brk != nil {
		damaged[s.brk.Tenant] = true
	}
	fail := func(kind FindingKind, c Checkpoint, p CheckpointProblem, where string, at int64, err error) {
		damaged[c.Tenant] = true
		f := Finding{Kind: kind, Tenant: c.Tenant, Seq: c.Seq, At: at,
			Err: &CheckpointError{Checkpoint: c, Problem: p, Where: where, At: at, Err: err}}
		out = append(out, f)
	}
	signed := func(c Checkpoint, where string) bool {
		err := c.Check(keys)
		switch {
		case errors.Is(err, ErrUnknownKey):
			fail(UnknownKey, c, CheckpointUnknownKey, where, 0, err)
		case err != nil:
			fail(BadCheckpoint, c, CheckpointBadSignature, where, 0, err)
		}
		return err == nil
	}
	held := map[string]bool{}
	newest := map[string]int64{} // tenant → the witness's newest checkpoint
	for _, c := range witnessed {
		held[c.key()] = true
		newest[c.Tenant] = max(newest[c.Tenant], c.Seq)
	}
	// The log's own records: each must verify, match its chain and, with
	// a witness, be held by it.
	recordedAt := map[string]int64{} // checkpoint → its record's sequence
	covered := map[string]int64{}    // tenant → the last checkpoint that vouches for its chain
	matched := map[string]int64{}    // tenant → the last of the log's records that matched
	for _, r := range s.recorded {
		where := fmt.Sprintf("the log (%s:%d)", r.file, r.line)
		recordedAt[r.c.key()] = r.seq
		if !signed(r.c, where) {
			continue
		}
		if hash, ok := s.chain.index[r.c.Tenant].at(r.c.Seq); !ok || hash != r.c.Hash {
			fail(Rewritten, r.c, CheckpointDiffers, where, matched[r.c.Tenant]+1, nil)
			continue
		}
		matched[r.c.Tenant] = r.c.Seq
		switch {
		case witnessed != nil && !held[r.c.key()] && r.c.Seq < newest[r.c.Tenant]:
			// A gap: the witness holds later checkpoints, not this one.
			// Past its newest, the witness is only behind (down, or not
			// yet handed over): what follows is not yet witnessed.
			fail(Dropped, r.c, CheckpointNotWitnessed, where, 0, nil)
		case witnessed == nil:
			covered[r.c.Tenant] = max(covered[r.c.Tenant], r.c.Seq)
		}
	}
	// The witness's, in each chain's order: each must verify and match
	// the chain; the last one that matched bounds a rewrite.
	ws := append([]Checkpoint(nil), witnessed...)
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].Tenant != ws[j].Tenant {
			return ws[i].Tenant < ws[j].Tenant
		}
		return ws[i].Seq < ws[j].Seq
	})
	const where = "the witness"
	for _, c := range ws {
		if !signed(c, where) {
			continue
		}
		end := s.chain.heads[c.Tenant].Seq
		hash, ok := s.chain.index[c.Tenant].at(c.Seq)
		switch {
		case c.Seq > end:
			fail(Shorter, c, CheckpointBeyondLog, where, end, nil)
		case !ok || hash != c.Hash:
			fail(Rewritten, c, CheckpointDiffers, where, covered[c.Tenant]+1, nil)
		default:
			covered[c.Tenant] = max(covered[c.Tenant], c.Seq)
			if _, ok := recordedAt[c.key()]; !ok {
				fail(Dropped, c, CheckpointNotRecorded, where, 0, nil)
			}
		}
	}
	// What no checkpoint covers yet, beyond the record of the last one.
	lastRecord := map[string]int64{}
	for _, r := range s.recorded {
		if r.c.Seq == covered[r.c.Tenant] {
			lastRecord[r.c.Tenant] = r.seq
		}
	}
	for _, tenant := range tenants(s.chain.heads) {
		end, from := s.chain.heads[tenant].Seq, covered[tenant]+1
		if x := s.chain.index[tenant]; x != nil && from <= x.base.Seq {
			from = x.base.Seq + 1
		}
		if from == lastRecord[tenant] { // the checkpoint's own record, which it names
			from++
		}
		if end >= from && !damaged[tenant] {
			out = append(out, Finding{Kind: Unwitnessed, Tenant: tenant, Seq: from, At: end})
		}
	}
	return out
}
