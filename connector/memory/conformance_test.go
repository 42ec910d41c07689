package memory_test

import (
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
				hris.Replace(people...)
				return nil
			},
		}
	})
}
