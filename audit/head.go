package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
)

// headFile is what the head file beside a log holds: each chain's end and
// the hash of the last line, as of the last sync. It is written only after
// the lines it names are durable, so without tampering it is never ahead of
// the log; a crash between an append and its update leaves it behind.
type headFile struct {
	Tenants map[string]Head `json:"tenants"`
	Link    string          `json:"link"`
}

// readHead reads a head file. No file (or no path) is no head file; one that
// does not parse is a *ChainError.
func readHead(path string) (*headFile, *ChainError, error) {
	if path == "" {
		return nil, nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	var hf headFile
	if err := json.Unmarshal(b, &hf); err != nil {
		return nil, &ChainError{File: path, Reason: "unreadable head file: " + err.Error()}, nil
	}
	return &hf, nil, nil
}

// matches reports whether the head file names exactly the chain's end.
func (hf *headFile) matches(ch *chain) bool {
	if hf == nil {
		return len(ch.heads) == 0
	}
	return maps.Equal(hf.Tenants, ch.heads) && hf.Link == ch.link
}

// writeHead replaces the head file atomically: a crash leaves the old one
// or the new one, never a mix.
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
		return fmt.Errorf("audit: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// syncDir makes the renames in path's directory durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("audit: syncing the directory of %s: %w", path, err)
	}
	return nil
}
