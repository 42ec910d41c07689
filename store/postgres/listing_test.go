package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync/store"
)

// TestListingsAtScale: Lookup is one query and Listed one statement
// whatever their size — here 3,000 listed, then 5,000 asked for in a
// shuffled order, with people unknown and repeated — and they find every
// one, in the order asked; a person listed twice in one call (which one
// INSERT ... ON CONFLICT may not touch twice) takes the listings in turn;
// and people asked for twice are copies, not one person shared.
func TestListingsAtScale(t *testing.T) {
	ctx := context.Background()
	pool, schema := database(t, 4)
	st := open(t, pool, schema)
	if err := st.Commit(ctx, "t", store.Commit{ID: "p0007", Exists: true, Active: true,
		Applied: map[string]store.Applied{"role": {Value: "dev"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Listed(ctx, "t", []store.Listing{{ID: "p0007", Run: "r0", Digest: "old"}}); err != nil {
		t.Fatal(err)
	}
	var ls []store.Listing
	for i := range 3000 {
		ls = append(ls, store.Listing{ID: fmt.Sprintf("p%04d", i), Run: "r1", Digest: fmt.Sprint("d", i)})
	}
	// p0003 is listed again by the same call, without a run: it keeps r1;
	// q, twice without one, has no run: there was none to keep.
	ls = append(ls, store.Listing{ID: "p0003", Digest: "again"})
	ls = append(ls, store.Listing{ID: "q", Digest: "q1"}, store.Listing{ID: "q", Digest: "q2"})
	if err := st.Listed(ctx, "t", ls); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var asked []string
	for range 5000 {
		asked = append(asked, fmt.Sprintf("p%04d", rng.IntN(4000))) // p3000 on are unknown
	}
	asked = append(asked, "q", "p0007", "p0007")
	got, err := st.Lookup(ctx, "t", asked)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, p := range got {
		gotIDs = append(gotIDs, p.ID)
		var n int
		fmt.Sscanf(p.ID, "p%04d", &n)
		want := store.Listing{Run: "r1", Digest: fmt.Sprint("d", n)}
		switch {
		case p.ID == "q":
			want = store.Listing{Digest: "q2"}
		case n >= 3000:
			want = store.Listing{}
		case n == 3:
			want.Digest = "again"
		}
		if p.Listed != want {
			t.Fatalf("%s = %+v, want listed %+v", p.ID, p, want)
		}
	}
	if d := cmp.Diff(asked, gotIDs); d != "" {
		t.Fatalf("Lookup's order (-asked +got):\n%s", d)
	}
	a, b := got[len(got)-2], got[len(got)-1]
	a.Applied["role"] = store.Applied{Value: "ops"}
	if !a.Exists || b.Applied["role"].Value != "dev" {
		t.Errorf("p0007 asked twice: %+v and %+v, want two copies of the account", a, b)
	}
}
