package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
)

// TestHugeEntryStaysReadable: an entry too large for a line is written with
// its long values cut, and the log stays readable and verifies — never an
// honest log that looks tampered with.
func TestHugeEntryStaysReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.OpenLog(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", 70<<20)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	err = l.Record(t.Context(), []audit.Entry{
		{ID: "e1", Tenant: "acme", EmployeeID: "w-1", Action: audit.ActionUpdate, Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied",
			Changes: []audit.Change{{Field: "attr.notes", Old: "short", New: huge}}},
		{ID: "e2", Tenant: "acme", Action: audit.ActionRunSummary, Trigger: "batch", SourceChanged: at, Applied: at, Outcome: "ok", Summary: huge},
		{ID: "e3", Tenant: "acme", EmployeeID: "w-2", Action: audit.ActionUpdate, Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied"},
	})
	if err != nil {
		t.Fatalf("Record of an entry too large for a line: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := audit.LogFiles(path)
	if err := audit.Verify(files...); err != nil {
		t.Fatalf("the log does not verify after a huge entry: %v", err)
	}
	var got []audit.Entry
	for r, err := range audit.Read(files...) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Entry)
	}
	if len(got) != 3 || got[0].Changes[0].New != audit.CutValue || got[0].Changes[0].Old != "short" || got[1].Summary != audit.CutValue {
		t.Errorf("entries read back: %d, first change %q/%q", len(got), got[0].Changes[0].Old, trim(got[0].Changes[0].New))
	}
	if _, err := audit.OpenLog(t.Context(), path, nil); err != nil {
		t.Errorf("OpenLog after a huge entry: %v", err)
	}
}

func trim(s string) string { return s[:min(len(s), 40)] }

// TestNamesTwiceInALine: a line whose entry names a field twice, or in two
// cases, is read one way by Go and another by jq or Python; such a line,
// even with every link recomputed, is not one the chain vouches for.
func TestNamesTwiceInALine(t *testing.T) {
	for name, forge := range map[string]func(line string) string{
		"entry twice": func(l string) string {
			return strings.Replace(l, `"entry":{`, `"entry":{"id":"e1","tenant":"acme","action":"update","changes":[{"field":"role","old":"a","new":"EVIL"}],"trigger":"realtime","sourceChanged":"0001-01-01T00:00:00Z","applied":"0001-01-01T00:00:00Z","outcome":"applied"},"entry":{`, 1)
		},
		"Entry in another case": func(l string) string {
			return strings.Replace(l, `"entry":{`, `"Entry":{"id":"e1","tenant":"acme","action":"update","trigger":"realtime","sourceChanged":"0001-01-01T00:00:00Z","applied":"0001-01-01T00:00:00Z","outcome":"EVIL"},"entry":{`, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			l, err := audit.OpenLog(t.Context(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			for i := range 3 {
				if err := l.Record(t.Context(), []audit.Entry{{ID: fmt.Sprint("e", i), Tenant: "acme", EmployeeID: "w", Action: audit.ActionUpdate,
					Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied"}}); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			b, _ := os.ReadFile(path)
			lines := strings.SplitAfter(string(b), "\n")
			lines[0] = forge(strings.TrimSuffix(lines[0], "\n")) + "\n"
			relink(lines)
			os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600)
			// The head file's link names the last line: recomputed too.
			var head map[string]any
			hb, _ := os.ReadFile(path + ".head")
			if err := json.Unmarshal(hb, &head); err != nil {
				t.Fatal(err)
			}
			last := sha256.Sum256([]byte(strings.TrimSuffix(lines[len(lines)-2], "\n")))
			head["link"] = hex.EncodeToString(last[:])
			hb, _ = json.Marshal(head)
			os.WriteFile(path+".head", hb, 0o600)
			if err := audit.Verify(path); err == nil {
				t.Error("a line naming its entry twice verifies")
			}
		})
	}
}

// relink recomputes each line's link to the line before (sha256 of its
// bytes, as an attacker who read the format would), and leaves the rest.
func relink(lines []string) {
	for i := 1; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		sum := sha256.Sum256([]byte(strings.TrimSuffix(lines[i-1], "\n")))
		j := strings.Index(lines[i], `"link":"`)
		if j < 0 {
			continue
		}
		k := j + len(`"link":"`)
		lines[i] = lines[i][:k] + hex.EncodeToString(sum[:]) + lines[i][k+64:]
	}
}

// TestHTTPWitnessBoundsItsAnswer: a witness answering without end is an
// error within a bound, not the auditor's memory.
func TestHTTPWitnessBoundsItsAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("["))
		chunk := bytes.Repeat([]byte(`{"tenant":"acme","seq":1},`), 4096)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	w := &audit.HTTPWitness{URL: srv.URL, Client: srv.Client()}
	if _, err := w.Checkpoints(t.Context()); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("an endless answer: %v; want an error for its size", err)
	}
}
