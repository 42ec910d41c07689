package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/sim"
)

var update = flag.Bool("update", false, "rewrite testdata/sample-report.txt from this run")

// sampleArgs replay the sample with every fault but the sink's rate limit
// (whose retries the engine releases together, so that their order, and a
// latency by a second, is the scheduler's).
var sampleArgs = []string{
	"-export", "testdata/org.csv", "-history", "testdata/changes.csv",
	"-webhook-loss", "0.1", "-duplicates", "0.05", "-sink-error-rate", "0.2",
	"-outage", "2026-02-03T01:50:00Z/40m", "-source-delay", "5m", "-seed", "7",
}

// TestSampleFigures: the sample's replay gives the figures recorded in
// testdata/sample-report.txt, on any machine, every run: the simulation is
// seeded and fires its timers one at a time (sim.Config.Serial). The HTML
// page is written too, and is the same page twice.
func TestSampleFigures(t *testing.T) {
	html := t.TempDir() + "/report.html"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(sampleArgs, "-html", html), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	if *update {
		if err := os.WriteFile("testdata/sample-report.txt", stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/sample-report.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != string(want) {
		t.Errorf("the sample's figures changed (go test -run TestSampleFigures -update, if on purpose):\n%s\nwant:\n%s", got, want)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<svg", "batch at 02:00", "naive webhook relay", "webhook loss 10%"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
}

// oneLeaver is an organisation of three in London, one of whom is
// dismissed at 10:17 UTC on Tuesday 3 March 2026, after a role change at
// 09:02 (so that the history does not begin with the leaver).
func oneLeaver(t *testing.T) (export, history string) {
	return write(t, "org.csv", `employee_id,first_name,last_name,work_email,status,start_date,job_title,manager_id,time_zone
w-1,Ada,Okafor,ada@example.com,active,2024-01-08,Director,,Europe/London
w-2,Ben,Schmidt,ben@example.com,active,2024-02-05,Engineer,w-1,Europe/London
w-3,Chloé,Tanaka,chloe@example.com,active,2024-03-04,Engineer,w-1,Europe/London
`), write(t, "changes.csv", header+
			"2026-03-03T09:02:00Z,2026-03-03T09:02:00Z,w-3,role,Senior Engineer\n"+
			"2026-03-03T10:17:00Z,2026-03-03T10:17:00Z,w-2,status,terminated\n")
}

// load reads an export and a history into a replay.
func load(t *testing.T, export, history string) *sim.Replay {
	t.Helper()
	people, err := readExport(context.Background(), export)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := readHistory(history, people)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := timeline(people, changes, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return replay
}

// exposures replays a history with the flags args and returns each
// cadence's exposure of its one leaver.
func exposures(t *testing.T, args ...string) map[string]Exposure {
	t.Helper()
	export, history := oneLeaver(t)
	o, err := parseArgs(append([]string{"-export", export, "-history", history}, args...), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	results, leavers, err := replayAll(context.Background(), o.Plan, load(t, export, history), o.Faults)
	if err != nil {
		t.Fatal(err)
	}
	if len(leavers) != 1 || leavers[0].Employee != "w-2" || !leavers[0].At.Equal(time.Date(2026, 3, 3, 10, 17, 0, 0, time.UTC)) {
		t.Fatalf("leavers %+v, want w-2 at 10:17", leavers)
	}
	out := map[string]Exposure{}
	for _, r := range results {
		out[r.Cadence] = r.Exposures[0]
	}
	return out
}

// TestOneLeaverExposure: a history with one termination shows exactly how
// long each cadence leaves the leaver access — the batch until its next
// run, realtime not at all, the hybrid with the webhook lost until the next
// poll — and, with the platform failing, realtime within its retries.
func TestOneLeaverExposure(t *testing.T) {
	ended := func(d time.Duration) Exposure { return Exposure{Employee: "w-2", Ended: true, Exposure: d} }
	for _, tc := range []struct {
		name string
		args []string
		want map[string]Exposure
	}{
		{"no faults", nil, map[string]Exposure{
			"batch at 02:00":      ended(15*time.Hour + 43*time.Minute), // to 02:00 on the 4th
			"realtime":            ended(0),
			"hybrid":              ended(0),
			"hybrid, poll 4h":     ended(0),
			"naive daily batch":   ended(15*time.Hour + 43*time.Minute),
			"naive webhook relay": ended(0),
		}},
		{"batch at 05:30", []string{"-cadences", "batch", "-batch-at", "05:30"}, map[string]Exposure{
			"batch at 05:30": ended(19*time.Hour + 13*time.Minute),
		}},
		{"source down at 02:00", []string{"-cadences", "batch,naive-batch", "-outage", "2026-03-04T01:50:00Z/40m"}, map[string]Exposure{
			"batch at 02:00": ended(16*time.Hour + 43*time.Minute), // the rerun at 03:00
			// The naive batch retries an hour later too, at 03:00.
			"naive daily batch": ended(16*time.Hour + 43*time.Minute),
		}},
		{"webhook lost", []string{"-webhook-loss", "1"}, map[string]Exposure{
			"batch at 02:00":    ended(15*time.Hour + 43*time.Minute),
			"realtime":          ended(43 * time.Minute), // the poll at 11:00
			"hybrid":            ended(43 * time.Minute),
			"hybrid, poll 4h":   ended(time.Hour + 43*time.Minute), // the poll at 12:00
			"naive daily batch": ended(15*time.Hour + 43*time.Minute),
			// Nothing else comes: access never ends (the replay runs
			// to 06:00 on the 4th).
			"naive webhook relay": {Employee: "w-2", Exposure: 19*time.Hour + 43*time.Minute},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exposures(t, tc.args...)
			for name, want := range tc.want {
				want.Effective = time.Date(2026, 3, 3, 10, 17, 0, 0, time.UTC)
				if got[name] != want {
					t.Errorf("%s: exposure %+v, want %+v", name, got[name], want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("cadences %v, want %d", got, len(tc.want))
			}
		})
	}
	t.Run("sink failing half the time", func(t *testing.T) {
		// Retried three times a minute apart (retry.Fixed(3, time.Minute),
		// the engine's default): within three minutes, seed after seed.
		var longest time.Duration
		for seed := range 12 {
			got := exposures(t, "-cadences", "realtime,hybrid", "-sink-error-rate", "0.5", "-seed", string(rune('1'+seed%9))+strings.Repeat("0", seed/9))
			for name, x := range got {
				if !x.Ended || x.Exposure > 3*time.Minute {
					t.Errorf("seed %d, %s: exposure %+v, want at most 3m", seed, name, x)
				}
				longest = max(longest, x.Exposure)
			}
		}
		if longest == 0 {
			t.Error("no write failed in twelve seeds: the faults were not at work")
		}
	})
}

// TestOutageBeforeTheHistory: an outage must fall within the replay.
func TestOutageBeforeTheHistory(t *testing.T) {
	export, history := oneLeaver(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-export", export, "-history", history, "-outage", "2026-03-03T09:00:00Z/1h"}, &stdout, &stderr)
	if code != 1 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "must begin after the history's first change") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
}

// TestUnknownManager: a manager id naming nobody is reported with its line
// (or the export's person), and nothing is printed as a result.
func TestUnknownManager(t *testing.T) {
	export, _ := oneLeaver(t)
	history := write(t, "changes.csv", header+
		"2026-03-03T09:02:00Z,2026-03-03T09:02:00Z,w-3,manager_id,w-9\n"+
		"2026-03-03T09:05:00Z,2026-03-03T09:05:00Z,w-4,status,active\n"+
		"2026-03-03T09:06:00Z,2026-03-03T09:06:00Z,w-3,manager_id,w-4\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-export", export, "-history", history}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if stdout.Len() > 0 {
		t.Errorf("printed a result:\n%s", &stdout)
	}
	if want := `line 2, column new_value: bad value: manager id "w-9" names nobody`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want it to say %q", &stderr, want)
	}
	if strings.Contains(stderr.String(), "line 4") {
		t.Errorf("w-4, hired on line 3, refused as a manager on line 4: %s", &stderr)
	}

	people, err := readExport(context.Background(), write(t, "org.csv", "employee_id,manager_id\nw-1,w-7\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = timeline(people, nil, time.UTC)
	if want := `export: w-1: manager id "w-7" is not in the export`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("timeline: %v, want %q", err, want)
	}
	var list *Errors
	if !errors.As(err, &list) {
		t.Errorf("timeline: %T, want *Errors", err)
	}
}

// TestHireBeforeItsStatus: a hire's name and role may take effect before its
// status row (the start date): the person has no access until the status
// says so, and then has it at that moment.
func TestHireBeforeItsStatus(t *testing.T) {
	export, _ := oneLeaver(t)
	history := write(t, "changes.csv", header+
		"2026-03-02T09:00:00Z,2026-03-09T08:00:00Z,w-7,status,active\n"+
		"2026-03-02T09:00:00Z,2026-03-02T09:00:00Z,w-7,first_name,Dev\n"+
		"2026-03-02T09:00:00Z,2026-03-02T09:00:00Z,w-7,manager_id,w-1\n")
	replay := load(t, export, history)
	if len(replay.Changes) != 2 || replay.Changes[0].Employee.Status != "pending" || replay.Changes[1].Employee.Status != "active" {
		t.Fatalf("changes %+v: want w-7 pending at 09:00 on the 2nd, active at 08:00 on the 9th", replay.Changes)
	}
	p := Plan{Location: time.UTC, Seed: 1}
	cfg, err := p.simConfig(replay, Faults{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sim.Run(context.Background(), p.config("realtime", cfg))
	if err != nil {
		t.Fatal(err)
	}
	// Premature: a write giving access when HR said otherwise then.
	if rep.Premature != 0 || !rep.Converged || rep.Lost != 0 {
		t.Errorf("premature writes %d; %s", rep.Premature, rep.Summary())
	}
	granted := false
	for _, e := range rep.Expectations {
		if e.EmployeeID == "w-7" && e.Field == "_active" && e.Value == "true" {
			granted = e.Since.Equal(time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)) && e.Latency() == 0
		}
	}
	if !granted {
		t.Error("w-7's access was not due at 08:00 on the 9th, or not given then")
	}
}

// TestOrganisationChecks: a manager loop in the export and an empty history
// are errors naming what is wrong; managers whose ids sort after their
// reports' load under every cadence, the naive references included.
func TestOrganisationChecks(t *testing.T) {
	people, err := readExport(context.Background(), write(t, "org.csv", "id,manager_id\na,b\nb,a\nc,c\nd,\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = timeline(people, nil, time.UTC)
	for _, want := range []string{"a manager loop, a → b → a", "a manager loop, c → c", "history: no change to replay"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("timeline: %v, want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "→ d") || strings.Contains(err.Error(), "d →") {
		t.Errorf("d, reporting to nobody, named: %v", err)
	}

	if _, err := parseArgs([]string{"-export", "x", "-history", "y", "-termination-limit", "-2"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-termination-limit -2") {
		t.Errorf("-termination-limit -2: %v", err)
	}

	export := write(t, "org.csv", "id,status,manager_id\na,active,z\nb,active,z\nz,active,\n")
	history := write(t, "changes.csv", header+"2026-03-03T10:07:00Z,2026-03-03T10:07:00Z,b,status,terminated\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-export", export, "-history", history}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "naive daily batch") {
		t.Errorf("no naive daily batch in:\n%s", &stdout)
	}
}

// TestLastDayAfterTheHistory: a last day set by the history's last change,
// two days ahead, still ends within the replay: it runs on through dates
// the history set (up to a month after its last change).
func TestLastDayAfterTheHistory(t *testing.T) {
	export, _ := oneLeaver(t)
	history := write(t, "changes.csv", header+"2026-03-03T10:17:00Z,2026-03-03T10:17:00Z,w-2,termination_date,2026-03-05\n")
	p := Plan{Cadences: []string{"realtime", "batch"}, BatchAt: 2 * time.Hour, Location: time.UTC, Seed: 1, Poll: 4 * time.Hour}
	results, leavers, err := replayAll(context.Background(), p, load(t, export, history), Faults{})
	if err != nil {
		t.Fatal(err)
	}
	// w-2 works in London: the 5th ends at midnight there (UTC in March).
	want := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
	if len(leavers) != 1 || !leavers[0].At.Equal(want) {
		t.Fatalf("leavers %+v, want w-2 at %s", leavers, want)
	}
	if got := results[0].Exposures[0]; !got.Ended || got.Exposure != 0 {
		t.Errorf("realtime: %+v, want access ended at the minute", got)
	}
	if got := results[1].Exposures[0]; !got.Ended || got.Exposure != 2*time.Hour {
		t.Errorf("batch: %+v, want access ended at 02:00", got)
	}
}

// TestTerminationLimit: in an organisation of three, the engine's budget
// holds the second leaver of the day (and says so); -termination-limit -1
// lets both go at once.
func TestTerminationLimit(t *testing.T) {
	export, _ := oneLeaver(t)
	history := write(t, "changes.csv", header+
		"2026-03-03T10:17:00Z,2026-03-03T10:17:00Z,w-2,status,terminated\n"+
		"2026-03-03T10:18:00Z,2026-03-03T10:18:00Z,w-3,status,terminated\n")
	for _, tc := range []struct {
		limit  int
		ended  bool
		alerts map[string]int
	}{
		{0, false, map[string]int{"deletion-threshold": 1}},
		{-1, true, map[string]int{}},
	} {
		p := Plan{Cadences: []string{"realtime"}, Location: time.UTC, Seed: 1, Poll: 4 * time.Hour, TerminationLimit: tc.limit}
		results, _, err := replayAll(context.Background(), p, load(t, export, history), Faults{})
		if err != nil {
			t.Fatal(err)
		}
		r := results[0]
		if x := r.Exposures[1]; x.Employee != "w-3" || x.Ended != tc.ended || (x.Ended && x.Exposure != 0) {
			t.Errorf("limit %d: w-3's exposure %+v, want ended %v", tc.limit, x, tc.ended)
		}
		if !maps.Equal(r.AlertKinds, tc.alerts) {
			t.Errorf("limit %d: alerts %v, want %v", tc.limit, r.AlertKinds, tc.alerts)
		}
		if never := r.Never[Termination]; tc.ended == (never > 0) {
			t.Errorf("limit %d: %d terminations never applied", tc.limit, never)
		}
	}
}

// TestLastDayBeyondTheHorizon: a last day more than a month after the
// history's last change is not replayed, and the report says which.
func TestLastDayBeyondTheHorizon(t *testing.T) {
	export, _ := oneLeaver(t)
	history := write(t, "changes.csv", header+"2026-03-03T10:17:00Z,2026-03-03T10:17:00Z,w-2,termination_date,2026-05-04\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-export", export, "-history", history, "-cadences", "realtime"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	if want := "not replayed, as they fall more than 31 days after the last change: w-2's last day 2026-05-04"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, &stdout)
	}
}
