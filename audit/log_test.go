package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
)

func entry(i int, tenant string) audit.Entry {
	return audit.Entry{
		ID: fmt.Sprintf("%s-%d", tenant, i), Tenant: tenant, EmployeeID: "w-1", Action: audit.ActionUpdate,
		Changes: []audit.Change{{Field: "email", Old: fmt.Sprintf("old%d@example.com", i), New: fmt.Sprintf("new%d@example.com", i)},
			{Field: "role", Old: "dev", New: "lead"}},
		Trigger: "realtime", Applied: time.Date(2026, 3, 2, 9, 0, i, 0, time.UTC), Outcome: "applied",
	}
}

func record(t *testing.T, l *audit.Log, es ...audit.Entry) {
	t.Helper()
	if err := l.Record(context.Background(), es); err != nil {
		t.Fatal(err)
	}
}

func TestLogRotatesAndVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{MaxBytes: 4 << 10, Sync: audit.SyncEachEntry})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		record(t, l, entry(i, "acme"), entry(i, "globex"))
	}
	record(t, l, entry(3, "acme")) // a repeat after a crash: skipped
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := audit.LogFiles(path)
	if err != nil || len(files) < 3 {
		t.Fatalf("files = %v (%v), want several after rotation", files, err)
	}
	if err := audit.Verify(files...); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	// Reopened, the log continues both chains and remembers the IDs.
	l, err = audit.OpenLog(t.Context(), path, &audit.LogOptions{MaxBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	record(t, l, entry(60, "acme"), entry(59, "globex"))
	if h := l.Heads(); h["acme"].Seq != 61 || h["globex"].Seq != 60 {
		t.Errorf("heads = %+v, want acme at 61 and globex at 60", h)
	}
	l.Close()
	files, _ = audit.LogFiles(path)
	n := 0
	for r, err := range audit.Read(files...) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		_ = r
	}
	if n != 121 {
		t.Errorf("read %d entries, want 121", n)
	}
}

func TestVerifyNamesTheBrokenLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := audit.OpenLog(t.Context(), path, nil)
	for i := range 10 {
		record(t, l, entry(i, "acme"))
	}
	l.Close()
	b, _ := os.ReadFile(path)
	lines := bytes.Split(b, []byte("\n"))
	lines[6] = bytes.Replace(lines[6], []byte("lead"), []byte("boss"), 1)
	os.WriteFile(path, bytes.Join(lines, []byte("\n")), 0o600)
	var ce *audit.ChainError
	if err := audit.Verify(path); !errors.As(err, &ce) || ce.Line != 7 {
		t.Fatalf("Verify = %v, want a break at line 7", err)
	}
	if _, err := audit.OpenLog(t.Context(), path, nil); err == nil {
		t.Error("OpenLog appended to a broken log")
	}
	// Cutting the last entries off is caught by the head file, the
	// newline before them too: a final line with no newline is torn.
	lines = bytes.Split(b, []byte("\n"))
	os.WriteFile(path, bytes.Join(lines[:9], []byte("\n")), 0o600)
	var ae *audit.AnchorError
	if err := audit.Verify(path); !errors.As(err, &ae) || ae.Problem != audit.LogShorter || ae.At != 8 || ae.Seq != 10 || ae.HeadFile == "" {
		t.Fatalf("Verify of a truncated log = %v, want it shorter than its head file: 8 of 10", err)
	}
}

func TestRedactionAndErasure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	keys := &audit.DirKeys{Dir: filepath.Join(dir, "keys")}
	l, err := audit.OpenLog(t.Context(), path, &audit.LogOptions{Redact: audit.Redaction{
		Fields:  map[string]audit.Treatment{"email": audit.Encrypt, "role": audit.Hash, "secret": audit.Drop},
		HashKey: []byte("k"), Keys: keys,
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := entry(1, "acme")
	e.Changes = append(e.Changes, audit.Change{Field: "secret", New: "hunter2"})
	other := entry(2, "acme")
	other.EmployeeID = "w-2"
	record(t, l, e, other)
	l.Close()
	raw, _ := os.ReadFile(path)
	for _, plain := range []string{"old1@example.com", "new1@example.com", `"lead"`, "hunter2"} {
		if bytes.Contains(raw, []byte(plain)) {
			t.Errorf("the log holds %q in plaintext", plain)
		}
	}
	var got []audit.Entry
	for r, err := range audit.Read(path) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Entry)
	}
	if got[0].Changes[1].New != got[1].Changes[1].New {
		t.Error("hashed equal values differ: not comparable")
	}
	if got[0].Changes[2].New != audit.DroppedValue {
		t.Errorf("dropped value = %q", got[0].Changes[2].New)
	}
	rev, err := audit.Reveal(got[0], keys)
	if err != nil || rev.Changes[0].New != "new1@example.com" {
		t.Fatalf("Reveal = %+v, %v", rev.Changes, err)
	}
	if err := keys.Erase("acme", "w-1"); err != nil {
		t.Fatal(err)
	}
	rev, err = audit.Reveal(got[0], keys)
	if err != nil || rev.Changes[0].New != audit.ErasedValue || rev.Changes[0].Old != audit.ErasedValue {
		t.Fatalf("after erasure: %+v, %v", rev.Changes, err)
	}
	if rev, _ := audit.Reveal(got[1], keys); rev.Changes[0].New != "new2@example.com" {
		t.Errorf("erasing one person erased another: %+v", rev.Changes)
	}
	if err := audit.Verify(path); err != nil {
		t.Errorf("Verify after erasure = %v", err)
	}
}

// OpenLog reads under its context: once it has ended, it returns the
// context's error and writes nothing, neither a new log nor a repair.
func TestOpenLogHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := audit.OpenLog(ctx, path, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenLog with an ended context = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenLog with an ended context created the log: %v", err)
	}

	l, err := audit.OpenLog(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(t.Context(), []audit.Entry{{ID: "e1", Tenant: "acme", Action: audit.ActionUpdate}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":2,"tenant":"acme"`) // a torn tail to recover
	f.Close()
	before, _ := os.ReadFile(path)
	if _, err := audit.OpenLog(ctx, path, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenLog with an ended context = %v, want context.Canceled", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("OpenLog with an ended context changed the log")
	}
}
