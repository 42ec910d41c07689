// Command standalone runs the hrissync engine against a simulated
// organisation on a fake clock and prints what it cost and how fast changes
// landed. By default: the hybrid cadence, 2,000 people in three time zones
// (New York, London, Sydney), 7 days, under the seed's faults (10 % lost
// webhooks, 5 % duplicates, reordering, 20 % sink errors, 429 bursts, the HRIS
// down at 02:00 on day 5, a third of the nights' exports taken 1–3 hours
// early, and on day 3 the HRIS answering 404 for 40 % of the people from 08:00
// to 13:00 while eight of them leave, half of them in Sydney at its midnight).
//
//	go run ./examples/standalone                # hybrid
//	go run ./examples/standalone -compare       # hybrid, batch-only and realtime-only side by side
//	go run ./examples/standalone -sinks lms,lxp # one engine, two platforms
//	go run ./examples/standalone -source bamboohr # a BambooHR company over HTTP
//	go run ./examples/standalone -source merge    # a Merge linked account over HTTP
//
// With -sinks, one engine keeps several platforms (hrissync.NewMulti): "lms",
// a compliance LMS taking everyone on the hybrid cadence under the faults
// above, and "lxp", a learning-experience platform taking Engineering and
// Research only, skills realtime and no org chart, sound. The table has a
// column per sink, and a line per sink follows it
//
//	sink lms: converged=yes|no lost=N writes=N needed=N attempts=N
//
// then the Source's calls as the Source saw them, for the first sink alone
// (the same month run again, unless -sinks names one) and for every sink:
// the second sink's cost in Source reads.
//
// State goes to a SQLite file and the audit trail to a hash-chained log, in a
// temporary directory unless -dir names one; their paths are printed, and
// `go run ./examples/auditlog -verify PATH` checks the log.
//
// The last line is always
//
//	converged=yes|no lost=N writes=N needed=N attempts=N
//
// for the hybrid run (every sink's, added, with -sinks), and the exit status is non-zero unless every run
// converged with nothing lost and nobody falsely deactivated, and every run
// with realtime terminations ended each leaver's access within its budget.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/sim"
	memstore "github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		people   = flag.Int("people", 2000, "people in the organisation")
		days     = flag.Int("days", 7, "days of HR changes to simulate")
		seed     = flag.Uint64("seed", 1, "random seed")
		compare  = flag.Bool("compare", false, "also run batch-only and realtime-only on the same organisation, changes and faults")
		lost     = flag.Float64("lost", 0.10, "share of webhooks lost")
		dups     = flag.Float64("duplicates", 0.05, "share of webhooks delivered twice")
		delay    = flag.Duration("webhook-delay", 2*time.Minute, "webhooks are delayed up to this (reordering)")
		sinkErrs = flag.Float64("sink-errors", 0.20, "share of sink writes failing")
		bursts   = flag.Int("throttle-bursts", 3, "bursts of 429s per week")
		outage   = flag.Int("outage-day", 5, "day on which the HRIS is down from 02:00 to 02:40 (-1: none)")
		stale    = flag.Float64("stale", 1.0/3, "share of nights whose export was taken 1–3 hours before the 02:00 batch")
		nfDay    = flag.Int("notfound-day", 3, "day on which the HRIS answers 404 for a share of the people from 08:00 to 13:00 (-1: none)")
		nfShare  = flag.Float64("notfound-share", 0.4, "share of the people the 404 outage hides")
		dir      = flag.String("dir", "", "directory for the SQLite state and the audit log (default: a new temporary directory)")
		inMemory = flag.Bool("memory", false, "keep state in memory instead of SQLite (no audit log)")
		sinkList = flag.String("sinks", "", "comma-separated platforms one engine keeps: lms, lxp (default: one platform)")
		source   = flag.String("source", "sim", "the HRIS: sim (the simulator's), bamboohr or merge (a fake of the vendor's API over HTTP)")
	)
	flag.Parse()
	if *source != "sim" {
		vendors := map[string]func(*clocktest.Clock) vendor{"bamboohr": newBambooHR, "merge": newMerge}
		newVendor, ok := vendors[*source]
		switch {
		case !ok:
			fmt.Fprintf(os.Stderr, "standalone: -source %q: known are sim, bamboohr and merge\n", *source)
			return 2
		case *sinkList != "" || *compare:
			fmt.Fprintf(os.Stderr, "standalone: -source %s takes neither -sinks nor -compare\n", *source)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		return runVendor(ctx, *source, newVendor, *people, *days, *seed, *lost)
	}
	sinks, err := namedSinks(*sinkList)
	if err == nil && sinks != nil && *compare {
		err = errors.New("-sinks and -compare do not go together")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standalone:", err)
		return 2
	}

	faults := sim.SeedFaults()
	faults.LostWebhooks, faults.DuplicateWebhooks, faults.WebhookDelay = *lost, *dups, *delay
	faults.SinkErrors, faults.ThrottleBursts = *sinkErrs, *bursts
	faults.SourceOutages = nil
	if *outage >= 0 && *outage < *days {
		faults.SourceOutages = []sim.Outage{{Day: *outage, At: 2 * time.Hour, Length: 40 * time.Minute}}
	}
	faults.StaleExports = *stale
	faults.NotFound = nil
	if *nfDay >= 0 && *nfDay < *days && *nfShare > 0 {
		faults.NotFound = &sim.NotFound{Day: *nfDay, At: 8 * time.Hour, Length: 5 * time.Hour, Share: *nfShare, Leavers: 8}
	}
	type run struct {
		name   string
		policy cadence.Policy
		sinks  []sim.Sink
	}
	runs := []run{{name: "hybrid", policy: cadence.Hybrid()}}
	if *compare {
		runs = append(runs, run{name: "batch-only", policy: cadence.BatchOnly()}, run{name: "realtime-only", policy: cadence.RealtimeOnly()})
	}
	if sinks != nil {
		// The first sink alone, then all of them: the same month, for
		// the Source calls the others cost.
		runs = nil
		if len(sinks) > 1 {
			runs = append(runs, run{name: "sinks-" + sinks[0].Name, policy: cadence.Hybrid(), sinks: sinks[:1]})
		}
		names := make([]string, len(sinks))
		for i, k := range sinks {
			names[i] = k.Name
		}
		runs = append(runs, run{name: "sinks-" + strings.Join(names, "+"), policy: cadence.Hybrid(), sinks: sinks})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	started := time.Now()
	var reports []*sim.Report
	ok := true
	if *dir == "" && !*inMemory {
		d, err := os.MkdirTemp("", "hrissync-standalone-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "standalone:", err)
			return 1
		}
		*dir = d
	}
	for _, rn := range runs {
		p := rn.policy
		cfg := sim.Config{People: *people, Days: *days, Seed: *seed, Policy: p, Faults: faults, Sinks: rn.sinks,
			Engine: func(c *hrissync.Config) { c.Progress = progressLine }}
		closeAll, err := persist(ctx, &cfg, *dir, rn.name, *inMemory)
		if err != nil {
			fmt.Fprintln(os.Stderr, "standalone:", err)
			return 1
		}
		rep, err := sim.Run(ctx, cfg)
		fmt.Fprint(os.Stderr, "\r\033[K") // clear the progress line
		if err := errors.Join(err, closeAll()); err != nil {
			fmt.Fprintln(os.Stderr, "standalone:", err)
			return 1
		}
		ok = ok && rep.Converged && rep.Lost == 0 && rep.FalselyDeactivated == 0 &&
			(rep.LateLeavers == 0 || !p.Uses(cadence.Realtime)) && rep.Strays == 0 && rep.WrittenOutOfScope == 0
		reports = append(reports, rep)
	}
	if sinks != nil {
		last := reports[len(reports)-1]
		if err := sim.WriteTable(os.Stdout, last.Sinks...); err != nil {
			fmt.Fprintln(os.Stderr, "standalone:", err)
			return 1
		}
		fmt.Printf("\nsimulated %d days for %d people, one engine keeping %d sink(s), in %v\n", *days, *people, len(sinks), time.Since(started).Round(time.Millisecond))
		for _, k := range last.Sinks {
			fmt.Printf("sink %s: %s\n", k.Sink, k.Summary())
		}
		if len(reports) > 1 {
			fmt.Printf("source calls, %s alone: %s\n", sinks[0].Name, reports[0].SourceReads)
		}
		fmt.Printf("source calls, %s: %s\n", strings.TrimPrefix(runs[len(runs)-1].name, "sinks-"), last.SourceReads)
		fmt.Println(last.Summary())
		if !ok {
			return 1
		}
		return 0
	}
	if err := sim.WriteTable(os.Stdout, reports...); err != nil {
		fmt.Fprintln(os.Stderr, "standalone:", err)
		return 1
	}
	fmt.Printf("\nsimulated %d days for %d people under %d cadence(s) in %v\n", *days, *people, len(reports), time.Since(started).Round(time.Millisecond))
	fmt.Println(reports[0].Summary())
	if !ok {
		return 1
	}
	return 0
}

// namedSinks are the platforms list names: "lms", a compliance LMS taking
// everyone on the hybrid cadence, under the simulation's faults; "lxp", a
// learning-experience platform taking Engineering and Research, skills
// realtime and no org chart (scoped by department, it cannot hold everyone's
// manager), sound. Nil for an empty list.
func namedSinks(list string) ([]sim.Sink, error) {
	if list == "" {
		return nil, nil
	}
	known := map[string]sim.Sink{
		"lms": {Name: "lms", Policy: cadence.Hybrid()},
		"lxp": {Name: "lxp",
			Policy: cadence.Hybrid().
				WithPrefix(hrissync.AttributePrefix+"skill.", cadence.Realtime).
				With(hrissync.FieldManagerID, cadence.Ignore),
			InScope: func(e hrissync.Employee) bool { return e.Department == "Engineering" || e.Department == "Research" },
			Faults:  &sim.SinkFaults{}},
	}
	var out []sim.Sink
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		k, ok := known[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("-sinks: unknown sink %q (known: lms, lxp)", name)
		case seen[name]:
			return nil, fmt.Errorf("-sinks: %q twice", name)
		}
		seen[name] = true
		out = append(out, k)
	}
	return out, nil
}

// persist gives a simulation a SQLite store and a hash-chained audit log in
// dir, named for the cadence, and prints where they are.
func persist(ctx context.Context, cfg *sim.Config, dir, name string, inMemory bool) (closeAll func() error, err error) {
	if inMemory {
		cfg.Store = memstore.New()
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	statePath := filepath.Join(dir, "state-"+name+".db")
	auditPath := filepath.Join(dir, "audit-"+name+".jsonl")
	for _, p := range []string{statePath, statePath + "-wal", statePath + "-shm", auditPath, auditPath + ".head"} {
		os.Remove(p) // each run starts afresh
	}
	st, err := sqlite.Open(ctx, statePath, nil)
	if err != nil {
		return nil, err
	}
	log, err := audit.OpenLog(ctx, auditPath, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	fmt.Printf("%s: state %s\n%s: audit %s\n", name, statePath, name, auditPath)
	cfg.Store, cfg.Auditor = st, log
	return func() error { return errors.Join(log.Close(), st.Close()) }, nil
}

// progressLine shows the running batch on one line of the terminal (in
// simulated time: a month's batches pass in seconds).
func progressLine(p hrissync.BatchProgress) {
	fmt.Fprintf(os.Stderr, "\r\033[Kbatch %s", p)
}
