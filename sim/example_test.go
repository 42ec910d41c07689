package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// Three days of a 200-person organisation on the fake clock (a fraction of a
// second), each webhook lost with probability 0.2, delivered twice with 0.1
// and delayed up to a minute: the fallback poll and the nightly batch catch
// what the webhooks missed, and the platform ends equal to the HRIS with no
// write wasted. The same Config and Seed give the same report.
func Example() {
	rep, err := sim.Run(context.Background(), sim.Config{
		People: 200,
		Days:   3,
		Faults: sim.Faults{LostWebhooks: 0.2, DuplicateWebhooks: 0.1, WebhookDelay: time.Minute},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("HR changes:", rep.HRChanges, "webhooks lost:", rep.LostWebhooks)
	fmt.Println(rep.Summary())
	// Output:
	// HR changes: 42 webhooks lost: 3
	// converged=yes lost=0 writes=20 needed=20 attempts=20
}

// A recorded organisation instead of a generated one: a leader and her
// report, who is dismissed at 10:17 on 3 March 2026, replayed under the
// batch-only cadence — the leaver keeps access until the 02:00 batch. The
// what-if command (examples/whatif) builds a Replay from a team's own
// export and change history.
func ExampleReplay() {
	lead := hrissync.Employee{ID: "w-1", Email: "ada@example.com", Status: hrissync.StatusActive}
	report := hrissync.Employee{ID: "w-2", Email: "ben@example.com", Status: hrissync.StatusActive, ManagerID: "w-1"}
	dismissed := report.Clone()
	dismissed.Status, dismissed.Immediate = hrissync.StatusTerminated, true
	dismissed.TerminationDate = hrissync.Date{Year: 2026, Month: 3, Day: 3}
	rep, err := sim.Run(context.Background(), sim.Config{
		Policy:   cadence.BatchOnly(),
		Location: time.UTC,
		Serial:   true,
		Replay: &sim.Replay{
			People:  []hrissync.Employee{lead, report},
			Changes: []sim.Change{{At: time.Date(2026, 3, 3, 10, 17, 0, 0, time.UTC), Type: "employee.terminated", Employee: dismissed}},
		},
	})
	if err != nil {
		panic(err)
	}
	for _, e := range rep.Expectations {
		if e.Termination() {
			fmt.Println(e.EmployeeID, "kept access for", e.Latency())
		}
	}
	fmt.Println(rep.Summary())
	// Output:
	// w-2 kept access for 15h43m0s
	// converged=yes lost=0 writes=1 needed=1 attempts=1
}
