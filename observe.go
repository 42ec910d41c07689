package hrissync

import (
	"context"
	"time"
)

// observer is the one place the engine reports what it does: each method is
// one happening, counted in both of its views — Stats (in process) and the
// OpenTelemetry metrics — where each counts it.
type observer struct {
	stats   *stats
	metrics *instruments
}

// accepted, duplicate, rejected: Notify was offered an event, and took it,
// dropped it as a repeat, or refused it.
func (o observer) accepted(ctx context.Context) {
	o.stats.add(func(s *Stats) { s.Events++ })
	o.metrics.event(ctx, "accepted")
}

func (o observer) duplicate(ctx context.Context) {
	o.stats.add(func(s *Stats) { s.Duplicates++ })
	o.metrics.event(ctx, "duplicate")
}

func (o observer) rejected(ctx context.Context) { o.metrics.event(ctx, "rejected") }

// alert: an alert was raised.
func (o observer) alert(ctx context.Context, k AlertKind) {
	o.stats.add(func(s *Stats) { s.Alerts++ })
	o.metrics.alert(ctx, k)
}

// reconcile: a person was looked at.
func (o observer) reconcile(t Trigger) {
	o.stats.trigger(t, func(s *TriggerStats) { s.Reconciles++ })
}

// deferred: a reconcile was put off (a pause, an open breaker, source lag).
func (o observer) deferred() {
	o.stats.add(func(s *Stats) { s.Deferred++ })
}

// needed: a reconcile set out to make a write, on its first attempt.
func (o observer) needed(t Trigger) {
	o.stats.trigger(t, func(s *TriggerStats) { s.NeededWrites++ })
}

// attempt: the sink was called; retry, after the first of its series.
func (o observer) attempt(ctx context.Context, t Trigger, k UpdateKind, retry bool) {
	o.stats.trigger(t, func(s *TriggerStats) {
		s.Attempts++
		if retry {
			s.Retries++
		}
	})
	o.metrics.attempt(ctx, t, k, retry)
}

// write: the sink took u (its Trigger is the reconcile's), lag after the HR
// change or its taking effect.
func (o observer) write(ctx context.Context, u *Update, lag time.Duration) {
	o.stats.trigger(u.Trigger, func(s *TriggerStats) { s.Writes++ })
	o.stats.observe(u.Trigger, lag)
	o.metrics.write(ctx, u, lag)
}

// sourceCall: the Source was called (a page read, for a listing).
func (o observer) sourceCall(ctx context.Context, t Trigger, c sourceCall) {
	o.stats.trigger(t, func(s *TriggerStats) { c.count(&s.SourceCalls) })
	o.metrics.sourceCall(ctx, t, c)
}

// dead: a person's retries ran out.
func (o observer) dead(ctx context.Context, t Trigger) {
	o.stats.trigger(t, func(s *TriggerStats) { s.DeadLetters++ })
	o.metrics.deadLetter(ctx, t)
}

// run: a poll or batch finished.
func (o observer) run(ctx context.Context, name string, took time.Duration, err error) {
	o.stats.trigger(Trigger(name), func(t *TriggerStats) {
		t.Runs++
		if err != nil {
			t.FailedRuns++
		}
	})
	o.metrics.run(ctx, name, took, err)
}
