package sourcetest_test

import (
	"fmt"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sourcetest"
)

// A connector author runs the suite from a test in the connector's package,
// giving it a Source over an HRIS the test can change. Here the HRIS is
// connector/memory's; a REST connector would start a fake of the vendor's
// API on loopback, built from the vendor's reference, and Set its records.
func ExampleRun() {
	testConformance := func(t *testing.T) { // func TestConformance(t *testing.T)
		sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
			hris := memory.NewHRIS(hrissync.RealClock{}, 1)
			return sourcetest.Harness{
				Source: hris,
				Set: func(people []hrissync.Employee) error {
					hris.Replace(people...) // exactly these people, versions stamped on change
					return nil
				},
			}
		})
	}
	_ = testConformance
}

// The suite's people have numeric ids, whose byte-wise order ("10" before
// "9") is not their numeric one: a Source must not lose or repeat anyone
// over it.
func ExamplePeople() {
	for _, e := range sourcetest.People(3) {
		fmt.Println(e.ID, e.Email, e.Status)
	}
	// Output:
	// 1 p1@example.com active
	// 2 p2@example.com active
	// 3 p3@example.com active
}
