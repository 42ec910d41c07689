package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// cadences syncs one organisation's month four ways under the same faults.
func cadences(people, days int) error {
	faults := sim.Faults{LostWebhooks: 0.10, DuplicateWebhooks: 0.05, WebhookDelay: 2 * time.Minute, SinkErrors: 0.05}
	ways := []sim.Config{
		{Way: sim.NaiveBatch},
		{Way: sim.NaiveRelay},
		{Policy: cadence.BatchOnly()},
		{Policy: cadence.Hybrid()},
	}
	fmt.Printf("## Cadences on the same month\n\n%d people, %d days of changes (hires, leavers, rehires, role and manager changes, skill assessments, performance ratings, a reorganisation on day 12); 10 %% of webhooks lost, 5 %% duplicated, up to 2 min of reordering; 5 %% of sink writes failing. Latency runs from the HR change (or the moment a date takes effect) to the platform holding it.\n\n", people, days)
	fmt.Println("| way | needed writes | writes | attempts | writes ÷ needed | termination p50 / p99 / max | attribute p50 / p99 / max | lost | audit entries | real time |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, cfg := range ways {
		cfg.People, cfg.Days, cfg.Faults, cfg.Seed = people, days, faults, 11
		start := time.Now()
		rep, err := sim.Run(context.Background(), cfg)
		if err != nil {
			return err
		}
		ratio := "-"
		if rep.Needed > 0 {
			ratio = fmt.Sprintf("%.2f", float64(rep.Writes)/float64(rep.Needed))
		}
		fmt.Printf("| %s | %d | %d | %d | %s | %s | %s | %d | %d | %s |\n", rep.Policy, rep.Needed, rep.Writes, rep.Attempts, ratio,
			lat(rep.Terminations), lat(rep.Attributes), rep.Lost, rep.AuditEntries, ms(time.Since(start)))
	}
	fmt.Println()
	return nil
}

func lat(p hrissync.Percentiles) string {
	if p.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", ms(p.P50), ms(p.P99), ms(p.Max))
}
