package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Witness keeps a log's signed checkpoints where the log's writer cannot
// rewrite them: another volume, another team's service, another account.
// Check compares the log with what the witness holds.
//
// Give each log a witness of its own (a file, a URL): Check takes every
// checkpoint a witness holds to be of the log it checks.
//
// Witness returns nil only once c is kept durably; given a checkpoint it
// already holds, it keeps one. Checkpoints returns every checkpoint held,
// in the order received. ctx bounds each call. A Log calls Witness from one
// goroutine at a time, but Checkpoints may be called by anyone, at any time.
type Witness interface {
	Witness(ctx context.Context, c Checkpoint) error
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
}

// FileWitness is a Witness keeping checkpoints in a file, as JSON Lines:
// it only ever appends, and fsyncs each checkpoint before it returns. Put
// the file where the log's writer cannot rewrite it — another volume,
// mounted for the writer to append only (chattr +a), or behind a
// WitnessHandler run by someone else. Its zero value, with Path set, is
// ready; it is safe for concurrent use within one process.
type FileWitness struct {
	Path string

	mu   sync.Mutex
	f    *os.File
	held map[string]bool // what the file holds, read at the first Witness
}

var _ Witness = (*FileWitness)(nil)

// key identifies a checkpoint for skipping one already held.
func (c Checkpoint) key() string {
	return fmt.Sprintf("%q %d %s %q %x", c.Tenant, c.Seq, c.Hash, c.KeyID, c.Sig)
}

// Witness appends c to the file and fsyncs it, unless the file holds it.
func (w *FileWitness) Witness(ctx context.Context, c Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.held[c.key()] {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	w.held[c.key()] = true
	return nil
}

// open reads what the file holds and opens it to append. A torn final line
// (a crash during an append) is ended with a newline, so that the next
// checkpoint starts a line of its own; reading skips it.
func (w *FileWitness) open() error {
	cs, torn, err := readWitnessFile(w.Path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(w.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	if torn {
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return fmt.Errorf("audit: witness: %w", err)
		}
	}
	if err := syncDir(w.Path); err != nil {
		f.Close()
		return err
	}
	w.f, w.held = f, map[string]bool{}
	for _, c := range cs {
		w.held[c.key()] = true
	}
	return nil
}

// Checkpoints reads the file.
func (w *FileWitness) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cs, _, err := readWitnessFile(w.Path)
	return cs, err
}

// Close closes the file; a later Witness opens it again.
func (w *FileWitness) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// readWitnessFile reads a witness file: no file holds no checkpoints. A
// final line with no newline is a crash's torn append, not a checkpoint
// (Witness had not returned); an unreadable line elsewhere is an error.
func readWitnessFile(path string) ([]Checkpoint, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit: witness: %w", err)
	}
	var out []Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	torn := len(b) > 0 && b[len(b)-1] != '\n'
	lines := bytes.Count(b, []byte("\n"))
	for n := 1; sc.Scan(); n++ {
		if n > lines { // the torn final line
			break
		}
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, false, fmt.Errorf("audit: witness %s:%d: %w", path, n, err)
		}
		out = append(out, c)
	}
	return out, torn, sc.Err()
}
