// Package storetest is the conformance suite for store.Store
// implementations, in the manner of testing/slogtest: a Store that passes
// Run behaves as the engine needs.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
//	}
//
// newStore must return an empty Store each time it is called. A Store that
// implements store.BatchAccepter is checked for it too (the AcceptBatch
// cases); for one that does not, they are skipped. So is one that
// implements store.BulkLoader (the Bulk cases).
//
// A Store that keeps state where it can be damaged, and checks it, runs
// RunDamage too, with a Damager that flips bytes behind its back: the
// person damaged must read as damaged, never as the value flipped.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CommitAppliesEverything", testCommitAppliesEverything},
		{"CommitKeepsNewerMark", testCommitKeepsNewerMark},
		{"OlderVersionNeverOverwrites", testOlderVersionNeverOverwrites},
		{"CancelledCommitChangesNothing", testCancelledCommitChangesNothing},
		{"AcceptRemembersEventIDs", testAcceptRemembersEventIDs},
		{"AcceptRefusesAnIDReused", testAcceptRefusesAnIDReused},
		{"MarksMerge", testMarksMerge},
		{"IntentBeforeWrite", testIntent},
		{"RekeyMovesTheAccount", testRekey},
		{"RekeyRefusesConflicts", testRekeyConflicts},
		{"PendingSweep", testPendingSweep},
		{"DeadLetters", testDeadLetters},
		{"PeopleInIDOrder", testPeopleInIDOrder},
		{"LookupInTheOrderAsked", testLookup},
		{"ListedMarksWithoutAnAccount", testListed},
		{"Outbox", testOutbox},
		{"AuditAnchor", testAuditAnchor},
		{"Cursor", testCursor},
		{"RunLedger", testRunLedger},
		{"LastRunIsSavedLast", testLastRunIsSavedLast},
		{"RevocationsInWindow", testRevocationsInWindow},
		{"RevocationsActive", testRevocationsActive},
		{"RevocationsForgotten", testRevocationsForgotten},
		{"TenantIsolation", testTenantIsolation},
		{"ConcurrentUse", testConcurrentUse},
		{"AcceptBatchRecordsAndMarks", batch(testAcceptBatchRecordsAndMarks)},
		{"AcceptBatchReplayedIsDuplicates", batch(testAcceptBatchReplayed)},
		{"AcceptBatchIDTwice", batch(testAcceptBatchIDTwice)},
		{"AcceptBatchConflictAmongOthers", batch(testAcceptBatchConflict)},
		{"AcceptBatchAsAcceptOneByOne", batchVsOneByOne},
		{"AcceptBatchTenantIsolation", batch(testAcceptBatchTenantIsolation)},
		{"AcceptBatchFailedRecordsNothing", batch(testAcceptBatchFailed)},
		{"SummariesAsLookup", summarizer(testSummaries)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
	runBulk(t, newStore)
}

const tenant = "t1"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func v(sec int) hrtype.Version {
	return hrtype.Version{Time: t0.Add(time.Duration(sec) * time.Second)}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func person(t *testing.T, s store.Store, tenant, id string) store.Person {
	t.Helper()
	p, err := s.Person(context.Background(), tenant, id)
	must(t, err)
	return p
}

func accept(t *testing.T, s store.Store, tenant, event, id string) bool {
	t.Helper()
	dup, err := s.Accept(context.Background(), tenant, store.Acceptance{
		EventID: event, EmployeeID: id, Forget: t0.Add(24 * time.Hour),
		Mark: store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime", EventID: event},
	})
	must(t, err)
	return dup
}

func testCommitAppliesEverything(t *testing.T, s store.Store) {
	ctx := context.Background()
	accept(t, s, tenant, "e1", "w1")
	p := person(t, s, tenant, "w1")
	if p.Dirty.Generation == 0 {
		t.Fatal("accepted person is not dirty")
	}
	must(t, s.Fail(ctx, tenant, "w1", store.Failure{Attempts: 1, Err: "boom", At: t0}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	p = person(t, s, tenant, "w1")
	entry := audit.Entry{ID: "a1", Tenant: tenant, EmployeeID: "w1", Action: audit.ActionCreate, Applied: t0, Outcome: "applied"}
	due := t0.Add(48 * time.Hour)
	must(t, s.Commit(ctx, tenant, store.Commit{
		ID: "w1", Generation: p.Dirty.Generation, Exists: true, Active: true,
		Applied: map[string]store.Applied{"email": {Value: "a@x", Version: v(1)}, "role": {Value: "dev", Version: v(1)}},
		Audit:   []audit.Entry{entry}, Due: due,
	}))
	got := person(t, s, tenant, "w1")
	want := store.Person{
		ID: "w1", Exists: true, Active: true, Due: due,
		Applied: map[string]store.Applied{"email": {Value: "a@x", Version: v(1)}, "role": {Value: "dev", Version: v(1)}},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("person after commit (-want +got):\n%s", d)
	}
	box, err := s.Outbox(ctx, tenant, 10)
	must(t, err)
	if d := cmp.Diff([]audit.Entry{entry}, box, cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Errorf("outbox (-want +got):\n%s", d)
	}
}

func testCommitKeepsNewerMark(t *testing.T, s store.Store) {
	ctx := context.Background()
	accept(t, s, tenant, "e1", "w1")
	started := person(t, s, tenant, "w1").Dirty.Generation
	accept(t, s, tenant, "e2", "w1") // arrives while the reconcile runs
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: started, Exists: true, Active: true}))
	p := person(t, s, tenant, "w1")
	if p.Dirty.Generation == 0 {
		t.Fatal("a mark made during the reconcile was cleared")
	}
	if p.Dirty.EventID != "e2" {
		t.Errorf("mark event = %q, want e2", p.Dirty.EventID)
	}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: p.Dirty.Generation, Exists: true, Active: true}))
	if g := person(t, s, tenant, "w1").Dirty.Generation; g != 0 {
		t.Errorf("generation %d after a commit from the current mark, want clean", g)
	}
	// A commit from a clean read (generation 0) never clears a later mark.
	accept(t, s, tenant, "e3", "w1")
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: 0, Exists: true, Active: true}))
	if person(t, s, tenant, "w1").Dirty.Generation == 0 {
		t.Error("commit with generation 0 cleared a mark")
	}
}

func testOlderVersionNeverOverwrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "lead", Version: v(10)}, "email": {Value: "a@x", Version: v(10)}}}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(5)}, "location": {Value: "Paris", Version: v(5)}}}))
	got := person(t, s, tenant, "w1").Applied
	want := map[string]store.Applied{"role": {Value: "lead", Version: v(10)}, "email": {Value: "a@x", Version: v(10)}, "location": {Value: "Paris", Version: v(5)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("applied (-want +got):\n%s", d)
	}
	// Same time, higher sequence wins.
	newer := hrtype.Version{Time: t0.Add(10 * time.Second), Seq: 1}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "principal", Version: newer}}}))
	if r := person(t, s, tenant, "w1").Applied["role"]; r.Value != "principal" {
		t.Errorf("role = %q, want the higher sequence's value", r.Value)
	}
}

func testCancelledCommitChangesNothing(t *testing.T, s store.Store) {
	accept(t, s, tenant, "e1", "w1")
	before := person(t, s, tenant, "w1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: before.Dirty.Generation, Exists: true,
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(1)}},
		Audit:   []audit.Entry{{ID: "a1", Tenant: tenant}}})
	if err == nil {
		t.Fatal("Commit with a cancelled context succeeded")
	}
	after := person(t, s, tenant, "w1")
	if d := cmp.Diff(before, after, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("a failed commit changed the person (-before +after):\n%s", d)
	}
	box, err := s.Outbox(context.Background(), tenant, 10)
	must(t, err)
	if len(box) != 0 {
		t.Errorf("a failed commit left %d outbox entries", len(box))
	}
}

func testAcceptRemembersEventIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	if accept(t, s, tenant, "e1", "w1") {
		t.Fatal("first delivery reported as a duplicate")
	}
	g := person(t, s, tenant, "w1").Dirty.Generation
	if !accept(t, s, tenant, "e1", "w1") {
		t.Fatal("repeated event id not reported as a duplicate")
	}
	if g2 := person(t, s, tenant, "w1").Dirty.Generation; g2 != g {
		t.Errorf("a duplicate changed the mark's generation %d → %d", g, g2)
	}
	n, err := s.ForgetEvents(ctx, tenant, t0.Add(time.Hour))
	must(t, err)
	if n != 0 || !accept(t, s, tenant, "e1", "w1") {
		t.Fatalf("event forgotten before its time (forgot %d)", n)
	}
	n, err = s.ForgetEvents(ctx, tenant, t0.Add(24*time.Hour))
	must(t, err)
	if n != 1 {
		t.Errorf("ForgetEvents = %d, want 1", n)
	}
	if accept(t, s, tenant, "e1", "w1") {
		t.Error("a forgotten event id is still reported as a duplicate")
	}
}

// An event id remembered with one fingerprint, offered with another, is
// refused (ErrEventConflict) and changes nothing; with the same or no
// fingerprint it is a repeat; once forgotten it is free.
func testAcceptRefusesAnIDReused(t *testing.T, s store.Store) {
	ctx := context.Background()
	offer := func(id, fingerprint string) (bool, error) {
		return s.Accept(ctx, tenant, store.Acceptance{EventID: "msg_1", Fingerprint: fingerprint, EmployeeID: id, Forget: t0.Add(24 * time.Hour),
			Mark: store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime", EventID: "msg_1"}})
	}
	if dup, err := offer("w1", "f1"); err != nil || dup {
		t.Fatalf("first delivery: duplicate=%v err=%v", dup, err)
	}
	w1 := person(t, s, tenant, "w1").Dirty.Generation
	dup, err := offer("w2", "f2")
	if !errors.Is(err, store.ErrEventConflict) || dup {
		t.Fatalf("the id with another fingerprint: duplicate=%v err=%v, want ErrEventConflict", dup, err)
	}
	if p := person(t, s, tenant, "w2"); p.Dirty.Generation != 0 {
		t.Errorf("the refused event marked w2: %+v", p.Dirty)
	}
	for _, fp := range []string{"f1", ""} {
		if dup, err := offer("w1", fp); err != nil || !dup {
			t.Errorf("a repeat with fingerprint %q: duplicate=%v err=%v, want a repeat", fp, dup, err)
		}
	}
	if g := person(t, s, tenant, "w1").Dirty.Generation; g != w1 {
		t.Errorf("a repeat or a refusal changed w1's mark: generation %d → %d", w1, g)
	}
	if _, err := s.ForgetEvents(ctx, tenant, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if dup, err := offer("w2", "f2"); err != nil || dup {
		t.Errorf("the id once forgotten: duplicate=%v err=%v, want accepted", dup, err)
	}
}

func testMarksMerge(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.MarkDirty(ctx, tenant, []string{"w1"}, store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime", MinVersion: v(5), EventID: "e1"}))
	must(t, s.MarkDirty(ctx, tenant, []string{"w1"}, store.Mark{Since: t0.Add(time.Hour), Classes: cadence.Batch, Trigger: "batch", MinVersion: v(2)}))
	m := person(t, s, tenant, "w1").Dirty
	if m.Classes != cadence.All || !m.Since.Equal(t0) || m.MinVersion != v(5) || m.EventID != "e1" || m.Trigger != "batch" {
		t.Errorf("merged mark = %+v, want all classes, first since, newest min version, event e1, trigger batch", m)
	}
}

func testIntent(t *testing.T, s store.Store) {
	ctx := context.Background()
	gen, err := s.Intend(ctx, tenant, "w1", store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"})
	must(t, err)
	p := person(t, s, tenant, "w1")
	if !p.Dirty.Unsure || p.Dirty.Generation != gen || gen == 0 {
		t.Fatalf("after Intend: mark %+v, generation returned %d", p.Dirty, gen)
	}
	// The write's commit clears the mark.
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: gen, Exists: true, Active: true}))
	if p := person(t, s, tenant, "w1"); p.Dirty.Generation != 0 || p.Dirty.Unsure {
		t.Fatalf("after the commit: %+v", p.Dirty)
	}
	// An event during the write keeps the person dirty, but the write is
	// recorded: no longer unsure.
	gen, err = s.Intend(ctx, tenant, "w1", store.Mark{Since: t0, Classes: cadence.Realtime})
	must(t, err)
	accept(t, s, tenant, "e1", "w1")
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Generation: gen, Exists: true, Active: true}))
	if p := person(t, s, tenant, "w1"); p.Dirty.Generation == 0 || p.Dirty.Unsure {
		t.Fatalf("after a commit with an event in between: %+v, want dirty and sure", p.Dirty)
	}
	// An intent merges into a mark already held: the classes are united,
	// the event and its minimum version and the first Since are kept.
	dup, err := s.Accept(ctx, tenant, store.Acceptance{EventID: "e7", EmployeeID: "w3", Forget: t0.Add(time.Hour),
		Mark: store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime", EventID: "e7", MinVersion: v(5)}})
	must(t, err)
	if dup {
		t.Fatal("a new event reported as a repeat")
	}
	gen, err = s.Intend(ctx, tenant, "w3", store.Mark{Since: t0.Add(time.Minute), Classes: cadence.Batch, Trigger: "batch"})
	must(t, err)
	want := store.Mark{Generation: gen, Since: t0, Classes: cadence.Realtime | cadence.Batch, Trigger: "batch",
		EventID: "e7", MinVersion: v(5), Unsure: true}
	if got := person(t, s, tenant, "w3").Dirty; !got.Since.Equal(want.Since) || got.Generation != want.Generation || got.Classes != want.Classes ||
		got.Trigger != want.Trigger || got.EventID != want.EventID || got.MinVersion.Compare(want.MinVersion) != 0 || !got.Unsure {
		t.Fatalf("an intent over a held mark: %+v, want %+v", got, want)
	}
	// A failed write the sink answered is not unsure; one cut off is.
	_, err = s.Intend(ctx, tenant, "w2", store.Mark{Since: t0, Classes: cadence.Realtime})
	must(t, err)
	must(t, s.Fail(ctx, tenant, "w2", store.Failure{Attempts: 1, Err: "503"}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	if p := person(t, s, tenant, "w2"); p.Dirty.Unsure || p.Dirty.Generation == 0 {
		t.Fatalf("after an answered failure: %+v", p.Dirty)
	}
	must(t, s.Fail(ctx, tenant, "w2", store.Failure{Attempts: 2, Err: "timeout"}, store.Mark{Since: t0, Classes: cadence.Realtime, Unsure: true}))
	if p := person(t, s, tenant, "w2"); !p.Dirty.Unsure {
		t.Fatalf("after a cut-off write: %+v", p.Dirty)
	}
}

func testRekey(t *testing.T, s store.Store) {
	ctx := context.Background()
	applied := map[string]store.Applied{"email": {Value: "c@x", Version: v(1)}, store.AppliedActivity: {Value: "true", Version: v(1)}}
	gen, err := s.Intend(ctx, tenant, "c1", store.Mark{Since: t0})
	must(t, err)
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "c1", Generation: gen, Exists: true, Active: true, Applied: applied, Due: t0.Add(time.Hour)}))
	must(t, s.Fail(ctx, tenant, "c1", store.Failure{Attempts: 1, Err: "503", At: t0}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	accept(t, s, tenant, "e1", "e1") // the new id's hire event came first

	entry := audit.Entry{ID: "rk", Tenant: tenant, EmployeeID: "e1", Action: "rekey", Applied: t0, Outcome: "recorded",
		Changes: []audit.Change{{Field: "employeeId", Old: "c1", New: "e1"}}}
	gen, err = s.Rekey(ctx, tenant, store.Rekeying{From: "c1", To: "e1", Mark: store.Mark{Since: t0.Add(time.Minute), Classes: cadence.All, Trigger: "realtime"}, Audit: entry})
	must(t, err)
	to := person(t, s, tenant, "e1")
	if !to.Exists || !to.Active || to.Dirty.Generation != gen || gen == 0 || !to.Dirty.Unsure || to.Dirty.RekeyFrom != "c1" || to.Dirty.EventID != "e1" {
		t.Fatalf("new id after Rekey: %+v (generation returned %d); want c1's account, dirty, unsure, from c1, the event kept", to, gen)
	}
	unversioned := map[string]store.Applied{"email": {Value: "c@x"}, store.AppliedActivity: {Value: "true"}}
	if d := cmp.Diff(unversioned, to.Applied); d != "" {
		t.Errorf("new id's applied state (-want +got):\n%s", d)
	}
	from := person(t, s, tenant, "c1")
	if from.Exists || from.Active || from.Dirty.Generation != 0 || from.Failure != nil || !from.Due.IsZero() || from.MovedTo() != "e1" {
		t.Errorf("old id after Rekey: %+v; want only that it moved to e1", from)
	}
	if dead, err := s.DeadLetters(ctx, tenant); err != nil || len(dead) != 0 {
		t.Errorf("dead letters %v, %v", ids(dead), err)
	}
	if people, err := s.People(ctx, tenant, "", 10); err != nil || !slices.Equal(ids(people), []string{"e1"}) {
		t.Errorf("people with an account: %v, %v; want e1 alone", ids(people), err)
	}
	box, err := s.Outbox(ctx, tenant, 10)
	must(t, err)
	if len(box) != 1 || box[0].ID != "rk" || len(box[0].Changes) != 1 || box[0].Changes[0] != entry.Changes[0] {
		t.Errorf("outbox %+v, want the re-key entry", box)
	}

	// The write that rebinds the platform's account commits: the mark
	// goes, RekeyFrom with it; a mark made meanwhile stays, sure and
	// without RekeyFrom.
	accept(t, s, tenant, "e2", "e1")
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "e1", Generation: gen, Exists: true, Active: true}))
	if p := person(t, s, tenant, "e1"); p.Dirty.Generation == 0 || p.Dirty.Unsure || p.Dirty.RekeyFrom != "" {
		t.Errorf("after the write's commit with an event in between: %+v, want dirty, sure, nothing owed to c1", p.Dirty)
	}
	// A failure before the write keeps what is owed.
	gen, err = s.Intend(ctx, tenant, "c2", store.Mark{Since: t0})
	must(t, err)
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "c2", Generation: gen, Exists: true, Active: false}))
	_, err = s.Rekey(ctx, tenant, store.Rekeying{From: "c2", To: "e3", Mark: store.Mark{Since: t0}, Audit: audit.Entry{ID: "rk2", Tenant: tenant, EmployeeID: "e3", Action: "rekey"}})
	must(t, err)
	must(t, s.Fail(ctx, tenant, "e3", store.Failure{Attempts: 1, Err: "503", At: t0}, store.Mark{Since: t0}))
	if p := person(t, s, tenant, "e3"); !p.Exists || p.Active || p.Dirty.RekeyFrom != "c2" {
		t.Errorf("after a failed write: %+v, want c2's disabled account, still owed to c2", p)
	}
}

func testRekeyConflicts(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		gen, err := s.Intend(ctx, tenant, id, store.Mark{Since: t0})
		must(t, err)
		must(t, s.Commit(ctx, tenant, store.Commit{ID: id, Generation: gen, Exists: true, Active: true,
			Applied: map[string]store.Applied{"email": {Value: id + "@x", Version: v(1)}}}))
	}
	for _, r := range []store.Rekeying{{From: "a", To: "b"}, {From: "nobody", To: "c"}} {
		r.Audit = audit.Entry{ID: "rk-" + r.To, Tenant: tenant, EmployeeID: r.To, Action: "rekey"}
		if _, err := s.Rekey(ctx, tenant, r); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Rekey %s → %s: %v, want ErrConflict", r.From, r.To, err)
		}
	}
	for _, id := range []string{"a", "b"} {
		if p := person(t, s, tenant, id); !p.Exists || p.Applied["email"].Value != id+"@x" || p.Dirty.Generation != 0 {
			t.Errorf("%s after refused re-keys: %+v, want unchanged", id, p)
		}
	}
	if p := person(t, s, tenant, "c"); p.Exists || p.Dirty.Generation != 0 {
		t.Errorf("c after a refused re-key: %+v, want nothing", p)
	}
	if box, err := s.Outbox(ctx, tenant, 10); err != nil || len(box) != 0 {
		t.Errorf("outbox after refused re-keys: %d entries, %v", len(box), err)
	}
}

func testPendingSweep(t *testing.T, s store.Store) {
	ctx := context.Background()
	accept(t, s, tenant, "e1", "w3")
	accept(t, s, tenant, "e2", "w1")
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w2", Exists: true, Active: true, Due: t0.Add(time.Hour)}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w4", Exists: true, Active: true, Due: t0.Add(48 * time.Hour)}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w5", Exists: true, Active: true}))
	got, err := s.Pending(ctx, tenant, t0.Add(time.Hour), "", 100)
	must(t, err)
	if d := cmp.Diff([]string{"w1", "w2", "w3"}, ids(got)); d != "" {
		t.Errorf("pending at +1h (-want +got):\n%s", d)
	}
	page, err := s.Pending(ctx, tenant, t0.Add(72*time.Hour), "w1", 2)
	must(t, err)
	if d := cmp.Diff([]string{"w2", "w3"}, ids(page)); d != "" {
		t.Errorf("second page (-want +got):\n%s", d)
	}
	// A bound far in the future (the engine's start-up sweep) finds every
	// due time, whatever the Store's time encoding.
	all, err := s.Pending(ctx, tenant, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "", 100)
	must(t, err)
	if d := cmp.Diff([]string{"w1", "w2", "w3", "w4"}, ids(all)); d != "" {
		t.Errorf("pending until the year 9999 (-want +got):\n%s", d)
	}
	rest, err := s.Pending(ctx, tenant, t0.Add(72*time.Hour), "w3", 2)
	must(t, err)
	if d := cmp.Diff([]string{"w4"}, ids(rest)); d != "" {
		t.Errorf("last page (-want +got):\n%s", d)
	}
}

func testDeadLetters(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}
	must(t, s.Fail(ctx, tenant, "w2", store.Failure{Attempts: 4, Err: "503", At: t0, Dead: true}, m))
	must(t, s.Fail(ctx, tenant, "w1", store.Failure{Attempts: 2, Err: "503", At: t0}, m))
	dead, err := s.DeadLetters(ctx, tenant)
	must(t, err)
	if len(dead) != 1 || dead[0].ID != "w2" || dead[0].Failure.Err != "503" || dead[0].Failure.Attempts != 4 {
		t.Fatalf("dead letters = %+v, want w2 with its last error", dead)
	}
	if dead[0].Dirty.Generation == 0 {
		t.Error("a dead-lettered person is not dirty")
	}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w2", Generation: dead[0].Dirty.Generation, Exists: true, Active: true}))
	dead, err = s.DeadLetters(ctx, tenant)
	must(t, err)
	if len(dead) != 0 {
		t.Errorf("dead letters after a successful commit = %v", dead)
	}
	if f := person(t, s, tenant, "w2").Failure; f != nil {
		t.Errorf("failure kept after commit: %+v", f)
	}
}

func testPeopleInIDOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"w07", "w03", "w11", "w01", "w05"} {
		must(t, s.Commit(ctx, tenant, store.Commit{ID: id, Exists: true, Active: id != "w05"}))
	}
	accept(t, s, tenant, "e1", "w02") // dirty but no account: not listed
	var got []string
	after := ""
	for {
		page, err := s.People(ctx, tenant, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			got = append(got, p.ID)
		}
		after = page[len(page)-1].ID
	}
	if d := cmp.Diff([]string{"w01", "w03", "w05", "w07", "w11"}, got); d != "" {
		t.Errorf("people (-want +got):\n%s", d)
	}
}

func testLookup(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "10", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(1)}}}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "9", Exists: true}))
	accept(t, s, tenant, "e1", "2")
	got, err := s.Lookup(ctx, tenant, []string{"9", "unknown", "10", "2", "9"})
	must(t, err)
	if d := cmp.Diff([]string{"9", "unknown", "10", "2", "9"}, ids(got)); d != "" {
		t.Fatalf("Lookup's order (-want +got):\n%s", d)
	}
	one, err := s.Person(ctx, tenant, "10")
	must(t, err)
	if d := cmp.Diff(one, got[2]); d != "" {
		t.Errorf("Lookup differs from Person (-person +lookup):\n%s", d)
	}
	if got[0].Active || !got[0].Exists || got[1].Exists || got[3].Dirty.Generation == 0 {
		t.Errorf("Lookup = %+v", got)
	}
	if empty, err := s.Lookup(ctx, tenant, nil); err != nil || len(empty) != 0 {
		t.Errorf("Lookup of nobody = %v, %v", empty, err)
	}
}

func testListed(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true}))
	must(t, s.Listed(ctx, tenant, []store.Listing{{ID: "w1", Run: "r1", Digest: "d1"}, {ID: "w2", Run: "r1", Digest: "d2"}}))
	// A poll's listing keeps the run, replaces the digest.
	must(t, s.Listed(ctx, tenant, []store.Listing{{ID: "w1", Digest: "d1b"}}))
	got, err := s.Lookup(ctx, tenant, []string{"w1", "w2"})
	must(t, err)
	if want := (store.Listing{Run: "r1", Digest: "d1b"}); got[0].Listed != want {
		t.Errorf("w1 listed %+v, want %+v", got[0].Listed, want)
	}
	if want := (store.Listing{Run: "r1", Digest: "d2"}); got[1].Listed != want || got[1].Exists || got[1].Dirty.Generation != 0 {
		t.Errorf("w2 = %+v, want only its listing", got[1])
	}
	// A listing is not an account, and is kept by a commit.
	people, err := s.People(ctx, tenant, "", 10)
	must(t, err)
	if d := cmp.Diff([]string{"w1"}, ids(people)); d != "" {
		t.Errorf("people (-want +got):\n%s", d)
	}
	if people[0].Listed.Run != "r1" {
		t.Errorf("People lost the listing: %+v", people[0])
	}
	pending, err := s.Pending(ctx, tenant, t0, "", 10)
	must(t, err)
	if len(pending) != 0 {
		t.Errorf("a listing made %v pending", ids(pending))
	}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w2", Exists: true, Active: true}))
	must(t, s.Fail(ctx, tenant, "w1", store.Failure{Attempts: 1, Err: "x", At: t0}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	for _, id := range []string{"w1", "w2"} {
		p, err := s.Person(ctx, tenant, id)
		must(t, err)
		if p.Listed.Run != "r1" {
			t.Errorf("%s's listing after a commit or failure = %+v", id, p.Listed)
		}
	}
	// Another run's listing replaces it; another tenant sees none.
	must(t, s.Listed(ctx, tenant, []store.Listing{{ID: "w2", Run: "r2", Digest: "d2"}}))
	if p, _ := s.Person(ctx, tenant, "w2"); p.Listed.Run != "r2" {
		t.Errorf("w2 listed %+v after run r2", p.Listed)
	}
	if p, _ := s.Person(ctx, "other", "w2"); p.Listed != (store.Listing{}) {
		t.Errorf("another tenant sees the listing %+v", p.Listed)
	}
}

// ids lists the people's ids, in order.
func ids(ps []store.Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true,
			Audit: []audit.Entry{{ID: fmt.Sprintf("a%d", i), Tenant: tenant, EmployeeID: "w1", Applied: t0}}}))
	}
	must(t, s.AppendAudit(ctx, tenant, []audit.Entry{{ID: "run1", Tenant: tenant, Action: audit.ActionRunSummary, Applied: t0}}))
	box, err := s.Outbox(ctx, tenant, 3)
	must(t, err)
	if len(box) != 3 || box[0].ID != "a0" || box[2].ID != "a2" {
		t.Fatalf("outbox page = %v, want a0..a2 oldest first", box)
	}
	must(t, s.Ack(ctx, tenant, []string{"a0", "a1", "a2"}, audit.Head{}))
	box, err = s.Outbox(ctx, tenant, 10)
	must(t, err)
	var ids []string
	for _, e := range box {
		ids = append(ids, e.ID)
	}
	if d := cmp.Diff([]string{"a3", "a4", "run1"}, ids); d != "" {
		t.Errorf("outbox after ack (-want +got):\n%s", d)
	}
}

func testAuditAnchor(t *testing.T, s store.Store) {
	ctx := context.Background()
	anchor := func(tenant string) audit.Head {
		t.Helper()
		a, err := s.Anchor(ctx, tenant)
		must(t, err)
		return a
	}
	outbox := func() []string {
		t.Helper()
		box, err := s.Outbox(ctx, tenant, 10)
		must(t, err)
		var ids []string
		for _, e := range box {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if a := anchor(tenant); a != (audit.Head{}) {
		t.Fatalf("anchor before any Ack = %+v, want zero", a)
	}
	must(t, s.AppendAudit(ctx, tenant, []audit.Entry{{ID: "a1", Tenant: tenant}, {ID: "a2", Tenant: tenant}, {ID: "a3", Tenant: tenant}}))
	h2 := audit.Head{Seq: 2, Hash: "hash-2"}
	must(t, s.Ack(ctx, tenant, []string{"a1", "a2"}, h2))
	if a, box := anchor(tenant), outbox(); a != h2 || !cmp.Equal(box, []string{"a3"}) {
		t.Fatalf("after Ack(a1, a2, %+v): anchor %+v, outbox %v; want the anchor raised and a3 left", h2, a, box)
	}
	// A cancelled Ack changes nothing: the entries and the anchor go
	// together or not at all.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Ack(cancelled, tenant, []string{"a3"}, audit.Head{Seq: 3, Hash: "hash-3"}); err == nil {
		t.Fatal("Ack with a cancelled context succeeded")
	}
	if a, box := anchor(tenant), outbox(); a != h2 || !cmp.Equal(box, []string{"a3"}) {
		t.Fatalf("after a cancelled Ack: anchor %+v, outbox %v; want %+v and a3 unchanged", a, box, h2)
	}
	// The anchor never moves back: an acknowledgement that commits late,
	// one at the same sequence, and a zero anchor all leave it.
	must(t, s.Ack(ctx, tenant, nil, audit.Head{Seq: 1, Hash: "hash-1"}))
	must(t, s.Ack(ctx, tenant, nil, audit.Head{Seq: 2, Hash: "another"}))
	must(t, s.Ack(ctx, tenant, []string{"a3"}, audit.Head{}))
	if a, box := anchor(tenant), outbox(); a != h2 || len(box) != 0 {
		t.Fatalf("after lower, equal and zero anchors: anchor %+v, outbox %v; want %+v and the outbox empty", a, box, h2)
	}
	h9 := audit.Head{Seq: 9, Hash: "hash-9"}
	must(t, s.Ack(ctx, tenant, nil, h9))
	if a := anchor(tenant); a != h9 {
		t.Fatalf("anchor = %+v, want %+v", a, h9)
	}
	// Each tenant has its own.
	if a := anchor("other"); a != (audit.Head{}) {
		t.Fatalf("another tenant's anchor = %+v, want zero", a)
	}
	x1 := audit.Head{Seq: 1, Hash: "other-1"}
	must(t, s.Ack(ctx, "other", nil, x1))
	if a, b := anchor(tenant), anchor("other"); a != h9 || b != x1 {
		t.Errorf("anchors = %+v and %+v, want %+v and %+v", a, b, h9, x1)
	}
}

func testCursor(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, err := s.Cursor(ctx, tenant, "poll")
	must(t, err)
	if !c.IsZero() {
		t.Errorf("unset cursor = %v", c)
	}
	must(t, s.SetCursor(ctx, tenant, "poll", t0))
	must(t, s.SetCursor(ctx, tenant, "other", t0.Add(time.Hour)))
	c, err = s.Cursor(ctx, tenant, "poll")
	must(t, err)
	if !c.Equal(t0) {
		t.Errorf("cursor = %v, want %v", c, t0)
	}
}

func testRunLedger(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.LastBatchRun(ctx, tenant); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastBatchRun on empty store = %v, want ErrNotFound", err)
	}
	r1 := store.BatchRun{ID: "r1", Status: store.BatchFailed, Attempt: 1, Started: t0, Finished: t0.Add(time.Minute), Err: "source down", Seen: 500}
	r2 := store.BatchRun{ID: "r2", Status: store.BatchRunning, Attempt: 1, Started: t0.Add(24 * time.Hour)}
	must(t, s.SaveBatchRun(ctx, tenant, r1))
	must(t, s.SaveBatchRun(ctx, tenant, r2))
	r1.Status, r1.Attempt, r1.Leavers = store.BatchHeld, 2, []string{"w1", "w9"}
	must(t, s.SaveBatchRun(ctx, tenant, r1)) // an update to an older run
	got, err := s.BatchRun(ctx, tenant, "r1")
	must(t, err)
	if d := cmp.Diff(r1, got, cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Errorf("run r1 (-want +got):\n%s", d)
	}
	last, err := s.LastBatchRun(ctx, tenant)
	must(t, err)
	if last.ID != "r2" {
		t.Errorf("LastBatchRun = %s, want r2 (started last)", last.ID)
	}
	if _, err := s.BatchRun(ctx, tenant, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
}

// testLastRunIsSavedLast: runs are ordered by when they were first saved,
// not by their start times, which come from a clock that may step back.
func testLastRunIsSavedLast(t *testing.T, s store.Store) {
	ctx := context.Background()
	last := func(want string) {
		t.Helper()
		r, err := s.LastBatchRun(ctx, tenant)
		if err != nil || r.ID != want {
			t.Errorf("LastBatchRun = %q (%v), want %q", r.ID, err, want)
		}
	}
	r1 := store.BatchRun{ID: "r1", Status: store.BatchRunning, Attempt: 1, Started: t0.Add(24 * time.Hour)}
	must(t, s.SaveBatchRun(ctx, tenant, r1))
	// The clock stepped back a day: r2 starts "before" r1, and is the
	// newest run all the same.
	r2 := store.BatchRun{ID: "r2", Status: store.BatchRunning, Attempt: 1, Started: t0}
	must(t, s.SaveBatchRun(ctx, tenant, r2))
	last("r2")
	r1.Status, r1.Finished = store.BatchSucceeded, t0.Add(25*time.Hour)
	must(t, s.SaveBatchRun(ctx, tenant, r1)) // an older run saved again keeps its place
	last("r2")
	r2.Status, r2.Attempt, r2.Started = store.BatchFailed, 2, t0.Add(-time.Hour)
	must(t, s.SaveBatchRun(ctx, tenant, r2))
	last("r2")
	// Another tenant's runs take no place in this one's order.
	must(t, s.SaveBatchRun(ctx, "other", store.BatchRun{ID: "x1", Started: t0.Add(48 * time.Hour)}))
	must(t, s.SaveBatchRun(ctx, tenant, store.BatchRun{ID: "r3", Started: t0.Add(-48 * time.Hour)}))
	last("r3")
	if r, err := s.LastBatchRun(ctx, "other"); err != nil || r.ID != "x1" {
		t.Errorf("the other tenant's LastBatchRun = %q (%v), want x1", r.ID, err)
	}
}

func revocations(t *testing.T, s store.Store, tenant string, since time.Time) store.Revocations {
	t.Helper()
	r, err := s.Revocations(context.Background(), tenant, since)
	must(t, err)
	return r
}

// revoke commits the end of id's access, spending budget at at.
func revoke(t *testing.T, s store.Store, tenant, id, budget string, at time.Time) {
	t.Helper()
	must(t, s.Commit(context.Background(), tenant, store.Commit{ID: id, Exists: true, Active: false, Revoked: budget, At: at}))
}

// testRevocationsInWindow: the commits that ended access are counted per
// budget from since on (since itself included), the approved under their
// own name; a commit that names no budget is not one; and each tenant
// counts its own.
func testRevocationsInWindow(t *testing.T, s store.Store) {
	ctx := context.Background()
	if r := revocations(t, s, tenant, time.Time{}); len(r.Spent) != 0 || r.Active != 0 {
		t.Fatalf("Revocations of an empty Store = %+v, want none", r)
	}
	revoke(t, s, tenant, "w1", "vanished", t0.Add(-2*time.Hour))
	revoke(t, s, tenant, "w2", "terminated", t0)
	revoke(t, s, tenant, "w3", "vanished", t0.Add(time.Hour))
	revoke(t, s, tenant, "w4", "approved", t0.Add(2*time.Hour))
	revoke(t, s, tenant, "w5", "vanished", t0.Add(2*time.Hour))
	// Commits that end nothing: one with a time but no budget, one that
	// deactivates without naming one (the budgets are the engine's
	// business, not the Store's).
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w6", Exists: true, Active: true, At: t0.Add(time.Hour)}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w7", Exists: true, Active: false}))
	// Another tenant's, inside every window.
	revoke(t, s, "other", "w1", "vanished", t0.Add(time.Hour))
	revoke(t, s, "other", "w2", "terminated", t0.Add(time.Hour))

	for _, tc := range []struct {
		since time.Time
		want  map[string]int
	}{
		{t0.Add(-3 * time.Hour), map[string]int{"vanished": 3, "terminated": 1, "approved": 1}},
		{t0.Add(-2 * time.Hour), map[string]int{"vanished": 3, "terminated": 1, "approved": 1}},
		{t0.Add(-2*time.Hour + time.Nanosecond), map[string]int{"vanished": 2, "terminated": 1, "approved": 1}},
		{t0, map[string]int{"vanished": 2, "terminated": 1, "approved": 1}},
		{t0.Add(time.Nanosecond), map[string]int{"vanished": 2, "approved": 1}},
		{t0.Add(2 * time.Hour), map[string]int{"vanished": 1, "approved": 1}},
		{t0.Add(3 * time.Hour), nil},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), nil},
	} {
		if d := cmp.Diff(tc.want, revocations(t, s, tenant, tc.since).Spent, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("spent since %v (-want +got):\n%s", tc.since.Sub(t0), d)
		}
	}
	// The zero time is a bound like any other: every revocation is after it.
	if got := revocations(t, s, tenant, time.Time{}).Spent["vanished"]; got != 3 {
		t.Errorf("vanished since the zero time = %d, want 3", got)
	}
	want := map[string]int{"vanished": 1, "terminated": 1}
	if d := cmp.Diff(want, revocations(t, s, "other", t0).Spent); d != "" {
		t.Errorf("the other tenant's spent (-want +got):\n%s", d)
	}
	if r := revocations(t, s, "third", time.Time{}); len(r.Spent) != 0 || r.Active != 0 {
		t.Errorf("a tenant with nothing: %+v, want nothing", r)
	}
	// A commit that fails records no revocation.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Commit(cancelled, tenant, store.Commit{ID: "w8", Exists: true, Revoked: "terminated", At: t0.Add(time.Hour)}); err == nil {
		t.Fatal("Commit with a cancelled context succeeded")
	}
	if got := revocations(t, s, tenant, t0).Spent["terminated"]; got != 1 {
		t.Errorf("terminated after a failed commit = %d, want 1", got)
	}
}

// testRevocationsActive: Active counts the tenant's people whose account
// exists and is active, as the commits left them.
func testRevocationsActive(t *testing.T, s store.Store) {
	ctx := context.Background()
	active := func(tenant string) int {
		t.Helper()
		return revocations(t, s, tenant, t0).Active
	}
	for _, id := range []string{"w1", "w2", "w3", "w4"} {
		must(t, s.Commit(ctx, tenant, store.Commit{ID: id, Exists: true, Active: true}))
	}
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w5", Exists: true, Active: false})) // disabled
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w6", Exists: false, Active: true})) // no account
	accept(t, s, tenant, "e1", "w7")                                                    // dirty, never committed
	must(t, s.Fail(ctx, tenant, "w8", store.Failure{Attempts: 4, Dead: true}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	must(t, s.Commit(ctx, "other", store.Commit{ID: "w1", Exists: true, Active: true}))
	if n, m := active(tenant), active("other"); n != 4 || m != 1 {
		t.Fatalf("active = %d and the other tenant's %d, want 4 and 1", n, m)
	}
	// A person dirty or failing again keeps the account the last commit
	// recorded.
	accept(t, s, tenant, "e2", "w1")
	must(t, s.Fail(ctx, tenant, "w2", store.Failure{Attempts: 1}, store.Mark{Since: t0, Classes: cadence.Realtime}))
	if n := active(tenant); n != 4 {
		t.Errorf("active with w1 dirty and w2 failing = %d, want 4", n)
	}
	revoke(t, s, tenant, "w1", "terminated", t0)
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w2", Exists: false}))
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w5", Exists: true, Active: true})) // reactivated
	if n, m := active(tenant), active("other"); n != 3 || m != 1 {
		t.Errorf("active after two leave and one returns = %d and the other tenant's %d, want 3 and 1", n, m)
	}
}

// testRevocationsForgotten: ForgetEvents drops the revocations more than
// RevocationRetention before its time, keeps the rest, and only the
// tenant's own.
func testRevocationsForgotten(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := t0.Add(40 * 24 * time.Hour)
	cutoff := now.Add(-store.RevocationRetention)
	revoke(t, s, tenant, "w1", "vanished", cutoff.Add(-time.Hour))
	revoke(t, s, tenant, "w2", "vanished", cutoff.Add(-time.Nanosecond))
	revoke(t, s, tenant, "w3", "vanished", cutoff)
	revoke(t, s, tenant, "w4", "approved", cutoff.Add(time.Hour))
	revoke(t, s, tenant, "w5", "terminated", now)
	revoke(t, s, "other", "w1", "vanished", cutoff.Add(-time.Hour))
	accept(t, s, tenant, "e1", "w6") // forgotten at t0+24h

	n, err := s.ForgetEvents(ctx, tenant, now)
	must(t, err)
	if n != 1 {
		t.Errorf("ForgetEvents = %d, want 1 (the event id; revocations are not counted)", n)
	}
	want := map[string]int{"vanished": 1, "approved": 1, "terminated": 1}
	if d := cmp.Diff(want, revocations(t, s, tenant, time.Time{}).Spent); d != "" {
		t.Errorf("spent after ForgetEvents (-want +got):\n%s", d)
	}
	if got := revocations(t, s, "other", time.Time{}).Spent["vanished"]; got != 1 {
		t.Errorf("the other tenant's vanished = %d after this tenant's ForgetEvents, want 1", got)
	}
	// Forgetting again at the same time, or earlier, drops nothing more.
	for _, at := range []time.Time{now, t0} {
		_, err := s.ForgetEvents(ctx, tenant, at)
		must(t, err)
		if d := cmp.Diff(want, revocations(t, s, tenant, time.Time{}).Spent); d != "" {
			t.Errorf("spent after ForgetEvents at %v (-want +got):\n%s", at.Sub(t0), d)
		}
	}
	// Far in the future, every revocation goes.
	_, err = s.ForgetEvents(ctx, tenant, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	must(t, err)
	if r := revocations(t, s, tenant, time.Time{}); len(r.Spent) != 0 {
		t.Errorf("spent after ForgetEvents in the year 9999 = %v, want none", r.Spent)
	}
}

func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := context.Background()
	accept(t, s, "a", "e1", "w1")
	must(t, s.Commit(ctx, "a", store.Commit{ID: "w2", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(1)}}, Audit: []audit.Entry{{ID: "x", Tenant: "a"}}, Due: t0}))
	must(t, s.Fail(ctx, "a", "w3", store.Failure{Dead: true, Attempts: 4}, store.Mark{Classes: cadence.Realtime}))
	must(t, s.SetCursor(ctx, "a", "poll", t0))
	must(t, s.SaveBatchRun(ctx, "a", store.BatchRun{ID: "r1", Started: t0}))

	if accept(t, s, "b", "e1", "w1") {
		t.Error("tenant b sees tenant a's event id")
	}
	if p := person(t, s, "b", "w2"); p.Exists || len(p.Applied) != 0 {
		t.Errorf("tenant b sees tenant a's person: %+v", p)
	}
	pend, err := s.Pending(ctx, "b", t0.Add(time.Hour), "", 10)
	must(t, err)
	if len(pend) != 1 || pend[0].ID != "w1" { // only b's own event
		t.Errorf("tenant b pending = %+v", pend)
	}
	people, err := s.People(ctx, "b", "", 10)
	must(t, err)
	dead, err := s.DeadLetters(ctx, "b")
	must(t, err)
	box, err := s.Outbox(ctx, "b", 10)
	must(t, err)
	c, err := s.Cursor(ctx, "b", "poll")
	must(t, err)
	if len(people)+len(dead)+len(box) != 0 || !c.IsZero() {
		t.Errorf("tenant b sees a's people=%d dead=%d outbox=%d cursor=%v", len(people), len(dead), len(box), c)
	}
	if _, err := s.BatchRun(ctx, "b", "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant b sees a's run: %v", err)
	}
}

func testConcurrentUse(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%03d", i)
				ev := fmt.Sprintf("e%d-%d", w, i)
				_, err := s.Accept(ctx, tenant, store.Acceptance{EventID: ev, EmployeeID: id, Forget: t0.Add(time.Hour),
					Mark: store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime"}})
				errs <- err
				p, err := s.Person(ctx, tenant, id)
				errs <- err
				errs <- s.Commit(ctx, tenant, store.Commit{ID: id, Generation: p.Dirty.Generation, Exists: true, Active: true,
					Applied: map[string]store.Applied{"role": {Value: fmt.Sprint(w), Version: v(w)}}})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	people, err := s.People(ctx, tenant, "", 1000)
	must(t, err)
	if len(people) != each {
		t.Fatalf("people = %d, want %d", len(people), each)
	}
	for _, p := range people {
		// Every worker's commit raced; the newest version must have won.
		if r := p.Applied["role"]; r.Value != fmt.Sprint(workers-1) {
			t.Errorf("%s role = %q (version %v), want the newest, %d", p.ID, r.Value, r.Version, workers-1)
		}
	}
}

// batch runs a test of store.BatchAccepter, skipped for a Store without it.
func batch(fn func(t *testing.T, s store.Store, b store.BatchAccepter)) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		b, ok := s.(store.BatchAccepter)
		if !ok {
			t.Skip("the Store does not implement store.BatchAccepter")
		}
		fn(t, s, b)
	}
}

// acceptance is event as the engine would give it, for person id.
func acceptance(event, id, fingerprint string) store.Acceptance {
	return store.Acceptance{EventID: event, Fingerprint: fingerprint, EmployeeID: id, Forget: t0.Add(24 * time.Hour),
		Mark: store.Mark{Since: t0, Classes: cadence.Realtime, Trigger: "realtime", EventID: event, MinVersion: v(1)}}
}

func acceptBatch(t *testing.T, b store.BatchAccepter, tenant string, evs []store.Acceptance) []store.Accepted {
	t.Helper()
	res, err := b.AcceptBatch(context.Background(), tenant, evs)
	must(t, err)
	if len(res) != len(evs) {
		t.Fatalf("AcceptBatch of %d events returned %d results", len(evs), len(res))
	}
	return res
}

// hundred is a batch of 100 events, one per person w000…w099.
func hundred(prefix string) []store.Acceptance {
	evs := make([]store.Acceptance, 100)
	for i := range evs {
		evs[i] = acceptance(fmt.Sprintf("%s%03d", prefix, i), fmt.Sprintf("w%03d", i), "f"+prefix)
	}
	return evs
}

// count tallies results by what was made of them.
func count(res []store.Accepted) map[store.Accepted]int {
	n := map[store.Accepted]int{}
	for _, r := range res {
		n[r]++
	}
	return n
}

// A batch of 100 events is recorded: every event new, every person dirty
// with the event's mark, every id remembered (Accept then finds a repeat).
func testAcceptBatchRecordsAndMarks(t *testing.T, s store.Store, b store.BatchAccepter) {
	ctx := context.Background()
	evs := hundred("e")
	if n := count(acceptBatch(t, b, tenant, evs)); n[store.AcceptedNew] != 100 {
		t.Fatalf("a batch of 100 new events: %v, want 100 new", n)
	}
	pend, err := s.Pending(ctx, tenant, t0, "", 1000)
	must(t, err)
	if len(pend) != 100 {
		t.Fatalf("%d people pending after the batch, want 100", len(pend))
	}
	gens := map[uint64]bool{}
	for i, p := range pend {
		m := p.Dirty
		if p.ID != evs[i].EmployeeID || m.Generation == 0 || m.EventID != evs[i].EventID || m.Classes != cadence.Realtime ||
			m.Trigger != "realtime" || !m.Since.Equal(t0) || m.MinVersion != v(1) {
			t.Errorf("%s after the batch: %+v, want marked by %s", p.ID, m, evs[i].EventID)
		}
		gens[m.Generation] = true
	}
	if len(gens) != 100 {
		t.Errorf("%d distinct generations among 100 marks, want each its own", len(gens))
	}
	for _, ev := range evs[:3] {
		if dup, err := s.Accept(ctx, tenant, ev); err != nil || !dup {
			t.Errorf("Accept of %s after the batch: duplicate=%v err=%v, want a repeat", ev.EventID, dup, err)
		}
	}
	// The ids are remembered until their Forget time, as Accept's are.
	n, err := s.ForgetEvents(ctx, tenant, t0.Add(24*time.Hour))
	must(t, err)
	if n != 100 {
		t.Errorf("ForgetEvents after the batch = %d, want 100", n)
	}
}

// A batch delivered again is all repeats and changes nothing; an empty
// batch is nothing.
func testAcceptBatchReplayed(t *testing.T, s store.Store, b store.BatchAccepter) {
	ctx := context.Background()
	evs := hundred("e")
	acceptBatch(t, b, tenant, evs)
	before, err := s.Pending(ctx, tenant, t0, "", 1000)
	must(t, err)
	if n := count(acceptBatch(t, b, tenant, evs)); n[store.AcceptedDuplicate] != 100 {
		t.Fatalf("the batch replayed: %v, want 100 duplicates", n)
	}
	// Replayed without fingerprints (as remembered before there were
	// any): repeats too.
	bare := slices.Clone(evs)
	for i := range bare {
		bare[i].Fingerprint = ""
	}
	if n := count(acceptBatch(t, b, tenant, bare)); n[store.AcceptedDuplicate] != 100 {
		t.Fatalf("the batch replayed without fingerprints: %v, want 100 duplicates", n)
	}
	after, err := s.Pending(ctx, tenant, t0, "", 1000)
	must(t, err)
	if d := cmp.Diff(before, after, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("a replayed batch changed the people (-before +after):\n%s", d)
	}
	if res := acceptBatch(t, b, tenant, nil); len(res) != 0 {
		t.Errorf("an empty batch: %v", res)
	}
}

// An id given twice in one batch is recorded once: the second is a repeat
// (the same fingerprint, or none) or a conflict (another).
func testAcceptBatchIDTwice(t *testing.T, s store.Store, b store.BatchAccepter) {
	evs := []store.Acceptance{
		acceptance("e1", "w1", "f1"),
		acceptance("e2", "w2", "f2"),
		acceptance("e1", "w1", "f1"),
		acceptance("e1", "w1", ""),
		acceptance("e2", "w3", "f3"), // another event under e2's id
		acceptance("e3", "w1", "f3"), // a second event for w1
	}
	want := []store.Accepted{store.AcceptedNew, store.AcceptedNew, store.AcceptedDuplicate, store.AcceptedDuplicate,
		store.AcceptedConflict, store.AcceptedNew}
	if d := cmp.Diff(want, acceptBatch(t, b, tenant, evs)); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	if p := person(t, s, tenant, "w3"); p.Dirty.Generation != 0 {
		t.Errorf("the conflicting event marked w3: %+v", p.Dirty)
	}
	w1, w2 := person(t, s, tenant, "w1").Dirty, person(t, s, tenant, "w2").Dirty
	if w1.EventID != "e3" || w2.EventID != "e2" || w1.Generation <= w2.Generation {
		t.Errorf("w1 %+v, w2 %+v: want w1 marked last, by e3", w1, w2)
	}
	n, err := s.ForgetEvents(context.Background(), tenant, t0.Add(24*time.Hour))
	must(t, err)
	if n != 3 {
		t.Errorf("%d event ids remembered, want 3", n)
	}
}

// A conflict among others changes nothing for them: they are recorded.
func testAcceptBatchConflict(t *testing.T, s store.Store, b store.BatchAccepter) {
	ctx := context.Background()
	if dup, err := s.Accept(ctx, tenant, acceptance("e050", "x1", "other")); err != nil || dup {
		t.Fatalf("Accept: duplicate=%v err=%v", dup, err)
	}
	x1 := person(t, s, tenant, "x1").Dirty.Generation
	evs := hundred("e")
	res := acceptBatch(t, b, tenant, evs)
	for i, r := range res {
		want := store.AcceptedNew
		if i == 50 {
			want = store.AcceptedConflict
		}
		if r != want {
			t.Errorf("event %d: %v, want %v", i, r, want)
		}
	}
	if p := person(t, s, tenant, "w050"); p.Dirty.Generation != 0 {
		t.Errorf("the conflicting event marked w050: %+v", p.Dirty)
	}
	if g := person(t, s, tenant, "x1").Dirty.Generation; g != x1 {
		t.Errorf("the conflict changed the first event's person: generation %d → %d", x1, g)
	}
	pend, err := s.Pending(ctx, tenant, t0, "", 1000)
	must(t, err)
	if len(pend) != 100 { // 99 of the batch and x1
		t.Errorf("%d people pending, want 100", len(pend))
	}
	// The id stays the first event's: offered again, it conflicts again.
	if _, err := s.Accept(ctx, tenant, evs[50]); !errors.Is(err, store.ErrEventConflict) {
		t.Errorf("Accept of the conflicting event after the batch: %v, want ErrEventConflict", err)
	}
}

// AcceptBatch makes of a batch what Accept makes of its events one by one:
// the same results, the same people marked the same way.
func batchVsOneByOne(t *testing.T, s store.Store) {
	b, ok := s.(store.BatchAccepter)
	if !ok {
		t.Skip("the Store does not implement store.BatchAccepter")
	}
	ctx := context.Background()
	// Some remembered already: one the same, one another event.
	must(t, ignore(s.Accept(ctx, "one", acceptance("e1", "w1", "f1"))))
	must(t, ignore(s.Accept(ctx, "one", acceptance("e2", "w2", "f2"))))
	must(t, ignore(b.AcceptBatch(ctx, "many", []store.Acceptance{acceptance("e1", "w1", "f1"), acceptance("e2", "w2", "f2")})))
	var evs []store.Acceptance
	for i := range 40 {
		evs = append(evs, acceptance(fmt.Sprintf("e%d", i%17), fmt.Sprintf("w%d", i%7), fmt.Sprintf("f%d", i%3)))
	}
	evs = append(evs, acceptance("e1", "w1", "f1"), acceptance("e1", "w1", ""))
	one := make([]store.Accepted, len(evs))
	for i, ev := range evs {
		dup, err := s.Accept(ctx, "one", ev)
		switch {
		case errors.Is(err, store.ErrEventConflict):
			one[i] = store.AcceptedConflict
		case err != nil:
			t.Fatal(err)
		case dup:
			one[i] = store.AcceptedDuplicate
		}
	}
	many := acceptBatch(t, b, "many", evs)
	if d := cmp.Diff(one, many); d != "" {
		t.Errorf("AcceptBatch against Accept one by one (-one +batch):\n%s", d)
	}
	n := count(many)
	if n[store.AcceptedNew] == 0 || n[store.AcceptedDuplicate] == 0 || n[store.AcceptedConflict] == 0 {
		t.Errorf("the batch should hold all three: %v", n)
	}
	// The marks agree but for their generations, which are the Store's.
	strip := func(tenant string) []store.Person {
		ps, err := s.Pending(ctx, tenant, t0, "", 100)
		must(t, err)
		for i := range ps {
			ps[i].Dirty.Generation = 0
		}
		return ps
	}
	if d := cmp.Diff(strip("one"), strip("many"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("people after Accept one by one and after AcceptBatch (-one +batch):\n%s", d)
	}
}

func ignore[T any](_ T, err error) error { return err }

// A batch records in its own tenant only: the same ids in another tenant
// are new there, and the other tenant's people are untouched.
func testAcceptBatchTenantIsolation(t *testing.T, s store.Store, b store.BatchAccepter) {
	ctx := context.Background()
	evs := hundred("e")
	if n := count(acceptBatch(t, b, "a", evs)); n[store.AcceptedNew] != 100 {
		t.Fatalf("tenant a: %v, want 100 new", n)
	}
	if p, err := s.Pending(ctx, "b", t0, "", 10); err != nil || len(p) != 0 {
		t.Fatalf("tenant b pending after a's batch: %d people (%v)", len(p), err)
	}
	// The same ids with other fingerprints: b's own events, not a conflict.
	other := hundred("e")
	for i := range other {
		other[i].Fingerprint = "fb"
	}
	if n := count(acceptBatch(t, b, "b", other)); n[store.AcceptedNew] != 100 {
		t.Fatalf("tenant b, a's event ids: %v, want 100 new", n)
	}
	if dup, err := s.Accept(ctx, "a", evs[0]); err != nil || !dup {
		t.Errorf("tenant a's event after b's batch: duplicate=%v err=%v, want a repeat", dup, err)
	}
	if n, err := s.ForgetEvents(ctx, "a", t0.Add(24*time.Hour)); err != nil || n != 100 {
		t.Errorf("tenant a forgot %d (%v), want its 100", n, err)
	}
	if dup, err := s.Accept(ctx, "b", other[0]); err != nil || !dup {
		t.Errorf("tenant b's event after a forgot: duplicate=%v err=%v, want a repeat", dup, err)
	}
}

// A batch that fails records nothing: cancelled before it ran, or holding
// an event without an id or employee id (which Accept refuses too).
func testAcceptBatchFailed(t *testing.T, s store.Store, b store.BatchAccepter) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.AcceptBatch(ctx, tenant, hundred("e")); err == nil {
		t.Error("AcceptBatch with a cancelled context succeeded")
	}
	for _, bad := range []store.Acceptance{acceptance("", "w1", ""), acceptance("x", "", "")} {
		evs := append(hundred("e"), bad)
		if _, err := b.AcceptBatch(context.Background(), tenant, evs); err == nil {
			t.Errorf("AcceptBatch with an event %+v succeeded", bad)
		}
	}
	pend, err := s.Pending(context.Background(), tenant, t0, "", 10)
	must(t, err)
	n, err := s.ForgetEvents(context.Background(), tenant, t0.Add(24*time.Hour))
	must(t, err)
	if len(pend) != 0 || n != 0 {
		t.Errorf("failed batches left %d people dirty and %d event ids", len(pend), n)
	}
}
