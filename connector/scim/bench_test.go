package scim_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/scim"
	"github.com/hrissync/hrissync/connector/sinktest"
)

// BenchmarkApply measures writes per second through the SCIM sink to the
// in-process SCIM server: creates (POST) and updates (GET for the ETag, then
// PATCH), with 1 and 16 concurrent callers.
func BenchmarkApply(b *testing.B) {
	for _, kind := range []string{"create", "update"} {
		for _, callers := range []int{1, 16} {
			b.Run(fmt.Sprintf("kind=%s/callers=%d", kind, callers), func(b *testing.B) {
				p := newProvider(b)
				s := newSink(b, p, scim.Config{})
				if kind == "update" {
					for i := range 500 {
						if err := s.Apply(context.Background(), create(sinktest.Person(fmt.Sprintf("w-%d", i)))); err != nil {
							b.Fatal(err)
						}
					}
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range callers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							var u hrissync.Update
							if kind == "create" {
								u = create(sinktest.Person(fmt.Sprintf("n-%d", i)))
							} else {
								e := sinktest.Person(fmt.Sprintf("w-%d", i%500))
								e.Role = fmt.Sprint("role-", i)
								u = hrissync.Update{EmployeeID: e.ID, Kind: hrissync.Modify, Fields: e.Fields(), Active: true,
									Changes: []hrissync.Change{{Field: hrissync.FieldRole, New: e.Role}}}
							}
							if err := s.Apply(context.Background(), u); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
			})
		}
	}
}
