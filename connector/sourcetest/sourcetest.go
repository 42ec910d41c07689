// Package sourcetest is the conformance suite for hrissync.Source
// implementations: what the engine relies on an HRIS connector to do. A
// Source passes by running
//
//	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness { … })
//
// where the Harness gives a Source over an HRIS the test can change.
//
// The suite checks what the engine's correctness rests on: a list that
// holds everyone exactly once, however it pages; Get agreeing with List; a
// person the HRIS does not hold answered with hrissync.ErrNotFound, never
// with a record or another error; versions that never go back, so that an
// older record never overwrites a newer one; and ChangedSince including a
// change made at its very boundary, so that the fallback poll's overlap
// loses nothing. It does not check the list's order: the engine takes any.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/hrissync/hrissync"
)

// Harness is one HRIS behind the Source under test.
type Harness struct {
	Source hrissync.Source
	// Set makes the HRIS hold exactly people, as HR would by hiring,
	// changing and removing records, or as a new export would. The
	// Source stamps versions itself; a person whose record is unchanged
	// may keep their version or get a newer one, never an older one.
	Set func(people []hrissync.Employee) error

	// Optional hooks.

	// Pages makes the Source's List (and ChangedSince) read the HRIS in
	// pages of n people, where the HRIS's API pages.
	Pages func(n int)
}

// Run runs every case, each on a fresh Harness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"ListHoldsEveryoneOnce", testListComplete},
		{"ListUnderPagination", testPagination},
		{"GetAgreesWithList", testGetAgrees},
		{"UnknownIsNotFound", testNotFound},
		{"RemovedIsNotFound", testRemoved},
		{"VersionsNeverGoBack", testVersions},
		{"ChangedSinceIncludesItsBoundary", testChangedSince},
		{"ConcurrentCalls", testConcurrent},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newHarness(t)) })
	}
}

// People returns n records with ids "1" … "n": numeric ids, whose byte-wise
// order ("10" before "9") is not their numeric one, as many HRIS APIs give.
func People(n int) []hrissync.Employee {
	out := make([]hrissync.Employee, n)
	for i := range out {
		id := fmt.Sprint(i + 1)
		out[i] = hrissync.Employee{
			ID: id, EmployeeNumber: "E" + id, Email: "p" + id + "@example.com",
			GivenName: "Given" + id, FamilyName: "Family" + id, Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer", Department: "R&D", Location: "Paris",
		}
	}
	return out
}

func set(t *testing.T, h Harness, people []hrissync.Employee) {
	t.Helper()
	if err := h.Set(people); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

// list reads the whole list, failing the test on an error.
func list(t *testing.T, src hrissync.Source) []hrissync.Employee {
	t.Helper()
	var out []hrissync.Employee
	for e, err := range src.List(t.Context()) {
		if err != nil {
			t.Fatalf("List: %v after %d people", err, len(out))
		}
		out = append(out, e)
	}
	return out
}

// once checks that got holds each of want's ids exactly once, and nobody
// else.
func once(t *testing.T, what string, got []hrissync.Employee, want []hrissync.Employee) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range got {
		seen[e.ID]++
	}
	for _, e := range want {
		if n := seen[e.ID]; n != 1 {
			t.Errorf("%s gave %s %d times, want once", what, e.ID, n)
		}
		delete(seen, e.ID)
	}
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		t.Errorf("%s gave %s, whom the HRIS does not hold", what, id)
	}
}

func testListComplete(t *testing.T, h Harness) {
	people := People(1234)
	set(t, h, people)
	once(t, "List", list(t, h.Source), people)
}

func testPagination(t *testing.T, h Harness) {
	if h.Pages == nil {
		t.Skip("the Harness has no Pages hook")
	}
	for _, n := range []int{1, 7, 100, 101} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h.Pages(n)
			people := People(100)
			set(t, h, people)
			once(t, fmt.Sprintf("List in pages of %d", n), list(t, h.Source), people)
		})
	}
}

func testGetAgrees(t *testing.T, h Harness) {
	set(t, h, People(50))
	for _, listed := range list(t, h.Source) {
		got, err := h.Source.Get(t.Context(), listed.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", listed.ID, err)
		}
		if diff := gocmp.Diff(listed, got); diff != "" {
			t.Errorf("Get(%s) differs from List (-list +get):\n%s", listed.ID, diff)
		}
	}
}

func testNotFound(t *testing.T, h Harness) {
	set(t, h, People(3))
	for _, id := range []string{"4", "no-such-person", "1 ", "01"} {
		if e, err := h.Source.Get(t.Context(), id); !errors.Is(err, hrissync.ErrNotFound) {
			t.Errorf("Get(%q) = %+v, %v; want an error wrapping ErrNotFound", id, e, err)
		}
	}
}

func testRemoved(t *testing.T, h Harness) {
	people := People(3)
	set(t, h, people)
	set(t, h, people[:2])
	if e, err := h.Source.Get(t.Context(), "3"); !errors.Is(err, hrissync.ErrNotFound) {
		t.Errorf("Get of a removed person = %+v, %v; want ErrNotFound", e, err)
	}
	once(t, "List after a removal", list(t, h.Source), people[:2])
}

func testVersions(t *testing.T, h Harness) {
	people := People(5)
	set(t, h, people)
	before := map[string]hrissync.Employee{}
	for _, e := range list(t, h.Source) {
		if e.Version.IsZero() {
			t.Errorf("%s listed without a version: the engine cannot order its records", e.ID)
		}
		before[e.ID] = e
	}
	people[2].Role = "Lead"
	set(t, h, people)
	for _, e := range list(t, h.Source) {
		was := before[e.ID]
		switch c := e.Version.Compare(was.Version); {
		case c < 0:
			t.Errorf("%s's version went back: %v, then %v", e.ID, was.Version, e.Version)
		case c == 0 && e.Role != was.Role:
			t.Errorf("%s changed (role %q → %q) under the same version %v", e.ID, was.Role, e.Role, e.Version)
		}
	}
	got, err := h.Source.Get(t.Context(), people[2].ID)
	if err != nil || got.Role != "Lead" {
		t.Fatalf("Get after the change = %+v, %v; want the new role", got, err)
	}
}

func testChangedSince(t *testing.T, h Harness) {
	people := People(20)
	set(t, h, people)
	ctx := t.Context()
	if _, err := first(h.Source.ChangedSince(ctx, time.Now().Add(-time.Hour))); errors.Is(err, hrissync.ErrChangedSinceUnsupported) {
		t.Skip("the Source has no change feed (ErrChangedSinceUnsupported)")
	}
	people[7].Role = "Lead"
	set(t, h, people)
	changed, err := h.Source.Get(ctx, people[7].ID)
	if err != nil {
		t.Fatal(err)
	}
	// At its own version: the boundary belongs to the window ("at or
	// after since").
	got, err := all(h.Source.ChangedSince(ctx, changed.Version.Time))
	if err != nil {
		t.Fatalf("ChangedSince: %v", err)
	}
	i := slices.IndexFunc(got, func(e hrissync.Employee) bool { return e.ID == changed.ID })
	if i < 0 {
		t.Fatalf("ChangedSince(%v), the change's own version time, misses %s", changed.Version.Time, changed.ID)
	}
	if got[i].Role != "Lead" {
		t.Errorf("ChangedSince gave %s's old record (role %q)", changed.ID, got[i].Role)
	}
	for _, e := range got {
		if e.Version.Time.Before(changed.Version.Time) {
			t.Errorf("ChangedSince(%v) gave %s, last changed at %v", changed.Version.Time, e.ID, e.Version.Time)
		}
	}
}

func testConcurrent(t *testing.T, h Harness) {
	people := People(100)
	set(t, h, people)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 10 {
		wg.Go(func() {
			if _, err := all(h.Source.List(t.Context())); err != nil {
				errs <- fmt.Errorf("List: %w", err)
			}
		})
		wg.Go(func() {
			if _, err := h.Source.Get(t.Context(), people[i*7].ID); err != nil {
				errs <- fmt.Errorf("Get: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func all(seq func(func(hrissync.Employee, error) bool)) ([]hrissync.Employee, error) {
	var out []hrissync.Employee
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func first(seq func(func(hrissync.Employee, error) bool)) (hrissync.Employee, error) {
	for e, err := range seq {
		return e, err
	}
	return hrissync.Employee{}, nil
}

// Shuffled returns src with its List given in an order of its own — a new
// one each call, from seed — as a vendor's API paging by its internal key
// gives it: for testing that what reads the list does not depend on its
// order. It holds the list in memory while it is ranged, and is only a
// Source (not a Snapshotter), whatever src is.
func Shuffled(src hrissync.Source, seed uint64) hrissync.Source {
	return &shuffled{Source: src, seed: seed}
}

type shuffled struct {
	hrissync.Source
	seed  uint64
	calls atomic.Uint64
}

func (s *shuffled) List(ctx context.Context) iter.Seq2[hrissync.Employee, error] {
	return func(yield func(hrissync.Employee, error) bool) {
		var all []hrissync.Employee
		var listErr error
		for e, err := range s.Source.List(ctx) {
			if err != nil {
				listErr = err
				break
			}
			all = append(all, e)
		}
		rand.New(rand.NewPCG(s.seed, s.calls.Add(1))).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for _, e := range all {
			if !yield(e, nil) {
				return
			}
		}
		if listErr != nil {
			yield(hrissync.Employee{}, listErr)
		}
	}
}
