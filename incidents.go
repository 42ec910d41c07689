package hrissync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// An incident is something wrong that the Alerter hears of once, however
// often it goes wrong again, and (if it is a Resolver) hears the end of.
// The engine's own troubles — polls failing, the circuit, the audit log —
// are alerted at once. A person's — a dead letter, a parked field — wait a
// moment (Config.GroupWait) for others like them: a platform outage fails
// many people within seconds, and more than Config.RollUp of them at once
// are one roll-up alert, naming every critical one, resolved when the last
// of them is.
type incidents struct {
	e *Engine

	mu      sync.Mutex
	open    map[string]*incident
	pending []string  // people's incidents waiting for the group's flush
	flush   Timer     // the group's flush, if one is set
	rollUp  *incident // the open roll-up, if any

	// outbox holds what the Alerter is to hear, in the order the
	// incidents changed: queued under mu, so that a resolution can never
	// overtake the alert it ends; delivered by one goroutine at a time.
	outbox []message
	send   sync.Mutex
}

// message is an alert to raise, or (ended) an incident's end.
type message struct {
	alert Alert
	ended bool
}

type incident struct {
	key    string // in open, and pending
	alert  Alert
	person bool // one person's: grouped, and may be rolled up
	sent   bool // the Alerter heard of it on its own
}

const rollUpIncident = "roll-up"

func newIncidents(e *Engine) *incidents {
	return &incidents{e: e, open: map[string]*incident{}}
}

// raise opens the incident key with alert a, unless it is open already.
func (in *incidents) raise(ctx context.Context, key string, a Alert) {
	in.mu.Lock()
	if _, ok := in.open[key]; ok {
		in.mu.Unlock()
		return
	}
	inc := in.stamp(key, a)
	inc.sent = true
	in.queue(inc.alert)
	in.mu.Unlock()
	in.deliver(ctx)
}

// raisePerson opens one person's incident. It is alerted after the group
// wait, on its own or within a roll-up; if it ends before, never.
// An incident open at a lower severity is escalated instead: a stuck person
// who has since left is a leaver whose access stays.
func (in *incidents) raisePerson(ctx context.Context, key string, a Alert) {
	in.mu.Lock()
	if inc, ok := in.open[key]; ok {
		in.queue(in.escalate(inc, a)...)
		in.mu.Unlock()
		in.deliver(ctx)
		return
	}
	in.stamp(key, a).person = true
	in.pending = append(in.pending, key)
	wait := in.e.cfg.GroupWait
	if wait > 0 && in.flush == nil {
		in.flush = in.e.cfg.Clock.AfterFunc(wait, func() { in.flushGroup(context.WithoutCancel(ctx)) })
	}
	in.mu.Unlock()
	if wait <= 0 {
		in.flushGroup(ctx)
	}
}

// escalate raises an open person's incident to a's severity if that is
// higher, returning what to alert: the incident again if it was alerted on
// its own, the roll-up again if it is in one and is now critical, nothing
// while it waits for its group (the flush alerts it as it now is). in.mu is
// held.
func (in *incidents) escalate(inc *incident, a Alert) []Alert {
	if a.Severity.rank() <= inc.alert.Severity.rank() {
		return nil
	}
	inc.alert.Severity, inc.alert.Message, inc.alert.Err = a.Severity, a.Message, a.Err
	switch {
	case inc.sent:
		return []Alert{inc.alert}
	case slices.Contains(in.pending, inc.key) || in.rollUp == nil:
		return nil
	case a.Severity == SeverityCritical:
		in.rollUp.alert = in.rollUpAlert(in.people())
		return []Alert{in.rollUp.alert}
	}
	return nil
}

// stillFailing is told of a person whose incident was raised before and who
// failed again: it escalates the incident if it is open, and opens it again
// only if it is critical — after a restart the engine does not know what
// was paged, and a leaver's access staying is worth a second page, a lesser
// failure not.
func (in *incidents) stillFailing(ctx context.Context, key string, a Alert) {
	in.mu.Lock()
	_, open := in.open[key]
	in.mu.Unlock()
	if open || a.Severity == SeverityCritical {
		in.raisePerson(ctx, key, a)
	}
}

// stamp records a new open incident. in.mu is held.
func (in *incidents) stamp(key string, a Alert) *incident {
	a.Tenant, a.Sink, a.At, a.Incident = in.e.tenant, in.e.name, in.e.cfg.Clock.Now(), in.qualified(key)
	if a.Severity == "" {
		a.Severity = SeverityWarning
	}
	inc := &incident{key: key, alert: a}
	in.open[key] = inc
	return inc
}

// flushGroup alerts the people's incidents raised since the last flush:
// each on its own while few are open, else within the roll-up, which is
// alerted when it opens and again whenever a critical one joins it.
func (in *incidents) flushGroup(ctx context.Context) {
	in.mu.Lock()
	in.flush = nil
	var joined []*incident
	for _, key := range in.pending {
		if inc, ok := in.open[key]; ok {
			joined = append(joined, inc)
		}
	}
	in.pending = nil
	if len(joined) == 0 {
		in.mu.Unlock()
		return
	}
	people := in.people()
	switch {
	case in.rollUp == nil && (in.e.cfg.RollUp < 0 || countPeople(people) <= in.e.cfg.RollUp):
		for _, inc := range joined {
			inc.sent = true
			in.queue(inc.alert)
		}
	case in.rollUp == nil || slices.ContainsFunc(joined, func(inc *incident) bool { return inc.alert.Severity == SeverityCritical }):
		in.rollUp = &incident{alert: in.rollUpAlert(people), sent: true}
		in.queue(in.rollUp.alert)
	}
	in.mu.Unlock()
	in.deliver(ctx)
}

// people lists the open people's incidents. in.mu is held.
func (in *incidents) people() []*incident {
	var out []*incident
	for _, inc := range in.open {
		if inc.person {
			out = append(out, inc)
		}
	}
	return out
}

// qualified is an incident's key as the Alerter sees it: the tenant's, and
// the sink's if it has a name, so that engines of several tenants, and the
// sinks of one, may share one pager.
func (in *incidents) qualified(key string) string {
	if in.e.name != "" {
		return in.e.tenant + "/" + in.e.name + "/" + key
	}
	return in.e.tenant + "/" + key
}

// countPeople counts the people the incidents are about: one person with
// many refused fields is one person failing.
func countPeople(incidents []*incident) int {
	seen := map[string]bool{}
	for _, inc := range incidents {
		seen[inc.alert.EmployeeID] = true
	}
	return len(seen)
}

// rollUpAlert is the alert standing for the open people's incidents.
// in.mu is held.
func (in *incidents) rollUpAlert(people []*incident) Alert {
	sev, persons, critical := SeverityLow, map[string]bool{}, []string{}
	for _, inc := range people {
		persons[inc.alert.EmployeeID] = true
		if inc.alert.Severity.rank() > sev.rank() {
			sev = inc.alert.Severity
		}
		if inc.alert.Severity == SeverityCritical && !slices.Contains(critical, inc.alert.EmployeeID) {
			critical = append(critical, inc.alert.EmployeeID)
		}
	}
	slices.Sort(critical)
	msg := fmt.Sprintf("%d people's writes are failing (%d incidents); each is retried by the polls and the batch", len(persons), len(people))
	if len(critical) > 0 {
		msg += fmt.Sprintf("; critical, access not ended: %s", strings.Join(critical, ", "))
	}
	var at time.Time
	if in.rollUp != nil {
		at = in.rollUp.alert.At // an update keeps the roll-up's start
	}
	a := Alert{Kind: AlertRollUp, Severity: sev, Tenant: in.e.tenant, Sink: in.e.name, At: at,
		Message: msg, Incident: in.qualified(rollUpIncident), Count: len(persons), Critical: critical}
	if a.At.IsZero() {
		a.At = in.e.cfg.Clock.Now()
	}
	return a
}

// resolve closes the incident key. The Alerter, if it is a Resolver, hears
// of the end of what it heard of: the incident itself, or the roll-up once
// its last person's incident has closed.
func (in *incidents) resolve(ctx context.Context, key string) {
	in.mu.Lock()
	inc, ok := in.open[key]
	if !ok {
		in.mu.Unlock()
		return
	}
	delete(in.open, key)
	if inc.sent {
		in.queueEnd(inc.alert)
	}
	if inc.person && in.rollUp != nil && len(in.people()) == 0 {
		in.queueEnd(in.rollUp.alert)
		in.rollUp = nil
	}
	in.mu.Unlock()
	in.deliver(ctx)
}

// stop alerts what waits for the group's flush: an engine shutting down
// does not take its incidents with it unheard.
func (in *incidents) stop(ctx context.Context) {
	in.mu.Lock()
	if in.flush != nil {
		in.flush.Stop()
	}
	in.mu.Unlock()
	in.flushGroup(ctx)
}

// queue adds alerts to raise to the outbox; queueEnd an incident's end,
// stamped now. in.mu is held.
func (in *incidents) queue(raised ...Alert) {
	for _, a := range raised {
		in.outbox = append(in.outbox, message{alert: a})
	}
}

func (in *incidents) queueEnd(a Alert) {
	a.At = in.e.cfg.Clock.Now()
	in.outbox = append(in.outbox, message{alert: a, ended: true})
}

// deliver hands the outbox to the Alerter, one call at a time, in order. A
// goroutine finding another delivering leaves its messages to it, which
// goes on until the outbox is empty — so a busy Alerter holds up no
// reconcile but the one delivering, and an Alerter that raises an incident
// itself does not deadlock.
func (in *incidents) deliver(ctx context.Context) {
	resolver, resolves := in.e.cfg.Alerter.(Resolver)
	for {
		if !in.send.TryLock() {
			return
		}
		for {
			in.mu.Lock()
			batch := in.outbox
			in.outbox = nil
			in.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, m := range batch {
				switch {
				case !m.ended:
					in.e.observe.alert(ctx, m.alert.Kind)
					in.e.cfg.Alerter.Alert(ctx, m.alert)
				case resolves:
					resolver.Resolve(ctx, m.alert)
				}
			}
		}
		in.send.Unlock()
		// A message queued after the last look, by a goroutine that
		// found the lock held, would otherwise wait for the next one.
		in.mu.Lock()
		empty := len(in.outbox) == 0
		in.mu.Unlock()
		if empty {
			return
		}
	}
}

// Incidents lists the open incidents by key: the engine's, each person's
// (whether alerted on its own, within the roll-up, or still waiting for its
// group) and the roll-up's.
//
// With several sinks they are the engine's own (a failing poll) and every
// sink's.
func (e *Engine) Incidents() []Alert {
	if e.lanes != nil {
		out := e.ownIncidents()
		for _, l := range e.lanes {
			out = append(out, l.ownIncidents()...)
		}
		return out
	}
	return e.ownIncidents()
}

func (e *Engine) ownIncidents() []Alert {
	in := e.incidents
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Alert, 0, len(in.open)+1)
	for _, inc := range in.open {
		out = append(out, inc.alert)
	}
	if in.rollUp != nil {
		out = append(out, in.rollUp.alert)
	}
	slices.SortFunc(out, func(a, b Alert) int { return strings.Compare(a.Incident, b.Incident) })
	return out
}

// raise and resolve are the engine's words for its incidents.
func (e *Engine) raise(ctx context.Context, key string, a Alert) { e.incidents.raise(ctx, key, a) }
func (e *Engine) resolve(ctx context.Context, key string)        { e.incidents.resolve(ctx, key) }

// deadIncident is a person's dead letter's incident.
func deadIncident(id string) string { return "dead/" + id }
