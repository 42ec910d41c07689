package audit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Treatment is how a field's values are written to the log.
type Treatment int

// Treatments.
const (
	// Keep writes values as they are.
	Keep Treatment = iota
	// Drop writes no value: the log says the field changed, not to what.
	Drop
	// Hash writes a keyed hash (HMAC-SHA256) of each value: equal values
	// stay comparable across entries without being readable.
	Hash
	// Encrypt writes each value encrypted (AES-256-GCM) with a key of
	// that person's, held outside the log in a KeyStore. Erasing the key
	// erases the person's values from the log without breaking its chain.
	Encrypt
)

// Prefixes of treated values in the log.
const (
	DroppedValue = "[dropped]"
	hashPrefix   = "hmac-sha256:"
	encPrefix    = "enc:v1:"
	ErasedValue  = "[erased]"
)

// Redaction says how each field's values are written. Fields not named are
// kept.
type Redaction struct {
	Fields  map[string]Treatment
	HashKey []byte   // for Hash; required if any field is hashed
	Keys    KeyStore // for Encrypt; required if any field is encrypted
}

func (r Redaction) apply(e Entry) (Entry, error) {
	if len(r.Fields) == 0 || len(e.Changes) == 0 {
		return e, nil
	}
	out := e
	out.Changes = make([]Change, len(e.Changes))
	for i, c := range e.Changes {
		var err error
		switch r.Fields[c.Field] {
		case Drop:
			c.Old, c.New = dropped(c.Old), dropped(c.New)
		case Hash:
			if len(r.HashKey) == 0 {
				return Entry{}, errors.New("audit: field hashing needs a HashKey")
			}
			c.Old, c.New = r.hash(c.Field, c.Old), r.hash(c.Field, c.New)
		case Encrypt:
			if r.Keys == nil {
				return Entry{}, errors.New("audit: field encryption needs a KeyStore")
			}
			var key []byte
			if key, err = r.Keys.Key(e.Tenant, e.EmployeeID); err != nil {
				return Entry{}, fmt.Errorf("audit: key of %s: %w", e.EmployeeID, err)
			}
			if c.Old, err = seal(key, c.Old); err == nil {
				c.New, err = seal(key, c.New)
			}
		}
		if err != nil {
			return Entry{}, err
		}
		out.Changes[i] = c
	}
	return out, nil
}

func dropped(v string) string {
	if v == "" {
		return ""
	}
	return DroppedValue
}

func (r Redaction) hash(field, v string) string {
	if v == "" {
		return ""
	}
	m := hmac.New(sha256.New, r.HashKey)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return hashPrefix + hex.EncodeToString(m.Sum(nil))
}

func seal(key []byte, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return encPrefix + base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(v), nil)), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return cipher.NewGCM(block)
}

// Reveal returns e with encrypted values decrypted where the person's key is
// still held, and ErasedValue where it was erased.
func Reveal(e Entry, keys KeyStore) (Entry, error) {
	out := e
	out.Changes = append([]Change(nil), e.Changes...)
	for i, c := range out.Changes {
		var err error
		if c.Old, err = open(keys, e, c.Old); err != nil {
			return Entry{}, err
		}
		if c.New, err = open(keys, e, c.New); err != nil {
			return Entry{}, err
		}
		out.Changes[i] = c
	}
	return out, nil
}

func open(keys KeyStore, e Entry, v string) (string, error) {
	if !strings.HasPrefix(v, encPrefix) {
		return v, nil
	}
	key, ok, err := keys.Lookup(e.Tenant, e.EmployeeID)
	if err != nil || !ok {
		return ErasedValue, err
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(v, encPrefix))
	if err != nil {
		return "", fmt.Errorf("audit: corrupt encrypted value: %w", err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	if len(raw) < gcm.NonceSize() {
		return "", errors.New("audit: corrupt encrypted value")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("audit: decrypting a value of %s: %w", e.EmployeeID, err)
	}
	return string(plain), nil
}

// KeyStore holds one key per person for Encrypt, outside the log. Erase
// deletes a person's key: their values in the log can no longer be read.
type KeyStore interface {
	// Key returns the person's key, creating it if need be.
	Key(tenant, person string) ([]byte, error)
	// Lookup returns the person's key if it is held.
	Lookup(tenant, person string) ([]byte, bool, error)
	// Erase deletes the person's key.
	Erase(tenant, person string) error
}

// DirKeys is a KeyStore keeping each key in a file of its own under a
// directory. Deleting the file erases the person.
type DirKeys struct {
	Dir string
	mu  sync.Mutex
}

func (d *DirKeys) file(tenant, person string) string {
	name := hex.EncodeToString([]byte(tenant)) + "-" + hex.EncodeToString([]byte(person))
	return filepath.Join(d.Dir, name+".key")
}

// Key implements KeyStore.
func (d *DirKeys) Key(tenant, person string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, err := os.ReadFile(d.file(tenant, person)); err == nil {
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return nil, err
	}
	return k, os.WriteFile(d.file(tenant, person), k, 0o600)
}

// Lookup implements KeyStore.
func (d *DirKeys) Lookup(tenant, person string) ([]byte, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, err := os.ReadFile(d.file(tenant, person))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	return k, err == nil, err
}

// Erase implements KeyStore.
func (d *DirKeys) Erase(tenant, person string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := os.Remove(d.file(tenant, person))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
