package hrissync_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/retry"
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
