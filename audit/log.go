package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sync says when the Log makes its entries durable (fsync).
type Sync int

// Sync settings. Whichever is chosen, Record returns only once its entries
// are durable, so that the engine's outbox never lets go of an entry the log
// could still lose.
const (
	// SyncEachRecord fsyncs once per Record call, after all its entries
	// (the default: the engine hands entries over in batches).
	SyncEachRecord Sync = iota
	// SyncEachEntry fsyncs after every entry.
	SyncEachEntry
)

// LogOptions configure OpenLog. A nil *LogOptions, like the zero value,
// means the defaults.
type LogOptions struct {
	// MaxBytes rotates the file once it grows past this; the chain carries
	// on into the next file. Default 64 MiB.
	MaxBytes int64
	Sync     Sync
	// Redact says how to write each field's values (Keep by default).
	Redact Redaction

	// Anchors are the anchors the host's Store holds, by tenant
	// (store.Store.Anchor): OpenLog refuses, with an *AnchorError, a
	// log that does not hold each one. Pass them. Nil treats every anchor
	// as zero: only the log's own head file is checked, and a log shorter
	// than the Store's anchor is found only when the engine starts
	// (CheckAnchor).
	Anchors map[string]Head
	// Restart, when not empty, is why the host starts new chains where
	// OpenLog would otherwise refuse the log: a person's decision, for one
	// start, never a setting to leave on. OpenLog then renames the
	// refused files to path.broken-<time> (and .1, .2 …, .head), keeping
	// them whole, and starts each chain in a new file after its anchor
	// (or, for a tenant without one, after its last entry that verified),
	// first with an ActionChainRestarted entry that records the reason,
	// the anchor, what was wrong and where the old files went. Pass the
	// Store's Anchors with it: a chain continued after its anchor is one
	// the engine's CheckAnchor accepts. A log that OpenLog accepts is
	// opened as usual and Restart is not used.
	Restart string
	// Now stamps the log's own entries and is the clock of
	// CheckpointOptions.Interval. Default time.Now.
	Now func() time.Time

	// Checkpoints, with a Signer, signs each chain's head every so many
	// entries or minutes and hands it to a Witness, so that an auditor
	// holding only the public key can tell a rewritten log from the one
	// written. The zero value leaves them off.
	Checkpoints CheckpointOptions
}

// Log is a durable Auditor: JSON Lines, one SHA-256 hash chain per tenant, so
// that editing, deleting, inserting or reordering any entry breaks the chain
// (Verify finds it). Beside the file it keeps the head of each chain
// (path+".head", replaced atomically on every sync), so that cutting entries
// off the end is detected too. Rotation renames the full file to path.1,
// path.2 … and the chain continues in a new file at path.
//
// Log skips an entry ID it already holds (in the files present when it was
// opened, or written since), as the engine's outbox may hand one over twice
// after a crash. It is safe for concurrent use.
type Log struct {
	path string
	opts LogOptions

	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	size    int64
	rotated int
	chain   *chain
	ids     map[string]bool
	created bool          // no files were there when it was opened
	failed  error         // a write or sync failed: see fail
	ck      *checkpointer // nil without checkpoints
}

var _ Auditor = (*Log)(nil)

// OpenLog opens the log at path, creating it if need be, and reads the files
// already there to continue their chains.
//
// It refuses (the error holds a *ChainError or an *AnchorError) a log whose
// chains do not verify, since appending would bury the break, and a log
// that does not hold its chains up to the anchors in opts or to its own head
// file: missing, shorter, or different. LogOptions.Restart starts new
// chains instead.
//
// After a crash it recovers: a torn final line beyond every anchor is cut
// off and the cut recorded (ActionRecovered) in the chain the line belonged
// to, or, when the line got too short to say, in every chain the log or the
// anchors know; the head file is brought up to the chain's end.
//
// ctx bounds the reading, which is most of the work (every file, rotated
// ones too, is read to verify the chains): OpenLog checks it before each
// file and once more before it writes anything, and returns its error,
// having written nothing, if it has ended. Once OpenLog has begun to
// recover a torn tail or to restart chains it finishes, so that the files
// are never left half repaired.
//
// With checkpoints (LogOptions.Checkpoints), the Log hands them to the
// witness from a goroutine of its own, which Close stops; the first hand-over
// also gives the witness any checkpoint the log holds that it lacks.
func OpenLog(ctx context.Context, path string, opts *LogOptions) (*Log, error) {
	l, err := openLog(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if l.ck != nil {
		l.ck.start()
	}
	return l, nil
}

func openLog(ctx context.Context, path string, opts *LogOptions) (*Log, error) {
	l := &Log{path: path, ids: map[string]bool{}}
	if opts != nil {
		l.opts = *opts
	}
	if err := l.opts.Checkpoints.validate(); err != nil {
		return nil, err
	}
	if l.opts.Checkpoints.Signer != nil {
		l.ck = newCheckpointer(l.opts.Checkpoints)
	}
	if l.opts.MaxBytes <= 0 {
		l.opts.MaxBytes = 64 << 20
	}
	if l.opts.Now == nil {
		l.opts.Now = time.Now
	}
	files, err := LogFiles(path)
	if err != nil {
		return nil, err
	}
	s, err := loadLog(ctx, files, path+".head", func(r Record) {
		l.ids[r.Entry.ID] = true
		if l.ck != nil {
			l.ck.saw(r.Entry, l.opts.Now)
			if c := r.Entry.Checkpoint; c != nil && r.Entry.Action == ActionCheckpoint {
				l.ck.recorded = append(l.ck.recorded, *c)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if why := l.refusal(s); why != nil {
		if l.opts.Restart == "" {
			return nil, fmt.Errorf("audit: refusing to append to %s: %w", path, why)
		}
		return l.restart(s, why)
	}
	l.chain, l.created = s.chain, len(files) == 0
	l.rotated = len(files)
	if _, err := os.Stat(path); err == nil {
		l.rotated--
	}
	switch {
	case s.torn != nil:
		err = l.recoverTail(s)
	case !s.head.matches(l.chain):
		err = l.writeHeadDurably()
	}
	if err != nil {
		return nil, err
	}
	if err := l.openActive(); err != nil {
		return nil, err
	}
	return l, nil
}

// refusal is why OpenLog will not append to a log, the gravest first: the
// Store's anchors not held (acknowledged entries lost or changed), else the
// head file's, else a line that does not verify or a torn line it may not
// cut.
func (l *Log) refusal(s *scanned) error {
	var store, head, other []error
	for _, f := range s.judge(l.opts.Anchors) {
		var ae *AnchorError
		switch {
		case !f.Kind.Damage():
		case errors.As(f.Err, &ae) && ae.HeadFile == "":
			store = append(store, f.Err)
		case ae != nil:
			head = append(head, f.Err)
		default:
			other = append(other, f.Err)
		}
	}
	if s.torn != nil && s.torn.file != l.path {
		other = append(other, &ChainError{File: s.torn.file, Line: s.torn.line, Reason: "cut short, in a rotated file"})
	}
	for _, errs := range [][]error{store, head, other} {
		switch len(errs) {
		case 0:
			continue
		case 1:
			return errs[0] // as it is, for a plain message
		}
		return errors.Join(errs...)
	}
	return nil
}

func (l *Log) openActive() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: %w", err)
	}
	l.f, l.w, l.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// Record implements Auditor: it appends the entries whose IDs are new and
// returns once they are durable. After a write or sync fails, the Log takes
// no more entries until it is reopened (see fail).
func (l *Log) Record(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.f == nil:
		return errors.New("audit: log closed")
	case l.failed != nil:
		return fmt.Errorf("audit: the log takes no more entries after a failed write; reopen it: %w", l.failed)
	}
	wrote := false
	for _, e := range entries {
		if e.ID == "" {
			return errors.New("audit: entry without an ID")
		}
		if l.ids[e.ID] {
			continue
		}
		red, err := l.opts.Redact.apply(e)
		if err != nil {
			return err
		}
		if err := l.append(red, l.chain.heads[e.Tenant]); err != nil {
			return err
		}
		wrote = true
		if l.opts.Sync == SyncEachEntry {
			if err := l.sync(); err != nil {
				return err
			}
		}
	}
	var made []Checkpoint
	if wrote && l.ck != nil {
		var err error
		if made, err = l.checkpoint(false); err != nil {
			return err
		}
	}
	if wrote && l.opts.Sync == SyncEachRecord || len(made) > 0 {
		if err := l.sync(); err != nil {
			return err
		}
	}
	if len(made) > 0 {
		l.ck.queue(made, false)
	}
	return nil
}

// append writes e as the entry after `after` in its tenant's chain.
func (l *Log) append(e Entry, after Head) error {
	b, h, err := encode(e, after, l.chain.link)
	if err == nil && len(b) >= maxLine {
		// A line the reader could not read back would make the whole
		// log unreadable; an entry that large keeps what it says but its
		// long values (Cut).
		b, h, err = encode(cut(e), after, l.chain.link)
		if err == nil && len(b) >= maxLine {
			err = fmt.Errorf("audit: entry %s: %w", e.ID, ErrEntryTooLarge)
		}
	}
	if err != nil {
		return err
	}
	if l.size > 0 && l.size+int64(len(b))+1 > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		return l.fail(fmt.Errorf("audit: %w", err))
	}
	l.size += int64(len(b)) + 1
	l.chain.extend(e.Tenant, after, h, b)
	l.ids[e.ID] = true
	if l.ck != nil {
		l.ck.saw(e, l.opts.Now)
	}
	return nil
}

// encode returns the line that writes e as the entry after `after` in its
// tenant's chain, following the line whose hash is link, and e's place in
// the chain.
func encode(e Entry, after Head, link string) ([]byte, Head, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, Head{}, err
	}
	ln := line{Seq: after.Seq + 1, Tenant: e.Tenant, Prev: after.Hash, Link: link, Entry: body}
	ln.Hash = chainHash(ln.Prev, ln.Seq, ln.Tenant, body)
	b, err := json.Marshal(ln)
	return b, Head{Seq: ln.Seq, Hash: ln.Hash}, err
}

// fail stops the log after a write or sync failed: the file may now end in
// part of a line, and appending after it would bury that in the middle of
// the chain. Reopening recovers it, as after a crash.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = err
	}
	return err
}

// sync flushes, fsyncs, and replaces the head file. The head file's rename
// is not fsynced: lost in a power cut, it leaves the head file behind the
// log, which is what any crash between an append and the head file's update
// leaves, and is normal.
func (l *Log) sync() error {
	if err := l.w.Flush(); err != nil {
		return l.fail(fmt.Errorf("audit: %w", err))
	}
	if err := l.f.Sync(); err != nil {
		return l.fail(fmt.Errorf("audit: %w", err))
	}
	return writeHead(l.path+".head", l.chain)
}

// writeHeadDurably replaces the head file and fsyncs its directory, for
// OpenLog: after a recovery the head file must not fall back.
func (l *Log) writeHeadDurably() error {
	if err := writeHead(l.path+".head", l.chain); err != nil {
		return err
	}
	return syncDir(l.path)
}

func (l *Log) rotate() error {
	if err := l.sync(); err != nil {
		return err
	}
	if err := l.f.Close(); err != nil {
		return l.fail(fmt.Errorf("audit: %w", err))
	}
	l.rotated++
	if err := os.Rename(l.path, l.path+"."+strconv.Itoa(l.rotated)); err != nil {
		return l.fail(fmt.Errorf("audit: rotating: %w", err))
	}
	if err := syncDir(l.path); err != nil {
		return l.fail(err)
	}
	if err := l.openActive(); err != nil {
		return l.fail(err)
	}
	return nil
}

// Heads returns the end of each tenant's chain.
func (l *Log) Heads() map[string]Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Head, len(l.chain.heads))
	for k, v := range l.chain.heads {
		out[k] = v
	}
	return out
}

// Close makes everything durable and closes the file. It stops handing
// checkpoints to the witness, abandoning a hand-over under way: those not
// yet held are in the log, and the next OpenLog hands them over (call
// Checkpoint first to wait for them).
func (l *Log) Close() error {
	if l.ck != nil {
		l.ck.stop()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var err error
	if l.failed == nil {
		err = l.sync()
	}
	err = errors.Join(err, l.f.Close())
	l.f = nil
	return err
}

// LogFiles lists a log's files in chain order: the rotated ones (path.1,
// path.2 …) then path itself, those that exist.
func LogFiles(path string) ([]string, error) {
	matches, err := filepath.Glob(path + ".*")
	if err != nil {
		return nil, err
	}
	type rotated struct {
		n    int
		name string
	}
	var rs []rotated
	for _, m := range matches {
		if n, err := strconv.Atoi(strings.TrimPrefix(m, path+".")); err == nil && n > 0 {
			rs = append(rs, rotated{n, m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n < rs[j].n })
	var out []string
	for _, r := range rs {
		out = append(out, r.name)
	}
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	}
	return out, nil
}

// ErrEntryTooLarge is an entry whose line would exceed what a reader reads
// (64 MiB) even with its long values cut.
var ErrEntryTooLarge = errors.New("entry too large for a log line")

// CutValue replaces a value over maxValue bytes in an entry too large for
// a line: the entry keeps who, what field, when and why.
const CutValue = "[cut: too long for the log]"

// maxValue is the longest value an entry too large for a line keeps.
const maxValue = 64 << 10

// cut is e with each value and its summary over maxValue replaced by
// CutValue.
func cut(e Entry) Entry {
	long := func(v string) string {
		if len(v) > maxValue {
			return CutValue
		}
		return v
	}
	e.Changes = append([]Change(nil), e.Changes...)
	for i := range e.Changes {
		e.Changes[i].Old, e.Changes[i].New = long(e.Changes[i].Old), long(e.Changes[i].New)
	}
	e.Summary = long(e.Summary)
	return e
}
