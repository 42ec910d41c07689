package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync"
)

// describe sums the inputs up for the report.
func describe(people map[string]hrissync.Employee, changes []Change, leavers []leaver, f Faults, p Plan) Replay {
	in := Replay{People: len(people), Changes: len(changes), Faults: f.String()}
	hired := map[string]bool{}
	for _, c := range changes {
		if _, known := people[c.Employee]; !known {
			hired[c.Employee] = true
		}
		at := applyAt(c)
		if in.From.IsZero() || at.Before(in.From) {
			in.From = at
		}
		if at.After(in.To) {
			in.To = at
		}
	}
	in.Hires = len(hired)
	for _, l := range leavers {
		in.Terminations = append(in.Terminations, fmt.Sprintf("%s at %s", l.Employee, l.At.In(p.Location).Format("2006-01-02 15:04")))
	}
	return in
}

// percentile is the q-quantile of sorted durations (q in [0,1]).
func percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(int(q*float64(len(sorted))), len(sorted)-1)]
}

// latency is "p50 / p99 / max" of sorted durations, "-" for none.
func latency(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", short(percentile(sorted, 0.5)), short(percentile(sorted, 0.99)), short(sorted[len(sorted)-1]))
}

// short formats a duration compactly: 0s, 45s, 3m10s, 16h5m, 3d4h.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days, rest := d/(24*time.Hour), (d%(24*time.Hour)).Round(time.Hour)
	return fmt.Sprintf("%dd%dh", days, rest/time.Hour)
}

// exposure formats one leaver's exposure.
func exposure(x Exposure) string {
	if !x.Ended {
		return "never ended (" + short(x.Exposure) + "+)"
	}
	return short(x.Exposure)
}

// writeText writes the report as text tables: the figures per cadence,
// then each termination's exposure per cadence.
func writeText(w io.Writer, in Replay, results []Result) error {
	fmt.Fprintf(w, "Replayed %d people and %d changes (%d hires, %d terminations) taking effect from %s to %s; faults: %s.\n\n",
		in.People, in.Changes, in.Hires, len(in.Terminations), in.From.Format(time.RFC3339), in.To.Format(time.RFC3339), in.Faults)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, cell func(Result) string) {
		cells := []string{name}
		for _, r := range results {
			cells = append(cells, cell(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	num := func(n int64) string { return fmt.Sprint(n) }
	row("cadence", func(r Result) string { return r.Cadence })
	row("needed writes", func(r Result) string { return num(r.Needed) })
	row("writes", func(r Result) string { return num(r.Writes) })
	row("attempts", func(r Result) string { return num(r.Attempts) })
	row("source calls", func(r Result) string { return num(r.SourceCalls) })
	row("operations", func(r Result) string { return num(r.Operations) })
	row("audit entries", func(r Result) string { return fmt.Sprint(r.AuditEntries) })
	row("lost changes", func(r Result) string { return fmt.Sprint(r.Lost) })
	for _, c := range Classes {
		row(string(c)+" p50 / p99 / max", func(r Result) string { return latency(r.Latency[c]) })
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(in.Terminations) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nHow long each leaver kept access after the termination took effect:\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row("termination", func(r Result) string { return r.Cadence })
	for i, name := range in.Terminations {
		row(name, func(r Result) string { return exposure(r.Exposures[i]) })
	}
	return tw.Flush()
}
