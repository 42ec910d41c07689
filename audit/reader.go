package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// maxLine bounds one line of a log, so that a corrupt file cannot make the
// reader allocate without limit.
const maxLine = 4 << 20

// scan reads one file's lines, checking them against the chain state and
// advancing it.
func scan(r io.Reader, name string, ch *chain, each func(Record)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		rec, err := parseLine(sc.Bytes(), name, n, ch)
		if err != nil {
			return err
		}
		if each != nil {
			each(rec)
		}
	}
	if err := sc.Err(); err != nil {
		return &ChainError{File: name, Line: n + 1, Reason: "unreadable line: " + err.Error()}
	}
	return nil
}

// parseLine checks one line against the chain state and advances it.
func parseLine(b []byte, name string, n int, ch *chain) (Record, error) {
	fail := func(tenant string, seq int64, format string, args ...any) (Record, error) {
		return Record{}, &ChainError{File: name, Line: n, Tenant: tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)}
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
	head := ch.heads[ln.Tenant]
	switch {
	case ln.Link != ch.link:
		return fail(ln.Tenant, ln.Seq, "does not follow the line before it: lines missing, inserted or reordered")
	case ln.Seq != head.Seq+1:
		return fail(ln.Tenant, ln.Seq, "sequence %d follows %d: entries missing, inserted or reordered", ln.Seq, head.Seq)
	case ln.Prev != head.Hash:
		return fail(ln.Tenant, ln.Seq, "previous hash does not match entry %d", head.Seq)
	case chainHash(ln.Prev, ln.Seq, ln.Tenant, ln.Entry) != ln.Hash:
		return fail(ln.Tenant, ln.Seq, "hash does not match the entry: edited")
	}
	var e Entry
	if err := json.Unmarshal(ln.Entry, &e); err != nil {
		return fail(ln.Tenant, ln.Seq, "entry unreadable: %v", err)
	}
	if e.Tenant != ln.Tenant {
		return fail(ln.Tenant, ln.Seq, "entry of tenant %q filed under %q", e.Tenant, ln.Tenant)
	}
	ch.heads[ln.Tenant] = Head{Seq: ln.Seq, Hash: ln.Hash}
	ch.link = lineHash(b)
	return Record{File: name, Line: n, Seq: ln.Seq, Entry: e}, nil
}

// Read streams the entries of a log's files, in chain order, verifying as it
// goes: it stops at the first break with a *ChainError.
func Read(files ...string) func(yield func(Record, error) bool) {
	return func(yield func(Record, error) bool) {
		stopped := false
		err := verifyWith(files, newChain(), func(r Record) {
			if !stopped && !yield(r, nil) {
				stopped = true
			}
		})
		if err != nil && !stopped {
			yield(Record{}, err)
		}
	}
}
