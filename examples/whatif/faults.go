package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Faults are the faults the replay injects. In this slice they are only
// parsed and checked.
type Faults struct {
	WebhookLoss   float64       // share of webhooks never delivered, in [0,1]
	Duplicates    float64       // share of webhooks delivered twice, in [0,1]
	SinkErrorRate float64       // share of sink writes failing (retryably), in [0,1]
	SinkRateLimit float64       // sink writes per second; 0 means no limit
	Outage        Outage        // a window when the source answers nothing; zero means none
	SourceDelay   time.Duration // the source's own sync delay (unified APIs)
}

// Outage is a window of source unavailability: start/duration, e.g.
// 2026-03-04T02:00:00Z/40m.
type Outage struct {
	Start    time.Time
	Duration time.Duration
}

// String implements flag.Value.
func (o *Outage) String() string {
	if o == nil || o.Start.IsZero() {
		return ""
	}
	return o.Start.Format(time.RFC3339) + "/" + o.Duration.String()
}

// Set implements flag.Value.
func (o *Outage) Set(v string) error {
	start, dur, ok := strings.Cut(v, "/")
	if !ok {
		return errors.New("want start/duration, e.g. 2026-03-04T02:00:00Z/40m")
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return fmt.Errorf("start %q: want RFC 3339", start)
	}
	d, err := time.ParseDuration(dur)
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as 40m or 2h", dur)
	}
	if d <= 0 {
		return fmt.Errorf("duration %s: want more than zero", d)
	}
	o.Start, o.Duration = t, d
	return nil
}

// check checks the ranges.
func (f Faults) check() error {
	var errs []error
	share := func(name string, v float64) {
		if !(v >= 0 && v <= 1) { // also refuses NaN
			errs = append(errs, fmt.Errorf("-%s %v: want a share in [0,1]", name, v))
		}
	}
	share("webhook-loss", f.WebhookLoss)
	share("duplicates", f.Duplicates)
	share("sink-error-rate", f.SinkErrorRate)
	if !(f.SinkRateLimit >= 0) || f.SinkRateLimit > 1e9 {
		errs = append(errs, fmt.Errorf("-sink-rate-limit %v: want writes per second ≥ 0 (0: no limit)", f.SinkRateLimit))
	}
	if f.SourceDelay < 0 {
		errs = append(errs, fmt.Errorf("-source-delay %s: want a duration ≥ 0", f.SourceDelay))
	}
	return errors.Join(errs...)
}

// String sums the faults up in one line.
func (f Faults) String() string {
	var parts []string
	if f.WebhookLoss > 0 {
		parts = append(parts, fmt.Sprintf("webhook loss %.0f%%", 100*f.WebhookLoss))
	}
	if f.Duplicates > 0 {
		parts = append(parts, fmt.Sprintf("duplicates %.0f%%", 100*f.Duplicates))
	}
	if f.SinkErrorRate > 0 {
		parts = append(parts, fmt.Sprintf("sink errors %.0f%%", 100*f.SinkErrorRate))
	}
	if f.SinkRateLimit > 0 {
		parts = append(parts, fmt.Sprintf("sink limit %g writes/s", f.SinkRateLimit))
	}
	if !f.Outage.Start.IsZero() {
		parts = append(parts, "source outage "+f.Outage.String())
	}
	if f.SourceDelay > 0 {
		parts = append(parts, "source sync delay "+f.SourceDelay.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// faultFlags registers the fault flags on fs.
func faultFlags(fs *flag.FlagSet, f *Faults) {
	fs.Float64Var(&f.WebhookLoss, "webhook-loss", 0, "share of webhooks lost, in [0,1]: the change reaches the platform only by the poll or the batch")
	fs.Float64Var(&f.Duplicates, "duplicates", 0, "share of webhooks delivered twice, in [0,1]")
	fs.Float64Var(&f.SinkErrorRate, "sink-error-rate", 0, "share of sink writes failing with a retryable error, in [0,1]")
	fs.Float64Var(&f.SinkRateLimit, "sink-rate-limit", 0, "the sink's rate limit in writes per second (0: no limit)")
	fs.Var(&f.Outage, "outage", "a source outage, `start/duration` (RFC 3339 start, Go duration), e.g. 2026-03-04T02:00:00Z/40m")
	fs.DurationVar(&f.SourceDelay, "source-delay", 0, "the source's own sync delay before a change is visible (unified APIs), e.g. 15m; ≥ 0")
}
