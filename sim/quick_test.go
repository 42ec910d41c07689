package sim_test

import (
	"os"
	"testing"

	"github.com/hrissync/hrissync/sim"
)

func TestQuick(t *testing.T) {
	rep, err := sim.Run(t.Context(), sim.Config{People: 2000, Days: 7, Faults: sim.SeedFaults()})
	if err != nil {
		t.Fatal(err)
	}
	sim.WriteTable(os.Stdout, rep)
	t.Log(rep.Summary())
}
