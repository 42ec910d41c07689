package sourcetest_test

import (
	"fmt"
	"reflect"
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
					keep := map[string]bool{}
					for _, e := range people {
						keep[e.ID] = true
						if was, ok := hris.Employee(e.ID); ok {
							if was.Version = e.Version; reflect.DeepEqual(was, e) {
								continue // unchanged: keeps its version
							}
						}
						hris.Put("employee.updated", e)
					}
					for _, e := range hris.Employees() {
						if !keep[e.ID] {
							hris.Remove(e.ID)
						}
					}
					return nil
				},
			}
		})
	}
	_ = testConformance
}

// The suite's people have numeric ids, whose byte-wise order is not their
// numeric one: a Source must not lose or repeat anyone over it.
func ExamplePeople() {
	for _, e := range sourcetest.Sorted(sourcetest.People(12)) {
		fmt.Print(e.ID, " ")
	}
	fmt.Println()
	// Output: 1 10 11 12 2 3 4 5 6 7 8 9
}
