package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync/store"
)

// TestListingsInBatches: Listed and Lookup read rows some hundreds of ids at
// a time, so a call for more people than one batch holds — here 700 listed,
// then 1,000 asked for in a shuffled order, with people unknown and repeated
// — must find every one, in the order asked; a person listed twice in one
// call takes the listings in turn; and people asked for twice are copies,
// not one person shared.
func TestListingsInBatches(t *testing.T) {
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	must(t, st.Commit(ctx, "t", store.Commit{ID: "p0007", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev"}}}))
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "p0007", Run: "r0", Digest: "old"}}))
	var ls []store.Listing
	for i := range 700 {
		ls = append(ls, store.Listing{ID: fmt.Sprintf("p%04d", i), Run: "r1", Digest: fmt.Sprint("d", i)})
	}
	// p0003 is listed again by the same call, without a run: it keeps r1.
	ls = append(ls, store.Listing{ID: "p0003", Digest: "again"})
	must(t, st.Listed(ctx, "t", ls))

	rng := rand.New(rand.NewPCG(1, 2))
	var asked []string
	for range 1000 {
		asked = append(asked, fmt.Sprintf("p%04d", rng.IntN(900))) // p0700 on are unknown
	}
	asked = append(asked, "p0007", "p0007")
	got, err := st.Lookup(ctx, "t", asked)
	must(t, err)
	if d := cmp.Diff(asked, ids(got)); d != "" {
		t.Fatalf("Lookup's order (-asked +got):\n%s", d)
	}
	for _, p := range got {
		var n int
		fmt.Sscanf(p.ID, "p%04d", &n)
		want := store.Listing{Run: "r1", Digest: fmt.Sprint("d", n)}
		switch {
		case n >= 700:
			want = store.Listing{}
		case n == 3:
			want.Digest = "again"
		}
		if p.Listed != want || p.Damaged {
			t.Fatalf("%s = %+v, want listed %+v", p.ID, p, want)
		}
	}
	a, b := got[len(got)-2], got[len(got)-1]
	a.Applied["role"] = store.Applied{Value: "ops"}
	if !a.Exists || b.Applied["role"].Value != "dev" {
		t.Errorf("p0007 asked twice: %+v and %+v, want two copies of the account", a, b)
	}
}

// TestListingAQuarantinedRow: a row quarantined for damage takes a run's
// listing, and a poll's after it keeps that run, as on any row; the Commit
// that rebuilds the person keeps both. Listed writes such rows whole, and
// sound ones by their listing alone: both must say the same.
func TestListingAQuarantinedRow(t *testing.T) {
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "state.db"), nil)
	for _, id := range []string{"w1", "w2"} {
		must(t, st.Commit(ctx, "t", store.Commit{ID: id, Exists: true, Active: true,
			Applied: map[string]store.Applied{"role": {Value: "dev"}}}))
	}
	must(t, st.ExecForTest(ctx, `UPDATE people SET applied = '{"role":["ops",0,0]}' WHERE id = 'w1'`))
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w1", Run: "r1/1", Digest: "d1"}, {ID: "w2", Run: "r1/1", Digest: "d2"}}))
	must(t, st.Listed(ctx, "t", []store.Listing{{ID: "w1", Digest: "d1b"}, {ID: "w2", Digest: "d2b"}}))
	got, err := st.Lookup(ctx, "t", []string{"w1", "w2"})
	must(t, err)
	if !got[0].Damaged || got[1].Damaged || got[1].Listed != (store.Listing{Run: "r1/1", Digest: "d2b"}) {
		t.Fatalf("after the listings: %+v; want w1 damaged, w2 listed by r1/1 with the poll's digest", got)
	}
	must(t, st.Commit(ctx, "t", store.Commit{ID: "w1", Exists: true, Active: true}))
	if p := person(t, st, "t", "w1"); p.Damaged || p.Listed != (store.Listing{Run: "r1/1", Digest: "d1b"}) {
		t.Errorf("w1 rebuilt = %+v, want listed by r1/1 with the poll's digest", p)
	}
}
