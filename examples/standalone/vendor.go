package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// vendor is an HR system's API — a fake of it, written from the vendor's
// reference — behind the library's connector to it, for -source.
type vendor interface {
	// source is the connector, reading the fake.
	source() (hrissync.Source, error)
	// read is HR's record e as the connector reads it back.
	read(e hrissync.Employee) hrissync.Employee
	// serve wires the vendor's webhooks to the engine on mux, at base, and
	// poll starts a poll (for a vendor that reports its syncs).
	serve(eng *hrissync.Engine, mux *http.ServeMux, base string, now func() time.Time, poll func()) error
	// change is HR's change of e; the vendor posts its webhooks, or loses
	// them. It reports when the change reaches the vendor's API.
	change(ctx context.Context, e hrissync.Employee, lose bool) error
	// calls are the API requests served since reset, by operation.
	calls() map[string]int
	reset()
	close()
}

// runVendor is -source bamboohr and -source merge: the engine, on the
// hybrid cadence, keeps a memory platform in step with a fake of the
// vendor's API over loopback HTTP, on a fake clock. The engine reads the
// vendor through its connector, and the vendor posts signed webhooks to the
// library's endpoint; a share of them is lost. Each working day HR hires,
// terminates (at once, or dated days ahead), rehires, and changes roles,
// managers and a custom field. It prints what the sync cost in API requests,
// how soon leavers lost access, and
//
//	converged=yes|no differ=N writes=N changed=N attempts=N
func runVendor(ctx context.Context, name string, newVendor func(clock *clocktest.Clock) vendor, people, days int, seed uint64, lost float64) int {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	clock := clocktest.NewClock(start)
	rng := rand.New(rand.NewPCG(seed, 27))
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	v := newVendor(clock)
	defer v.close()
	org := &org{truth: memory.NewHRIS(clock, seed), ids: map[string]bool{}}
	for i := 1; i <= people; i++ {
		e := org.person(i, rng)
		org.truth.Put("employee.created", v.read(e))
		if err := v.change(ctx, e, true); err != nil { // hired before the endpoint existed
			return fail(err)
		}
	}

	src, err := v.source()
	if err != nil {
		return fail(err)
	}
	platform := memory.NewPlatform(clock, seed)
	var mu sync.Mutex
	deactivated := map[string]time.Time{}
	platform.OnWrite(func(u hrissync.Update, at time.Time) {
		if !u.Active {
			mu.Lock()
			if _, ok := deactivated[u.EmployeeID]; !ok {
				deactivated[u.EmployeeID] = at
			}
			mu.Unlock()
		}
	})
	eng, err := hrissync.New(src, platform, memstore.New(), &hrissync.Config{Clock: clock, Location: time.UTC, Logger: discard})
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	endpoint := httptest.NewServer(mux)
	defer endpoint.Close()
	polls := 0
	if err := v.serve(eng, mux, endpoint.URL, clock.Now, func() {
		polls++
		if err := eng.Poll(ctx); err != nil {
			fmt.Println("standalone: poll:", err)
		}
	}); err != nil {
		return fail(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(runCtx) }()
	<-eng.Started()
	if err := eng.Batch(ctx); err != nil {
		return fail(err)
	}
	v.reset() // count the running sync, not the first load

	// HR's working days: changes at random times from 09:00 to 17:00.
	var changes, lostHooks int
	leftAt := map[string]time.Time{} // immediate leavers: when HR entered it
	var failed error
	for day := range days {
		date := start.AddDate(0, 0, day)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, ch := range org.plan(date, people, rng) {
			clock.AfterFunc(ch.at.Sub(clock.Now()), func() {
				changes++
				if ch.e.Status == hrissync.StatusTerminated && ch.e.TerminationDate.Start(time.UTC).Before(ch.at) {
					leftAt[ch.e.ID] = ch.at
				}
				org.truth.Put("employee.updated", v.read(ch.e))
				lose := rng.Float64() < lost
				if lose {
					lostHooks++
				}
				if err := v.change(ctx, ch.e, lose); err != nil && failed == nil {
					failed = err
				}
			})
		}
	}
	// Past the last hire's start and the last dated leaver's last day,
	// and the night's batch after that.
	end := start.AddDate(0, 0, days+10).Add(6 * time.Hour)
	for {
		if err := eng.WaitIdle(ctx); err != nil {
			return fail(err)
		}
		next, ok := clock.Next()
		if !ok || next.After(end) {
			clock.AdvanceTo(end)
			if err := eng.WaitIdle(ctx); err != nil {
				return fail(err)
			}
			break
		}
		clock.AdvanceTo(next)
	}
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return fail(err)
	}
	if failed != nil {
		return fail(failed)
	}

	mu.Lock()
	defer mu.Unlock()
	var latencies []time.Duration
	for id, at := range leftAt {
		if off, ok := deactivated[id]; ok && !off.Before(at) {
			latencies = append(latencies, off.Sub(at))
		}
	}
	slices.Sort(latencies)
	differ := memory.Diff(org.truth, platform, clock.Now())
	c := platform.Counts()
	fmt.Printf("%s: %d people, %d days of changes (%d), the webhooks of %d lost, 10 days more to settle\n", name, people, days, changes, lostHooks)
	fmt.Printf("api calls after the first load: %s\n", formatCalls(v.calls()))
	if polls > 0 {
		fmt.Printf("polls started by sync notifications: %d\n", polls)
	}
	if n := len(latencies); n > 0 {
		fmt.Printf("leavers terminated at once: %d, access ended after median %v, max %v\n", n, latencies[n/2], latencies[n-1])
	}
	for _, d := range differ[:min(len(differ), 5)] {
		fmt.Println("differs:", d)
	}
	converged := "yes"
	if len(differ) > 0 || len(latencies) != len(leftAt) {
		converged = "no"
	}
	fmt.Printf("converged=%s differ=%d writes=%d changed=%d attempts=%d\n", converged, len(differ), c.Writes, c.Changed, c.Attempts)
	if converged != "yes" {
		return 1
	}
	return 0
}

func fail(err error) int {
	fmt.Println("standalone:", err)
	return 1
}

// formatCalls prints calls in name order, and their total.
func formatCalls(calls map[string]int) string {
	var parts []string
	total := 0
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, calls[k]))
		total += calls[k]
	}
	return strings.Join(parts, " ") + fmt.Sprintf(" (total %d)", total)
}

// org is the company as HR changes it; truth (memory.HRIS) holds the people
// in hrissync's terms, as the oracle.
type org struct {
	truth  *memory.HRIS
	ids    map[string]bool // every id given, hires to come included
	leaver []string        // terminated at once, for rehires
}

var (
	departments = []string{"Engineering", "Research", "Sales", "Support", "Finance"}
	locations   = []string{"New York", "London", "Sydney"}
	roles       = []string{"Engineer", "Analyst", "Designer", "Manager", "Specialist"}
	certs       = []string{"None", "Bronze", "Silver", "Gold"}
)

// person is employee i as first hired: managed by (i-1)/8+1, the first by
// none.
func (o *org) person(i int, rng *rand.Rand) hrissync.Employee {
	id := strconv.Itoa(i)
	o.ids[id] = true
	e := hrissync.Employee{ID: id, EmployeeNumber: "E" + id, Email: "p" + id + "@acme.test", GivenName: "Given" + id,
		FamilyName: "Family" + id, Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2024, 1, 8),
		Role: roles[rng.IntN(len(roles))], Department: departments[rng.IntN(len(departments))],
		Location:   locations[rng.IntN(len(locations))],
		Attributes: map[string]string{"cert": certs[rng.IntN(len(certs))]}}
	if i > 1 {
		e.ManagerID = strconv.Itoa((i-1)/8 + 1)
	}
	return e
}

// change is HR's change of one record at a time.
type change struct {
	at time.Time
	e  hrissync.Employee
}

// plan draws a working day's changes.
func (o *org) plan(date time.Time, people int, rng *rand.Rand) []change {
	var out []change
	at := func() time.Time { return date.Add(9*time.Hour + time.Duration(rng.IntN(8*3600))*time.Second) }
	pick := func() (hrissync.Employee, bool) {
		for range 20 {
			e, ok := o.truth.Employee(strconv.Itoa(2 + rng.IntN(people-1)))
			if ok && e.Status == hrissync.StatusActive && e.TerminationDate.IsZero() {
				return e, true
			}
		}
		return hrissync.Employee{}, false
	}
	n := max(1, people/500)
	today := hrissync.DateOf(date)
	for range n { // hires, starting next week
		e := o.person(len(o.ids)+1, rng)
		e.StartDate = today.AddDays(7)
		out = append(out, change{at(), e})
	}
	for i := range n { // leavers: half at once (entered after the last day), half dated ahead
		e, ok := pick()
		if !ok {
			continue
		}
		if i%2 == 0 {
			e.Status, e.TerminationDate = hrissync.StatusTerminated, today.AddDays(-1)
			o.leaver = append(o.leaver, e.ID)
		} else {
			e.TerminationDate = today.AddDays(3 + rng.IntN(7))
		}
		out = append(out, change{at(), e})
	}
	if len(o.leaver) > 0 && rng.IntN(2) == 0 { // a rehire, back next week
		id := o.leaver[0]
		o.leaver = o.leaver[1:]
		if e, ok := o.truth.Employee(id); ok {
			e.Status, e.StartDate = hrissync.StatusActive, today.AddDays(7)
			out = append(out, change{at(), e})
		}
	}
	for range 3 * n { // role, manager and certification changes
		e, ok := pick()
		if !ok {
			continue
		}
		e.Attributes = map[string]string{"cert": e.Attributes["cert"]}
		switch rng.IntN(3) {
		case 0:
			e.Role = roles[rng.IntN(len(roles))]
		case 1:
			n, _ := strconv.Atoi(e.ID)
			e.ManagerID = strconv.Itoa(max(1, (n-1)/8+1-rng.IntN(2)))
		case 2:
			e.Attributes["cert"] = certs[rng.IntN(len(certs))]
		}
		out = append(out, change{at(), e})
	}
	slices.SortFunc(out, func(a, b change) int { return a.at.Compare(b.at) })
	return out
}
