package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// replayOfOneLeaver is three people, one of whom is dismissed at 10:17 UTC
// on Tuesday 3 March 2026, plus a routine change at 11:05 the same day.
func replayOfOneLeaver() *sim.Replay {
	person := func(id, manager string) hrissync.Employee {
		return hrissync.Employee{ID: id, Email: id + "@example.com", GivenName: id, Status: hrissync.StatusActive,
			StartDate: hrissync.Date{Year: 2025, Month: 1, Day: 6}, ManagerID: manager, Role: "Engineer",
			Attributes: map[string]string{"skill.go": "3"}}
	}
	people := []hrissync.Employee{person("w-1", ""), person("w-2", "w-1"), person("w-3", "w-1")}
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
			if rep.People != 3 || rep.HRChanges != 2 {
				t.Errorf("people %d, HR changes %d: want 3 and 2", rep.People, rep.HRChanges)
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
