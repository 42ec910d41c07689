package sim_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// replayOfOneLeaver is twelve people, one of whom (w-2) is dismissed at
// 10:17 UTC on Tuesday 3 March 2026, plus a routine change of w-3's at 11:05
// the same day. Twelve, so that a second leaver the same day is within the
// engine's deletion budget (a fifth of the active accounts).
func replayOfOneLeaver() *sim.Replay {
	person := func(id, manager string) hrissync.Employee {
		return hrissync.Employee{ID: id, Email: id + "@example.com", GivenName: id, Status: hrissync.StatusActive,
			StartDate: hrissync.Date{Year: 2025, Month: 1, Day: 6}, ManagerID: manager, Role: "Engineer",
			Attributes: map[string]string{"skill.go": "3"}}
	}
	people := []hrissync.Employee{person("w-1", "")}
	for i := 2; i <= 12; i++ {
		people = append(people, person(fmt.Sprintf("w-%d", i), "w-1"))
	}
	leaver := people[1].Clone()
	leaver.Status, leaver.TerminationDate, leaver.Immediate = hrissync.StatusTerminated, hrissync.Date{Year: 2026, Month: 3, Day: 3}, true
	rated := people[2].Clone()
	rated.Attributes["skill.go"] = "5"
	return &sim.Replay{People: people, Changes: []sim.Change{
		{At: time.Date(2026, 3, 3, 10, 17, 0, 0, time.UTC), Type: "employee.terminated", Employee: leaver},
		{At: time.Date(2026, 3, 3, 11, 5, 0, 0, time.UTC), Employee: rated},
	}}
}

// TestReplayOneLeaver: a replayed dismissal keeps access exactly as long as
// each cadence lets it — the batch until its next run, realtime not at all,
// the hybrid with the webhook lost until the next hourly poll.
func TestReplayOneLeaver(t *testing.T) {
	leftAt := time.Date(2026, 3, 3, 10, 17, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		cfg      sim.Config
		exposure time.Duration
	}{
		{"batch-only", sim.Config{Policy: cadence.BatchOnly()}, 15*time.Hour + 43*time.Minute}, // to 02:00 on the 4th
		{"realtime-only", sim.Config{Policy: cadence.RealtimeOnly()}, 0},
		{"hybrid, webhook lost", sim.Config{Policy: cadence.Hybrid(), Faults: sim.Faults{LostWebhooks: 1}}, 43 * time.Minute}, // to the 11:00 poll
		{"naive daily batch", sim.Config{Way: sim.NaiveBatch}, 15*time.Hour + 43*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Location, cfg.Replay = time.UTC, replayOfOneLeaver()
			rep, err := sim.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Converged || rep.Lost != 0 {
				t.Fatalf("%s", rep.Summary())
			}
			var got []time.Duration
			for _, e := range rep.Expectations {
				if e.Termination() {
					if !e.Since.Equal(leftAt) || e.EmployeeID != "w-2" {
						t.Errorf("termination of %s due at %s, want w-2 at %s", e.EmployeeID, e.Since, leftAt)
					}
					got = append(got, e.Latency())
				}
			}
			if len(got) != 1 || got[0] != tc.exposure {
				t.Errorf("exposures %v, want [%s]", got, tc.exposure)
			}
			if rep.People != 12 || rep.HRChanges != 2 {
				t.Errorf("people %d, HR changes %d: want 12 and 2", rep.People, rep.HRChanges)
			}
			// The days' traffic adds up to the run's: the day of changes,
			// then the night that settles it.
			var attempts, calls int64
			for _, d := range rep.Daily {
				attempts += d.Attempts
				calls += d.SourceCalls
			}
			if len(rep.Daily) != 2 || attempts != rep.Attempts || calls != rep.SourceReads.Total() {
				t.Errorf("daily %+v: want 2 days adding up to %d attempts and %d source calls", rep.Daily, rep.Attempts, rep.SourceReads.Total())
			}
		})
	}
}

// TestReplayDelayedSource: a unified API that shows each change late delays
// the leaver's cut-off by as much under realtime, and a last day known
// ahead not at all — unless the API shows it only after the day has ended:
// the oracle judges HR's record all along, not the API's.
func TestReplayDelayedSource(t *testing.T) {
	for _, tc := range []struct {
		delay time.Duration
		want  map[string]time.Duration
	}{
		{5 * time.Minute, map[string]time.Duration{"w-2 10:17": 5 * time.Minute, "w-3 00:00": 0}},
		// Shown the next morning: past the midnight w-3's last day ends.
		{20 * time.Hour, map[string]time.Duration{"w-2 10:17": 20 * time.Hour, "w-3 00:00": 7*time.Hour + 5*time.Minute}},
	} {
		t.Run(tc.delay.String(), func(t *testing.T) {
			r := replayOfOneLeaver()
			r.SourceDelay = tc.delay
			// w-3's last day, entered at 11:05: it ends at midnight in UTC.
			dated := r.Changes[1].Employee.Clone()
			dated.TerminationDate = hrissync.Date{Year: 2026, Month: 3, Day: 3}
			r.Changes[1].Employee = dated
			rep, err := sim.Run(context.Background(), sim.Config{Policy: cadence.RealtimeOnly(), Location: time.UTC, Replay: r})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]time.Duration{}
			for _, e := range rep.Expectations {
				if e.Termination() {
					got[e.EmployeeID+" "+e.Since.Format("15:04")] = e.Latency()
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("exposures %v, want %v", got, tc.want)
			}
			if !rep.Converged || rep.Lost != 0 || rep.Premature != 0 {
				t.Errorf("%s, premature %d", rep.Summary(), rep.Premature)
			}
		})
	}
}

// TestReplayRefused: a replay the simulator cannot run is refused with a
// reason, before anything runs.
func TestReplayRefused(t *testing.T) {
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	e := hrissync.Employee{ID: "w-1", Status: hrissync.StatusActive}
	for _, tc := range []struct {
		name string
		cfg  sim.Config
		want string
	}{
		{"out of order", sim.Config{Replay: &sim.Replay{Changes: []sim.Change{{At: at, Employee: e}, {At: at.Add(-time.Second), Employee: e}}}}, "before the one ahead of it"},
		{"no id", sim.Config{Replay: &sim.Replay{Changes: []sim.Change{{At: at}}}}, "no employee ID"},
		{"twice", sim.Config{Replay: &sim.Replay{People: []hrissync.Employee{e, e}}}, `person "w-1" given twice`},
		{"no person id", sim.Config{Replay: &sim.Replay{People: []hrissync.Employee{{}}}}, "a person with no ID"},
		{"before the start", sim.Config{Start: at, Replay: &sim.Replay{Changes: []sim.Change{{At: at, Employee: e}}}}, "not after the initial load"},
		{"with a storm", sim.Config{Storm: &sim.Storm{Day: 1}, Replay: &sim.Replay{}}, "storm"},
		{"negative delay", sim.Config{Replay: &sim.Replay{SourceDelay: -time.Second}}, "negative source delay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Location = time.UTC
			if _, err := sim.Run(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestSerialSameFigures: a serial run of a generated month with faults gives
// the same figures twice, to the Source read.
func TestSerialSameFigures(t *testing.T) {
	run := func() *sim.Report {
		rep, err := sim.Run(context.Background(), sim.Config{People: 300, Days: 7, Serial: true, Faults: sim.SeedFaults()})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	a, b := run(), run()
	if a.Summary() != b.Summary() || a.SourceReads != b.SourceReads || a.Terminations != b.Terminations || a.Realtime != b.Realtime || a.Attributes != b.Attributes {
		t.Errorf("two serial runs differ:\n%s %s\n%s %s", a.Summary(), a.SourceReads, b.Summary(), b.SourceReads)
	}
	if !a.Converged || a.Lost != 0 {
		t.Errorf("%s", a.Summary())
	}
}
