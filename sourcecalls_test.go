package hrissync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// pagedHRIS is the memory HRIS read a page at a time, as an HRIS API is.
type pagedHRIS struct {
	*memory.HRIS
	size int
}

func (p pagedHRIS) PageSize() int { return p.size }

// The Source's calls are counted per trigger beside the sink's: a batch's
// list (a call per page where the Source pages), a webhook's Get, a poll's
// ChangedSince.
func TestSourceCallsCounted(t *testing.T) {
	for _, c := range []struct {
		name     string
		pageSize int // 0: the Source does not page
		want     map[hrissync.Trigger]hrissync.SourceCalls
	}{
		{"one call per listing", 0, map[hrissync.Trigger]hrissync.SourceCalls{
			hrissync.TriggerBatch:    {List: 1},
			hrissync.TriggerRealtime: {Get: 1},
			hrissync.TriggerPoll:     {ChangedSince: 1},
		}},
		{"a call per page", 2, map[hrissync.Trigger]hrissync.SourceCalls{
			hrissync.TriggerBatch:    {List: 3}, // 5 people, 2 to a page
			hrissync.TriggerRealtime: {Get: 1},
			hrissync.TriggerPoll:     {ChangedSince: 3},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clock := hrissync.RealClock{}
				hris := memory.NewHRIS(clock, 1)
				var src hrissync.Source = hris
				if c.pageSize > 0 {
					src = pagedHRIS{hris, c.pageSize}
				}
				eng, err := hrissync.New(src, memory.NewPlatform(clock, 1), memstore.New(),
					&hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- eng.Run(runCtx) }()
				defer func() { cancel(); <-done }()
				<-eng.Started()

				for i := range 5 {
					hris.Load(hrissync.Employee{ID: fmt.Sprintf("w-%d", i), Email: fmt.Sprintf("p%d@example.com", i),
						Status: hrissync.StatusActive, Role: "Engineer"})
				}
				if err := eng.Batch(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Minute)
				rec, err := hris.Update("employee.updated", "w-1", func(e *hrissync.Employee) { e.Role = "Lead" })
				if err != nil {
					t.Fatal(err)
				}
				if err := eng.Notify(ctx, hrissync.Event{ID: "e1", EmployeeID: rec.ID, OccurredAt: rec.Version.Time}); err != nil {
					t.Fatal(err)
				}
				if err := eng.WaitIdle(ctx); err != nil {
					t.Fatal(err)
				}
				if err := eng.Poll(ctx); err != nil { // the window holds all five
					t.Fatal(err)
				}

				s := eng.Stats()
				for _, tr := range []hrissync.Trigger{hrissync.TriggerBatch, hrissync.TriggerRealtime, hrissync.TriggerPoll} {
					if got := s.Triggers[tr].SourceCalls; got != c.want[tr] {
						t.Errorf("%s: source calls %+v, want %+v", tr, got, c.want[tr])
					}
				}
				// Operations are both systems' calls: 5 creates and a
				// list for the batch.
				if got, want := s.Triggers[hrissync.TriggerBatch].Operations(), 5+c.want[hrissync.TriggerBatch].List; got != want {
					t.Errorf("batch operations %d, want %d", got, want)
				}
			})
		})
	}
}
