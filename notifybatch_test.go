package hrissync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// TestNotifyBatch: a delivery of 100 events, one without an id and one
// reusing an id for another event, records the 98 others; delivered again,
// every one is a repeat; each person's change reaches every sink once.
func TestNotifyBatch(t *testing.T) {
	for _, sinks := range []int{1, 2} {
		t.Run(fmt.Sprint(sinks, " sinks"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hris := memory.NewHRIS(hrissync.RealClock{}, 1)
				for i := range 100 {
					id := fmt.Sprintf("w-%03d", i)
					hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4)})
				}
				var platforms []*memory.Platform
				var eng *hrissync.Engine
				var err error
				cfg := &hrissync.Config{Logger: slog.New(slog.DiscardHandler)}
				if sinks == 1 {
					platforms = append(platforms, memory.NewPlatform(hrissync.RealClock{}, 1))
					eng, err = hrissync.New(hris, platforms[0], memstore.New(), cfg)
				} else {
					var dests []hrissync.Destination
					for i := range sinks {
						p := memory.NewPlatform(hrissync.RealClock{}, uint64(i+1))
						platforms = append(platforms, p)
						dests = append(dests, hrissync.Destination{Name: fmt.Sprint("sink", i), Sink: p})
					}
					eng, err = hrissync.NewMulti(hris, dests, memstore.New(), cfg)
				}
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- eng.Run(ctx) }()
				defer func() { cancel(); <-done }()
				if err := eng.Batch(ctx); err != nil {
					t.Fatal(err)
				}
				if err := eng.Notify(ctx, hrissync.Event{ID: "evt-005", EmployeeID: "w-999"}); err != nil {
					t.Fatal(err) // the id is now another person's event
				}
				var evs []hrissync.Event
				for i := range 100 {
					id := fmt.Sprintf("w-%03d", i)
					e, err := hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" })
					if err != nil {
						t.Fatal(err)
					}
					evs = append(evs, hrissync.Event{ID: fmt.Sprintf("evt-%03d", i), EmployeeID: id, OccurredAt: e.Version.Time})
				}
				evs[7].ID = ""
				errs, err := eng.NotifyBatch(ctx, evs)
				if err != nil {
					t.Fatal(err)
				}
				for i, err := range errs {
					switch {
					case i == 5 && !errors.Is(err, hrissync.ErrEventConflict):
						t.Errorf("event 5 (an id reused): %v, want ErrEventConflict", err)
					case i == 7 && !errors.Is(err, hrissync.ErrInvalidEvent):
						t.Errorf("event 7 (no id): %v, want ErrInvalidEvent", err)
					case i != 5 && i != 7 && err != nil:
						t.Errorf("event %d: %v", i, err)
					}
				}
				if s := eng.Stats(); s.Events != 99 {
					t.Errorf("%d events recorded, want 99 (98 and the earlier one)", s.Events)
				}
				if _, err := eng.NotifyBatch(ctx, evs); err != nil {
					t.Fatal(err)
				}
				if s := eng.Stats(); s.Events != 99 || s.Duplicates != 98 {
					t.Errorf("delivered again: %d events, %d repeats; want 99 and 98", s.Events, s.Duplicates)
				}
				if err := eng.WaitIdle(ctx); err != nil {
					t.Fatal(err)
				}
				for _, p := range platforms {
					for i := range 100 {
						id := fmt.Sprintf("w-%03d", i)
						a, _ := p.Account(id)
						if want := i != 5 && i != 7; (a.Fields[hrissync.FieldRole] == "Lead") != want {
							t.Errorf("%s: role %q", id, a.Fields[hrissync.FieldRole])
						}
					}
					if c := p.Counts(); c.Writes != 100+98 {
						t.Errorf("platform writes %d, want 100 creates and 98 updates", c.Writes)
					}
				}
			})
		})
	}
}
