package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync/audit"
)

// A person HR re-keyed twice (c-1 → e-1 → x-1) is one history: asking for
// any of the ids finds all three, and nobody else.
func TestAliasesFollowReKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.OpenLog(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	entry := func(id, employee, action string, changes ...audit.Change) audit.Entry {
		return audit.Entry{ID: id, Tenant: "default", EmployeeID: employee, Action: action, Changes: changes,
			Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied"}
	}
	err = log.Record(ctx, []audit.Entry{
		entry("1", "c-1", audit.ActionCreate, audit.Change{Field: "role", New: "Contractor"}),
		entry("2", "w-9", audit.ActionCreate, audit.Change{Field: "role", New: "Engineer"}),
		entry("3", "e-1", audit.ActionRekey, audit.Change{Field: audit.ChangeEmployeeID, Old: "c-1", New: "e-1"}),
		entry("4", "x-1", audit.ActionRekey, audit.Change{Field: audit.ChangeEmployeeID, Old: "e-1", New: "x-1"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := audit.LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, asked := range []string{"c-1", "e-1", "x-1"} {
		ids, err := aliases(files, asked, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]bool{"c-1": true, "e-1": true, "x-1": true}, ids); d != "" {
			t.Errorf("aliases of %s (-want +got):\n%s", asked, d)
		}
	}
	if ids, _ := aliases(files, "w-9", ""); len(ids) != 1 {
		t.Errorf("aliases of w-9: %v, want w-9 alone", ids)
	}
}

// -verify with -pubkey and -witness: a witnessed log verifies, read from a
// witness file or from a witness service over loopback; a checkpoint dropped
// at the witness, or a key the auditor lacks, is damage named with its
// sequence.
func TestVerifyCheckpoints(t *testing.T) {
	ctx := context.Background()
	dir, other := t.TempDir(), t.TempDir() // the witness on "another volume"
	seed := sha256.Sum256([]byte("key-a"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pubFile := filepath.Join(dir, "keys.pub")
	if err := os.WriteFile(pubFile, []byte("# the writer's keys\n"+audit.PublicKeyLine("key-a", priv.Public().(ed25519.PublicKey))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(dir, "other.pub")
	seedB := sha256.Sum256([]byte("key-b"))
	os.WriteFile(otherKey, []byte(audit.PublicKeyLine("key-b", ed25519.NewKeyFromSeed(seedB[:]).Public().(ed25519.PublicKey))+"\n"), 0o600)

	witness := &audit.FileWitness{Path: filepath.Join(other, "witness.jsonl")}
	defer witness.Close()
	path := filepath.Join(dir, "audit.jsonl")
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	log, err := audit.OpenLog(ctx, path, &audit.LogOptions{Now: func() time.Time { return at },
		Checkpoints: audit.CheckpointOptions{Signer: priv, KeyID: "key-a", Witness: witness, Every: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		e := audit.Entry{ID: fmt.Sprint(i), Tenant: "default", EmployeeID: "w-1", Action: audit.ActionUpdate,
			Trigger: "realtime", SourceChanged: at, Applied: at, Outcome: "applied"}
		if err := log.Record(ctx, []audit.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	log.Close()
	srv := httptest.NewServer(&audit.WitnessHandler{Witness: witness})
	defer srv.Close()

	verify := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := run(append([]string{"-verify"}, append(args, path)...), &out, &errs)
		return code, out.String() + errs.String()
	}
	for _, w := range []string{witness.Path, srv.URL} {
		if code, out := verify("-pubkey", pubFile, "-witness", w); code != 0 || !strings.Contains(out, "ok: every chain intact and holding every checkpoint at the witness") {
			t.Errorf("-witness %s: exit %d, output:\n%s", w, code, out)
		}
	}
	if code, out := verify("-pubkey", otherKey, "-witness", witness.Path); code != 1 || !strings.Contains(out, `the checkpoint of sequence 3 (key "key-a"`) || !strings.Contains(out, "signed with a key id no public key was given for") {
		t.Errorf("with another key: exit %d, output:\n%s", code, out)
	}

	// Drop the second checkpoint (of sequence 7) at the witness.
	b, _ := os.ReadFile(witness.Path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(witness.Path, []byte(lines[0]+strings.Join(lines[2:], "")), 0o600)
	code, out := verify("-pubkey", pubFile, "-witness", witness.Path)
	if code != 1 || !strings.Contains(out, "BROKEN: tenant \"default\": the checkpoint of sequence 7") || !strings.Contains(out, "dropped at the witness") {
		t.Errorf("a checkpoint dropped: exit %d, output:\n%s", code, out)
	}
}
