package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

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

// Checkpoints under key A, then, after a rotation, under key B: with both
// public keys every one verifies; with B's alone, A's are reported as of
// an unknown key and B's still verify.
func TestKeyRotation(t *testing.T) {
	a, b := newSigner("key-a"), newSigner("key-b")
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	defer w.Close()
	c := newClock()
	for i, s := range []signer{a, b} {
		l, err := audit.OpenLog(t.Context(), path, checkpointed(s, w, 5, c))
		if err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			record(t, l, entry(10*i+j, "acme"))
		}
		if err := l.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	held, _ := w.Checkpoints(t.Context())
	signedBy := map[string][]int64{}
	for _, c := range held {
		signedBy[c.KeyID] = append(signedBy[c.KeyID], c.Seq)
	}
	if !slices.Equal(signedBy["key-a"], []int64{5, 11}) || !slices.Equal(signedBy["key-b"], []int64{17, 23}) {
		t.Fatalf("checkpoints by key: %v, want key-a 5, 11 and key-b 17, 23", signedBy)
	}

	if r := checkLog(t, path, keysOf(a, b), w); r.Err() != nil || len(r.Findings) != 0 {
		t.Errorf("with both keys: Err = %v, findings:\n%s", r.Err(), list(r.Findings))
	}

	r := checkLog(t, path, keysOf(b), w)
	unknown := map[int64]int{} // sequence → findings (the log's record and the witness's)
	for _, f := range r.Findings {
		var ce *audit.CheckpointError
		switch {
		case f.Kind == audit.UnknownKey && errors.As(f.Err, &ce) && errors.Is(f.Err, audit.ErrUnknownKey) && ce.Checkpoint.KeyID == "key-a":
			unknown[f.Seq]++
		default:
			t.Errorf("with key-b alone: unexpected %v", f)
		}
	}
	if unknown[5] != 2 || unknown[11] != 2 || len(unknown) != 2 {
		t.Errorf("with key-b alone: unknown-key findings by sequence %v, want 5 and 11, each in the log and at the witness", unknown)
	}
}

// flaky is a witness that fails while told to.
type flaky struct {
	w    audit.Witness
	down atomic.Bool
}

var errDown = errors.New("witness unreachable")

func (f *flaky) Witness(ctx context.Context, c audit.Checkpoint) error {
	if f.down.Load() {
		return errDown
	}
	return f.w.Witness(ctx, c)
}

func (f *flaky) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.w.Checkpoints(ctx)
}

// A witness that fails for a while costs no entry: Record succeeds, the
// log says how far behind the witness is, and the checkpoints reach it at
// the next one — or, when the log was closed meanwhile, after the next
// OpenLog — leaving a log that verifies clean.
func TestWitnessDownForAWhile(t *testing.T) {
	defer goleak.VerifyNone(t) // Close stops the Log's goroutine
	a := newSigner("key-a")
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fw := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	defer fw.Close()
	w := &flaky{w: fw}
	c := newClock()
	w.down.Store(true)

	l, err := audit.OpenLog(t.Context(), path, checkpointed(a, w, 5, c))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		record(t, l, entry(i, "acme")) // never fails for the witness
	}
	var we *audit.WitnessError
	if err := l.Checkpoint(t.Context()); !errors.As(err, &we) || we.Behind != 2 || !errors.Is(err, errDown) {
		t.Fatalf("Checkpoint with the witness down = %v, want a *WitnessError 2 behind", err)
	}
	if n, err := l.WitnessBehind(); n != 2 || !errors.Is(err, errDown) {
		t.Errorf("WitnessBehind = %d, %v; want 2, %v", n, err, errDown)
	}

	// Back up: the next checkpoint takes those waiting with it.
	w.down.Store(false)
	for i := range 5 {
		record(t, l, entry(10+i, "acme"))
	}
	if err := l.Checkpoint(t.Context()); err != nil {
		t.Fatalf("Checkpoint once the witness is back = %v", err)
	}
	if n, err := l.WitnessBehind(); n != 0 || err != nil {
		t.Errorf("WitnessBehind = %d, %v; want 0, nil", n, err)
	}

	// Down again, and the log closed before it is back: the next OpenLog
	// hands over what the witness lacks.
	w.down.Store(true)
	for i := range 10 {
		record(t, l, entry(15+i, "acme"))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Checkpoints past the witness's newest are a witness behind, not
	// one that dropped them: not damage, but entries not yet witnessed.
	if r := checkLog(t, path, keysOf(a), fw); r.Err() != nil || !slices.ContainsFunc(r.Findings, func(f audit.Finding) bool { return f.Kind == audit.Unwitnessed }) {
		t.Fatalf("a witness behind: want no damage and entries not yet witnessed, got:\n%s", list(r.Findings))
	}
	w.down.Store(false)
	l, err = audit.OpenLog(t.Context(), path, checkpointed(a, w, 5, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()

	r := checkLog(t, path, keysOf(a), fw)
	if r.Err() != nil || len(r.Findings) != 0 {
		t.Errorf("after catching up: Err = %v, findings:\n%s", r.Err(), list(r.Findings))
	}
	held, _ := fw.Checkpoints(t.Context())
	var seqs []int64
	for _, c := range held {
		seqs = append(seqs, c.Seq)
	}
	if want := []int64{5, 11, 17, 23, 29}; !slices.Equal(seqs, want) {
		t.Errorf("the witness holds %v, want %v", seqs, want)
	}
}

// Interval is judged on the log's clock, at the next Record.
func TestCheckpointInterval(t *testing.T) {
	a := newSigner("key-a")
	w := &audit.FileWitness{Path: filepath.Join(t.TempDir(), "witness.jsonl")}
	defer w.Close()
	c := newClock()
	opts := checkpointed(a, w, 1000, c)
	opts.Checkpoints.Interval = time.Minute
	l, err := audit.OpenLog(t.Context(), filepath.Join(t.TempDir(), "audit.jsonl"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	record(t, l, entry(1, "acme"))
	c.Advance(59 * time.Second)
	record(t, l, entry(2, "acme"))
	if h := l.Heads()["acme"]; h.Seq != 2 {
		t.Fatalf("a checkpoint before the interval: head %d, want 2", h.Seq)
	}
	c.Advance(time.Second)
	record(t, l, entry(3, "acme"))
	if h := l.Heads()["acme"]; h.Seq != 4 {
		t.Fatalf("no checkpoint once the interval passed: head %d, want 4 (3 and its checkpoint)", h.Seq)
	}
}
