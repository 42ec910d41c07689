package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

// BenchmarkAccept measures durable event accepts (Store.Accept: remember the
// event id and mark the person dirty, committed before it returns) with 1 and
// 64 concurrent callers, at both durability settings. Reported as accepts/s.
func BenchmarkAccept(b *testing.B) {
	for _, d := range []struct {
		name string
		d    sqlite.Durability
	}{{"crash", sqlite.SurviveCrash}, {"powerloss", sqlite.SurvivePowerLoss}} {
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("durability=%s/callers=%d", d.name, callers), func(b *testing.B) {
				st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), &sqlite.Options{Durability: d.d})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				var n atomic.Int64
				forget := time.Now().Add(time.Hour)
				if callers == 1 {
					for i := 0; b.Loop(); i++ {
						accept(b, st, n.Add(1), forget)
					}
				} else {
					// RunParallel starts parallelism × GOMAXPROCS goroutines.
					b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							accept(b, st, n.Add(1), forget)
						}
					})
				}
				b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "accepts/s")
				b.ReportMetric(float64(n.Load())/float64(max(1, st.Commits())), "accepts/commit")
			})
		}
	}
}

func accept(b *testing.B, st *sqlite.Store, i int64, forget time.Time) {
	_, err := st.Accept(context.Background(), "t", store.Acceptance{
		EventID: fmt.Sprintf("evt-%d", i), EmployeeID: fmt.Sprintf("w-%d", i%5000), Forget: forget,
		Mark: store.Mark{Since: forget, Classes: cadence.Realtime, Trigger: "realtime"},
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommit measures Store.Commit, the one transaction per reconcile
// (applied fields merged, an audit entry into the outbox, the dirty mark
// checked and cleared), with 1 and 64 concurrent callers.
func BenchmarkCommit(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var n atomic.Int64
			at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			commit := func() {
				i := n.Add(1)
				err := st.Commit(context.Background(), "t", store.Commit{
					ID: fmt.Sprintf("w-%d", i%5000), Exists: true, Active: true,
					Applied: map[string]store.Applied{"role": {Value: fmt.Sprint(i), Version: hrtype.Version{Time: at, Seq: i}}},
					Audit:   []audit.Entry{{ID: fmt.Sprint("a", i), Tenant: "t", EmployeeID: "w", Applied: at}},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if callers == 1 {
				for b.Loop() {
					commit()
				}
			} else {
				b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						commit()
					}
				})
			}
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkOpenCheck measures what Open's check of the file costs on a Store
// of 100,000 people, each with a dozen fields: PRAGMA integrity_check and
// quick_check alone, then Open with its check (integrity_check, and every
// person's row against its checksum) and with SkipCheck. The file's size is
// reported as MB.
func BenchmarkOpenCheck(b *testing.B) {
	path := largeStore(b, 100_000)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	mb := float64(info.Size()) / (1 << 20)
	for _, pragma := range []string{"integrity_check", "quick_check"} {
		b.Run(pragma, func(b *testing.B) {
			db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for b.Loop() {
				var res string
				if err := db.QueryRow("PRAGMA " + pragma).Scan(&res); err != nil || res != "ok" {
					b.Fatal(res, err)
				}
			}
			b.ReportMetric(mb, "MB")
		})
	}
	for _, o := range []struct {
		name string
		skip bool
	}{{"open", false}, {"open-skipcheck", true}} {
		b.Run(o.name, func(b *testing.B) {
			for b.Loop() {
				st, err := sqlite.Open(context.Background(), path, &sqlite.Options{SkipCheck: o.skip})
				if err != nil {
					b.Fatal(err)
				}
				st.Close()
			}
			b.ReportMetric(mb, "MB")
		})
	}
}

// largeStore writes n people through the Store, each provisioned with a
// dozen fields.
func largeStore(b *testing.B, n int) string {
	path := filepath.Join(b.TempDir(), "large.db")
	st, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < n; i += 64 {
				id := fmt.Sprintf("w-%06d", i)
				v := hrtype.Version{Time: at, Seq: int64(i)}
				applied := map[string]store.Applied{}
				for _, f := range []string{"email", "givenName", "familyName", "role", "department", "managerId", "location",
					"status", "startDate", "employeeNumber", "attr.skill.go", "attr.performance"} {
					applied[f] = store.Applied{Value: f + "-" + id, Version: v}
				}
				if err := st.Commit(context.Background(), "default", store.Commit{ID: id, Exists: true, Active: true, Applied: applied}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return path
}
