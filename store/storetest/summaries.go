package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
)

// summarizer runs a test of store.Summarizer, for a Store that is one.
func summarizer(fn func(t *testing.T, s store.Store, sm store.Summarizer)) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		sm, ok := s.(store.Summarizer)
		if !ok {
			t.Skip("not a store.Summarizer")
		}
		fn(t, s, sm)
	}
}

// summariesAsLookup checks that Summaries and PeopleSummaries say what
// Lookup and People do, summarized (store.Summarize): a Digest of "" — the
// Store cannot tell — is allowed, and then says nothing of Newest either.
func summariesAsLookup(t *testing.T, s store.Store, sm store.Summarizer, ids []string, step string) {
	t.Helper()
	ctx := context.Background()
	people, err := s.Lookup(ctx, tenant, ids)
	must(t, err)
	got, err := sm.Summaries(ctx, tenant, ids)
	must(t, err)
	compare := func(what string, people []store.Person, got []store.Summary) {
		t.Helper()
		want := make([]store.Summary, len(people))
		for i, p := range people {
			want[i] = store.Summarize(p)
			if i < len(got) && got[i].Digest == "" {
				want[i].Digest, want[i].Newest = "", hrtype.Version{}
			}
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: %s, summarized (-Summarize +got):\n%s", step, what, d)
		}
	}
	compare("Summaries", people, got)
	accounts, err := s.People(ctx, tenant, "", 100)
	must(t, err)
	gotAccounts, err := sm.PeopleSummaries(ctx, tenant, "", 100)
	must(t, err)
	compare("PeopleSummaries", accounts, gotAccounts)
	if len(accounts) > 1 {
		after, err := sm.PeopleSummaries(ctx, tenant, accounts[0].ID, 1)
		must(t, err)
		compare("PeopleSummaries after the first, one", accounts[1:2], after)
	}
}

// testSummaries follows people through every write that changes what they
// hold, and checks after each that their summaries are their state's.
func testSummaries(t *testing.T, s store.Store, sm store.Summarizer) {
	ctx := context.Background()
	ids := []string{"w1", "w2", "w3", "w4", "w5", "w6", "w9", "w1"} // w9 unknown, w1 twice
	check := func(step string) { t.Helper(); summariesAsLookup(t, s, sm, ids, step) }
	check("empty")

	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true, Due: t0.Add(48 * time.Hour),
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(2)}, "email": {Value: "w1@x", Version: v(1)},
			store.AppliedActivity: {Value: "true", Version: v(2)}}}))
	check("w1 committed")
	want := store.AppliedDigest(map[string]store.Applied{"role": {Value: "dev"}, "email": {Value: "w1@x"}, store.AppliedActivity: {Value: "true"}})
	if got, err := sm.Summaries(ctx, tenant, []string{"w1"}); err != nil || got[0].Digest != "" && (got[0].Digest != want || got[0].Newest != v(2)) {
		t.Errorf("w1's summary = %+v (%v), want digest %s (values only) and newest %v", got, err, want, v(2))
	}

	// The version guard keeps the newer role: the summary is of the role
	// kept, not of the one the older commit brought.
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w1", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "ops", Version: v(1)}, "team": {Value: "a", Version: v(3)}}}))
	check("w1's older role kept, a newer field added")

	accept(t, s, tenant, "e1", "w2")
	check("w2 marked by an event")

	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w3", Exists: true, Active: false,
		Applied: map[string]store.Applied{"role": {Value: "qa", Version: v(1)}}}))
	must(t, s.Fail(ctx, tenant, "w3", store.Failure{Attempts: 1, Err: "boom", At: t0}, store.Mark{Since: t0, Classes: cadence.All, Trigger: "batch"}))
	check("w3 failed")

	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w4", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev", Version: v(1)}}}))
	must(t, s.Listed(ctx, tenant, []store.Listing{{ID: "w4", Run: "r1/1", Digest: "d4"}, {ID: "w5", Run: "r1/1", Digest: "d5"}}))
	check("w4 listed, w5 listed without a row")

	_, err := s.Intend(ctx, tenant, "w4", store.Mark{Since: t0, Classes: cadence.All, Trigger: "batch"})
	must(t, err)
	check("w4 intended")

	_, err = s.Rekey(ctx, tenant, store.Rekeying{From: "w1", To: "w6", Mark: store.Mark{Since: t0, Classes: cadence.All, Trigger: "batch"},
		Audit: audit.Entry{ID: "rk", Tenant: tenant, EmployeeID: "w6", Action: "rekey", Applied: t0, Outcome: "recorded"}})
	must(t, err)
	check("w1 re-keyed to w6")

	gen := person(t, s, tenant, "w6").Dirty.Generation
	must(t, s.Commit(ctx, tenant, store.Commit{ID: "w6", Generation: gen, Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "lead", Version: v(5)}}}))
	check("w6 committed after the re-key")
}
