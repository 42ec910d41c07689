package sim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
)

// Report is what a simulation measured, from the end of the initial load.
//
// With several sinks (Config.Sinks), Sinks has each sink's Report, and the
// Report itself is the engine's: its writes, attempts, needed writes, lost
// and coalesced changes are every sink's added, it converged if every sink
// did, its Triggers and SourceCalls are the engine's (a Source call counted
// once, whichever sink made it), and its Alerts, audit entries and Runs
// every sink's; the rest — expectations, latencies, Expected and Actual,
// the leavers' and storm's figures — is the first sink's.
type Report struct {
	// Sink is the sink's name in a Report of Sinks; empty otherwise.
	Sink         string
	Policy       string
	People, Days int
	// Sinks are the reports of the sinks of a simulation of several, in
	// the order of Config.Sinks; nil with one.
	Sinks []*Report

	// HRChanges counts the changes HR made; Webhooks the deliveries sent
	// (duplicates included); LostWebhooks those never sent.
	HRChanges, Webhooks, LostWebhooks int

	// Needed are the platform writes that changed something (what a
	// perfect engine makes), Writes every write that succeeded, Attempts
	// every call, failed ones included.
	Needed, Writes, Attempts int64
	// Triggers are the engine's counts per trigger.
	Triggers map[hrissync.Trigger]hrissync.TriggerStats
	// SourceCalls are the engine's calls of the Source, every trigger
	// together (zero for the reference ways, which count none).
	// Operations, Attempts plus these, are the seed's measure of cost.
	// In a Report of Sinks, the calls that sink made: a read serving
	// several sinks counts for the one that made it.
	SourceCalls hrissync.SourceCalls
	// SourceReads are the Source's calls as the Source saw them,
	// counted on the way in, every sink together.
	SourceReads SourceReads

	// Latency from the HR change (or the moment it took effect) to the
	// platform holding it: terminations (access removed), the other
	// realtime fields, and attributes (batch fields under the hybrid
	// policy), whatever the cadence simulated.
	Terminations, Realtime, Attributes hrissync.Percentiles

	// Lost counts changes the platform never came to hold; Coalesced those
	// overtaken by a newer value written in their place.
	Lost, Coalesced int
	// Premature counts writes that gave or removed access when HR said
	// otherwise at that instant: a termination applied early, say.
	Premature int
	// Converged reports that the platform ends equal to the HRIS.
	Converged bool
	// Expected and Actual are the final states compared, by employee ID.
	Expected, Actual map[string]AccountView

	// Storm reports the reorganisation storm, if there was one.
	Storm *StormResult

	// StaleNights counts the nights whose full list was an earlier export
	// (Faults.StaleExports), StaleRecords the records those exports held
	// older than the HRIS did, or left out.
	StaleNights, StaleRecords int
	// What the churn did: rehires on which HR kept the old last day,
	// dismissals taking effect at once, suspensions, hires withdrawn
	// before their start.
	RehiresKeepingDate, Dismissals, Suspensions, Withdrawals int
	// Conversions lists the people HR re-keyed: old worker id, new.
	Conversions [][2]string
	// LeaversByZone counts the terminations applied (access removed), by
	// the worker's time zone.
	LeaversByZone map[string]int
	// NotFound reports the 404 outage (Faults.NotFound), if there was one.
	NotFound *NotFoundResult
	// FalselyDeactivated counts deactivations of people HR said should
	// have access at that instant: must be 0.
	FalselyDeactivated int
	// LateLeavers counts the people whose access ended later than the
	// realtime budget allows after their moment (LeaverBudget), or never,
	// leaving aside those the 404 outage hid: must be 0 under a cadence
	// with realtime terminations.
	LateLeavers int
	// Strays counts writes that gave access to someone out of the
	// sink's scope (Sink.InScope) at that instant: must be 0.
	Strays int
	// OutOfScope are the people in the HRIS at the end who were never in
	// the sink's scope (nil without one); WrittenOutOfScope counts those
	// of them the platform was ever written for: must be 0.
	OutOfScope        []string
	WrittenOutOfScope int

	// Daily is the platform's and the Source's traffic day by day (the
	// first platform's, with Sinks).
	Daily []Day

	Alerts       []hrissync.Alert
	AuditEntries int
	Runs         []audit.Entry // the batch run summaries, in order
	Expectations []*Expectation
	Deliveries   []memory.Delivery
	End          time.Time
}

// NotFoundResult is what the 404 outage did.
type NotFoundResult struct {
	From, To time.Time
	// People are those the outage hides (its share of everyone in the
	// HRIS); Refused those Get actually answered 404.
	People, Refused int
	// Leavers are the hidden people whose access was to end during the
	// outage; Late those of them whose access ended later than the
	// realtime budget, LateBy the longest any ended after the outage did
	// (it must be within one poll interval and the retries).
	Leavers, Late int
	LateBy        time.Duration
	// Delayed counts the hidden people's other realtime changes (access
	// granted or restored, a field) applied later than the realtime
	// budget: the engine reads a 404 for someone without access as "not
	// in the Source", so these wait for a poll that lists them, or the
	// batch.
	Delayed int
}

// LeaverBudget is the latest a leaver's access may end after their moment
// (the last day's cutover in their zone, or the HR change that ends it at
// once) under faults f: a lost webhook, or retries run out, leave it to the
// next poll but one, each write retried for up to three minutes plus a 429
// burst.
func LeaverBudget(since time.Time, f Faults) time.Time {
	retry := retryBudget(f)
	return nextPoll(since.Add(f.WebhookDelay + retry)).Add(time.Hour + retry)
}

func retryBudget(f Faults) time.Duration { return 3*time.Minute + f.ThrottleLength + time.Second }

func nextPoll(after time.Time) time.Time { return after.Truncate(time.Hour).Add(time.Hour) }

// StormResult is what the storm cost: the people it changed, the writes
// made from its start until the last of its changes was applied, and how long
// that took in simulated time.
type StormResult struct {
	Changes, People, Writes int
	Converged               time.Duration
}

// AccountView is an account as compared at the end: activity and, for an
// active account, every non-empty field; a disabled account shows only its
// status.
type AccountView struct {
	Active bool
	Fields map[string]string
}

func normalise(active bool, fields hrissync.Fields) AccountView {
	v := AccountView{Active: active, Fields: map[string]string{}}
	for k, val := range fields {
		if val != "" && (active || k == hrissync.FieldStatus) {
			v.Fields[k] = val
		}
	}
	return v
}

type baseline struct {
	counts   []memory.Counts // by target
	triggers map[hrissync.Trigger]hrissync.TriggerStats
	lanes    []map[hrissync.Trigger]hrissync.TriggerStats // by target, with Sinks
	reads    SourceReads
	audit    int
}

func (s *simulation) snapshot() baseline {
	b := baseline{triggers: s.eng.Stats().Triggers, reads: s.reads.reads(), audit: s.audit.Len()}
	for _, t := range s.targets {
		b.counts = append(b.counts, t.platform.Counts())
		if len(s.cfg.Sinks) > 0 {
			b.lanes = append(b.lanes, s.engine.Sink(t.name).Stats().Triggers)
		}
	}
	return b
}

func (s *simulation) report(ctx context.Context, base baseline) (*Report, error) {
	end := s.mark(s.end)
	s.mu.Lock()
	daily := days(append(s.marks, end), s.cfg.Location)
	s.mu.Unlock()
	rep, err := s.reports(ctx, base)
	if rep != nil {
		rep.Daily = daily
	}
	return rep, err
}

func (s *simulation) reports(ctx context.Context, base baseline) (*Report, error) {
	if len(s.cfg.Sinks) == 0 {
		r := s.sinkReport(0, base)
		r.triggers(s.eng.Stats().Triggers, base.triggers)
		s.mu.Lock()
		r.Alerts = slices.Clone(s.alerts)
		s.mu.Unlock()
		r.audit(s.audit.Entries()[base.audit:], func(audit.Entry) bool { return true })
		return r, ctx.Err()
	}
	var sinks []*Report
	var names []string
	for i, t := range s.targets {
		r := s.sinkReport(i, base)
		r.triggers(s.engine.Sink(t.name).Stats().Triggers, base.lanes[i])
		s.mu.Lock()
		for _, a := range s.alerts {
			if a.Sink == t.name {
				r.Alerts = append(r.Alerts, a)
			}
		}
		s.mu.Unlock()
		r.audit(s.audit.Entries()[base.audit:], func(e audit.Entry) bool { return e.Sink == t.name })
		sinks = append(sinks, r)
		names = append(names, t.name+":"+r.Policy)
	}
	// The engine's report: the first sink's, but for the figures of
	// every sink, added, and the engine's own.
	r := *sinks[0]
	r.Sink, r.Policy, r.Sinks = "", strings.Join(names, " "), sinks
	r.Needed, r.Writes, r.Attempts = 0, 0, 0
	r.Lost, r.Coalesced, r.Premature, r.FalselyDeactivated, r.LateLeavers, r.Strays, r.WrittenOutOfScope = 0, 0, 0, 0, 0, 0, 0
	r.OutOfScope = nil
	r.Converged = true
	for _, k := range sinks {
		r.Needed += k.Needed
		r.Writes += k.Writes
		r.Attempts += k.Attempts
		r.Lost += k.Lost
		r.Coalesced += k.Coalesced
		r.Premature += k.Premature
		r.FalselyDeactivated += k.FalselyDeactivated
		r.LateLeavers += k.LateLeavers
		r.Strays += k.Strays
		r.WrittenOutOfScope += k.WrittenOutOfScope
		r.Converged = r.Converged && k.Converged
	}
	r.triggers(s.eng.Stats().Triggers, base.triggers)
	s.mu.Lock()
	r.Alerts = slices.Clone(s.alerts)
	s.mu.Unlock()
	r.audit(s.audit.Entries()[base.audit:], func(audit.Entry) bool { return true })
	r.Runs = nil
	for _, e := range s.audit.Entries() {
		if e.Action == audit.ActionRunSummary {
			r.Runs = append(r.Runs, e)
		}
	}
	return &r, ctx.Err()
}

// triggers sets the counts per trigger, since base.
func (r *Report) triggers(now, base map[hrissync.Trigger]hrissync.TriggerStats) {
	r.Triggers = map[hrissync.Trigger]hrissync.TriggerStats{}
	r.SourceCalls = hrissync.SourceCalls{}
	for t, ts := range now {
		b := base[t]
		ts.Reconciles -= b.Reconciles
		ts.NeededWrites -= b.NeededWrites
		ts.Writes -= b.Writes
		ts.Attempts -= b.Attempts
		ts.Retries -= b.Retries
		ts.DeadLetters -= b.DeadLetters
		ts.SourceCalls.Get -= b.SourceCalls.Get
		ts.SourceCalls.List -= b.SourceCalls.List
		ts.SourceCalls.ChangedSince -= b.SourceCalls.ChangedSince
		r.Triggers[t] = ts
		r.SourceCalls.Get += ts.SourceCalls.Get
		r.SourceCalls.List += ts.SourceCalls.List
		r.SourceCalls.ChangedSince += ts.SourceCalls.ChangedSince
	}
}

// audit counts the entries since the initial load that keep accepts.
func (r *Report) audit(since []audit.Entry, keep func(audit.Entry) bool) {
	r.AuditEntries = 0
	for _, e := range since {
		if keep(e) {
			r.AuditEntries++
		}
	}
}

// sinkReport is the report of the i-th platform: its writes, what the
// oracle expected of it and what it holds, and the figures the simulation
// shares (the HR changes, the webhooks, the Source).
func (s *simulation) sinkReport(i int, base baseline) *Report {
	t := s.targets[i]
	name := t.policy.Name()
	if s.cfg.Way != Engine {
		name = s.cfg.Way.String()
	}
	r := &Report{Sink: t.name, Policy: name, People: s.cfg.People, Days: s.cfg.Days, End: s.end}
	c, b := t.platform.Counts(), base.counts[i]
	r.Needed, r.Writes, r.Attempts = c.Changed-b.Changed, c.Writes-b.Writes, c.Attempts-b.Attempts
	r.SourceReads = s.reads.reads().minus(base.reads)
	r.Deliveries = s.hris.Deliveries()
	for _, d := range r.Deliveries {
		r.HRChanges++
		r.Webhooks += len(d.Delivered)
		if d.Lost {
			r.LostWebhooks++
		}
	}
	if s.cfg.Way == NaiveBatch || (s.cfg.Way == Engine && !s.cfg.realtime()) {
		r.Webhooks, r.LostWebhooks = 0, 0
	}

	s.mu.Lock()
	r.Premature, r.FalselyDeactivated, r.Strays = t.premature, t.falselyOff, t.strays
	r.RehiresKeepingDate, r.Dismissals, r.Suspensions, r.Withdrawals = s.keptDate, s.immediate, s.suspended, s.withdrawn
	r.Conversions = slices.Clone(s.converted)
	r.Expectations = slices.Clone(t.done)
	for _, list := range t.pending {
		r.Expectations = append(r.Expectations, list...)
	}
	r.Expected = map[string]AccountView{}
	for id, pv := range t.expected {
		if pv.exists {
			r.Expected[id] = normalise(pv.active, pv.fields)
		}
	}
	written := maps.Clone(t.written)
	s.mu.Unlock()
	if t.inScope != nil {
		r.OutOfScope = s.neverInScope(t)
		for _, id := range r.OutOfScope {
			if written[id] {
				r.WrittenOutOfScope++
			}
		}
	}
	r.Actual = map[string]AccountView{}
	for id, a := range t.platform.Snapshot() {
		r.Actual[id] = normalise(a.Active, a.Fields)
	}
	r.Converged = maps.EqualFunc(r.Expected, r.Actual, func(a, b AccountView) bool {
		return a.Active == b.Active && maps.Equal(a.Fields, b.Fields)
	})

	var term, rt, attr []time.Duration
	for _, e := range r.Expectations {
		switch {
		case e.Superseded:
			r.Coalesced++
		case e.Applied.IsZero():
			if s.held(r.Actual, e) {
				r.Coalesced++ // the platform already held it: nothing to write
			} else {
				r.Lost++
			}
		case e.Termination():
			term = append(term, e.Latency())
		case e.Class == cadence.Realtime:
			rt = append(rt, e.Latency())
		default:
			attr = append(attr, e.Latency())
		}
	}
	r.Terminations, r.Realtime, r.Attributes = percentiles(term), percentiles(rt), percentiles(attr)
	s.leavers(r)
	if st := s.cfg.Storm; st != nil {
		r.Storm = s.stormResult(t, r.Expectations)
	}
	for _, e := range s.audit.Entries() {
		if e.Action == audit.ActionRunSummary && (len(s.cfg.Sinks) == 0 || e.Sink == t.name) {
			r.Runs = append(r.Runs, e)
		}
	}
	return r
}

// neverInScope are the people the HRIS holds whose every version was out of
// t's scope, sorted.
func (s *simulation) neverInScope(t *target) []string {
	var out []string
	s.src.mu.Lock()
	defer s.src.mu.Unlock()
	for id, versions := range s.src.history {
		if _, ok := s.hris.Employee(id); ok && !slices.ContainsFunc(versions, t.scoped) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// held reports whether the platform ends holding e's value.
func (s *simulation) held(actual map[string]AccountView, e *Expectation) bool {
	a, ok := actual[e.EmployeeID]
	if !ok {
		return false
	}
	if e.Field == activeField {
		return boolString(a.Active) == e.Value
	}
	return !a.Active || a.Fields[e.Field] == e.Value
}

func percentiles(ds []time.Duration) hrissync.Percentiles {
	if len(ds) == 0 {
		return hrissync.Percentiles{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(int(q*float64(len(ds))), len(ds)-1)] }
	return hrissync.Percentiles{Count: int64(len(ds)), P50: at(0.5), P99: at(0.99), Max: ds[len(ds)-1]}
}

// Summary is the report's last line: converged=yes|no lost=N writes=N
// needed=N attempts=N (with several sinks, every sink's: converged if each
// did, the rest added).
func (r *Report) Summary() string {
	conv := "no"
	if r.Converged {
		conv = "yes"
	}
	return fmt.Sprintf("converged=%s lost=%d writes=%d needed=%d attempts=%d", conv, r.Lost, r.Writes, r.Needed, r.Attempts)
}

// Operations are the integration operations the seed counts cost in:
// every sink call that reached the platform and every Source call.
func (r *Report) Operations() int64 { return r.Attempts + r.SourceCalls.Total() }

// WriteTable prints reports side by side, one column per cadence (or per
// sink, given a Report's Sinks).
func WriteTable(w io.Writer, reports ...*Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(*Report) string) {
		cells := []string{name}
		for _, r := range reports {
			cells = append(cells, f(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	num := func(n int64) string { return fmt.Sprint(n) }
	lat := func(p hrissync.Percentiles) string {
		if p.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("%s / %s / %s", short(p.P50), short(p.P99), short(p.Max))
	}
	sinks := slices.ContainsFunc(reports, func(r *Report) bool { return r.Sink != "" })
	if sinks {
		row("sink", func(r *Report) string { return r.Sink })
	}
	row("cadence", func(r *Report) string { return r.Policy })
	row("people × days", func(r *Report) string { return fmt.Sprintf("%d × %d", r.People, r.Days) })
	row("HR changes", func(r *Report) string { return fmt.Sprint(r.HRChanges) })
	row("webhooks delivered / lost", func(r *Report) string { return fmt.Sprintf("%d / %d", r.Webhooks, r.LostWebhooks) })
	for _, t := range hrissync.AllTriggers() {
		row("writes by "+string(t), func(r *Report) string { return num(r.Triggers[t].Writes) })
	}
	row("needed writes", func(r *Report) string { return num(r.Needed) })
	row("writes", func(r *Report) string { return num(r.Writes) })
	row("attempts", func(r *Report) string { return num(r.Attempts) })
	row("source calls get / list / changed since", func(r *Report) string {
		return fmt.Sprintf("%d / %d / %d", r.SourceCalls.Get, r.SourceCalls.List, r.SourceCalls.ChangedSince)
	})
	for _, t := range hrissync.AllTriggers() {
		row("operations by "+string(t), func(r *Report) string { return num(r.Triggers[t].Operations()) })
	}
	row("operations (attempts + source calls)", func(r *Report) string { return num(r.Operations()) })
	row("termination p50/p99/max", func(r *Report) string { return lat(r.Terminations) })
	row("realtime field p50/p99/max", func(r *Report) string { return lat(r.Realtime) })
	row("attribute p50/p99/max", func(r *Report) string { return lat(r.Attributes) })
	row("changes lost / coalesced", func(r *Report) string { return fmt.Sprintf("%d / %d", r.Lost, r.Coalesced) })
	row("stale nights / records behind", func(r *Report) string { return fmt.Sprintf("%d / %d", r.StaleNights, r.StaleRecords) })
	row("rehires keeping the old last day", func(r *Report) string { return fmt.Sprint(r.RehiresKeepingDate) })
	row("dismissals / suspensions / withdrawn", func(r *Report) string {
		return fmt.Sprintf("%d / %d / %d", r.Dismissals, r.Suspensions, r.Withdrawals)
	})
	row("leavers by zone", func(r *Report) string {
		var parts []string
		for _, z := range slices.Sorted(maps.Keys(r.LeaversByZone)) {
			parts = append(parts, fmt.Sprintf("%s %d", z, r.LeaversByZone[z]))
		}
		return strings.Join(parts, ", ")
	})
	row("404 outage: people / answered 404", func(r *Report) string {
		if r.NotFound == nil {
			return "-"
		}
		return fmt.Sprintf("%d / %d", r.NotFound.People, r.NotFound.Refused)
	})
	row("404 outage: leavers / late (after it)", func(r *Report) string {
		if r.NotFound == nil {
			return "-"
		}
		return fmt.Sprintf("%d / %d (%s)", r.NotFound.Leavers, r.NotFound.Late, short(max(r.NotFound.LateBy, 0)))
	})
	row("404 outage: other changes delayed", func(r *Report) string {
		if r.NotFound == nil {
			return "-"
		}
		return fmt.Sprint(r.NotFound.Delayed)
	})
	row("falsely deactivated", func(r *Report) string { return fmt.Sprint(r.FalselyDeactivated) })
	row("late leavers outside the outage", func(r *Report) string { return fmt.Sprint(r.LateLeavers) })
	if sinks {
		row("never in scope / written for", func(r *Report) string {
			if r.OutOfScope == nil {
				return "-"
			}
			return fmt.Sprintf("%d / %d", len(r.OutOfScope), r.WrittenOutOfScope)
		})
		row("writes giving access out of scope", func(r *Report) string { return fmt.Sprint(r.Strays) })
	}
	row("alerts", func(r *Report) string { return fmt.Sprint(len(r.Alerts)) })
	row("audit entries", func(r *Report) string { return fmt.Sprint(r.AuditEntries) })
	row("converged", func(r *Report) string {
		if r.Converged {
			return "yes"
		}
		return "NO"
	})
	return tw.Flush()
}

// short formats a duration compactly: 0s, 45s, 3m10s, 16h5m.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

func (s *simulation) stormResult(t *target, exps []*Expectation) *StormResult {
	st, res := s.cfg.Storm, &StormResult{}
	people := map[string]bool{}
	end := s.stormAt
	for _, e := range exps {
		if e.Field != "managerId" || e.Since.Before(s.stormAt) || e.Since.After(s.stormAt.Add(st.Within)) {
			continue
		}
		res.Changes++
		people[e.EmployeeID] = true
		if e.Applied.After(end) {
			end = e.Applied
		}
	}
	res.People, res.Converged = len(people), end.Sub(s.stormAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range t.writeTimes {
		if !at.Before(s.stormAt) && !at.After(end) {
			res.Writes++
		}
	}
	return res
}

// leavers fills in the report's figures on stale exports, zones, the 404
// outage and leavers kept too long.
func (s *simulation) leavers(r *Report) {
	src := s.src
	src.mu.Lock()
	r.StaleNights, r.StaleRecords = len(src.served), src.behind
	refused := len(src.refused)
	src.mu.Unlock()

	people := map[string]hrissync.Employee{}
	for _, e := range s.hris.Employees() {
		people[e.ID] = e
	}
	if src.notice != nil {
		r.NotFound = &NotFoundResult{From: src.span[0], To: src.span[1], Refused: refused}
		for id := range people {
			if src.affected(id) {
				r.NotFound.People++
			}
		}
	}
	r.LeaversByZone = map[string]int{}
	for _, e := range r.Expectations {
		e.Hidden = r.NotFound != nil && hidden(src, e, retryBudget(s.cfg.Faults))
		if !e.Termination() {
			leaving := e.Field == hrissync.FieldStatus && e.Value == string(hrissync.StatusTerminated)
			if e.Hidden && e.Class == cadence.Realtime && !e.Superseded && !leaving && e.Applied.After(LeaverBudget(e.Since, s.cfg.Faults)) {
				r.NotFound.Delayed++
			}
			continue
		}
		if !e.Applied.IsZero() {
			r.LeaversByZone[zoneName(people[e.EmployeeID], s.cfg.Location)]++
		}
		late := e.Applied.IsZero() && !s.held(r.Actual, e) || e.Applied.After(LeaverBudget(e.Since, s.cfg.Faults))
		if nf := r.NotFound; e.Hidden {
			nf.Leavers++
			if late {
				nf.Late++
				nf.LateBy = max(nf.LateBy, e.Applied.Sub(nf.To))
			}
			continue
		}
		if late && !e.Superseded {
			r.LateLeavers++
		}
	}
}

// hidden reports whether the 404 outage hid e's person when e fell due (or
// while the write for it was being retried).
func hidden(src *source, e *Expectation, retry time.Duration) bool {
	return src.affected(e.EmployeeID) && !e.Since.Before(src.span[0].Add(-retry)) && e.Since.Before(src.span[1])
}

// zoneName is the short name of e's time zone: "Sydney".
func zoneName(e hrissync.Employee, hr *time.Location) string {
	name := e.TimeZone
	if name == "" {
		name = hr.String()
	}
	return name[strings.LastIndex(name, "/")+1:]
}
