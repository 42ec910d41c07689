package audit

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Checkpoint is a signed statement of where one tenant's chain stood: its
// entry Seq had hash Hash at Time (on the log's clock). It is signed with
// Ed25519 by the key KeyID names, so whoever holds that public key can check
// it, and nobody without the private key can make one. A rewritten chain,
// however carefully its hashes and head file are recomputed, no longer
// holds the hash a checkpoint names.
type Checkpoint struct {
	Tenant string    `json:"tenant"`
	Seq    int64     `json:"seq"`
	Hash   string    `json:"hash"`
	Time   time.Time `json:"time"`
	KeyID  string    `json:"keyId"`
	Sig    []byte    `json:"sig"` // Ed25519 over a fixed label and the other fields as JSON
}

// signed is what a checkpoint's signature covers: a fixed label, so that
// no other message signed with the key reads as a checkpoint, then the
// fields as JSON, which leaves no two checkpoints the same bytes. Time is
// written in UTC so that a checkpoint read back from JSON verifies.
func (c Checkpoint) signed() []byte {
	b, _ := json.Marshal(struct {
		Tenant string `json:"tenant"`
		Seq    int64  `json:"seq"`
		Hash   string `json:"hash"`
		Time   string `json:"time"`
		KeyID  string `json:"keyId"`
	}{c.Tenant, c.Seq, c.Hash, c.Time.UTC().Format(time.RFC3339Nano), c.KeyID})
	return append([]byte("hrissync audit checkpoint v1\n"), b...)
}

// sign signs c with s, which must hold an Ed25519 key.
func (c Checkpoint) sign(s crypto.Signer) (Checkpoint, error) {
	sig, err := s.Sign(rand.Reader, c.signed(), crypto.Hash(0))
	if err != nil {
		return c, fmt.Errorf("audit: signing a checkpoint: %w", err)
	}
	c.Sig = sig
	return c, nil
}

// Check verifies c's signature with the public key its KeyID names in keys.
// It returns nil, ErrUnknownKey, or ErrBadSignature.
func (c Checkpoint) Check(keys map[string]ed25519.PublicKey) error {
	pub, ok := keys[c.KeyID]
	switch {
	case !ok:
		return ErrUnknownKey
	case len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, c.signed(), c.Sig):
		return ErrBadSignature
	}
	return nil
}

// same reports whether c and d are one checkpoint: the same place in the
// same chain, signed alike.
func (c Checkpoint) same(d Checkpoint) bool {
	return c.Tenant == d.Tenant && c.Seq == d.Seq && c.Hash == d.Hash && c.KeyID == d.KeyID && string(c.Sig) == string(d.Sig)
}

// Errors of Checkpoint.Check.
var (
	ErrUnknownKey   = errors.New("audit: checkpoint signed with an unknown key id")
	ErrBadSignature = errors.New("audit: checkpoint signature does not verify")
)

// CheckpointOptions turn on signed checkpoints (LogOptions.Checkpoints).
// The zero value leaves them off.
type CheckpointOptions struct {
	// Signer signs checkpoints: an ed25519.PrivateKey from the host's
	// secret store, or a KMS's signer of an Ed25519 key. Nil: no
	// checkpoints (the default). It is called within Record, once per
	// checkpoint, so a remote signer's latency is that Record's; one that
	// fails leaves the chain due, tried again at the next Record.
	Signer crypto.Signer
	// KeyID names the key in each checkpoint, so that the auditor knows
	// which public key to check it with. Required with Signer. To rotate,
	// reopen the log with a new Signer and KeyID: checkpoints made before
	// still verify with the old public key.
	KeyID string
	// Witness keeps the checkpoints where the log's writer cannot rewrite
	// them (a FileWitness on another volume, an HTTPWitness). Required
	// with Signer.
	Witness Witness
	// Every checkpoints a tenant's chain once it has this many entries
	// since its last checkpoint. Default 1000.
	Every int
	// Interval checkpoints a tenant's chain at the first Record at least
	// this long (on LogOptions.Now) after its first entry not yet
	// checkpointed. The log has no timer: a host that wants a bound on a
	// quiet log calls Log.Checkpoint. Default 10 minutes.
	Interval time.Duration
}

func (o *CheckpointOptions) validate() error {
	switch {
	case o.Signer == nil:
		return nil
	case o.KeyID == "":
		return errors.New("audit: CheckpointOptions.KeyID is required with a Signer")
	case o.Witness == nil:
		return errors.New("audit: CheckpointOptions.Witness is required with a Signer")
	}
	if _, ok := o.Signer.Public().(ed25519.PublicKey); !ok {
		return fmt.Errorf("audit: CheckpointOptions.Signer holds a %T, not an Ed25519 key", o.Signer.Public())
	}
	if o.Every <= 0 {
		o.Every = 1000
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Minute
	}
	return nil
}

// PublicKeyLine is one line of a public keys file (ReadPublicKeys): the
// key id, a space, and the key in standard base64. A host gives its
// auditor one line per key it has signed with.
func PublicKeyLine(keyID string, pub ed25519.PublicKey) string {
	return keyID + " " + base64.StdEncoding.EncodeToString(pub)
}

// ReadPublicKeys reads a public keys file: one key a line, as PublicKeyLine
// writes it; blank lines and lines starting with # are skipped. A key id
// given twice is an error, since the auditor could not tell which to trust.
func ReadPublicKeys(r io.Reader) (map[string]ed25519.PublicKey, error) {
	keys := map[string]ed25519.PublicKey{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		id, enc, ok := strings.Cut(text, " ")
		if !ok {
			return nil, fmt.Errorf("audit: public keys, line %d: want \"KEYID BASE64\"", n)
		}
		pub, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("audit: public keys, line %d: not a base64 Ed25519 public key", n)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("audit: public keys, line %d: key id %q given twice", n, id)
		}
		keys[id] = ed25519.PublicKey(pub)
	}
	return keys, sc.Err()
}
