package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// LogOptions configure OpenLog. The zero value means the defaults.
type LogOptions struct {
	// MaxBytes rotates the file once it grows past this; the chain carries
	// on into the next file. Default 64 MiB.
	MaxBytes int64
	Sync     Sync
	// Redact says how to write each field's values (Keep by default).
	Redact Redaction
}

// line is one entry as written: its place in its tenant's chain, the hash
// of the previous entry of that tenant, its own hash over prev, seq, tenant
// and the entry's bytes exactly as written, and the hash of the line before
// it in the log (of whatever tenant), so that the order of the whole log is
// fixed too.
type line struct {
	Seq    int64           `json:"seq"`
	Tenant string          `json:"tenant"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
	Link   string          `json:"link"`
	Entry  json.RawMessage `json:"entry"`
}

func lineHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// chain is the state of a log's chains after some lines: each tenant's head,
// and the hash of the last line.
type chain struct {
	heads map[string]Head
	link  string
}

func newChain() *chain { return &chain{heads: map[string]Head{}} }

// Head is the end of one tenant's chain.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func chainHash(prev string, seq int64, tenant string, entry []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%s\n", prev, seq, tenant)
	h.Write(entry)
	return hex.EncodeToString(h.Sum(nil))
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
}

var _ Auditor = (*Log)(nil)

// OpenLog opens the log at path, creating it if need be, and reads the files
// already there to continue their chains. It refuses a log whose chains do
// not verify: appending to a broken log would bury the break.
func OpenLog(path string, opts *LogOptions) (*Log, error) {
	l := &Log{path: path, ids: map[string]bool{}}
	if opts != nil {
		l.opts = *opts
	}
	if l.opts.MaxBytes <= 0 {
		l.opts.MaxBytes = 64 << 20
	}
	files, err := LogFiles(path)
	if err != nil {
		return nil, err
	}
	l.rotated = len(files)
	if _, err := os.Stat(path); err == nil {
		l.rotated--
	}
	ch, err := verify(files, func(r Record) { l.ids[r.Entry.ID] = true })
	if err != nil {
		return nil, fmt.Errorf("audit: %s does not verify, refusing to append: %w", path, err)
	}
	l.chain = ch
	if err := l.openActive(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) openActive() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.w, l.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// Record implements Auditor: it appends the entries whose IDs are new and
// returns once they are durable.
func (l *Log) Record(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log closed")
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
		body, err := json.Marshal(red)
		if err != nil {
			return err
		}
		head := l.chain.heads[e.Tenant]
		ln := line{Seq: head.Seq + 1, Tenant: e.Tenant, Prev: head.Hash, Link: l.chain.link, Entry: body}
		ln.Hash = chainHash(ln.Prev, ln.Seq, ln.Tenant, body)
		b, err := json.Marshal(ln)
		if err != nil {
			return err
		}
		if l.size > 0 && l.size+int64(len(b))+1 > l.opts.MaxBytes {
			if err := l.rotate(); err != nil {
				return err
			}
		}
		if _, err := l.w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		l.size += int64(len(b)) + 1
		l.chain.heads[e.Tenant] = Head{Seq: ln.Seq, Hash: ln.Hash}
		l.chain.link = lineHash(b)
		l.ids[e.ID] = true
		wrote = true
		if l.opts.Sync == SyncEachEntry {
			if err := l.sync(); err != nil {
				return err
			}
		}
	}
	if wrote && l.opts.Sync == SyncEachRecord {
		return l.sync()
	}
	return nil
}

// sync flushes, fsyncs, and replaces the head file.
func (l *Log) sync() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return writeHead(l.path+".head", l.chain)
}

// headFile is what the head file holds.
type headFile struct {
	Tenants map[string]Head `json:"tenants"`
	Link    string          `json:"link"`
}

func writeHead(path string, ch *chain) error {
	b, err := json.Marshal(headFile{Tenants: ch.heads, Link: ch.link})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return os.Rename(tmp, path)
}

func (l *Log) rotate() error {
	if err := l.sync(); err != nil {
		return err
	}
	if err := l.f.Close(); err != nil {
		return err
	}
	l.rotated++
	if err := os.Rename(l.path, l.path+"."+strconv.Itoa(l.rotated)); err != nil {
		return fmt.Errorf("audit: rotating: %w", err)
	}
	return l.openActive()
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

// Close makes everything durable and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.sync(), l.f.Close())
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

// Record is one entry read back from a log, with where it stands.
type Record struct {
	File  string
	Line  int
	Seq   int64
	Entry Entry
}

// ChainError is the first place a log fails to verify.
type ChainError struct {
	File   string
	Line   int // 1-based; 0 when the break is at the end (entries missing)
	Tenant string
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("audit: %s: tenant %q: %s", e.File, e.Tenant, e.Reason)
	}
	return fmt.Sprintf("audit: %s:%d: tenant %q entry %d: %s", e.File, e.Line, e.Tenant, e.Seq, e.Reason)
}

// Verify checks the chains of a log's files, given in chain order (LogFiles
// lists them), and, where the head file of the last one exists, that no
// entry is missing from the end. It returns nil or the first *ChainError.
func Verify(files ...string) error {
	ch, err := verify(files, nil)
	if err != nil || len(files) == 0 {
		return err
	}
	last := files[len(files)-1]
	b, err := os.ReadFile(last + ".head")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var want headFile
	if err := json.Unmarshal(b, &want); err != nil {
		return &ChainError{File: last + ".head", Reason: "unreadable head file: " + err.Error()}
	}
	for tenant, w := range want.Tenants {
		if got := ch.heads[tenant]; got != w {
			return &ChainError{File: last, Tenant: tenant, Reason: fmt.Sprintf("chain ends at entry %d, the head file says %d: entries missing or altered at the end", got.Seq, w.Seq)}
		}
	}
	if ch.link != want.Link {
		return &ChainError{File: last, Reason: "the last line is not the one the head file names: entries missing or altered at the end"}
	}
	return nil
}

// verify reads files in order, checking each tenant's chain, and returns the
// heads. each, if not nil, sees every entry.
func verify(files []string, each func(Record)) (*chain, error) {
	ch := newChain()
	return ch, verifyWith(files, ch, each)
}

func verifyWith(files []string, ch *chain, each func(Record)) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = scan(f, name, ch, each)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
