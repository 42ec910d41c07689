package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hrissync/hrissync/sim"
)

// storm: a reorganisation changes one manager per person, for n people within
// ten seconds, against a sink that accepts rate writes per second.
func storm(n int, rate float64) error {
	start := time.Now()
	rep, err := sim.Run(context.Background(), sim.Config{
		People: n + n/10, Days: 1, Churn: sim.Churn{HireLeadDays: 1},
		Faults: sim.Faults{SinkRateLimit: rate},
		Storm:  &sim.Storm{Day: 0, Changes: n, People: n, Within: 10 * time.Second},
	})
	if err != nil {
		return err
	}
	st := rep.Storm
	floor := time.Duration(float64(st.People) / rate * float64(time.Second))
	fmt.Printf("## Reorganisation storm\n\n%d manager changes (one per person) within 10 s of simulated time; the sink accepts at most %.0f writes per second and answers 429 with Retry-After beyond that.\n\n", st.Changes, rate)
	fmt.Println("| people changed | writes | writes ÷ people | floor (people ÷ rate) | converged after | ÷ floor | attempts (429s included) | real time |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %d | %d | %.2f | %s | %s | %.2f | %d | %s |\n\n", st.People, st.Writes, float64(st.Writes)/float64(st.People),
		ms(floor), ms(st.Converged), st.Converged.Seconds()/floor.Seconds(), rep.Attempts, ms(time.Since(start)))
	if !rep.Converged || rep.Lost != 0 {
		return fmt.Errorf("storm did not converge: %s", rep.Summary())
	}
	return nil
}
