package hrissync

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/store"
)

// Config configures an Engine. The zero value of every field means its
// default, given in the field's comment; a nil *Config is all defaults.
type Config struct {
	// Tenant keys everything the engine stores. Default "default".
	Tenant string

	// Policy puts each field in a class. Default cadence.Hybrid().
	Policy cadence.Policy
	// CarryPending makes each realtime write carry the batch fields that
	// are pending too, saving a write in the next batch at the cost of a
	// larger one now. Default off.
	CarryPending bool
	// Correlate treats a new account the platform refuses because an
	// account bound to another worker id holds the person's email or user
	// name (*AccountTakenError) as HR having re-keyed the person from that
	// id, when HR no longer lists it and the employee number last written
	// to its account is the person's: the account moves to the person
	// rather than staying refused (docs/design.md §5.1). Default off: the
	// match is an inference, and a Source that reports PreviousIDs needs
	// none.
	Correlate bool
	// Groups put people in groups by their record — one per department,
	// a named one for the managers — as fields of the desired record
	// (GroupPrefix+rule name, following the cadence class of the field the
	// rule follows), for a Sink that keeps groups (the SCIM sink's Groups).
	// Default none.
	Groups []GroupRule

	// Location is the HR time zone: the batch runs in it, and dates take
	// effect in it for everyone whose record names no time zone of their
	// own (Employee.TimeZone). Default UTC.
	Location *time.Location
	// BatchSchedule is when the daily batch runs. Default
	// cadence.Daily(2*time.Hour, Location): 02:00 in the HR time zone.
	BatchSchedule cadence.Schedule
	// BatchRerun is how long after a failed batch started its one rerun
	// starts (the rerun reads the list again, skipping the people the
	// failed attempt examined; if it fails too, the Alerter is paged).
	// Default one hour: 02:00 → 03:00.
	BatchRerun time.Duration
	// PollSchedule is when the fallback poll runs. Default
	// cadence.Every(time.Hour). A policy without realtime fields never
	// polls.
	PollSchedule cadence.Schedule
	// PollWindow is what each poll looks back over. Default 90 minutes
	// with 30 minutes of overlap, widened after downtime.
	PollWindow cadence.Window

	// Retry decides the retries of a failed write. Default
	// retry.Fixed(3, time.Minute): the first attempt plus three retries 60
	// seconds apart, then the person is dead-lettered and the Alerter
	// called once for the incident.
	Retry retry.Policy
	// Breaker opens after consecutive sink failures. Default 10 failures,
	// one minute before a probe.
	Breaker Breaker
	// RetryAfterFloor is the shortest pause a sink's Retry-After makes:
	// a platform answering 0, a negative number or a date already past
	// is given this, plus up to half of it at random so that the writers
	// do not all return at one instant. Default one second.
	RetryAfterFloor time.Duration
	// Concurrency bounds the people reconciled at once. Default 8.
	Concurrency int
	// Share, if set, bounds the reconciles in flight across every engine
	// given the same Share (the tenants of one process), fairly. Default
	// none: only Concurrency bounds this engine. The sinks of an engine of
	// several (NewMulti) each count as a tenant of it: a sink whose writes
	// are slow holds its slots while they last, so give the Share a
	// per-tenant limit below its total, or one sink can hold them all.
	Share *Share

	// Map turns a record into the fields the platform holds: rename,
	// derive, translate codes; an empty value clears the platform's value,
	// an absent field is left alone. It sees the effective status (a
	// termination that has taken effect reads StatusTerminated). Default
	// Employee.Fields. Changing it calls for a Batch of everyone.
	Map func(Employee) (Fields, error)
	// InScope says who belongs in the learning platform. A person leaving
	// scope is deprovisioned, and counts towards DeletionLimit in a
	// batch. Default everyone.
	InScope func(Employee) bool

	// Cutover is when a termination takes effect. Default the end of the
	// last day worked, in the person's time zone (Employee.TimeZone, else
	// Location).
	Cutover Cutover
	// Immediate says which terminations take effect at once rather than
	// at the Cutover: the host's own rule, such as a reason code meaning
	// dismissal for cause. It is asked only about records that carry a
	// termination (status terminated or a termination date), and adds to
	// the records the HRIS marks itself (Employee.Immediate); it must not
	// block. Default none: only the records marked.
	Immediate func(Employee) bool
	// PreHireDays is how many days before the start date a new hire is
	// provisioned, so onboarding is ready. Default 7; negative means on
	// the start date.
	PreHireDays int
	// DeletionLimit is the budget for ending the access of people who
	// vanish: gone from the full list, out of scope (docs/design.md
	// §5.13). Default 25, or 5 % of the active accounts, per 24 hours.
	DeletionLimit Budget
	// TerminationLimit is the budget for ending access on the record's
	// word — terminations, and records that contradict themselves — so
	// that a mapping bug marking everyone terminated is held, not
	// applied. Default 200, or 20 % of the active accounts, per 24 hours.
	TerminationLimit Budget

	// HydrateLag is how long a reconcile waits for the Source to catch up
	// with an event (a record older than the event is read-after-write
	// lag): the person is retried every few seconds until then, and
	// applied with what the Source has after. Default two minutes.
	HydrateLag time.Duration
	// HydrateTolerance is how much later than the record's version a thin
	// event's time may be and still be satisfied by the record: senders
	// stamp delivery time, or keep more precision than the API's
	// last-changed. Default five seconds.
	HydrateTolerance time.Duration
	// EventRetention is how long event ids are remembered to drop
	// repeats; it must cover the sender's retry horizon. Default 7 days.
	EventRetention time.Duration

	// Clock is the time source. Default the real clock.
	Clock Clock
	// Dispatcher hands people to workers. Default an in-process keyed
	// queue. A Dispatcher that is also a Scheduler runs the poll and the
	// batch (once across replicas); one that is also a Locker is the
	// default Locker; one that is a store.Binder is bound to the engine
	// by New (postgres.Queue takes its tenant and Clock from it).
	Dispatcher store.Dispatcher
	// Locker guards each person across processes, for replicas sharing
	// a Store. Default the Dispatcher, if it is a Locker; otherwise none
	// (one process needs none).
	Locker store.Locker
	// Auditor makes audit entries durable. Default none: entries are
	// committed to the Store's outbox and then dropped.
	Auditor audit.Auditor
	// Alerter pages an operator, once per incident; if it is also a
	// Resolver it hears when each ends. Default: alerts are logged at
	// Error, resolutions at Info.
	Alerter Alerter
	// GroupWait is how long a person's incident waits for others before
	// it is alerted: a platform outage fails many people within seconds,
	// and they page once. An incident that ends within it is never
	// alerted. Default 30 s; negative: no wait.
	GroupWait time.Duration
	// RollUp is how many people's incidents may be open before one
	// roll-up alert stands for the rest, naming every critical one.
	// Default 20; negative: never roll up.
	RollUp int
	// Logger receives the engine's logs. Default slog.Default(). Only ids
	// are logged at Info and above, never a person's field values.
	Logger *slog.Logger
	// MeterProvider receives the engine's OpenTelemetry metrics (see
	// metrics.go for the instruments). Default none: nothing global is
	// used.
	MeterProvider metric.MeterProvider
	// Progress, if set, is called as the batch goes, after each chunk and
	// at the end, from the batch's goroutine; it must not block.
	Progress func(BatchProgress)

	// zones remembers the workers' time zones already loaded; set by
	// withDefaults, so each engine has its own.
	zones *zones
}

// Cutover is when a termination takes effect on its last day worked.
type Cutover int

// Cutovers.
const (
	CutoverEndOfDay   Cutover = iota // access ends when the last day ends (default)
	CutoverStartOfDay                // access ends when the last day begins
)

// Breaker configures the circuit breaker on the sink.
type Breaker struct {
	Failures int           // consecutive failures that open it; default 10
	Cooldown time.Duration // before a probe; default one minute
}

// Budget bounds how many accounts lose access within any rolling Window.
// Either limit holds: beyond Count deactivations, or beyond Share of the
// active accounts (never fewer than one), the people stay active and are
// held, the Alerter hears once, and Engine.ApproveDeletions lets them go.
// Deactivations an operator approved spend nothing.
type Budget struct {
	// Count and Share are the limits; one that is 0 is not applied.
	// Both 0: the default. Negative: an error from New.
	Count int
	Share float64
	// Window is the rolling window. Default 24 hours.
	Window time.Duration
	// Off turns the budget off: every deactivation passes.
	Off bool
}

// allows reports how many deactivations the budget allows in its window
// with active accounts; -1 is unlimited.
func (b Budget) allows(active int) int {
	if b.Off {
		return -1
	}
	n := -1
	if b.Count > 0 {
		n = b.Count
	}
	if b.Share > 0 {
		s := max(int(b.Share*float64(active)), 1)
		if n < 0 || s < n {
			n = s
		}
	}
	return n
}

// exceeded reports whether spending n more, with spent already spent in the
// window, goes beyond the budget.
func (b Budget) exceeded(spent, n, active int) bool {
	allowed := b.allows(active)
	return allowed >= 0 && spent+n > allowed
}

func (b Budget) withDefaults(count int, share float64) Budget {
	if b.Count == 0 && b.Share == 0 {
		b.Count, b.Share = count, share
	}
	if b.Window <= 0 {
		b.Window = 24 * time.Hour
	}
	return b
}

// withDefaults returns c with every zero field set to its default.
func (c *Config) withDefaults() (Config, error) {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.Tenant == "" {
		cfg.Tenant = "default"
	}
	if strings.Contains(cfg.Tenant, store.SinkSeparator) {
		// It would name another tenant's sink (store.SinkKey).
		return cfg, errors.New("hrissync: a Tenant cannot hold U+001F")
	}
	if cfg.Policy.IsZero() {
		cfg.Policy = cadence.Hybrid()
	}
	cfg.Groups = slices.Clone(cfg.Groups)
	if err := checkGroups(&cfg); err != nil {
		return cfg, err
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.BatchSchedule == nil {
		cfg.BatchSchedule = cadence.Daily(2*time.Hour, cfg.Location)
	}
	if cfg.BatchRerun <= 0 {
		cfg.BatchRerun = time.Hour
	}
	if cfg.PollSchedule == nil {
		cfg.PollSchedule = cadence.Every(time.Hour)
	}
	if cfg.Retry == nil {
		cfg.Retry = retry.Fixed(3, time.Minute)
	}
	if cfg.Breaker.Failures <= 0 {
		cfg.Breaker.Failures = 10
	}
	if cfg.Breaker.Cooldown <= 0 {
		cfg.Breaker.Cooldown = time.Minute
	}
	if cfg.RetryAfterFloor <= 0 {
		cfg.RetryAfterFloor = time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Map == nil {
		cfg.Map = func(e Employee) (Fields, error) { return e.Fields(), nil }
	}
	if cfg.InScope == nil {
		cfg.InScope = func(Employee) bool { return true }
	}
	if cfg.Cutover != CutoverEndOfDay && cfg.Cutover != CutoverStartOfDay {
		return cfg, errors.New("hrissync: unknown Cutover")
	}
	cfg.zones = newZones()
	if cfg.PreHireDays == 0 {
		cfg.PreHireDays = 7
	}
	cfg.PreHireDays = max(cfg.PreHireDays, 0)
	for _, b := range []Budget{cfg.DeletionLimit, cfg.TerminationLimit} {
		if b.Count < 0 || b.Share < 0 {
			// A negative limit reads like "no limit of this kind"; it
			// would turn the budget off unseen. Off says so.
			return cfg, errors.New("hrissync: a Budget's Count and Share cannot be negative (Off turns a budget off)")
		}
	}
	cfg.DeletionLimit = cfg.DeletionLimit.withDefaults(25, 0.05)
	cfg.TerminationLimit = cfg.TerminationLimit.withDefaults(200, 0.20)
	if cfg.HydrateTolerance <= 0 {
		cfg.HydrateTolerance = 5 * time.Second
	}
	if cfg.HydrateLag <= 0 {
		cfg.HydrateLag = 2 * time.Minute
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = 7 * 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if l, ok := lockerOf(cfg.Dispatcher); ok && cfg.Locker == nil {
		cfg.Locker = l
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auditor == nil {
		cfg.Auditor = audit.AuditorFunc(func(context.Context, []audit.Entry) error { return nil })
	}
	if cfg.Alerter == nil {
		cfg.Alerter = logAlerter{cfg.Logger}
	}
	if cfg.GroupWait == 0 {
		cfg.GroupWait = 30 * time.Second
	}
	if cfg.RollUp == 0 {
		cfg.RollUp = 20
	}
	return cfg, nil
}
