package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/sim"
)

// The cadences a replay can compare, by the name -cadences takes.
var cadenceKeys = []string{"batch", "realtime", "hybrid", "hybrid-poll", "naive-batch", "naive-relay"}

// Plan is how to replay: which cadences, and how each is set.
type Plan struct {
	Cadences []string      // keys of cadenceKeys, in the report's order
	BatchAt  time.Duration // the batch-only cadence's hour, since midnight
	// Realtime are the fields the hybrid cadences send at once (the
	// rest go with the nightly batch); default cadence.Hybrid()'s.
	Realtime []string
	Poll     time.Duration // the second hybrid's poll interval
	Location *time.Location
	Seed     uint64
	// TerminationLimit is the engine's budget of terminations a day
	// (hrissync.Config.TerminationLimit): 0 its default (200, or a fifth
	// of the active accounts), negative none, else at most that many.
	TerminationLimit int
}

// cadenceFlag is -cadences: a comma-separated list of cadenceKeys.
type cadenceFlag struct{ keys *[]string }

func (f cadenceFlag) String() string {
	if f.keys == nil {
		return ""
	}
	return strings.Join(*f.keys, ",")
}

func (f cadenceFlag) Set(v string) error {
	var keys []string
	for k := range strings.SplitSeq(v, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(cadenceKeys, k) {
			return fmt.Errorf("unknown cadence %q: want some of %s", k, strings.Join(cadenceKeys, ","))
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	*f.keys = keys
	return nil
}

// fieldsFlag is -realtime: field names as the history names them.
type fieldsFlag struct{ fields *[]string }

func (f fieldsFlag) String() string {
	if f.fields == nil {
		return ""
	}
	return strings.Join(*f.fields, ",")
}

func (f fieldsFlag) Set(v string) error {
	names := fieldNames()
	var fields []string
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		field, ok := names[normalise(name)]
		if strings.HasPrefix(name, hrissync.AttributePrefix) {
			field, ok = name, len(name) > len(hrissync.AttributePrefix)
		}
		if !ok {
			return fmt.Errorf("unknown field %q: want an export column (see above) or attr.<name>", name)
		}
		fields = append(fields, field)
	}
	*f.fields = fields
	return nil
}

// hybrid is the hybrid policy with p's realtime fields.
func (p Plan) hybrid() cadence.Policy {
	if p.Realtime == nil {
		return cadence.Hybrid()
	}
	policy := cadence.BatchOnly()
	for _, f := range p.Realtime {
		policy = policy.With(f, cadence.Realtime)
	}
	return policy
}

// name is the report's name of the cadence key.
func (p Plan) name(key string) string {
	switch key {
	case "batch":
		return fmt.Sprintf("batch at %02d:%02d", int(p.BatchAt.Hours()), int(p.BatchAt.Minutes())%60)
	case "realtime":
		return "realtime"
	case "hybrid":
		return "hybrid"
	case "hybrid-poll":
		return "hybrid, poll " + fmtDur(p.Poll)
	case "naive-batch":
		return sim.NaiveBatch.String()
	}
	return sim.NaiveRelay.String()
}

// config is the simulation of one cadence, on top of base.
func (p Plan) config(key string, base sim.Config) sim.Config {
	c := base
	own := func(*hrissync.Config) {}
	c.Engine = func(e *hrissync.Config) {
		switch {
		case p.TerminationLimit < 0:
			e.TerminationLimit.Off = true
		case p.TerminationLimit > 0:
			e.TerminationLimit.Count = p.TerminationLimit
		}
		own(e)
	}
	switch key {
	case "batch":
		c.Policy = cadence.BatchOnly()
		own = func(e *hrissync.Config) { e.BatchSchedule = cadence.Daily(p.BatchAt, p.Location) }
	case "realtime":
		c.Policy = cadence.RealtimeOnly()
	case "hybrid":
		c.Policy = p.hybrid()
	case "hybrid-poll":
		c.Policy = p.hybrid()
		own = func(e *hrissync.Config) {
			// Every p.Poll, over the interval and the default 30
			// minutes of overlap.
			e.PollSchedule = cadence.Every(p.Poll)
			e.PollWindow = cadence.Window{Length: p.Poll + 30*time.Minute}
		}
	case "naive-batch":
		c.Way = sim.NaiveBatch
	case "naive-relay":
		c.Way = sim.NaiveRelay
	}
	return c
}

// simConfig is the simulation every cadence shares: the replay, the
// faults, the seed and the HR time zone. An outage must begin after the
// history's first change: before it, the replay is loading the export.
func (p Plan) simConfig(replay *sim.Replay, f Faults) (sim.Config, error) {
	replay.SourceDelay = f.SourceDelay
	c := sim.Config{Replay: replay, Seed: p.Seed, Location: p.Location, Serial: true, Faults: sim.Faults{
		LostWebhooks: f.WebhookLoss, DuplicateWebhooks: f.Duplicates,
		SinkErrors: f.SinkErrorRate, SinkRateLimit: f.SinkRateLimit,
	}}
	if len(replay.Changes) > 0 {
		c.Start = startOf(replay.Changes[0].At, p.Location)
		// Through the day of the last moment: a moment at midnight
		// is the previous day's end, and the settle time after it holds
		// the batch that follows.
		end, _ := lastMoment(replay, p.Location)
		last := end.Add(-time.Nanosecond)
		c.Days = daysBetween(hrissync.DateOf(c.Start.In(p.Location)), hrissync.DateOf(last.In(p.Location))) + 1
	}
	if o := f.Outage; !o.Start.IsZero() {
		if len(replay.Changes) == 0 || !o.Start.After(replay.Changes[0].At) {
			return c, fmt.Errorf("-outage %s: it must begin after the history's first change", o.String())
		}
		day := hrissync.DateOf(o.Start.In(p.Location))
		c.Faults.SourceOutages = []sim.Outage{{
			Day: daysBetween(hrissync.DateOf(c.Start.In(p.Location)), day), At: o.Start.Sub(day.Start(p.Location)), Length: o.Duration,
		}}
	}
	return c, nil
}

// dateHorizon is how long after the last change the replay runs on for
// the dates the history set (a last day, a start date): long enough for a
// notice period, short enough that a date years ahead does not make the
// replay that long.
const dateHorizon = 31 * 24 * time.Hour

// lastMoment is the last instant the replay must see: its last change (as
// the Source shows it), or a date the history set that takes effect within
// dateHorizon after it — a pre-hire provisioning, a start, a last day's
// end, in the person's zone (else hr). Beyond are the dates the history
// set later than that, which the replay does not reach: "w-2's last day
// 2026-05-04", once per person and date.
func lastMoment(r *sim.Replay, hr *time.Location) (end time.Time, beyond []string) {
	last := r.Changes[len(r.Changes)-1].At.Add(r.SourceDelay)
	horizon := last.Add(dateHorizon)
	end = last
	for _, ch := range r.Changes {
		e, loc := ch.Employee, zone(ch.Employee, hr)
		var moments []time.Time
		var names []string
		if !e.StartDate.IsZero() {
			moments = append(moments, e.StartDate.AddDays(-preHireDays).Start(loc), e.StartDate.Start(loc))
			names = append(names, "", fmt.Sprintf("%s's start %s", e.ID, e.StartDate))
		}
		if !e.TerminationDate.IsZero() && !e.Immediate { // an immediate one ended access already
			moments = append(moments, e.TerminationDate.AddDays(1).Start(loc))
			names = append(names, fmt.Sprintf("%s's last day %s", e.ID, e.TerminationDate))
		}
		for i, m := range moments {
			switch {
			case m.After(horizon):
				if names[i] != "" && !slices.Contains(beyond, names[i]) {
					beyond = append(beyond, names[i])
				}
			case m.After(end):
				end = m
			}
		}
	}
	return end, beyond
}

// preHireDays is the engine's default lead before a start date, which the
// simulator keeps (hrissync.Config.PreHireDays).
const preHireDays = 7

// startOf is where a replay starts: the midnight before its first change,
// a day earlier if that leaves the initial load less than a minute.
func startOf(first time.Time, loc *time.Location) time.Time {
	start := hrissync.DateOf(first.In(loc)).Start(loc)
	if first.Sub(start) <= time.Minute {
		start = hrissync.DateOf(first.In(loc)).AddDays(-1).Start(loc)
	}
	return start
}

// daysBetween is how many days b is after a.
func daysBetween(a, b hrissync.Date) int {
	return int(b.Start(time.UTC).Sub(a.Start(time.UTC)).Round(time.Hour).Hours() / 24)
}

// replayAll runs every cadence of p on the replay, at most two at a time
// (the machines CI runs on have two cores), and returns the results in
// p's order with the terminations they measured.
func replayAll(ctx context.Context, p Plan, replay *sim.Replay, f Faults) ([]Result, []leaver, error) {
	base, err := p.simConfig(replay, f)
	if err != nil {
		return nil, nil, err
	}
	reports := make([]*sim.Report, len(p.Cadences))
	errs := make([]error, len(p.Cadences))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, key := range p.Cadences {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i], errs[i] = sim.Run(ctx, p.config(key, base))
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", p.name(key), errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if len(reports) == 0 {
		return nil, nil, nil
	}
	ends := leavers(reports[0])
	results := make([]Result, len(reports))
	for i, rep := range reports {
		results[i] = result(p.name(p.Cadences[i]), rep, ends, p.Location)
	}
	return results, ends, nil
}
