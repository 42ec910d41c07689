package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hrissync/hrissync/internal/strictjson"
)

// maxLine bounds one line of a log, so that a corrupt file cannot make the
// reader allocate without limit. The writer refuses an entry whose line
// would be longer (ErrEntryTooLarge): a line written is a line read.
const maxLine = 64 << 20

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
	Line   int // 1-based; 0 when the break is not in a line
	Tenant string
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string { return "audit: " + e.describe() }

func (e *ChainError) describe() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s:%d: tenant %q entry %d: %s", e.File, e.Line, e.Tenant, e.Seq, e.Reason)
}

// scanned is what reading a log found.
type scanned struct {
	files    []string
	chain    *chain
	entries  int
	brk      *ChainError // the first complete line that does not verify; nothing after it was read
	torn     *tornLine   // the last file's final line, when no newline ends it
	notes    []Finding   // the log's own entries met: recoveries and restarts
	recorded []recordedCheckpoint
	head     *headFile // the head file, if there is one
	headPath string
	headErr  *ChainError // the head file cannot be read as one
}

// tornLine is a final line that no newline ends: what a crash during an
// append leaves behind.
type tornLine struct {
	file   string
	offset int64 // where it starts: the length to cut the file to
	size   int64
	line   int
	tenant string // as far as the line got; see tenantOf
	named  bool
}

// loadLog reads a log's files, in chain order, and its head file. each, if
// not nil, sees every entry that verifies. The error is for what cannot be
// read at all; what the files hold is in the result.
func loadLog(ctx context.Context, files []string, headPath string, each func(Record)) (*scanned, error) {
	s := &scanned{files: files, chain: newChain(), headPath: headPath}
	for i, name := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if err := s.scanFile(name, i == len(files)-1, each); err != nil {
			return nil, err
		}
		if s.brk != nil {
			break
		}
	}
	var err error
	s.head, s.headErr, err = readHead(headPath)
	return s, err
}

func (s *scanned) scanFile(name string, last bool, each func(Record)) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	torn, err := scan(f, name, s.chain, func(r Record) {
		s.entries++
		s.note(r)
		if each != nil {
			each(r)
		}
	})
	var brk *ChainError
	switch {
	case errors.As(err, &brk):
		s.brk = brk
		return nil
	case err != nil:
		return err
	}
	if torn != nil && !last {
		// Rotation fsyncs a file before renaming it, so only the last
		// file can end in a torn line.
		s.brk = &ChainError{File: name, Line: torn.line, Reason: "cut short, in a file before the last: entries missing"}
		return nil
	}
	s.torn = torn
	return nil
}

// note keeps the log's own entries for the report.
func (s *scanned) note(r Record) {
	e := r.Entry
	if e.Action == ActionCheckpoint && e.Checkpoint != nil {
		s.recorded = append(s.recorded, recordedCheckpoint{*e.Checkpoint, r.File, r.Line, r.Seq})
	}
	kind := map[string]FindingKind{ActionRecovered: TailRecovered, ActionChainRestarted: ChainRestarted}[e.Action]
	if kind == 0 || e.Recovery == nil {
		return
	}
	s.notes = append(s.notes, Finding{Kind: kind, Tenant: e.Tenant, Seq: r.Seq, File: r.File, Line: r.Line, Recovery: e.Recovery})
}

// scan reads one file's lines, checking each against the chain state and
// advancing it. A final line that no newline ends is not checked but
// returned: a crash during an append leaves one, and only the caller knows
// whether it may be cut off.
func scan(r io.Reader, name string, ch *chain, each func(Record)) (*tornLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	ended := true // whether the token just scanned ended in a newline
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			ended = false
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var offset int64
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if !ended {
			tenant, named := tenantOf(b)
			return &tornLine{file: name, offset: offset, size: int64(len(b)), line: n, tenant: tenant, named: named}, nil
		}
		rec, err := parseLine(b, name, n, ch)
		if err != nil {
			return nil, err
		}
		offset += int64(len(b)) + 1
		if each != nil {
			each(rec)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ChainError{File: name, Line: n + 1, Reason: "unreadable line: " + err.Error()}
	}
	return nil, nil
}

// tenantOf reads the tenant from the start of a torn line, if the line got
// that far: every line begins {"seq":N,"tenant":"…".
func tenantOf(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	for _, want := range []any{json.Delim('{'), "seq", nil, "tenant"} {
		if tok, err := dec.Token(); err != nil || (want != nil && tok != want) {
			return "", false
		}
	}
	tok, err := dec.Token()
	tenant, ok := tok.(string)
	return tenant, err == nil && ok
}

// parseLine checks one line against the chain state and advances it.
func parseLine(b []byte, name string, n int, ch *chain) (Record, error) {
	fail := func(tenant string, seq int64, format string, args ...any) (Record, error) {
		return Record{}, &ChainError{File: name, Line: n, Tenant: tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	// A name given twice, or in two cases, is read one way here and
	// another by jq or Python: a line that two readers would read apart is
	// not one the chain vouches for.
	if err := strictjson.Decode(b, new(any)); err != nil {
		return fail("", 0, "not a log line: %v", err)
	}
	var ln line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ln); err != nil {
		return fail("", 0, "not a log line: %v", err)
	}
	if dec.More() {
		return fail(ln.Tenant, ln.Seq, "trailing data after the entry")
	}
	var e Entry
	entryErr := json.Unmarshal(ln.Entry, &e)
	after := ch.heads[ln.Tenant]
	if after.Seq == 0 && entryErr == nil && e.Action == ActionChainRestarted && e.Recovery != nil {
		// A restarted chain continues from the anchor its first entry
		// names; the entry itself says so, and Check reports it.
		after = e.Recovery.Anchor
	}
	switch {
	case ln.Link != ch.link:
		return fail(ln.Tenant, ln.Seq, "does not follow the line before it: lines missing, inserted or reordered")
	case ln.Seq != after.Seq+1:
		return fail(ln.Tenant, ln.Seq, "sequence %d follows %d: entries missing, inserted or reordered", ln.Seq, after.Seq)
	case ln.Prev != after.Hash:
		return fail(ln.Tenant, ln.Seq, "previous hash does not match entry %d", after.Seq)
	case chainHash(ln.Prev, ln.Seq, ln.Tenant, ln.Entry) != ln.Hash:
		return fail(ln.Tenant, ln.Seq, "hash does not match the entry: edited")
	case entryErr != nil:
		return fail(ln.Tenant, ln.Seq, "entry unreadable: %v", entryErr)
	case e.Tenant != ln.Tenant:
		return fail(ln.Tenant, ln.Seq, "entry of tenant %q filed under %q", e.Tenant, ln.Tenant)
	}
	ch.extend(ln.Tenant, after, Head{Seq: ln.Seq, Hash: ln.Hash}, b)
	return Record{File: name, Line: n, Seq: ln.Seq, Entry: e}, nil
}

// Read streams the entries of a log's files, in chain order, verifying as it
// goes: it stops at the first break with a *ChainError. A torn final line
// (see Check) holds no entry: Read ends before it.
func Read(files ...string) func(yield func(Record, error) bool) {
	return func(yield func(Record, error) bool) {
		stopped := false
		s, err := loadLog(context.Background(), files, "", func(r Record) {
			if !stopped && !yield(r, nil) {
				stopped = true
			}
		})
		switch {
		case stopped:
		case err != nil:
			yield(Record{}, err)
		case s.brk != nil:
			yield(Record{}, s.brk)
		}
	}
}
