package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sample is a synthetic replay under four cadences: latencies from seconds
// to weeks, a class one cadence has none of, a leaver whose access never
// ended under the daily batch, and 90 days of operations.
func sample(cadence0 string) (Replay, []Result) {
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	in := Replay{
		People: 1200, Changes: 3400, Hires: 150,
		From: from, To: from.AddDate(0, 0, 90),
		Faults:       "sink 5% 503, source 1% timeout",
		Terminations: []string{"w-0007", "w-0112", "w-0450", "w-0999"},
	}
	cadences := []string{cadence0, "realtime", "hybrid", "hybrid, poll 3h"}
	var results []Result
	for i, c := range cadences {
		r := Result{
			Cadence: c, Needed: 3000, Writes: 3100 + int64(i)*50, Attempts: 3300 + int64(i)*70,
			SourceCalls: 90 * int64(i+1) * 24, AuditEntries: 3200 + i, Lost: 3 - i,
			Latency: map[Class][]time.Duration{},
		}
		r.Operations = r.Attempts + r.SourceCalls
		for k, cl := range Classes {
			if i == 1 && cl == Attributes {
				continue // realtime sends no attributes: a cadence with none
			}
			var lat []time.Duration
			for j := range 400 {
				base := time.Duration(1+k) * time.Minute
				if i == 0 {
					base = 6 * time.Hour
				}
				lat = append(lat, base*time.Duration(1+j%37)+time.Duration(j)*time.Second)
			}
			lat = append(lat, 0) // applied in the instant it took effect
			slices.Sort(lat)
			r.Latency[cl] = lat
		}
		for j := range in.Terminations {
			e := Exposure{Employee: in.Terminations[j], Effective: from.AddDate(0, 0, 10*j), Ended: true,
				Exposure: time.Duration(j+1) * time.Duration(4*(4-i)) * time.Minute}
			if i == 0 {
				e.Exposure = 23*time.Hour + 10*time.Minute
				if j == 2 {
					e.Exposure, e.Ended = in.To.Sub(e.Effective), false
				}
			}
			r.Exposures = append(r.Exposures, e)
		}
		for d := range 90 {
			r.Daily = append(r.Daily, DayOps{Day: from.AddDate(0, 0, d), Attempts: int64(30 + 5*i + d%7), SourceCalls: int64(24 * (i + 1))})
		}
		results = append(results, r)
	}
	return in, results
}

func render(t *testing.T, in Replay, results []Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeHTML(&b, in, results); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// chartIDs are the figures the page must have, one per chart.
var chartIDs = []string{
	"chart-latency-termination", "chart-latency-realtime-fields", "chart-latency-attributes",
	"chart-operations-per-day", "chart-termination-exposure",
}

func TestHTMLDeterministic(t *testing.T) {
	in, results := sample("batch at 02:00")
	a, b := render(t, in, results), render(t, in, results)
	if a != b {
		t.Fatal("two renders of the same input differ")
	}
}

func TestHTMLSelfContained(t *testing.T) {
	in, results := sample("batch at 02:00")
	page := render(t, in, results)
	lower := strings.ToLower(page)
	for _, tag := range []string{"<script", "<link", "<iframe", "<img", "@import"} {
		if strings.Contains(lower, tag) {
			t.Errorf("page has %s", tag)
		}
	}
	// Any src or href (xlink:href included) pointing off the page; the
	// SVG's xmlns namespace names are not references.
	ref := regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']?\s*(?:https?:|//)`)
	if m := ref.FindString(page); m != "" {
		t.Errorf("page refers to the network: %s", m)
	}
	if m := regexp.MustCompile(`(?i)url\(\s*["']?\s*(?:https?:|//)`).FindString(page); m != "" {
		t.Errorf("page's style refers to the network: %s", m)
	}
	for _, id := range chartIDs {
		if !strings.Contains(page, `<figure id="`+id+`">`) {
			t.Errorf("no figure %s", id)
		}
	}
	for _, want := range []string{"23h10m", "never ended (", "w-0450", "sink 5% 503"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	in, results := sample("<script>alert(1)</script> & co")
	in.Terminations[0] = `<b onmouseover="x">`
	page := render(t, in, results)
	if strings.Contains(page, "<script") || strings.Contains(page, "<b onmouseover") {
		t.Fatal("an input string came out unescaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") {
		t.Error("the cadence's name is not in the page, escaped")
	}
}

func TestHTMLExposuresMustFollowTerminations(t *testing.T) {
	in, results := sample("batch")
	results[2].Exposures = results[2].Exposures[1:]
	if err := writeHTML(&bytes.Buffer{}, in, results); err == nil {
		t.Fatal("a result with too few exposures was rendered")
	}
}

func TestFmtDurAndQuantile(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 4 * time.Minute: "4m", 2 * time.Hour: "2h",
		23*time.Hour + 10*time.Minute: "23h10m", 90 * 24 * time.Hour: "90d", 50 * time.Hour: "2d2h",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	var lat []time.Duration
	for m := range 10 {
		lat = append(lat, time.Duration(m+1)*time.Minute)
	}
	for q, want := range map[float64]string{0.5: "6m", 0.99: "10m", 1: "10m", 0: "1m"} {
		if got := fmtQuantile(lat, 0, q); got != want {
			t.Errorf("fmtQuantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := fmtQuantile(nil, 0, 0.5); got != "-" {
		t.Errorf("empty quantile = %q", got)
	}
	// Changes never applied are the slowest: they count in the ranks.
	// …and keep the latency curve below 1: half never arrived.
	if pts := ecdf(lat, 10); pts[len(pts)-1].Y != 0.5 {
		t.Errorf("ecdf with as many never applied ends at %v, want 0.5", pts[len(pts)-1].Y)
	}
	for _, tc := range []struct {
		never int
		q     float64
		want  string
	}{
		{0, 1, "10m"}, {1, 1, "never (1)"}, {1, 0.5, "6m"}, {10, 0.5, "never (10)"}, {10, 0.49, "10m"},
	} {
		if got := fmtQuantile(lat, tc.never, tc.q); got != tc.want {
			t.Errorf("fmtQuantile(ten, %d, %v) = %q, want %q", tc.never, tc.q, got, tc.want)
		}
	}
}

// chromium starts a headless Chromium for the test, or skips it where there
// is none (fails, under HRISSYNC_REQUIRE_BROWSER, as in CI), as
// status/status_test.go does.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, lookErr := exec.LookPath("chromium")
	if lookErr != nil {
		if os.Getenv("HRISSYNC_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is required here (HRISSYNC_REQUIRE_BROWSER) but not found")
		}
		t.Skip("no chromium: `apt-get install chromium` (as .ci/run does) to run the browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	return browser
}

// figureFacts is what the browser reports of one figure: its svg's
// rendered size and the text of the svg's <text> elements (vgsvg draws
// every string, the title and each axis label included, as one <text>).
type figureFacts struct {
	Width  float64  `json:"width"`
	Height float64  `json:"height"`
	Texts  []string `json:"texts"`
}

const readFigures = `(() => {
	const out = {};
	for (const f of document.querySelectorAll("figure[id]")) {
		const svg = f.querySelector("svg");
		if (!svg) { out[f.id] = {width: 0, height: 0, texts: []}; continue; }
		const r = svg.getBoundingClientRect();
		out[f.id] = {width: r.width, height: r.height,
			texts: Array.from(svg.querySelectorAll("text"), t => t.textContent)};
	}
	return out;
})()`

// TestHTMLInBrowser renders the page in a real headless Chromium — the
// synthetic one, and the sample replay's own report — and checks that each
// chart is laid out with a size and carries its title and axis labels, and
// that the whole page screenshots.
func TestHTMLInBrowser(t *testing.T) {
	dir := t.TempDir()
	in, results := sample("batch at 02:00")
	if err := os.WriteFile(filepath.Join(dir, "synthetic.html"), []byte(render(t, in, results)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-export", "testdata/org.csv", "-history", "testdata/changes.csv", "-webhook-loss", "0.1", "-html", filepath.Join(dir, "sample.html")}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("the sample's replay: exit %d: %s", code, &stderr)
	}
	// The browser's clock starts after the replay: its timeout bounds
	// the browser alone.
	browser := chromium(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	for _, page := range []string{"synthetic.html", "sample.html"} {
		t.Run(page, func(t *testing.T) { checkInBrowser(t, browser, srv.URL+"/"+page) })
	}
}

// checkInBrowser loads url in the browser and checks the report on it.
func checkInBrowser(t *testing.T, browser context.Context, url string) {
	fail := func(step string, err error) {
		if err != nil {
			t.Fatalf("driving Chromium (%s): %v", step, err)
		}
	}
	fail("load", chromedp.Do(browser, chromedp.Navigate(url)))
	title, err := chromedp.Run(browser, chromedp.Title())
	fail("read the title", err)
	if title != "What-if: sync cadences compared" {
		t.Errorf("title = %q", title)
	}
	figures, err := chromedp.Run(browser, chromedp.Evaluate[map[string]figureFacts](readFigures))
	fail("read the figures", err)

	want := map[string][]string{
		"chart-operations-per-day":   {"Operations per day", "day", "operations"},
		"chart-termination-exposure": {"Termination exposure", "cadence", "exposure, hours (log scale)"},
	}
	for _, c := range Classes {
		want[classID(c)] = []string{"Latency: " + string(c), "latency (log scale)", "share of changes applied"}
	}
	if len(figures) != len(chartIDs) {
		t.Errorf("the page has %d figures, want %d", len(figures), len(chartIDs))
	}
	for _, id := range chartIDs {
		f, ok := figures[id]
		if !ok {
			t.Errorf("no figure %s in the page", id)
			continue
		}
		if f.Width <= 0 || f.Height <= 0 {
			t.Errorf("%s: svg laid out at %vx%v", id, f.Width, f.Height)
		}
		for _, text := range want[id] {
			if !slices.Contains(f.Texts, text) {
				t.Errorf("%s: no text %q among %q", id, text, f.Texts)
			}
		}
	}

	// Quality 100 makes a PNG; below it, chromedp asks for a JPEG.
	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	fail("screenshot", err)
	shot := filepath.Join(t.TempDir(), "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20_000 {
		t.Errorf("screenshot: %d bytes, header %q: not a PNG of a rendered page", len(png), fmt.Sprintf("%.8q", png))
	}
}

// A class no cadence has latencies in, and a replay with no cadences at
// all, still render, each chart with a note saying why it is empty.
func TestHTMLEmpty(t *testing.T) {
	in, results := sample("batch")
	for i := range results {
		delete(results[i].Latency, Realtime)
	}
	if page := render(t, in, results); !strings.Contains(page, "No cadence has any realtime fields latency to show.") {
		t.Error("no note for a latency chart with nothing to draw")
	}
	in.Terminations = nil
	page := render(t, in, nil)
	for _, id := range chartIDs {
		if !strings.Contains(page, `<figure id="`+id+`">`) {
			t.Errorf("empty replay: no figure %s", id)
		}
	}
	if !strings.Contains(page, "No terminations to show.") || !strings.Contains(page, "No cadence has any day to show.") {
		t.Error("empty replay: the charts' notes are missing")
	}
}
