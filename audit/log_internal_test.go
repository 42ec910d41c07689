package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// genLog writes n entries over two tenants and returns the file's lines.
func genLog(t testing.TB, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := OpenLog(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var batch []Entry
	for i := range n {
		batch = append(batch, Entry{
			ID: fmt.Sprintf("e%05d", i), Tenant: []string{"acme", "globex"}[i%3/2], EmployeeID: fmt.Sprintf("w-%04d", i%700),
			Action: ActionUpdate, Changes: []Change{{Field: "role", Old: "dev", New: fmt.Sprintf("lead-%d", i)}},
			Trigger: "realtime", SourceChanged: at, Applied: at.Add(time.Duration(i) * time.Second), Outcome: "applied",
		})
		if len(batch) == 100 {
			if err := l.Record(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if err := errors.Join(l.Record(context.Background(), batch), l.Close()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// checkFrom verifies lines[from:] (at most a few) given the chain state
// before from, as Verify would reach it; it reports whether a break is found.
func checkFrom(before chain, lines [][]byte, from int) bool {
	ch := &chain{heads: map[string]Head{}, link: before.link}
	for k, v := range before.heads {
		ch.heads[k] = v
	}
	for i := from; i < len(lines) && i < from+3; i++ {
		if _, err := parseLine(lines[i], "audit.jsonl", i+1, ch); err != nil {
			return true
		}
	}
	return false
}

// Every entry of a 10,000-entry log: an edit, a deletion and a swap with its
// neighbour are each detected. The chain state before each line is computed
// once, and each tampering is checked from there on, with the same line
// check Verify uses.
func TestEveryTamperingDetected(t *testing.T) {
	_, lines := genLog(t, 10_000)
	states := make([]chain, len(lines)+1)
	ch := newChain()
	for i, ln := range lines {
		states[i] = chain{heads: map[string]Head{"acme": ch.heads["acme"], "globex": ch.heads["globex"]}, link: ch.link}
		if _, err := parseLine(ln, "audit.jsonl", i+1, ch); err != nil {
			t.Fatalf("the untouched log breaks at %d: %v", i+1, err)
		}
	}
	for i := range lines {
		edited := bytes.Replace(lines[i], []byte(`"lead-`), []byte(`"LEAD-`), 1)
		if bytes.Equal(edited, lines[i]) {
			t.Fatalf("line %d: nothing to edit", i+1)
		}
		if !checkFrom(states[i], append(append([][]byte{}, lines[:i]...), append([][]byte{edited}, lines[i+1:]...)...), i) {
			t.Errorf("edit of entry %d not detected", i+1)
		}
		if i+1 < len(lines) {
			deleted := append(append([][]byte{}, lines[:i]...), lines[i+1:]...)
			if !checkFrom(states[i], deleted, i) {
				t.Errorf("deletion of entry %d not detected", i+1)
			}
			swapped := append(append([][]byte{}, lines[:i]...), lines[i+1], lines[i])
			swapped = append(swapped, lines[i+2:]...)
			if !checkFrom(states[i], swapped, i) {
				t.Errorf("swap of entries %d and %d not detected", i+1, i+2)
			}
		}
	}
}

// FuzzReader: no input makes the reader panic, and whatever it accepts it
// accepts as a well-formed chain.
func FuzzReader(f *testing.F) {
	_, lines := genLog(f, 5)
	f.Add(bytes.Join(lines, []byte("\n")))
	f.Add(lines[0])
	f.Add([]byte(`{"seq":1,"tenant":"t","prev":"","hash":"x","entry":{}}`))
	f.Add([]byte("\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ch := newChain()
		n := 0
		_, err := scan(bytes.NewReader(data), "fuzz", ch, func(Record) { n++ })
		var ce *ChainError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error of the wrong type: %T %v", err, err)
		}
		if err == nil {
			total := int64(0)
			for tenant, h := range ch.heads {
				total += h.Seq - ch.index[tenant].base.Seq // a restarted chain starts after its anchor
			}
			if total != int64(n) {
				t.Fatalf("accepted %d entries but the chains count %d", n, total)
			}
		}
	})
}
