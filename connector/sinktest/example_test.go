package sinktest_test

import (
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/sinktest"
)

// A connector author runs the suite from a test in the connector's package,
// giving it a fresh, empty platform each time and a way to look inside. Here
// the platform is connector/memory's; a SCIM or REST connector would start a
// server on loopback and read its accounts back.
func ExampleRun() {
	testConformance := func(t *testing.T) { // func TestConformance(t *testing.T)
		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
			p := memory.NewPlatform(hrissync.RealClock{}, 1)
			return sinktest.Harness{
				Sink: p,
				Account: func(id string) (hrissync.Account, string, bool) {
					a, ok := p.Account(id)
					return a.Account, id, ok // the platform's id is the worker id here
				},
				Accounts: func() int { return len(p.Snapshot()) },
				Seed:     func(a hrissync.Account) error { p.Seed(a); return nil },
			}
		})
	}
	_ = testConformance
}
