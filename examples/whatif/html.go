package main

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// writeHTML writes the report as one self-contained page: the charts are
// inline SVG and the style is inline, so that the file can be mailed or
// archived and still open without a network.
func writeHTML(w io.Writer, in Replay, results []Result) error {
	for _, r := range results {
		if len(r.Exposures) != len(in.Terminations) {
			return fmt.Errorf("cadence %q has %d exposures for %d terminations", r.Cadence, len(r.Exposures), len(in.Terminations))
		}
	}
	page, err := buildPage(in, results)
	if err != nil {
		return err
	}
	return pageTemplate.Execute(w, page)
}

// page is what the template shows; every string in it that came from the
// input is escaped by html/template, and the charts' SVG (template.HTML)
// escapes its own text (vgsvg uses html.EscapeString).
type page struct {
	Replay   Replay
	Summary  string
	Cadences []string
	Rows     []row
	Charts   []chart
	Exposure []exposureRow
}

// exposureRow is one termination's exposure under each cadence.
type exposureRow struct {
	Leaver string
	Cells  []exposureCell
}

type exposureCell struct {
	Text  string
	Never bool // access never ended: the cell stands out
}

type row struct {
	Label string
	Cells []string
}

type chart struct {
	ID      string
	Title   string
	SVG     template.HTML
	Caption string
	Notes   []string
}

func buildPage(in Replay, results []Result) (page, error) {
	p := page{Replay: in, Summary: summary(in), Rows: figureRows(results), Exposure: exposureRows(in, results)}
	for _, r := range results {
		p.Cadences = append(p.Cadences, r.Cadence)
	}
	for _, c := range Classes {
		ch, err := latencyChart(c, results)
		if err != nil {
			return page{}, err
		}
		p.Charts = append(p.Charts, ch)
	}
	ch, err := dailyChart(results)
	if err != nil {
		return page{}, err
	}
	p.Charts = append(p.Charts, ch)
	ch, err = exposureChart(in, results)
	if err != nil {
		return page{}, err
	}
	p.Charts = append(p.Charts, ch)
	return p, nil
}

func span(from, to time.Time) string {
	if from.IsZero() && to.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s to %s (%s)", from.Format("2006-01-02"), to.Format("2006-01-02"), fmtDur(to.Sub(from)))
}

// figureRows are the figures table's rows, one cell per cadence.
func figureRows(results []Result) []row {
	ints := []struct {
		label string
		get   func(Result) int64
	}{
		{"needed writes", func(r Result) int64 { return r.Needed }},
		{"writes", func(r Result) int64 { return r.Writes }},
		{"attempts", func(r Result) int64 { return r.Attempts }},
		{"source calls", func(r Result) int64 { return r.SourceCalls }},
		{"operations", func(r Result) int64 { return r.Operations }},
		{"audit entries", func(r Result) int64 { return int64(r.AuditEntries) }},
		{"lost changes", func(r Result) int64 { return int64(r.Lost) }},
		{"alerts", func(r Result) int64 { return int64(r.Alerts) }},
	}
	var rows []row
	for _, f := range ints {
		rw := row{Label: f.label}
		for _, r := range results {
			rw.Cells = append(rw.Cells, fmt.Sprint(f.get(r)))
		}
		rows = append(rows, rw)
	}
	qs := []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}, {"max", 1}}
	kinds := row{Label: "alerts by kind"}
	for _, r := range results {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.AlertKinds)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.AlertKinds[k]))
		}
		kinds.Cells = append(kinds.Cells, cmp.Or(strings.Join(parts, ", "), "-"))
	}
	rows = append(rows, kinds)
	for _, c := range Classes {
		for _, q := range qs {
			rw := row{Label: fmt.Sprintf("latency, %s, %s", c, q.name)}
			for _, r := range results {
				rw.Cells = append(rw.Cells, fmtQuantile(r.Latency[c], r.Never[c], q.q))
			}
			rows = append(rows, rw)
		}
	}
	return rows
}

func exposureRows(in Replay, results []Result) []exposureRow {
	rows := make([]exposureRow, len(in.Terminations))
	for i, name := range in.Terminations {
		rows[i].Leaver = name
		for _, r := range results {
			e := r.Exposures[i]
			rows[i].Cells = append(rows[i].Cells, exposureCell{Text: fmtExposure(e), Never: !e.Ended})
		}
	}
	return rows
}

// palette is Okabe and Ito's colour-blind-safe set (its yellow left out: it
// does not show on white); cadence i has colour i in every chart, and a dash
// pattern of its own as a second cue.
var palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, // orange
	color.RGBA{0x00, 0x9E, 0x73, 0xFF}, // green
	color.RGBA{0xCC, 0x79, 0xA7, 0xFF}, // pink
	color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	color.RGBA{0x56, 0xB4, 0xE9, 0xFF}, // sky
	color.RGBA{0x00, 0x00, 0x00, 0xFF}, // black
}

var dashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}

func cadenceColor(i int) color.Color { return palette[i%len(palette)] }

func cadenceDashes(i int) []vg.Length { return dashes[i%len(dashes)] }

// floor is where a log axis starts: a zero latency or exposure (applied in
// the same instant) is drawn there, since a log scale has no zero.
const floor = time.Second

// niceDurations are the log axes' tick marks, spans a reader knows.
var niceDurations = []time.Duration{
	time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
	time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour,
	7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour, 365 * 24 * time.Hour,
	3 * 365 * 24 * time.Hour, 10 * 365 * 24 * time.Hour,
}

// logv places a duration on a log axis in the given unit. The axes are
// linear over log10 values rather than plot.LogScale, because gonum places
// a log axis's label box at the arithmetic middle of the range, which pads
// the chart with a wide empty band.
func logv(d, unit time.Duration) float64 {
	return math.Log10(float64(max(d, floor)) / float64(unit))
}

// durationTicks labels a log10 axis in the unit given with durations such
// as "15m" and "3d".
type durationTicks struct{ unit time.Duration }

func (t durationTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for _, d := range niceDurations {
		if v := logv(d, t.unit); v >= lo-1e-9 && v <= hi+1e-9 {
			ticks = append(ticks, plot.Tick{Value: v, Label: fmtDur(d)})
		}
	}
	return ticks
}

// logRange widens [lo, hi] to the nice durations around it, so that both
// ends of a log axis carry a labelled tick; it returns the ends as logv.
func logRange(lo, hi, unit time.Duration) (float64, float64) {
	lo, hi = max(lo, floor), max(hi, floor)
	a, b := niceDurations[0], niceDurations[len(niceDurations)-1]
	for _, d := range niceDurations {
		if d <= lo {
			a = d
		}
	}
	for i := len(niceDurations) - 1; i >= 0; i-- {
		if niceDurations[i] >= hi {
			b = niceDurations[i]
		}
	}
	if a == b {
		b = a * 10
	}
	return logv(a, unit), logv(b, unit)
}

// maxECDFPoints bounds a CDF line: beyond it the line is drawn through
// evenly spaced quantiles, which a 700-point-wide chart cannot tell from the
// full step function, and which keeps the page small for long histories.
const maxECDFPoints = 1000

// ecdf is the empirical CDF of a sorted slice, on a log axis in minutes, as the corners of
// a post-step line starting at share 0.
func ecdf(sorted []time.Duration, never int) plotter.XYs {
	n := len(sorted) + never // the changes never applied keep the curve below 1
	x := func(d time.Duration) float64 { return logv(d, time.Minute) }
	pts := plotter.XYs{{X: x(sorted[0]), Y: 0}}
	if len(sorted) <= maxECDFPoints {
		for i, d := range sorted {
			if i+1 < len(sorted) && sorted[i+1] == d {
				continue // only the last of equal values: the step's top
			}
			pts = append(pts, plotter.XY{X: x(d), Y: float64(i+1) / float64(n)})
		}
		return pts
	}
	for k := 1; k <= maxECDFPoints; k++ {
		i := min(k*len(sorted)/maxECDFPoints, len(sorted)) - 1
		pts = append(pts, plotter.XY{X: x(sorted[i]), Y: float64(i+1) / float64(n)})
	}
	return pts
}

func classID(c Class) string {
	return "chart-latency-" + strings.ReplaceAll(string(c), " ", "-")
}

func latencyChart(c Class, results []Result) (chart, error) {
	ch := chart{
		ID:      classID(c),
		Title:   "Latency: " + string(c),
		Caption: fmt.Sprintf("Share of %s changes the platform held within a given time of taking effect (log scale; under %s drawn at %s).", c, fmtDur(floor), fmtDur(floor)),
	}
	p := plot.New()
	p.Title.Text = ch.Title
	p.X.Label.Text = "latency (log scale)"
	p.Y.Label.Text = "share of changes applied"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = true, true
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for i, r := range results {
		lat := r.Latency[c]
		if len(lat) == 0 {
			note := fmt.Sprintf("%s: no %s changes with a latency.", r.Cadence, c)
			if n := r.Never[c]; n > 0 {
				note = fmt.Sprintf("%s: none of its %d %s changes ever reached the platform.", r.Cadence, n, c)
			}
			ch.Notes = append(ch.Notes, note)
			continue
		}
		lo, hi = min(lo, lat[0]), max(hi, lat[len(lat)-1])
		l, err := plotter.NewLine(ecdf(lat, r.Never[c]))
		if err != nil {
			return chart{}, err
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Dashes, l.Width = cadenceColor(i), cadenceDashes(i), vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(r.Cadence, l)
	}
	if hi == 0 && lo == time.Duration(math.MaxInt64) {
		ch.Notes = append(ch.Notes, fmt.Sprintf("No cadence has any %s latency to show.", c))
		lo, hi = time.Minute, 24*time.Hour
	}
	p.X.Tick.Marker = durationTicks{unit: time.Minute}
	p.X.Min, p.X.Max = logRange(lo, hi, time.Minute)
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	svg, err := renderSVG(p)
	ch.SVG = svg
	return ch, err
}

func dailyChart(results []Result) (chart, error) {
	ch := chart{ID: "chart-operations-per-day", Title: "Operations per day",
		Caption: "Sink calls (attempts) plus Source calls, per day of the replay."}
	p := plot.New()
	p.Title.Text = ch.Title
	p.X.Label.Text = "day"
	p.Y.Label.Text = "operations"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2", Time: plot.UTCUnixTime}
	p.Legend.Top = true
	drawn, top := false, int64(0)
	for i, r := range results {
		if len(r.Daily) == 0 {
			ch.Notes = append(ch.Notes, fmt.Sprintf("%s: no days.", r.Cadence))
			continue
		}
		pts := make(plotter.XYs, len(r.Daily))
		for j, d := range r.Daily {
			// The day's civil date, as midnight UTC: the ticks read
			// UTC, and the replay's days begin at midnight in its zone.
			y, m, day := d.Day.Date()
			pts[j] = plotter.XY{X: float64(time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Unix()), Y: float64(d.Operations())}
			top = max(top, d.Operations())
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return chart{}, err
		}
		l.Color, l.Dashes, l.Width = cadenceColor(i), cadenceDashes(i), vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(r.Cadence, l)
		drawn = true
	}
	if !drawn {
		ch.Notes = append(ch.Notes, "No cadence has any day to show.")
	}
	// Headroom above the highest line keeps the legend off the data.
	p.Y.Min, p.Y.Max = 0, max(float64(top)*1.1+float64(len(results))*float64(top)*0.08, 1)
	p.Add(plotter.NewGrid())
	svg, err := renderSVG(p)
	ch.SVG = svg
	return ch, err
}

// spread places the j-th of n leavers across its cadence's slot, in the
// terminations' order, so that equal exposures do not hide one another and
// every render places them alike.
func spread(j, n int) float64 { return 0.6*(float64(j)+0.5)/float64(n) - 0.3 }

func exposureChart(in Replay, results []Result) (chart, error) {
	ch := chart{ID: "chart-termination-exposure", Title: "Termination exposure",
		Caption: fmt.Sprintf("Each dot is one leaver: how long access lasted after the termination took effect (log scale; under %s drawn at %s). A black cross is access that never ended within the replay.", fmtDur(floor), fmtDur(floor))}
	p := plot.New()
	p.Title.Text = ch.Title
	p.X.Label.Text = "cadence"
	p.Y.Label.Text = "exposure, hours (log scale)"
	names := make([]string, len(results))
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	var never plotter.XYs
	for i, r := range results {
		names[i] = r.Cadence
		var ended plotter.XYs
		for j, e := range r.Exposures {
			lo, hi = min(lo, e.Exposure), max(hi, e.Exposure)
			pt := plotter.XY{X: float64(i) + spread(j, len(r.Exposures)), Y: logv(e.Exposure, time.Hour)}
			if e.Ended {
				ended = append(ended, pt)
				continue
			}
			never = append(never, pt)
			ch.Notes = append(ch.Notes, fmt.Sprintf("%s: %s's access never ended (%s to the end of the replay).", r.Cadence, in.Terminations[j], fmtDur(e.Exposure)))
		}
		if len(ended) > 0 {
			s, err := plotter.NewScatter(ended)
			if err != nil {
				return chart{}, err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: cadenceColor(i), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
	}
	if len(never) > 0 {
		s, err := plotter.NewScatter(never)
		if err != nil {
			return chart{}, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(5), Shape: draw.CrossGlyph{}}
		p.Add(s)
		p.Legend.Add("access never ended", s)
		p.Legend.Top = true
	}
	if hi == 0 && lo == time.Duration(math.MaxInt64) {
		ch.Notes = append(ch.Notes, "No terminations to show.")
		lo, hi = time.Minute, 24*time.Hour
	}
	if len(names) > 0 {
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	}
	p.Y.Tick.Marker = durationTicks{unit: time.Hour}
	p.Y.Min, p.Y.Max = logRange(lo, hi, time.Hour)
	p.Add(plotter.NewGrid())
	svg, err := renderSVG(p)
	ch.SVG = svg
	return ch, err
}

// renderSVG draws the plot on an SVG canvas and returns it ready to inline
// in HTML: without the XML declaration and comment, which belong to a
// stand-alone file.
func renderSVG(p *plot.Plot) (template.HTML, error) {
	c := vgsvg.New(7*vg.Inch, 4*vg.Inch)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	// Scale with the page instead of a fixed size in points.
	s = strings.Replace(s, "<svg ", `<svg role="img" style="width:100%;max-width:56em;height:auto" `, 1)
	return template.HTML(s), nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>What-if: sync cadences compared</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f2f2f2; }
figure { margin: 2em 0; }
figcaption { font-size: 0.9em; color: #444; }
.never { color: #b00020; font-weight: bold; }
</style>
</head>
<body>
<h1>What-if: sync cadences compared</h1>
<p id="inputs">The replay covers {{.Summary}}.</p>

<h2>Figures per cadence</h2>
<table id="figures">
<thead><tr><th>figure</th>{{range .Cadences}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Label}}</th>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>

<h2>Charts</h2>
{{range .Charts}}<figure id="{{.ID}}">
{{.SVG}}<figcaption><strong>{{.Title}}.</strong> {{.Caption}}{{range .Notes}}<br>{{.}}{{end}}</figcaption>
</figure>
{{end}}
<h2>Exposure of each termination</h2>
<table id="exposures">
<thead><tr><th>leaver</th>{{range .Cadences}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Exposure}}<tr><th scope="row">{{.Leaver}}</th>{{range .Cells}}<td{{if .Never}} class="never"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</body>
</html>
`))
