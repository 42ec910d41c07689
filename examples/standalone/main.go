// Command standalone runs the hrissync engine against a simulated
// organisation on a fake clock and prints what it cost and how fast changes
// landed. By default: the hybrid cadence, 2,000 people, 7 days, under the
// seed's faults (10 % lost webhooks, 5 % duplicates, reordering, 20 % sink
// errors, 429 bursts, the HRIS down at 02:00 on day 5).
//
//	go run ./examples/standalone            # hybrid
//	go run ./examples/standalone -compare   # hybrid, batch-only and realtime-only side by side
//
// The last line is always
//
//	converged=yes|no lost=N writes=N needed=N attempts=N
//
// for the hybrid run, and the exit status is non-zero unless every run
// converged with nothing lost.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
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
	)
	flag.Parse()

	faults := sim.SeedFaults()
	faults.LostWebhooks, faults.DuplicateWebhooks, faults.WebhookDelay = *lost, *dups, *delay
	faults.SinkErrors, faults.ThrottleBursts = *sinkErrs, *bursts
	faults.SourceOutages = nil
	if *outage >= 0 && *outage < *days {
		faults.SourceOutages = []sim.Outage{{Day: *outage, At: 2 * time.Hour, Length: 40 * time.Minute}}
	}
	policies := []cadence.Policy{cadence.Hybrid()}
	if *compare {
		policies = append(policies, cadence.BatchOnly(), cadence.RealtimeOnly())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	started := time.Now()
	var reports []*sim.Report
	ok := true
	for _, p := range policies {
		rep, err := sim.Run(ctx, sim.Config{People: *people, Days: *days, Seed: *seed, Policy: p, Faults: faults})
		if err != nil {
			fmt.Fprintln(os.Stderr, "standalone:", err)
			return 1
		}
		ok = ok && rep.Converged && rep.Lost == 0
		reports = append(reports, rep)
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
