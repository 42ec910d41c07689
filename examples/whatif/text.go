package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/sim"
)

// describe sums the inputs up for the report.
func describe(people map[string]hrissync.Employee, changes []Change, replay *sim.Replay, leavers []leaver, f Faults, p Plan) Replay {
	in := Replay{People: len(people), Changes: len(changes), Faults: f.String()}
	if len(replay.Changes) > 0 {
		_, in.Beyond = lastMoment(replay, p.Location)
	}
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
		in.Terminations = append(in.Terminations, fmt.Sprintf("%s at %s", l.Employee, l.At.In(p.Location).Format("2006-01-02 15:04 MST")))
	}
	return in
}

// fmtQuantile is the q-quantile, by the nearest-rank rule (index
// min(int(q*n), n-1)), of sorted latencies and never changes never applied,
// these the slowest: "never (3)" when the quantile reaches them, "-" with no
// change at all.
func fmtQuantile(sorted []time.Duration, never int, q float64) string {
	n := len(sorted) + never
	if n == 0 {
		return "-"
	}
	if i := min(int(q*float64(n)), n-1); i < len(sorted) {
		return fmtDur(sorted[i])
	}
	return fmt.Sprintf("never (%d)", never)
}

// fmtDur writes a duration the way people read spans of access: days and
// hours once it is days long, hours and minutes below, seconds only under a
// minute.
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	d = d.Round(time.Minute)
	days, h, m := int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour), int64(d%time.Hour/time.Minute)
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		if h > 0 {
			fmt.Fprintf(&b, "%dh", h)
		}
		return b.String()
	}
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 || h == 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	return b.String()
}

func fmtExposure(e Exposure) string {
	if !e.Ended {
		return fmt.Sprintf("never ended (%s)", fmtDur(e.Exposure))
	}
	return fmtDur(e.Exposure)
}

// summary sums the inputs up: "300 people, 536 changes (16 hires, 17
// leavers) taking effect over …, with faults: none".
func summary(in Replay) string {
	faults := in.Faults
	if faults == "" {
		faults = "none"
	}
	s := fmt.Sprintf("%s, %s (%s, %s) taking effect from %s, with faults: %s",
		plural(in.People, "person", "people"), plural(in.Changes, "change", "changes"),
		plural(in.Hires, "hire", "hires"), plural(len(in.Terminations), "leaver", "leavers"), span(in.From, in.To), faults)
	if len(in.Beyond) > 0 {
		s += fmt.Sprintf("; not replayed, as they fall more than %d days after the last change: %s",
			int(dateHorizon.Hours()/24), strings.Join(in.Beyond, ", "))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// writeText writes the report as text tables: the figures per cadence,
// then each leaver's exposure per cadence — the rows of the HTML page's
// tables.
func writeText(w io.Writer, in Replay, results []Result) error {
	fmt.Fprintf(w, "Replayed %s.\n\n", summary(in))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	cadences := []string{"cadence"}
	for _, r := range results {
		cadences = append(cadences, r.Cadence)
	}
	line(cadences...)
	for _, r := range figureRows(results) {
		line(append([]string{r.Label}, r.Cells...)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(in.Terminations) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nHow long each leaver kept access after it should have ended:\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cadences[0] = "access due to end"
	line(cadences...)
	for _, r := range exposureRows(in, results) {
		cells := []string{r.Leaver}
		for _, c := range r.Cells {
			cells = append(cells, c.Text)
		}
		line(cells...)
	}
	return tw.Flush()
}
