package hrissync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// TestMetrics: a scripted run — a batch of three creates, an event and its
// repeat, a malformed event, a write refused for good — read back through the
// OpenTelemetry SDK's manual reader, by name, attributes and value.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		var progress []hrissync.BatchProgress
		var logs bytes.Buffer
		r := start(t, hrissync.Config{Tenant: "acme", MeterProvider: mp, Progress: func(p hrissync.BatchProgress) { progress = append(progress, p) },
			Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		staff(r, 3)
		if err := r.eng.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		r.hr.update("w-0001", func(e *hrissync.Employee) { e.Role = "Lead" })
		r.notify("w-0001")
		r.events-- // the same event id again: a duplicate
		r.notify("w-0001")
		if err := r.eng.Notify(ctx, hrissync.Event{EmployeeID: "w-0002"}); !errors.Is(err, hrissync.ErrInvalidEvent) {
			t.Fatalf("an event without an id: %v", err)
		}
		r.lms.setFail(func(hrissync.Update) error { return retry.Permanent(errors.New("400 invalid email")) })
		r.hr.update("w-0002", func(e *hrissync.Employee) { e.Email = "bad" })
		r.notify("w-0002")
		r.sleep(time.Minute) // the dead letter's alert waits for its group

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		sums := map[string]int64{}
		histograms := map[string]uint64{}
		for _, sm := range rm.ScopeMetrics {
			if sm.Scope.Name != "github.com/hrissync/hrissync" {
				t.Errorf("scope %q", sm.Scope.Name)
			}
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						sums[m.Name+label(p.Attributes)] += p.Value
					}
				case metricdata.Histogram[float64]:
					for _, p := range d.DataPoints {
						histograms[m.Name+label(p.Attributes)] += p.Count
					}
				case metricdata.Gauge[int64]:
					for _, p := range d.DataPoints {
						sums[m.Name+label(p.Attributes)] = p.Value
					}
				}
			}
		}
		want := map[string]int64{
			"hrissync.events{outcome=accepted,tenant=acme}":                    2,
			"hrissync.events{outcome=duplicate,tenant=acme}":                   1,
			"hrissync.events{outcome=rejected,tenant=acme}":                    1,
			"hrissync.sink.writes{kind=create,tenant=acme,trigger=batch}":      3,
			"hrissync.sink.writes{kind=update,tenant=acme,trigger=realtime}":   1,
			"hrissync.sink.attempts{kind=update,tenant=acme,trigger=realtime}": 2,
			"hrissync.changes{tenant=acme,trigger=realtime}":                   1,
			"hrissync.dead_letters{tenant=acme,trigger=realtime}":              1,
			"hrissync.alerts{kind=retries-exhausted,tenant=acme}":              1,
			"hrissync.queue.depth{state=ready,tenant=acme}":                    0,
			"hrissync.source.calls{call=list,tenant=acme,trigger=batch}":       1,
			"hrissync.source.calls{call=get,tenant=acme,trigger=realtime}":     2,
		}
		for k, v := range want {
			if got, ok := sums[k]; !ok || got != v {
				t.Errorf("%s = %d (recorded: %v), want %d", k, got, ok, v)
			}
		}
		if n := histograms["hrissync.run.duration{outcome=succeeded,run=batch,tenant=acme}"]; n != 1 {
			t.Errorf("batch durations recorded: %d, want 1 (%v)", n, histograms)
		}
		if n := histograms["hrissync.latency{tenant=acme,trigger=realtime}"]; n != 1 {
			t.Errorf("realtime latencies recorded: %d, want 1 (%v)", n, histograms)
		}
		if len(progress) == 0 || !progress[len(progress)-1].Finished || progress[len(progress)-1].Done != 3 {
			t.Errorf("batch progress: %+v", progress)
		}
		// Info names people by id only: no field values, no errors
		// quoting them.
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, `"level":"INFO"`) && (strings.Contains(line, "@example.com") || strings.Contains(line, "Lead") || strings.Contains(line, "bad")) {
				t.Errorf("personal data at Info: %s", line)
			}
		}
		if !strings.Contains(logs.String(), `"msg":"batch finished"`) {
			t.Errorf("no Info line for the batch: %s", logs.String())
		}
		if runs := r.eng.Recent(); len(runs) != 1 || runs[0].Name != "batch" || runs[0].Writes != 3 || runs[0].Outcome != "succeeded" {
			t.Errorf("recent runs: %+v", runs)
		}
	})
}

// label renders attributes in key order: {k=v,...}.
func label(s attribute.Set) string {
	out := "{"
	for i, kv := range s.ToSlice() {
		if i > 0 {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.Emit()
	}
	return out + "}"
}

// collect reads every data point through reader: sums and gauges by name and
// attributes, and every attribute set seen per instrument.
func collect(t *testing.T, reader *sdkmetric.ManualReader) (sums map[string]int64, sets map[string][]attribute.Set) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums, sets = map[string]int64{}, map[string][]attribute.Set{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name+label(p.Attributes)] += p.Value
					sets[m.Name] = append(sets[m.Name], p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name+label(p.Attributes)] = p.Value
					sets[m.Name] = append(sets[m.Name], p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets[m.Name] = append(sets[m.Name], p.Attributes)
				}
			}
		}
	}
	return sums, sets
}

// TestMetricsPerSink: an engine of two sinks (NewMulti) reports each sink's
// instruments with a sink attribute — hrissync.sink.writes{sink=lxp} counts
// the LXP's writes only — and what the engine does once for both (the
// events it accepts, the batch's list) without one; the tenant attribute is
// the tenant's. An engine of one sink (New) has no sink attribute anywhere.
func TestMetricsPerSink(t *testing.T) {
	t.Run("NewMulti", func(t *testing.T) { synctest.Test(t, metricsOfTwoSinks) })
	t.Run("New", func(t *testing.T) { synctest.Test(t, metricsOfOneSink) })
}

func metricsOfTwoSinks(t *testing.T) {
	ctx := t.Context()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	// Started before the bubble's clock (2000-01-01): everyone has access.
	for i := range 6 {
		dept := "Sales"
		if i < 2 {
			dept = "R&D"
		}
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(1999, 1, 4), Role: "Engineer", Department: dept})
	}
	lms, lxp := memory.NewPlatform(hrissync.RealClock{}, 1), memory.NewPlatform(hrissync.RealClock{}, 2)
	eng, err := hrissync.NewMulti(hris, []hrissync.Destination{
		{Name: "lms", Sink: lms},
		{Name: "lxp", Sink: lxp, InScope: func(e hrissync.Employee) bool { return e.Department == "R&D" }},
	}, memstore.New(), &hrissync.Config{Tenant: "acme", MeterProvider: mp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- eng.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	<-eng.Started()
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := hris.Update("role", "w-0000", func(e *hrissync.Employee) { e.Role = "Lead" })
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Notify(ctx, hrissync.Event{ID: "evt-1", EmployeeID: "w-0000", OccurredAt: e.Version.Time}); err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n, m := len(lms.Snapshot()), len(lxp.Snapshot()); n != 6 || m != 2 {
		t.Fatalf("lms holds %d accounts, lxp %d; want 6 and 2", n, m)
	}

	sums, sets := collect(t, reader)
	want := map[string]int64{
		"hrissync.sink.writes{kind=create,sink=lms,tenant=acme,trigger=batch}":    6,
		"hrissync.sink.writes{kind=create,sink=lxp,tenant=acme,trigger=batch}":    2,
		"hrissync.sink.writes{kind=update,sink=lms,tenant=acme,trigger=realtime}": 1,
		"hrissync.sink.writes{kind=update,sink=lxp,tenant=acme,trigger=realtime}": 1,
		"hrissync.events{outcome=accepted,tenant=acme}":                           1,
		"hrissync.source.calls{call=list,tenant=acme,trigger=batch}":              1,
	}
	for k, v := range want {
		if got, ok := sums[k]; !ok || got != v {
			t.Errorf("%s = %d (recorded: %v), want %d", k, got, ok, v)
		}
	}
	// An event is the engine's: counted once, by no sink.
	for _, s := range sets["hrissync.events"] {
		if _, ok := s.Value("sink"); ok {
			t.Errorf("hrissync.events%s: counted by a sink as well as by the engine", label(s))
		}
	}
	// Every sink's instrument names its sink: no write, attempt,
	// change or latency is the engine's as a whole.
	for _, name := range []string{"hrissync.sink.writes", "hrissync.sink.attempts", "hrissync.changes", "hrissync.latency"} {
		if len(sets[name]) == 0 {
			t.Errorf("%s: nothing recorded", name)
		}
		for _, s := range sets[name] {
			if v, ok := s.Value("sink"); !ok || (v.AsString() != "lms" && v.AsString() != "lxp") {
				t.Errorf("%s%s: no sink attribute, or not one of the sinks", name, label(s))
			}
		}
	}
	// The tenant attribute is the tenant's, never the Store's key
	// for the sink (store.SinkKey).
	for name, ss := range sets {
		for _, s := range ss {
			if v, ok := s.Value("tenant"); !ok || v.AsString() != "acme" {
				t.Errorf("%s%s: tenant %q, want acme", name, label(s), v.AsString())
			}
		}
	}
}

// metricsOfOneSink: an engine built by New, as before, has no sink
// attribute anywhere.
func metricsOfOneSink(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	hris := memory.NewHRIS(hrissync.RealClock{}, 1)
	hris.Load(hrissync.Employee{ID: "w-1", Email: "w-1@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(1999, 1, 4)})
	eng, err := hrissync.New(hris, memory.NewPlatform(hrissync.RealClock{}, 1), memstore.New(),
		&hrissync.Config{Tenant: "acme", MeterProvider: mp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(t.Context()); err != nil {
		t.Fatal(err)
	}
	sums, sets := collect(t, reader)
	if got := sums["hrissync.sink.writes{kind=create,tenant=acme,trigger=batch}"]; got != 1 {
		t.Errorf("one-sink writes = %d, want 1 (recorded: %v)", got, sums)
	}
	for name, ss := range sets {
		for _, s := range ss {
			if _, ok := s.Value("sink"); ok {
				t.Errorf("%s%s: an engine of one sink names a sink", name, label(s))
			}
		}
	}
}
