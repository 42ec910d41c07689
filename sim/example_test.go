package sim_test

import (
	"context"
	"fmt"
	"time"

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
