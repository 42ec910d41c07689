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
type Report struct {
	Policy       string
	People, Days int

	// HRChanges counts the changes HR made; Webhooks the deliveries sent
	// (duplicates included); LostWebhooks those never sent.
	HRChanges, Webhooks, LostWebhooks int

	// Needed are the platform writes that changed something (what a
	// perfect engine makes), Writes every write that succeeded, Attempts
	// every call, failed ones included.
	Needed, Writes, Attempts int64
	// Triggers are the engine's counts per trigger.
	Triggers map[hrissync.Trigger]hrissync.TriggerStats

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

	Alerts       []hrissync.Alert
	AuditEntries int
	Runs         []audit.Entry // the batch run summaries, in order
	Expectations []*Expectation
	Deliveries   []memory.Delivery
	End          time.Time
}

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
	counts   memory.Counts
	triggers map[hrissync.Trigger]hrissync.TriggerStats
	audit    int
}

func (s *simulation) snapshot() baseline {
	return baseline{counts: s.platform.Counts(), triggers: s.eng.Stats().Triggers, audit: s.audit.Len()}
}

func (s *simulation) report(ctx context.Context, base baseline) (*Report, error) {
	name := s.cfg.Policy.Name()
	if s.cfg.Way != Engine {
		name = s.cfg.Way.String()
	}
	r := &Report{Policy: name, People: s.cfg.People, Days: s.cfg.Days, End: s.end}
	c := s.platform.Counts()
	r.Needed, r.Writes, r.Attempts = c.Changed-base.counts.Changed, c.Writes-base.counts.Writes, c.Attempts-base.counts.Attempts
	r.Triggers = map[hrissync.Trigger]hrissync.TriggerStats{}
	for t, ts := range s.eng.Stats().Triggers {
		b := base.triggers[t]
		ts.Reconciles -= b.Reconciles
		ts.NeededWrites -= b.NeededWrites
		ts.Writes -= b.Writes
		ts.Attempts -= b.Attempts
		ts.Retries -= b.Retries
		ts.DeadLetters -= b.DeadLetters
		r.Triggers[t] = ts
	}
	r.Deliveries = s.hris.Deliveries()
	for _, d := range r.Deliveries {
		r.HRChanges++
		r.Webhooks += len(d.Delivered)
		if d.Lost {
			r.LostWebhooks++
		}
	}
	if s.cfg.Way == NaiveBatch || (s.cfg.Way == Engine && !s.cfg.Policy.Uses(cadence.Realtime)) {
		r.Webhooks, r.LostWebhooks = 0, 0
	}

	s.mu.Lock()
	r.Alerts = slices.Clone(s.alerts)
	r.Premature = s.premature
	r.Expectations = slices.Clone(s.done)
	for _, list := range s.pending {
		r.Expectations = append(r.Expectations, list...)
	}
	r.Expected = map[string]AccountView{}
	for id, pv := range s.expected {
		if pv.exists {
			r.Expected[id] = normalise(pv.active, pv.fields)
		}
	}
	s.mu.Unlock()
	r.Actual = map[string]AccountView{}
	for id, a := range s.platform.Snapshot() {
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
	if st := s.cfg.Storm; st != nil {
		r.Storm = s.stormResult(r.Expectations)
	}

	r.AuditEntries = s.audit.Len() - base.audit
	for _, e := range s.audit.Entries() {
		if e.Action == audit.ActionRunSummary {
			r.Runs = append(r.Runs, e)
		}
	}
	return r, ctx.Err()
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
// needed=N attempts=N.
func (r *Report) Summary() string {
	conv := "no"
	if r.Converged {
		conv = "yes"
	}
	return fmt.Sprintf("converged=%s lost=%d writes=%d needed=%d attempts=%d", conv, r.Lost, r.Writes, r.Needed, r.Attempts)
}

// WriteTable prints reports side by side, one column per cadence.
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
	row("termination p50/p99/max", func(r *Report) string { return lat(r.Terminations) })
	row("realtime field p50/p99/max", func(r *Report) string { return lat(r.Realtime) })
	row("attribute p50/p99/max", func(r *Report) string { return lat(r.Attributes) })
	row("changes lost / coalesced", func(r *Report) string { return fmt.Sprintf("%d / %d", r.Lost, r.Coalesced) })
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

func (s *simulation) stormResult(exps []*Expectation) *StormResult {
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
	for _, t := range s.writeTimes {
		if !t.Before(s.stormAt) && !t.After(end) {
			res.Writes++
		}
	}
	return res
}
