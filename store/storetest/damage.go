package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// Flip is a change to what a Store holds for one person that still
// decodes but says something else, as a flipped byte on disk can: the
// damage only a checksum of the person's state finds.
type Flip int

// The flips RunDamage makes. The person was committed with one applied
// field, "role", at version {t, 1}, a due time, and then marked dirty.
const (
	FlipVersion    Flip = iota // a digit of the field's version (its Seq, 1, becomes another)
	FlipActive                 // the activity flag
	FlipDue                    // a bit of the due time
	FlipGeneration             // a bit of the dirty mark's generation
)

func (f Flip) String() string {
	return [...]string{"Version", "Active", "Due", "Generation"}[f]
}

// Damager makes flip in what s holds for tenant's person id, behind the
// Store's back, and returns the Store to go on with: s itself, or s
// reopened if the Store checks its state when opened.
type Damager func(t *testing.T, s store.Store, tenant, id string, flip Flip) store.Store

// RunDamage runs the damage cases as subtests of t, one per Flip: after
// each, the person damaged reads as store.Person{ID, Damaged: true} — not
// as the value flipped, not as an error that would stop a poll or batch —
// through Person, Lookup and Pending, while everyone else reads as before;
// and the Commit that rebuilds them replaces their state whole.
//
// It is for Stores that keep state where it can be damaged (a file, a
// database) and check it: a Store kept in memory has nothing to run, and
// passes no Damager.
func RunDamage(t *testing.T, newStore func(t *testing.T) store.Store, damage Damager) {
	for _, f := range []Flip{FlipVersion, FlipActive, FlipDue, FlipGeneration} {
		t.Run("Flip"+f.String(), func(t *testing.T) { testFlip(t, newStore(t), damage, f) })
	}
}

func testFlip(t *testing.T, s store.Store, damage Damager, f Flip) {
	ctx := context.Background()
	role := map[string]store.Applied{"role": {Value: "dev", Version: hrtype.Version{Time: t0, Seq: 1}}}
	for _, id := range []string{"w1", "w2", "w3"} {
		must(t, s.Commit(ctx, tenant, store.Commit{ID: id, Exists: true, Active: true, Due: t0.Add(72 * time.Hour), Applied: role}))
	}
	must(t, s.MarkDirty(ctx, tenant, []string{"w2"}, store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}))
	w1 := person(t, s, tenant, "w1")

	s = damage(t, s, tenant, "w2", f)
	damaged := store.Person{ID: "w2", Damaged: true}
	if got := person(t, s, tenant, "w2"); !cmp.Equal(got, damaged) {
		t.Fatalf("w2 after a flip of its %s = %+v, want only its ID and Damaged", f, got)
	}
	if d := cmp.Diff(w1, person(t, s, tenant, "w1"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("w1, not damaged, reads differently (-before +after):\n%s", d)
	}
	looked, err := s.Lookup(ctx, tenant, []string{"w1", "w2"})
	must(t, err)
	if d := cmp.Diff([]store.Person{w1, damaged}, looked, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Lookup (-want +got):\n%s", d)
	}
	if sm, ok := s.(store.Summarizer); ok {
		summariesAsLookup(t, s, sm, []string{"w1", "w2", "w3"}, "after the flip")
	}
	pending, err := s.Pending(ctx, tenant, t0, "", 10)
	must(t, err)
	if !cmp.Equal(pending, []store.Person{damaged}) {
		t.Errorf("Pending = %+v, want w2 damaged", pending)
	}

	// The mark the engine read is none (a damaged person has none), so the
	// commit clears whatever the Store kept.
	rebuilt := map[string]store.Applied{"email": {Value: "w2@x", Version: hrtype.Version{Time: t0, Seq: 2}}}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w2", Exists: true, Active: true, Applied: rebuilt}))
	want := store.Person{ID: "w2", Exists: true, Active: true, Applied: rebuilt}
	if d := cmp.Diff(want, person(t, s, tenant, "w2"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("w2 after the commit that rebuilds it (-want +got):\n%s", d)
	}
	if sm, ok := s.(store.Summarizer); ok {
		summariesAsLookup(t, s, sm, []string{"w1", "w2", "w3"}, "after the rebuild")
	}
	if pending, err := s.Pending(ctx, tenant, t0, "", 10); err != nil || len(pending) != 0 {
		t.Errorf("Pending after the rebuild = %+v (%v), want none", pending, err)
	}
}
