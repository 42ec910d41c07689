package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
)

// bulkTests check store.BulkLoader; skipped for a Store without it.
var bulkTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store, b store.BulkLoader)
}{
	{"BulkLoadAsOneByOne", testBulkAsOneByOne},
	{"BulkIntentsWithoutCommitsStayUnsure", testBulkUnsure},
	{"BulkCommitKeepsNewerMark", testBulkNewerMark},
	{"BulkCancelledRecordsNothing", testBulkCancelled},
	{"BulkTenantIsolation", testBulkTenantIsolation},
}

func runBulk(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tt := range bulkTests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			b, ok := s.(store.BulkLoader)
			if !ok {
				t.Skip("the Store does not implement store.BulkLoader")
			}
			tt.fn(t, s, b)
		})
	}
}

// intentOf is an initial load's intent for person id.
func intentOf(id string) store.Intent {
	return store.Intent{ID: id, Mark: store.Mark{Since: t0, Classes: cadence.All, Trigger: "batch"}}
}

// commitOf is an initial load's commit of person id's create, its intent
// recorded under gen.
func commitOf(id string, gen uint64) store.Commit {
	return store.Commit{ID: id, Generation: gen, Exists: true, Active: true,
		Applied: map[string]store.Applied{"email": {Value: id + "@x", Version: v(1)}, "role": {Value: "dev", Version: v(1)}},
		Audit:   []audit.Entry{{ID: "a-" + id, Tenant: tenant, EmployeeID: id, Action: audit.ActionCreate, Applied: t0, Outcome: "applied"}},
		Due:     t0.Add(24 * time.Hour), At: t0}
}

// held gives tenant's Store some people before the load: one with an event
// accepted (a webhook during the batch), one listed only.
func held(t *testing.T, s store.Store, tenant string) {
	accept(t, s, tenant, "e1", "w2")
	must(t, s.Listed(context.Background(), tenant, []store.Listing{{ID: "w3", Run: "r1", Digest: "d"}}))
}

// The bulk load leaves the Store as Intend and Commit one by one would for
// the people it held nothing of, and leaves the others as they were: the
// same rows (but for the generations, which are the Store's), the same
// outbox in the same order.
func testBulkAsOneByOne(t *testing.T, s store.Store, b store.BulkLoader) {
	ctx := context.Background()
	held(t, s, "one")
	held(t, s, "many")
	ids := []string{"w1", "w2", "w3", "w4", "w1", "w5"}
	// One by one, as the engine would: a person held is not loaded.
	for i, id := range ids {
		if id == "w2" || id == "w3" || i == 4 {
			continue
		}
		gen, err := s.Intend(ctx, "one", id, intentOf(id).Mark)
		must(t, err)
		must(t, s.Commit(ctx, "one", commitOf(id, gen)))
	}
	intents := make([]store.Intent, len(ids))
	for i, id := range ids {
		intents[i] = intentOf(id)
	}
	gens, err := b.IntendNew(ctx, "many", intents)
	must(t, err)
	if len(gens) != len(ids) {
		t.Fatalf("%d generations for %d intents", len(gens), len(ids))
	}
	seen := map[uint64]bool{}
	var cs []store.Commit
	for i, id := range ids {
		held := id == "w2" || id == "w3" || i == 4 // i 4: w1 named twice
		switch gen := gens[i]; {
		case held && gen != 0:
			t.Errorf("%s (#%d) is held, yet given generation %d", id, i, gen)
		case !held && (gen == 0 || seen[gen]):
			t.Errorf("%s given generation %d, want a new one", id, gen)
		case !held:
			seen[gen] = true
			if p := person(t, s, "many", id); p.Dirty.Generation != gen || !p.Dirty.Unsure {
				t.Errorf("%s after IntendNew: mark %+v, want unsure at generation %d", id, p.Dirty, gen)
			}
			cs = append(cs, commitOf(id, gen))
		}
	}
	must(t, b.CommitMany(ctx, "many", cs))
	strip := func(tenant string) []store.Person {
		ps, err := s.Lookup(ctx, tenant, []string{"w1", "w2", "w3", "w4", "w5"})
		must(t, err)
		for i := range ps {
			ps[i].Dirty.Generation = 0
		}
		return ps
	}
	if d := cmp.Diff(strip("one"), strip("many"), cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Errorf("people after Intend and Commit one by one and after the bulk load (-one +bulk):\n%s", d)
	}
	boxIDs := func(tenant string) []string {
		box, err := s.Outbox(ctx, tenant, 100)
		must(t, err)
		var ids []string
		for _, e := range box {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if d := cmp.Diff([]string{"a-w1", "a-w4", "a-w5"}, boxIDs("many")); d != "" {
		t.Errorf("outbox after CommitMany (-want +got):\n%s", d)
	}
	if d := cmp.Diff(boxIDs("one"), boxIDs("many")); d != "" {
		t.Errorf("outbox one by one and in bulk (-one +bulk):\n%s", d)
	}
}

// Intents recorded without their commits — a crash before the writes were
// committed — leave each person dirty and unsure, listed by Pending, as
// after Intend.
func testBulkUnsure(t *testing.T, s store.Store, b store.BulkLoader) {
	ctx := context.Background()
	var intents []store.Intent
	for i := range 20 {
		intents = append(intents, intentOf(fmt.Sprintf("w%02d", i)))
	}
	gens, err := b.IntendNew(ctx, tenant, intents)
	must(t, err)
	must(t, b.CommitMany(ctx, tenant, []store.Commit{commitOf("w00", gens[0])}))
	ps, err := s.Pending(ctx, tenant, t0, "", 100)
	must(t, err)
	if len(ps) != 19 {
		t.Fatalf("Pending lists %d people, want the 19 uncommitted", len(ps))
	}
	for i, p := range ps {
		if p.ID != intents[i+1].ID || p.Exists || !p.Dirty.Unsure || p.Dirty.Generation != gens[i+1] || p.Dirty.Classes != cadence.All {
			t.Errorf("uncommitted %s: %+v, want dirty and unsure at generation %d, no account", intents[i+1].ID, p, gens[i+1])
		}
	}
	if p := person(t, s, tenant, "w00"); !p.Exists || p.Dirty.Generation != 0 || p.Dirty.Unsure {
		t.Errorf("committed w00: %+v, want clean with an account", p)
	}
}

// An event accepted between the intent and the commit keeps the person
// dirty (but sure), as Commit does.
func testBulkNewerMark(t *testing.T, s store.Store, b store.BulkLoader) {
	ctx := context.Background()
	gens, err := b.IntendNew(ctx, tenant, []store.Intent{intentOf("w1"), intentOf("w2")})
	must(t, err)
	accept(t, s, tenant, "e1", "w1")
	must(t, b.CommitMany(ctx, tenant, []store.Commit{commitOf("w1", gens[0]), commitOf("w2", gens[1])}))
	if p := person(t, s, tenant, "w1"); p.Dirty.Generation == 0 || p.Dirty.Unsure || p.Dirty.EventID != "e1" || !p.Exists {
		t.Errorf("w1, an event accepted during the write: %+v, want dirty and sure", p)
	}
	if p := person(t, s, tenant, "w2"); p.Dirty.Generation != 0 || !p.Exists {
		t.Errorf("w2: %+v, want clean", p)
	}
	// A revocation a commit records is counted, as Commit counts it.
	c := store.Commit{ID: "w2", Exists: true, Active: false, Revoked: "terminated", At: t0}
	must(t, b.CommitMany(ctx, tenant, []store.Commit{c}))
	if r := revocations(t, s, tenant, t0); r.Spent["terminated"] != 1 {
		t.Errorf("revocations after CommitMany: %+v", r)
	}
}

// A cancelled context records nothing.
func testBulkCancelled(t *testing.T, s store.Store, b store.BulkLoader) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.IntendNew(ctx, tenant, []store.Intent{intentOf("w1")}); err == nil {
		t.Error("IntendNew with a cancelled context succeeded")
	}
	if err := b.CommitMany(ctx, tenant, []store.Commit{commitOf("w2", 0)}); err == nil {
		t.Error("CommitMany with a cancelled context succeeded")
	}
	ps, err := s.Lookup(context.Background(), tenant, []string{"w1", "w2"})
	must(t, err)
	if d := cmp.Diff([]store.Person{{ID: "w1"}, {ID: "w2"}}, ps, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("after cancelled calls (-want +got):\n%s", d)
	}
}

// A person held by another tenant is new in this one.
func testBulkTenantIsolation(t *testing.T, s store.Store, b store.BulkLoader) {
	ctx := context.Background()
	accept(t, s, "other", "e1", "w1")
	gens, err := b.IntendNew(ctx, tenant, []store.Intent{intentOf("w1")})
	must(t, err)
	if gens[0] == 0 {
		t.Fatal("a person another tenant holds was not new in this one")
	}
	must(t, b.CommitMany(ctx, tenant, []store.Commit{commitOf("w1", gens[0])}))
	if p := person(t, s, "other", "w1"); p.Exists || p.Dirty.EventID != "e1" {
		t.Errorf("the other tenant's w1: %+v, want untouched", p)
	}
}
