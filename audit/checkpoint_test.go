package audit_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
)

// signer is a named Ed25519 key pair, as a host's secret store and its
// auditor would hold it.
type signer struct {
	id   string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// newSigner makes a key from a fixed seed, so that runs are repeatable.
func newSigner(id string) signer {
	seed := sha256.Sum256([]byte(id))
	priv := ed25519.NewKeyFromSeed(seed[:])
	return signer{id, priv, priv.Public().(ed25519.PublicKey)}
}

func keysOf(ss ...signer) map[string]ed25519.PublicKey {
	out := map[string]ed25519.PublicKey{}
	for _, s := range ss {
		out[s.id] = s.pub
	}
	return out
}

// clock is the log's clock in tests: it moves only when told.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *clock                   { return &clock{time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }
func checkpointed(s signer, w audit.Witness, every int, c *clock) *audit.LogOptions {
	return &audit.LogOptions{Now: c.Now, Checkpoints: audit.CheckpointOptions{Signer: s.priv, KeyID: s.id, Witness: w, Every: every}}
}

// witnessedLog writes 20 entries of tenant acme, one Record each, under
// checkpoints every 5 entries, waits for the witness, then writes 2 more:
// checkpoints of sequences 5, 11, 17 and 23, each recorded in the entry
// after it (6, 12, 18, 24), and entries 25 and 26 not yet witnessed. It returns the log's path and the
// witness's, in a directory of its own (another volume).
func witnessedLog(t *testing.T, s signer) (string, *audit.FileWitness) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	t.Cleanup(func() { w.Close() })
	c := newClock()
	l, err := audit.OpenLog(t.Context(), path, checkpointed(s, w, 5, c))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		c.Advance(time.Second)
		record(t, l, entry(i, "acme"))
	}
	if err := l.Checkpoint(t.Context()); err != nil { // waits for the hand-over
		t.Fatal(err)
	}
	record(t, l, entry(20, "acme"), entry(21, "acme"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, w
}

// checkLog checks the log at path with keys and the witness's list.
func checkLog(t *testing.T, path string, keys map[string]ed25519.PublicKey, w audit.Witness) *audit.Report {
	t.Helper()
	files, err := audit.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	held, err := w.Checkpoints(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if held == nil {
		held = []audit.Checkpoint{}
	}
	r, err := audit.Check(audit.CheckOptions{HeadFile: path + ".head", Keys: keys, Witnessed: held}, files...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckpointsOfAnUntouchedLog(t *testing.T) {
	a := newSigner("key-a")
	path, w := witnessedLog(t, a)
	held, _ := w.Checkpoints(t.Context())
	var seqs []int64
	for _, c := range held {
		seqs = append(seqs, c.Seq)
	}
	if !slices.Equal(seqs, []int64{5, 11, 17, 23}) {
		t.Errorf("the witness holds checkpoints of %v, want 5, 11, 17, 23", seqs)
	}
	r := checkLog(t, path, keysOf(a), w)
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v; findings: %v", err, r.Findings)
	}
	want := []string{fmt.Sprintf("not yet witnessed: tenant %q entries 25 to 26 (2) come after the last checkpoint; the next checkpoint covers them", "acme")}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q (witnessed %v)", got, want, seqs)
	}
}
