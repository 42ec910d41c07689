package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"maps"
)

// FindingKind is what Check found: a note, or damage (Damage).
type FindingKind int

// Finding kinds.
const (
	// TailRecovered: a recovered entry. A crash cut a line short, OpenLog
	// cut it off; its entries were handed over again.
	TailRecovered FindingKind = iota + 1
	// TornLine: a crash cut the last line short and no OpenLog has run
	// since. Beyond every anchor, OpenLog will cut it off and record it.
	TornLine
	// HeadBehind: the head file names an earlier end of a chain than the
	// log holds, as a crash between an append and the head file's update
	// leaves it: the chain's own hashes prove the entries after it.
	HeadBehind
	// ChainRestarted: a host started a new chain (LogOptions.Restart).
	ChainRestarted
	// Altered: a line does not verify — edited, deleted, inserted or
	// reordered entries — and nothing after it can be trusted.
	Altered
	// Shorter: the chain ends before an anchor or the head file.
	Shorter
	// Differs: the chain's entry at an anchor's sequence is not the
	// anchored one.
	Differs
	// Missing: no files, though an anchor or the head file names entries.
	Missing

	// Checkpoints (CheckOptions.Keys, CheckOptions.Witnessed):

	// Unwitnessed, a note: a chain's entries after its last checkpoint
	// the witness holds (or, with no witness given, the log records),
	// from Seq to At. They are the writer's word alone until the next
	// checkpoint; not damage.
	Unwitnessed
	// Rewritten: the chain's entry at a signed checkpoint's sequence (Seq)
	// has another hash: entries from At to Seq were rewritten, however
	// well the hashes and head file were recomputed.
	Rewritten
	// Dropped: a checkpoint the log records that the witness does not
	// hold, or one the witness holds that the log does not record (cut
	// off, or removed and the chain recomputed).
	Dropped
	// BadCheckpoint: a checkpoint whose signature does not verify with
	// its key: forged, or altered.
	BadCheckpoint
	// UnknownKey: a checkpoint signed with a key id CheckOptions.Keys
	// lacks, so nothing vouches for it.
	UnknownKey
)

// Damage reports whether the finding is damage rather than a note.
func (k FindingKind) Damage() bool {
	switch k {
	case TailRecovered, TornLine, HeadBehind, ChainRestarted, Unwitnessed:
		return false
	}
	return true
}

func (k FindingKind) String() string {
	switch k {
	case TailRecovered:
		return "torn tail recovered"
	case TornLine:
		return "torn final line"
	case HeadBehind:
		return "head file behind the chain"
	case ChainRestarted:
		return "chain restarted"
	case Altered:
		return "altered or missing entries"
	case Shorter:
		return "log shorter than its anchor or a checkpoint"
	case Differs:
		return "log differs from its anchor"
	case Missing:
		return "log missing"
	case Unwitnessed:
		return "not yet witnessed"
	case Rewritten:
		return "rewritten before a checkpoint"
	case Dropped:
		return "checkpoint dropped"
	case BadCheckpoint:
		return "bad checkpoint signature"
	case UnknownKey:
		return "checkpoint of an unknown key"
	}
	return fmt.Sprintf("FindingKind(%d)", int(k))
}

// Finding is one thing Check found.
type Finding struct {
	Kind   FindingKind
	Tenant string
	// Seq is: the log's own entry (TailRecovered, ChainRestarted); the
	// first sequence that cannot be trusted (Altered); the anchor's
	// (Shorter, Differs, Missing); the chain's end (HeadBehind).
	Seq int64
	// At is: where the chain ends (Shorter); the sequence that differs
	// (Differs); the head file's (HeadBehind).
	At   int64
	File string
	Line int
	// Recovery is what the log did or will do to itself (TailRecovered,
	// ChainRestarted, TornLine).
	Recovery *Recovery
	// Err is the damage as an error: a *ChainError (Altered), an
	// *AnchorError, or a *CheckpointError.
	Err error
}

// String says it in plain words.
func (f Finding) String() string {
	switch f.Kind {
	case TailRecovered:
		return fmt.Sprintf("torn tail recovered: %d bytes of a torn final line cut off %s (%s); recorded as tenant %q entry %d (%s:%d)",
			f.Recovery.BytesDropped, f.Recovery.File, f.Recovery.Reason, f.Tenant, f.Seq, f.File, f.Line)
	case TornLine:
		return fmt.Sprintf("torn final line: %d bytes at the end of %s (line %d) with no newline, left by a crash during an append; beyond every anchor, OpenLog cuts it off and records the cut",
			f.Recovery.BytesDropped, f.File, f.Line)
	case HeadBehind:
		return fmt.Sprintf("head file behind the chain: tenant %q ends at sequence %d, the head file says %d; normal after a crash, the chain's own hashes prove the entries after it (OpenLog brings the head file up to date)",
			f.Tenant, f.Seq, f.At)
	case ChainRestarted:
		s := fmt.Sprintf("chain restarted: tenant %q continues after sequence %d from entry %d (%s:%d), because: %s",
			f.Tenant, f.Recovery.Anchor.Seq, f.Seq, f.File, f.Line, f.Recovery.Reason)
		if f.Recovery.MovedTo != "" {
			s += "; the refused files were set aside as " + f.Recovery.MovedTo
		}
		return s + "; what was wrong: " + f.Recovery.Problem
	case Unwitnessed:
		return fmt.Sprintf("not yet witnessed: tenant %q entries %d to %d (%d) come after the last checkpoint; the next checkpoint covers them",
			f.Tenant, f.Seq, f.At, f.At-f.Seq+1)
	}
	switch err := f.Err.(type) {
	case *ChainError:
		if f.Seq == 0 {
			return "altered or missing entries: " + err.describe()
		}
		return fmt.Sprintf("altered or missing entries from sequence %d: %s", f.Seq, err.describe())
	case *AnchorError:
		return err.describe() // it names the kind in its own words
	case *CheckpointError:
		return err.describe()
	}
	return fmt.Sprintf("%v: %v", f.Kind, f.Err)
}

// Report is what Check found in a log.
type Report struct {
	Files    []string
	Entries  int             // entries that verify
	Heads    map[string]Head // where each tenant's chain ends, as far as it verifies
	Findings []Finding       // the log's own entries in order, then damage and other notes
}

// Err returns the first damage found as an error, nil when there is none:
// notes are not damage.
func (r *Report) Err() error {
	for _, f := range r.Findings {
		if f.Kind.Damage() {
			return f.Err
		}
	}
	return nil
}

// CheckOptions configure Check. The zero value checks the chains and the
// head file.
type CheckOptions struct {
	// Anchors are the Store's anchors by tenant (store.Store.Anchor):
	// the chains must hold each, unchanged.
	Anchors map[string]Head
	// HeadFile is the log's head file. Default: the last file's path with
	// ".head" added, which is right when the active file is listed (as
	// LogFiles does when it exists); give path+".head" to be sure.
	HeadFile string

	// Keys are the public keys checkpoints are checked with, by key id
	// (ReadPublicKeys reads them). With Keys or Witnessed, Check checks
	// the checkpoints the log records and those the witness holds.
	Keys map[string]ed25519.PublicKey
	// Witnessed are the checkpoints the witness holds
	// (Witness.Checkpoints). Nil: no witness to compare with; an empty,
	// non-nil slice is a witness that holds none.
	Witnessed []Checkpoint
}

// Check reads a log's files, given in chain order (LogFiles lists them), and
// reports what it found: the chains, what the log did to itself, and any
// damage against the head file and the anchors. The error is for files that
// cannot be read; damage is in the Report.
func Check(opts CheckOptions, files ...string) (*Report, error) {
	head := opts.HeadFile
	if head == "" && len(files) > 0 {
		head = files[len(files)-1] + ".head"
	}
	s, err := loadLog(context.Background(), files, head, nil)
	if err != nil {
		return nil, err
	}
	r := &Report{Files: files, Entries: s.entries, Heads: maps.Clone(s.chain.heads)}
	r.Findings = append(s.notes, s.judge(opts.Anchors)...)
	r.Findings = append(r.Findings, s.judgeCheckpoints(opts.Keys, opts.Witnessed)...)
	return r, nil
}

// Verify checks the chains of a log's files, given in chain order (LogFiles
// lists them), and, where the head file of the last one exists, that no
// entry is missing from the end. It returns nil, or the first damage Check
// finds: a *ChainError or an *AnchorError. Notes — a recovered tail, a torn
// final line not yet recovered, a head file behind the chain, a restart — are
// not errors. To check signed checkpoints too, with the public keys and the
// witness's list, call Check with CheckOptions.Keys and Witnessed and take
// Report.Err.
func Verify(files ...string) error {
	r, err := Check(CheckOptions{}, files...)
	if err != nil {
		return err
	}
	return r.Err()
}

// judge measures a scanned log against anchors and its head file: the
// damage, and the notes that are not entries of the log.
func (s *scanned) judge(anchors map[string]Head) []Finding {
	var out []Finding
	if b := s.brk; b != nil {
		f := Finding{Kind: Altered, Tenant: b.Tenant, File: b.File, Line: b.Line, Err: b}
		if b.Seq != 0 { // the line said which chain it is in
			f.Seq = s.chain.heads[b.Tenant].Seq + 1
		}
		out = append(out, f)
	}
	if t := s.torn; t != nil {
		out = append(out, Finding{Kind: TornLine, File: t.file, Line: t.line, Recovery: &Recovery{Reason: TornReason, BytesDropped: t.size, File: t.file}})
	}
	missing := len(s.files) == 0
	for _, tenant := range tenants(anchors) {
		if e := measure(s.chain, tenant, anchors[tenant], missing, s.brk); e != nil {
			out = append(out, anchorFinding(e))
		}
	}
	return append(out, s.judgeHead()...)
}

// judgeHead measures the chains against the head file, which is an anchor
// the log keeps itself: behind is normal after a crash, ahead is loss.
func (s *scanned) judgeHead() []Finding {
	if s.headErr != nil {
		return []Finding{{Kind: Altered, File: s.headErr.File, Err: s.headErr}}
	}
	if s.head == nil {
		return nil
	}
	var out []Finding
	for _, tenant := range tenants(s.head.Tenants, s.chain.heads) {
		want, got := s.head.Tenants[tenant], s.chain.heads[tenant]
		e := measure(s.chain, tenant, want, len(s.files) == 0, s.brk)
		switch {
		case e != nil && s.brk != nil && e.Err == error(s.brk):
			// The break is reported already; that the head file is
			// beyond it adds nothing.
		case e != nil:
			e.HeadFile = s.headPath
			out = append(out, anchorFinding(e))
		case got.Seq > want.Seq:
			out = append(out, Finding{Kind: HeadBehind, Tenant: tenant, Seq: got.Seq, At: want.Seq, File: s.headPath})
		}
	}
	if len(out) == 0 && s.brk == nil && s.head.Link != s.chain.link {
		out = append(out, Finding{Kind: Altered, File: s.headPath, Err: &ChainError{File: s.headPath,
			Reason: "the last line is not the one the head file names: lines missing or altered at the end"}})
	}
	return out
}

func anchorFinding(e *AnchorError) Finding {
	kind := map[AnchorProblem]FindingKind{LogMissing: Missing, LogShorter: Shorter, LogDiffers: Differs}[e.Problem]
	f := Finding{Kind: kind, Tenant: e.Tenant, Seq: e.Seq, At: e.At, Err: e}
	if e.HeadFile != "" {
		f.File = e.HeadFile
	}
	return f
}
