package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hrissync/hrissync/audit"
)

// A log signing a checkpoint every 2 entries to a witness file elsewhere,
// and an auditor checking it with nothing but the public key and the
// witness's list.
func ExampleCheckpointOptions() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)

	// The writer: the private key comes from its secret store.
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	witness := &audit.FileWitness{Path: filepath.Join(dir, "other-volume-witness.jsonl")}
	defer witness.Close()
	at := time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC)
	log, _ := audit.OpenLog(ctx, filepath.Join(dir, "audit.jsonl"), &audit.LogOptions{
		Now:         func() time.Time { return at },
		Checkpoints: audit.CheckpointOptions{Signer: priv, KeyID: "2026-03", Witness: witness, Every: 2},
	})
	record := func(id string) {
		_ = log.Record(ctx, []audit.Entry{{ID: id, Tenant: "t1", Action: audit.ActionUpdate,
			Trigger: "poll", SourceChanged: at, Applied: at, Outcome: "applied"}})
	}
	for i := range 4 { // entries 1, 2, a checkpoint of 2 (3), 4, 5, a checkpoint of 5 (6)
		record(fmt.Sprint(i))
	}
	// Wait for the witness, as a host does before it closes the log; it
	// would otherwise have the checkpoints at the next OpenLog.
	if err := log.Checkpoint(ctx); err != nil {
		fmt.Println(err)
	}
	record("4") // entry 7, before the next checkpoint is due
	_ = log.Close()

	// The auditor: the public keys file and the witness's list.
	keys, _ := audit.ReadPublicKeys(strings.NewReader(audit.PublicKeyLine("2026-03", priv.Public().(ed25519.PublicKey))))
	held, _ := witness.Checkpoints(ctx)
	files, _ := audit.LogFiles(filepath.Join(dir, "audit.jsonl"))
	r, _ := audit.Check(audit.CheckOptions{Keys: keys, Witnessed: held}, files...)
	fmt.Println("checkpoints at the witness:", len(held), "damage:", r.Err())
	for _, f := range r.Findings {
		fmt.Println(f)
	}
	// Output:
	// checkpoints at the witness: 2 damage: <nil>
	// not yet witnessed: tenant "t1" entries 7 to 7 (1) come after the last checkpoint; the next checkpoint covers them
}
