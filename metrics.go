package hrissync

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// meterName is the instrumentation scope of the engine's metrics.
const meterName = "github.com/hrissync/hrissync"

// instruments are the engine's OpenTelemetry metrics, all carrying the
// tenant. The observer records them next to Stats, which stays the
// in-process view.
type instruments struct {
	labels    []attribute.KeyValue    // the tenant, and the sink if it has a name
	sink      bool                    // one sink of several: events are the engine's, not counted here
	events    metric.Int64Counter     // outcome: accepted, duplicate, rejected
	attempts  metric.Int64Counter     // trigger, kind
	writes    metric.Int64Counter     // trigger, kind
	changes   metric.Int64Counter     // trigger: field values changed by writes
	retries   metric.Int64Counter     // trigger
	source    metric.Int64Counter     // trigger, call: get, list, changed_since
	dead      metric.Int64Counter     // trigger
	alerts    metric.Int64Counter     // kind
	latency   metric.Float64Histogram // trigger: HR change → applied, seconds
	durations metric.Float64Histogram // run: poll or batch; outcome
}

func newInstruments(mp metric.MeterProvider, tenant, sink string, e *Engine) (*instruments, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter(meterName)
	in := &instruments{labels: []attribute.KeyValue{attribute.String("tenant", tenant)}}
	if sink != "" {
		in.labels, in.sink = append(in.labels, attribute.String("sink", sink)), true
	}
	var err error
	counter := func(name, unit, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return c
	}
	in.events = counter("hrissync.events", "{event}", "Events offered to Notify, by outcome: accepted, duplicate or rejected.")
	in.attempts = counter("hrissync.sink.attempts", "{call}", "Sink calls, failed ones included, by trigger and kind.")
	in.writes = counter("hrissync.sink.writes", "{call}", "Sink calls that succeeded, by trigger and kind.")
	in.changes = counter("hrissync.changes", "{field}", "Field values changed by successful writes, by trigger.")
	in.source = counter("hrissync.source.calls", "{call}", "Source calls, failed ones included (a page each, for a Source that pages), by trigger and call: get, list or changed_since.")
	in.retries = counter("hrissync.retries", "{call}", "Sink calls after the first of their series, by trigger.")
	in.dead = counter("hrissync.dead_letters", "{person}", "People whose retries ran out, by trigger.")
	in.alerts = counter("hrissync.alerts", "{alert}", "Alerts raised, by kind.")
	if err != nil {
		return nil, err
	}
	if in.latency, err = m.Float64Histogram("hrissync.latency", metric.WithUnit("s"),
		metric.WithDescription("From the HR change (or its taking effect) to the sink's acknowledgement, by trigger."),
		metric.WithExplicitBucketBoundaries(1, 5, 15, 60, 300, 900, 3600, 4*3600, 12*3600, 24*3600, 48*3600)); err != nil {
		return nil, err
	}
	if in.durations, err = m.Float64Histogram("hrissync.run.duration", metric.WithUnit("s"),
		metric.WithDescription("How long each poll and batch took, by run and outcome.")); err != nil {
		return nil, err
	}
	depth, err := m.Int64ObservableGauge("hrissync.queue.depth", metric.WithUnit("{person}"),
		metric.WithDescription("People waiting for a worker now, by state: ready, processing, waiting (set for later)."))
	if err != nil {
		return nil, err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		ready, processing, waiting, ok := e.queueLen()
		if !ok || e.lanes != nil { // an engine of several sinks: each sink's queue is reported
			return nil
		}
		for state, n := range map[string]int{"ready": ready, "processing": processing, "waiting": waiting} {
			o.ObserveInt64(depth, int64(n), metric.WithAttributes(append([]attribute.KeyValue{attribute.String("state", state)}, in.labels...)...))
		}
		return nil
	}, depth)
	return in, err
}

func (in *instruments) attrs(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(append(kv, in.labels...)...)
}

func trig(t Trigger) attribute.KeyValue    { return attribute.String("trigger", string(t)) }
func kind(k UpdateKind) attribute.KeyValue { return attribute.String("kind", k.String()) }

func (in *instruments) event(ctx context.Context, outcome string) {
	if in.sink {
		return // an event is the engine's, counted once, by the engine
	}
	in.events.Add(ctx, 1, in.attrs(attribute.String("outcome", outcome)))
}

func (in *instruments) attempt(ctx context.Context, t Trigger, k UpdateKind, retry bool) {
	in.attempts.Add(ctx, 1, in.attrs(trig(t), kind(k)))
	if retry {
		in.retries.Add(ctx, 1, in.attrs(trig(t)))
	}
}

func (in *instruments) write(ctx context.Context, u *Update, latency time.Duration) {
	in.writes.Add(ctx, 1, in.attrs(trig(u.Trigger), kind(u.Kind)))
	in.changes.Add(ctx, int64(len(u.Changes)), in.attrs(trig(u.Trigger)))
	in.latency.Record(ctx, latency.Seconds(), in.attrs(trig(u.Trigger)))
}

func (in *instruments) sourceCall(ctx context.Context, t Trigger, c sourceCall) {
	in.source.Add(ctx, 1, in.attrs(trig(t), attribute.String("call", string(c))))
}

func (in *instruments) alert(ctx context.Context, k AlertKind) {
	in.alerts.Add(ctx, 1, in.attrs(attribute.String("kind", string(k))))
}

func (in *instruments) deadLetter(ctx context.Context, t Trigger) {
	in.dead.Add(ctx, 1, in.attrs(trig(t)))
}

func (in *instruments) run(ctx context.Context, name string, took time.Duration, err error) {
	outcome := "succeeded"
	if err != nil {
		outcome = "failed"
	}
	in.durations.Record(ctx, took.Seconds(), in.attrs(attribute.String("run", name), attribute.String("outcome", outcome)))
}
