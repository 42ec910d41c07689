package memory_test

import (
	"reflect"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sourcetest"
)

func TestHRISConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		hris := memory.NewHRIS(hrissync.RealClock{}, 1)
		return sourcetest.Harness{
			Source: hris,
			Set: func(people []hrissync.Employee) error {
				keep := map[string]bool{}
				for _, e := range people {
					keep[e.ID] = true
					if was, ok := hris.Employee(e.ID); ok {
						was.Version = e.Version
						if reflect.DeepEqual(was, e) {
							continue // unchanged: no new version
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
