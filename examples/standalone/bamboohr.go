package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// runBambooHR is -source bamboohr: the engine, on the hybrid cadence, keeps
// a memory platform in step with a fake BambooHR company (bamboohrtest,
// written from BambooHR's reference) over loopback HTTP, on a fake clock.
// The engine reads the company through the bamboohr connector, and the
// company posts signed webhooks — event-based JSON and field-based
// form-encoded — to the library's endpoint; a share of them is lost. Each
// working day HR hires, terminates (at once, or dated days ahead), rehires,
// and changes roles, managers and a custom field. It prints what the sync
// cost in BambooHR API requests, how soon leavers lost access, and
//
//	converged=yes|no differ=N writes=N changed=N attempts=N
func runBambooHR(ctx context.Context, people, days int, seed uint64, lost float64) int {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	clock := clocktest.NewClock(start)
	rng := rand.New(rand.NewPCG(seed, 27))
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))

	hr := bamboohrtest.NewServer(bamboohrtest.Config{CompanyDomain: "acme", APIKey: "standalone", Now: clock.Now})
	defer hr.Close()
	hr.AddCustomField("4567", "Certification level", "customCertLevel", "text")
	org := newOrg(hr, memory.NewHRIS(clock, seed))
	for i := 1; i <= people; i++ {
		org.put(org.person(i, rng))
	}
	hr.Drop() // hired before the endpoint existed

	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "standalone", BaseURL: hr.URL,
		Attributes: map[string]string{"customCertLevel": "cert"}})
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
	for _, w := range []bamboohrtest.Webhook{
		{URL: endpoint.URL + "/bamboohr/event", Kind: "event", Format: "json", PrivateKey: []byte("event-key")},
		{URL: endpoint.URL + "/bamboohr/field", Kind: "field", Format: "form-encoded", PrivateKey: []byte("field-key")},
	} {
		v, err := bamboohr.NewVerifier(0, w.PrivateKey)
		if err != nil {
			return fail(err)
		}
		h, err := webhook.New(eng, v, &webhook.Config{Decoder: bamboohr.Decoder{}, Now: clock.Now, Logger: discard})
		if err != nil {
			return fail(err)
		}
		mux.Handle("POST /bamboohr/"+w.Kind, h)
		hr.AddWebhook(w)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(runCtx) }()
	<-eng.Started()
	if err := eng.Batch(ctx); err != nil {
		return fail(err)
	}
	hr.ResetRequests() // count the running sync, not the first load

	// HR's working days: changes at random times from 09:00 to 17:00, each
	// posted by BambooHR at once — or lost.
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
				org.put(ch.e)
				if rng.Float64() < lost {
					lostHooks++
					hr.Drop()
					return
				}
				codes, err := hr.Deliver(ctx, endpoint.Client())
				for _, c := range codes {
					if c != http.StatusNoContent && c != http.StatusOK && failed == nil {
						failed = fmt.Errorf("a webhook was answered %d", c)
					}
				}
				if err != nil && failed == nil {
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
	if err := <-runErr; err != nil && err != context.Canceled {
		return fail(err)
	}
	if failed != nil {
		return fail(failed)
	}

	calls := map[string]int{}
	for _, r := range hr.Requests() {
		calls[endpointName(r)]++
	}
	var latencies []time.Duration
	mu.Lock()
	defer mu.Unlock()
	for id, at := range leftAt {
		if off, ok := deactivated[id]; ok && !off.Before(at) {
			latencies = append(latencies, off.Sub(at))
		}
	}
	slices.Sort(latencies)
	differ := memory.Diff(org.truth, platform, clock.Now())
	c := platform.Counts()
	fmt.Printf("bamboohr: %d people, %d days of changes (%d), the webhooks of %d lost, 10 days more to settle\n", people, days, changes, lostHooks)
	fmt.Printf("api calls after the first load: %s\n", formatCalls(calls))
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

// endpointName names the BambooHR operation a request was.
func endpointName(r bamboohrtest.Request) string {
	switch p := r.Path; {
	case strings.HasSuffix(p, "/employees/changed"):
		return "changed"
	case strings.HasSuffix(p, "/reports/custom"):
		return "report"
	case strings.HasSuffix(p, "/employees"):
		return "directory"
	case strings.Contains(p, "/employees/"):
		return "get"
	}
	return r.Method + " " + r.Path
}

func formatCalls(calls map[string]int) string {
	var parts []string
	total := 0
	for _, k := range []string{"get", "changed", "directory", "report"} {
		parts = append(parts, fmt.Sprintf("%s=%d", k, calls[k]))
		total += calls[k]
	}
	return strings.Join(parts, " ") + fmt.Sprintf(" (total %d)", total)
}

// org is the company: BambooHR holds it, and truth (memory.HRIS) holds the
// same people in hrissync's terms, as the oracle.
type org struct {
	hr     *bamboohrtest.Server
	truth  *memory.HRIS
	held   map[string]map[string]string
	leaver []string // terminated, for rehires
}

func newOrg(hr *bamboohrtest.Server, truth *memory.HRIS) *org {
	return &org{hr: hr, truth: truth, held: map[string]map[string]string{}}
}

var (
	departments = []string{"Engineering", "Research", "Sales", "Support", "Finance"}
	locations   = []string{"New York", "London", "Sydney"}
	roles       = []string{"Engineer", "Analyst", "Designer", "Manager", "Specialist"}
	certs       = []string{"None", "Bronze", "Silver", "Gold"}
)

// person is employee i as first hired: managed by (i-1)/8, the CEO by none.
func (o *org) person(i int, rng *rand.Rand) hrissync.Employee {
	id := strconv.Itoa(i)
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
		e := o.person(len(o.held)+1, rng)
		e.StartDate = today.AddDays(7)
		out = append(out, change{at(), e})
		o.held[e.ID] = nil // the id is taken
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

// put makes HR's change in BambooHR and in the oracle.
func (o *org) put(e hrissync.Employee) {
	status, history := "Active", "Full-Time"
	if e.Status == hrissync.StatusTerminated {
		status, history = "Inactive", "Terminated"
	}
	date := func(d hrissync.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	f := map[string]string{
		"employeeNumber": e.EmployeeNumber, "workEmail": e.Email, "firstName": e.GivenName, "lastName": e.FamilyName,
		"status": status, "employmentHistoryStatus": history, "hireDate": date(e.StartDate),
		"terminationDate": date(e.TerminationDate), "jobTitle": e.Role, "supervisorEId": e.ManagerID,
		"department": e.Department, "location": e.Location, "customCertLevel": e.Attributes["cert"],
	}
	was := o.held[e.ID]
	if was == nil {
		add := map[string]string{"id": e.ID}
		for k, v := range f {
			add[k] = v
		}
		o.hr.Add(add)
	} else {
		changed := map[string]string{}
		for k, v := range f {
			if was[k] != v {
				changed[k] = v
			}
		}
		o.hr.Update(e.ID, changed)
	}
	o.held[e.ID] = f
	o.truth.Put("employee.updated", e)
}
