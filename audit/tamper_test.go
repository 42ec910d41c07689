package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/hrissync/hrissync/audit"
)

// attackerLine is a log line as design §6.3 documents it: all an attacker
// needs to recompute a chain, with no access to the package's internals.
type attackerLine struct {
	Seq    int64           `json:"seq"`
	Tenant string          `json:"tenant"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
	Link   string          `json:"link"`
	Entry  json.RawMessage `json:"entry"`
}

func readLines(t *testing.T, path string) []attackerLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []attackerLine
	for _, raw := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var ln attackerLine
		if err := json.Unmarshal(raw, &ln); err != nil {
			t.Fatal(err)
		}
		out = append(out, ln)
	}
	return out
}

func writeLines(t *testing.T, path string, lines []attackerLine) {
	t.Helper()
	var buf bytes.Buffer
	for _, ln := range lines {
		b, err := json.Marshal(ln)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// forge writes lines to path as an attacker with write access to the log
// and its head file (but not the signing key, nor the witness) would:
// renumbering each tenant's chain, recomputing every hash and link, and
// writing a head file to match, so that the log verifies on its own.
func forge(t *testing.T, path string, lines []attackerLine) {
	t.Helper()
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	heads := map[string]audit.Head{}
	link := ""
	for i, ln := range lines {
		prev := heads[ln.Tenant]
		ln.Seq, ln.Prev, ln.Link = prev.Seq+1, prev.Hash, link
		ln.Hash = sum(append([]byte(ln.Prev+"\n"+itoa(ln.Seq)+"\n"+ln.Tenant+"\n"), ln.Entry...))
		b, err := json.Marshal(ln)
		if err != nil {
			t.Fatal(err)
		}
		link = sum(b)
		heads[ln.Tenant] = audit.Head{Seq: ln.Seq, Hash: ln.Hash}
		lines[i] = ln
	}
	writeLines(t, path, lines)
	b, _ := json.Marshal(map[string]any{"tenants": heads, "link": link})
	if err := os.WriteFile(path+".head", b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// editEntry changes an entry's email as written, leaving its hashes alone.
func editEntry(t *testing.T, ln *attackerLine) {
	t.Helper()
	var e audit.Entry
	if err := json.Unmarshal(ln.Entry, &e); err != nil {
		t.Fatal(err)
	}
	e.Changes[0].New = "attacker@example.com"
	ln.Entry, _ = json.Marshal(e)
}

func dropCheckpointRecords(t *testing.T, lines []attackerLine) []attackerLine {
	var out []attackerLine
	for _, ln := range lines {
		var e audit.Entry
		json.Unmarshal(ln.Entry, &e)
		if e.Action != audit.ActionCheckpoint {
			out = append(out, ln)
		}
	}
	return out
}

// Every way to tamper with a witnessed log is found, with the sequence it
// concerns — including a rewrite with every hash and the head file
// recomputed, which the log's own Verify cannot see.
func TestTamperingIsDetected(t *testing.T) {
	a := newSigner("key-a")
	for _, c := range []struct {
		name string
		// tamper changes the log at path and the witness's file, and
		// says what Verify without keys makes of it.
		tamper  func(t *testing.T, path, witness string)
		kind    audit.FindingKind
		seq, at int64
		// plainVerify: whether Verify, without keys, finds it too.
		plainVerify bool
	}{
		{"edit one entry", func(t *testing.T, path, _ string) {
			lines := readLines(t, path)
			editEntry(t, &lines[7]) // entry 8
			writeLines(t, path, lines)
		}, audit.Altered, 8, 0, true},
		{"delete one entry", func(t *testing.T, path, _ string) {
			lines := readLines(t, path)
			writeLines(t, path, append(lines[:7:7], lines[8:]...))
		}, audit.Altered, 8, 0, true},
		{"reorder two entries", func(t *testing.T, path, _ string) {
			lines := readLines(t, path)
			lines[7], lines[8] = lines[8], lines[7]
			writeLines(t, path, lines)
		}, audit.Altered, 8, 0, true},
		{"truncate the end", func(t *testing.T, path, _ string) {
			writeLines(t, path, readLines(t, path)[:16])
		}, audit.Shorter, 17, 16, true},
		{"delete the file", func(t *testing.T, path, _ string) {
			os.Remove(path)
		}, audit.Shorter, 5, 0, true},
		{"delete the file and its head file", func(t *testing.T, path, _ string) {
			os.Remove(path)
			os.Remove(path + ".head")
		}, audit.Shorter, 5, 0, false},
		{"rewrite with recomputed hashes and head file", func(t *testing.T, path, _ string) {
			lines := readLines(t, path)
			editEntry(t, &lines[7])
			forge(t, path, lines)
		}, audit.Rewritten, 11, 6, false},
		{"rewrite, removing the log's checkpoint records", func(t *testing.T, path, _ string) {
			lines := readLines(t, path)
			editEntry(t, &lines[7])
			forge(t, path, dropCheckpointRecords(t, lines))
		}, audit.Rewritten, 11, 6, false},
		{"truncate and replace the head file", func(t *testing.T, path, _ string) {
			forge(t, path, readLines(t, path)[:16])
		}, audit.Shorter, 17, 16, false},
		{"cut off the last checkpoint's record", func(t *testing.T, path, _ string) {
			forge(t, path, readLines(t, path)[:23])
		}, audit.Dropped, 23, 0, false},
		{"drop a checkpoint at the witness", func(t *testing.T, _, witness string) {
			lines := bytes.SplitAfter(must(os.ReadFile(witness)), []byte("\n"))
			os.WriteFile(witness, bytes.Join(append(lines[:1:1], lines[2:]...), nil), 0o600)
		}, audit.Dropped, 11, 0, false},
		{"forge a checkpoint at the witness", func(t *testing.T, _, witness string) {
			lines := bytes.SplitAfter(must(os.ReadFile(witness)), []byte("\n"))
			var c audit.Checkpoint
			json.Unmarshal(lines[1], &c)
			c.Hash = "0000000000000000000000000000000000000000000000000000000000000000"
			b, _ := json.Marshal(c)
			os.WriteFile(witness, append(bytes.Join(lines, nil), append(b, '\n')...), 0o600)
		}, audit.BadCheckpoint, 11, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, w := witnessedLog(t, a)
			w.Close()
			c.tamper(t, path, w.Path)
			files, _ := audit.LogFiles(path)
			if got := audit.Verify(files...) != nil; got != c.plainVerify && len(files) > 0 {
				t.Errorf("Verify without keys found it: %v, want %v", got, c.plainVerify)
			}
			r := checkLog(t, path, keysOf(a), w)
			if r.Err() == nil {
				t.Fatalf("no damage found; findings: %v", r.Findings)
			}
			t.Logf("findings:\n%s", list(r.Findings))
			for _, f := range r.Findings {
				if f.Kind == c.kind && f.Seq == c.seq && f.At == c.at {
					return
				}
			}
			t.Errorf("no %v finding at sequence %d (at %d); findings:\n%s", c.kind, c.seq, c.at, list(r.Findings))
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func list(fs []audit.Finding) string {
	var buf bytes.Buffer
	for _, f := range fs {
		buf.WriteString("  " + f.Kind.String() + ": " + f.String() + "\n")
	}
	return buf.String()
}
