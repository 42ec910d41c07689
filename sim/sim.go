// Package sim simulates an organisation's HR changes and the faults around
// them on a fake clock, runs the hrissync engine against them, and reports
// what it cost and how fast changes landed. It answers the question every
// customer asks — what do hybrid, batch-only and realtime-only cadences cost
// on my organisation — and proves the engine right while doing so: the
// platform must end equal to the HRIS, with nothing lost and no write wasted.
//
//	rep, err := sim.Run(ctx, sim.Config{People: 2000, Days: 30, Faults: sim.SeedFaults()})
//
// A month passes in seconds: the simulator advances its Clock from timer to
// timer, waiting for the engine to be idle (Engine.WaitIdle) in between.
//
// One engine may keep several platforms (Config.Sinks, hrissync.NewMulti),
// each with its own policy, scope and faults: each must end holding what the
// HRIS says for it, and the Source is counted as it is read (SourceReads),
// so that the same month run with one sink and with several shows what the
// others cost in Source reads.
//
//	rep, err := sim.Run(ctx, sim.Config{Sinks: []sim.Sink{
//		{Name: "lms", Policy: cadence.Hybrid()},
//		{Name: "lxp", Policy: cadence.RealtimeOnly().With(hrissync.FieldManagerID, cadence.Ignore),
//			InScope: func(e hrissync.Employee) bool { return e.Department == "Engineering" }},
//	}})
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/audit"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// Config describes one simulation. The zero value of a field means its
// default.
type Config struct {
	People int            // the organisation's size at the start; default 2000
	Days   int            // days of HR changes; default 30
	Seed   uint64         // everything random is drawn from it; default 1
	Policy cadence.Policy // default cadence.Hybrid()
	// Way is what syncs the organisation: the engine (default), or a
	// reference implementation to compare it with.
	Way Way
	// Start is midnight of the first day in Location; default Monday
	// 2 March 2026.
	Start    time.Time
	Location *time.Location // the HR time zone; default America/New_York
	// Zones are the workers' own time zones (Employee.TimeZone) and the
	// share of the people in each; the rest work in Location. Default
	// DefaultZones().
	Zones []Zone
	Churn Churn // default DefaultChurn()
	// Audiences keeps the organisation's groups — one per department, one
	// of the managers — through the engine's group rules, and the oracle
	// expects them as fields. Default off.
	Audiences bool
	Faults    Faults // default none; SeedFaults() is the seed's
	// Storm, if set, is a reorganisation storm on top of the churn.
	Storm *Storm
	// Settle is how long the simulation runs after the last day of
	// changes, for the batch and polls that follow it; default 6 hours.
	Settle time.Duration
	// Store is the engine's Store; default a new memory store.
	Store store.Store
	// Auditor receives the audit entries as well as the report's count.
	Auditor audit.Auditor
	// Sinks, if set, are several platforms kept by one engine
	// (hrissync.NewMulti), each a memory Platform of its own with its own
	// policy, scope and faults; the oracle checks each apart, and the
	// report has a Report per sink (Report.Sinks). Default none: one
	// platform, kept by an engine of one sink (hrissync.New).
	Sinks []Sink
	// WrapSink, if set, puts a Sink in front of the simulated platform
	// (the first one's, with Sinks): a real connector whose writes then
	// also reach the platform, so the report still measures them. It
	// must pass each write on once its own succeeded.
	WrapSink func(platform hrissync.Sink) hrissync.Sink
	// Engine lets the caller adjust the engine's configuration (its
	// Clock, Policy, Location, Auditor and Alerter are set by the
	// simulation).
	Engine func(*hrissync.Config)
	// Logger receives the engine's logs; default discarded.
	Logger *slog.Logger
	// Serial fires the clock's timers one at a time, waiting for the
	// engine to be idle after each, rather than every timer due at an
	// instant together, and has the engine reconcile one person at a time
	// (Concurrency 1, unless Engine sets it): the same seed then gives the
	// same figures on any machine, whatever the goroutine scheduler does.
	// No simulated time passes while the engine works, so latencies are
	// those of the concurrent engine.
	Serial bool
	// Replay, if set, is a recorded organisation and its HR changes to
	// simulate instead of a generated one (People, Churn and Storm are
	// then unused). Start defaults to the midnight before its first
	// change, Days to run through its last.
	Replay *Replay
}

// Zone is a time zone some workers are in, and their share.
type Zone struct {
	Name  string // IANA name
	Share float64
}

// DefaultZones: a fifth of the people in London and a fifth in Sydney, the
// rest in the HR zone (New York by default).
func DefaultZones() []Zone {
	return []Zone{{"Europe/London", 0.2}, {"Australia/Sydney", 0.2}}
}

// Churn is the rate of each kind of HR change, per day, as a share of the
// organisation (0.001 is one change a day in a thousand people).
type Churn struct {
	Hires, Leavers float64
	Rehires        float64 // a share of the leavers on file, per day
	KeepDate       float64 // the share of rehires on which HR keeps the old last day
	Immediate      float64 // the share of leavers dismissed at once (Employee.Immediate)
	Suspensions    float64 // suspensions, each lifted one to five days later
	Withdrawals    float64 // the share of hires withdrawn before their start
	// Conversions re-key people at work (a contractor converted to an
	// employee): the record moves to a new worker id naming the old one.
	Conversions                 float64
	RoleChanges, ManagerChanges float64
	SkillUpdates, RatingUpdates float64
	ReorgDay                    int     // the day a reorganisation moves people (0: none)
	ReorgShare                  float64 // the share of people it moves
	HireLeadDays, NoticeDays    int     // how far ahead start dates and last days are set, at most
}

// DefaultChurn is a fairly busy company: about 0.1 % hires and leavers a day
// (15 % of the leavers dismissed at once, a tenth of the hires withdrawn
// before they start), rehires of which half keep the old last day, a few
// suspensions and conversions to a new worker id, role and manager changes, a reorganisation on day 12, and daily skill and
// performance rating updates.
func DefaultChurn() Churn {
	return Churn{
		Hires: 0.001, Leavers: 0.001, Rehires: 0.05,
		KeepDate: 0.5, Immediate: 0.15, Suspensions: 0.0003, Withdrawals: 0.1, Conversions: 0.0002,
		RoleChanges: 0.002, ManagerChanges: 0.002,
		SkillUpdates: 0.03, RatingUpdates: 0.005,
		ReorgDay: 12, ReorgShare: 0.05,
		HireLeadDays: 21, NoticeDays: 14,
	}
}

// Storm is a burst of manager changes: Changes of them spread evenly over
// Within, from 10:00 on Day, over People people (so a person may change more
// than once, and a good engine writes each person once).
type Storm struct {
	Day     int
	Changes int
	People  int
	Within  time.Duration
}

// Faults are the failures injected around the engine.
type Faults struct {
	LostWebhooks      float64       // share never delivered
	DuplicateWebhooks float64       // share delivered twice
	WebhookDelay      time.Duration // deliveries are delayed up to this, so they reorder
	SinkErrors        float64       // share of sink writes failing with a 503
	// ThrottleBursts is how many bursts of 429s hit the sink per week,
	// each ThrottleLength long, answering Retry-After ThrottleRetryAfter.
	ThrottleBursts     int
	ThrottleLength     time.Duration
	ThrottleRetryAfter time.Duration
	// SinkRateLimit, if positive, is the most writes per second the
	// platform accepts; more are answered 429 with Retry-After.
	SinkRateLimit float64
	// SourceOutages make the HRIS unavailable: each from a day's
	// midnight plus At, for Length.
	SourceOutages []Outage
	// StaleExports is the share of nights on which the batch's full list
	// is an export taken earlier: StaleBy[0] to StaleBy[1] before 02:00,
	// so the changes made since are not in it (with 1–3 hours, those HR
	// made in Sydney's working day).
	StaleExports float64
	StaleBy      [2]time.Duration
	// NotFound, if set, makes the Source answer 404 from Get for a share
	// of the people for some hours.
	NotFound *NotFound
}

// NotFound is a partial 404 outage of the Source's per-person endpoint:
// from a day's midnight plus At, for Length, Get answers ErrNotFound for a
// Share of the people (chosen by the seed), while the change listing and
// the full list still hold them — a security-group change that strips the
// integration user's access to worker details, not to the change report.
// It should not span 02:00: the batch reads the full list, which it leaves
// whole.
type NotFound struct {
	Day        int
	At, Length time.Duration
	Share      float64
	// Leavers are planted among the people it hides, so that it meets
	// some: half with a last day ending during it (in a zone whose
	// midnight falls in it), dated the day before; half dismissed at once
	// while it lasts.
	Leavers int
}

// Outage is a source outage on one day.
type Outage struct {
	Day    int
	At     time.Duration // since midnight in the HR time zone
	Length time.Duration
}

// SeedFaults are the faults of the seed's scenario: 10 % lost webhooks, 5 %
// duplicates, reordering, 20 % sink errors, 429 bursts, the source down at
// 02:00 on day 5 for 40 minutes (the batch fails, its 03:00 rerun succeeds),
// a third of the nights' exports taken 1–3 hours early, and on day 9 the
// Source answering 404 for 40 % of the people from 09:00 to 14:00, eight of
// whom leave meanwhile (those in Sydney at its midnight, 09:00 in New York).
func SeedFaults() Faults {
	return Faults{
		LostWebhooks: 0.10, DuplicateWebhooks: 0.05, WebhookDelay: 2 * time.Minute,
		SinkErrors:     0.20,
		ThrottleBursts: 3, ThrottleLength: 5 * time.Minute, ThrottleRetryAfter: 30 * time.Second,
		SourceOutages: []Outage{{Day: 5, At: 2 * time.Hour, Length: 40 * time.Minute}},
		StaleExports:  1.0 / 3, StaleBy: [2]time.Duration{time.Hour, 3 * time.Hour},
		NotFound: &NotFound{Day: 9, At: 9 * time.Hour, Length: 5 * time.Hour, Share: 0.4, Leavers: 8},
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.Location == nil {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			return c, err
		}
		c.Location = loc
	}
	if c.Replay != nil {
		var err error
		if c, err = c.withReplay(); err != nil {
			return c, err
		}
	}
	if c.People <= 0 && c.Replay == nil {
		c.People = 2000
	}
	if c.Days <= 0 {
		c.Days = 30
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Policy.IsZero() {
		c.Policy = cadence.Hybrid()
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, c.Location)
	}
	if c.Zones == nil {
		c.Zones = DefaultZones()
	}
	if c.Churn == (Churn{}) {
		c.Churn = DefaultChurn()
	}
	if c.Settle <= 0 {
		c.Settle = 6 * time.Hour
	}
	if c.Store == nil {
		c.Store = memstore.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	seen := map[string]bool{}
	c.Sinks = slices.Clone(c.Sinks)
	for i, k := range c.Sinks {
		switch {
		case k.Name == "" || seen[k.Name]:
			return c, fmt.Errorf("sim: sink %d: a name of its own is required (%q)", i, k.Name)
		case c.Way != Engine:
			return c, fmt.Errorf("sim: several sinks need the engine, not the %s", c.Way)
		}
		seen[k.Name] = true
		if c.Sinks[i].Policy.IsZero() {
			c.Sinks[i].Policy = c.Policy
		}
	}
	return c, nil
}

// realtime reports whether any platform has realtime fields.
func (c Config) realtime() bool {
	if len(c.Sinks) == 0 {
		return c.Policy.Uses(cadence.Realtime)
	}
	return slices.ContainsFunc(c.Sinks, func(k Sink) bool { return k.Policy.Uses(cadence.Realtime) })
}

// leadDays is the engine's pre-hire lead, which the oracle must share.
const leadDays = 7

// simulation is one run's state.
type simulation struct {
	cfg   Config
	clock *clocktest.Clock
	hris  *memory.HRIS
	src   *source   // the HRIS with its faults
	reads *counting // src as the engine reads it, every call counted
	// target is the platform (the first, with Sinks), and targets every
	// one, the first included.
	*target
	targets []*target
	eng     driver
	engine  *hrissync.Engine // eng, when it is the engine
	rng     *rand.Rand
	zrng    *rand.Rand // the workers' zones
	org     *org
	audit   *audit.Memory
	end     time.Time
	// lastChange ends the days of HR changes: a change drawn for later
	// (the last day's, in a zone whose day had begun) is not made, as no
	// batch would come to apply it.
	lastChange time.Time

	mu      sync.Mutex // guards the targets' state too
	alerts  []hrissync.Alert
	stormAt time.Time
	// What the churn did: rehires keeping the old last day, immediate
	// dismissals, suspensions, hires withdrawn.
	keptDate, immediate, suspended, withdrawn int
	// converted lists the re-keys: the old worker id, and the new.
	converted [][2]string
	// marks are the counters at the end of the initial load and at each
	// midnight since, for the report's Daily.
	marks []dayMark
	// ahead are the records HR changed that the HRIS does not show yet
	// (Replay.SourceDelay): the oracle judges HR's, the engine reads the
	// HRIS's.
	ahead map[string]hrissync.Employee
}

// Run simulates cfg and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &simulation{
		cfg:   cfg,
		clock: clocktest.NewClock(cfg.Start),
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x53494d)),
		zrng:  rand.New(rand.NewPCG(cfg.Seed, 0x5a4f4e45)),
		audit: &audit.Memory{},
		ahead: map[string]hrissync.Employee{},
	}
	s.org = &org{rng: rand.New(rand.NewPCG(cfg.Seed, 0x4f5247))}
	s.hris = memory.NewHRIS(s.clock, cfg.Seed)
	s.src = newSource(s.hris, s.clock, cfg)
	s.reads = &counting{src: s.src, lastGet: map[string]time.Time{}}
	if len(cfg.Sinks) == 0 {
		s.targets = []*target{newTarget("", cfg.Policy, nil, nil)}
	}
	for _, k := range cfg.Sinks {
		s.targets = append(s.targets, newTarget(k.Name, k.Policy, k.InScope, k.Faults))
	}
	s.target = s.targets[0]
	for i, t := range s.targets {
		t.platform = memory.NewPlatform(s.clock, platformSeed(cfg.Seed, i, t.name))
		t.platform.OnWrite(func(u hrissync.Update, at time.Time) { s.applied(t, u, at) })
	}
	s.end = cfg.Start.AddDate(0, 0, cfg.Days).Add(cfg.Settle)
	s.lastChange = cfg.Start.AddDate(0, 0, cfg.Days)

	auditor := audit.Auditor(s.audit)
	if cfg.Auditor != nil {
		auditor = audit.Multi(s.audit, cfg.Auditor)
	}
	ecfg := hrissync.Config{}
	if cfg.Engine != nil {
		cfg.Engine(&ecfg)
	}
	if cfg.Serial && ecfg.Concurrency == 0 {
		ecfg.Concurrency = 1
	}
	ecfg.Clock, ecfg.Policy, ecfg.Location = s.clock, cfg.Policy, cfg.Location
	ecfg.PreHireDays, ecfg.Auditor, ecfg.Logger = leadDays, auditor, cfg.Logger
	if cfg.Audiences {
		ecfg.Groups = audiences()
	}
	ecfg.Alerter = hrissync.AlerterFunc(func(_ context.Context, a hrissync.Alert) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.alerts = append(s.alerts, a)
	})
	var sink hrissync.Sink = s.platform
	if cfg.WrapSink != nil {
		sink = cfg.WrapSink(s.platform)
	}
	switch {
	case cfg.Way == NaiveBatch:
		s.eng = naiveBatch{newReference(s, sink)}
	case cfg.Way == NaiveRelay:
		s.eng = naiveRelay{newReference(s, sink)}
	case len(cfg.Sinks) > 0:
		var dests []hrissync.Destination
		for i, t := range s.targets {
			d := hrissync.Destination{Name: t.name, Sink: t.platform, Policy: t.policy, InScope: t.inScope}
			if i == 0 {
				d.Sink = sink
			}
			dests = append(dests, d)
		}
		if s.engine, err = hrissync.NewMulti(s.reads, dests, cfg.Store, &ecfg); err != nil {
			return nil, err
		}
		s.eng = s.engine
	default:
		if s.engine, err = hrissync.New(s.reads, sink, cfg.Store, &ecfg); err != nil {
			return nil, err
		}
		s.eng = s.engine
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- s.eng.Run(runCtx) }()
	select {
	case <-s.eng.Started():
	case err := <-runErr:
		return nil, err
	}

	// Day zero: the organisation as it stands, loaded in one batch
	// before the faults begin. The report counts from after it.
	var people []hrissync.Employee
	if cfg.Replay != nil {
		people = cfg.Replay.people()
	} else {
		people = s.org.initial(cfg.People, hrissync.DateOf(cfg.Start))
		for i := range people {
			people[i].TimeZone = s.pickZone()
		}
	}
	s.hris.Load(people...)
	for _, e := range people {
		if rec, ok := s.hris.Employee(e.ID); ok {
			s.src.remember(rec)
		}
		s.observe(e.ID)
	}
	if err := s.eng.Batch(ctx); err != nil {
		return nil, fmt.Errorf("sim: initial load: %w", err)
	}
	if err := s.advance(ctx, cfg.Start.Add(initialLoad)); err != nil {
		return nil, err
	}
	if unmet := s.settleInitial(); unmet != 0 {
		return nil, fmt.Errorf("sim: initial load left %d expectations unmet", unmet)
	}
	base := s.snapshot()
	s.marks = []dayMark{s.mark(s.clock.Now())}
	s.dayMarks()

	s.inject()
	if cfg.Way == NaiveRelay || (cfg.Way == Engine && cfg.realtime()) {
		s.hris.Subscribe(func(ev hrissync.Event) {
			// A webhook endpoint that fails answers 5xx and the sender
			// retries; the memory store does not fail, so this logs.
			if err := s.eng.Notify(ctx, ev); err != nil {
				cfg.Logger.Error("notify failed", "err", err)
			}
		})
	}
	if cfg.Replay != nil {
		s.replay()
	} else {
		for day := range cfg.Days {
			date := hrissync.DateOf(cfg.Start).AddDays(day)
			s.clock.AfterFunc(date.Start(cfg.Location).Sub(s.clock.Now()), func() { s.planDay(day, date) })
		}
	}
	if st := cfg.Storm; st != nil {
		s.stormAt = hrissync.DateOf(cfg.Start).AddDays(st.Day).Start(cfg.Location).Add(10 * time.Hour)
		s.clock.AfterFunc(s.stormAt.Sub(s.clock.Now()), s.storm)
	}
	if err := s.advance(ctx, s.end); err != nil {
		return nil, err
	}
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return s.report(ctx, base)
}

// advance moves the clock timer by timer up to end, letting the engine finish
// its work at each instant before the next.
func (s *simulation) advance(ctx context.Context, end time.Time) error {
	for {
		if err := s.eng.WaitIdle(ctx); err != nil {
			return err
		}
		next, ok := s.clock.Next()
		if !ok || next.After(end) {
			s.clock.AdvanceTo(end)
			return s.eng.WaitIdle(ctx)
		}
		if s.cfg.Serial {
			s.clock.Step()
		} else {
			s.clock.AdvanceTo(next)
		}
	}
}

// settleInitial marks the expectations met by the initial load as done
// without counting them.
func (s *simulation) settleInitial() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.targets {
		for k, es := range t.pending {
			n += len(es)
			delete(t.pending, k)
		}
		t.done = nil
	}
	return n
}

// inject schedules the faults.
func (s *simulation) inject() {
	f := s.cfg.Faults
	s.hris.SetEventFaults(memory.EventFaults{Lost: f.LostWebhooks, Duplicate: f.DuplicateWebhooks, MaxDelay: f.WebhookDelay})
	// The bursts are drawn whatever the sinks, so that the churn drawn
	// after them is the same with one sink or several.
	var throttles []memory.Throttle
	weeks := (s.cfg.Days + 6) / 7
	for range f.ThrottleBursts * weeks {
		day := hrissync.DateOf(s.cfg.Start).AddDays(s.rng.IntN(s.cfg.Days))
		from := workingTime(s.rng, day, s.cfg.Location)
		throttles = append(throttles, memory.Throttle{Span: memory.Span{From: from, To: from.Add(f.ThrottleLength)}, RetryAfter: f.ThrottleRetryAfter})
	}
	for i, t := range s.targets {
		t.platform.SetFaults(s.sinkFaults(i, t, throttles))
	}
	for _, o := range f.SourceOutages {
		from := hrissync.DateOf(s.cfg.Start).AddDays(o.Day).Start(s.cfg.Location).Add(o.At)
		s.hris.AddOutage(memory.Span{From: from, To: from.Add(o.Length)})
	}
	s.plantLeavers()
}

// plantLeavers schedules the leavers of the 404 outage (NotFound.Leavers)
// among the people it hides.
func (s *simulation) plantLeavers() {
	n := s.cfg.Faults.NotFound
	if n == nil || n.Leavers <= 0 || s.src.notice == nil {
		return
	}
	from, to := s.src.span[0], s.src.span[1]
	// A zone whose midnight falls during the outage: a last day there
	// ends while it lasts.
	zone, found := "", false
	var midnight time.Time
	for _, z := range append([]Zone{{}}, s.cfg.Zones...) {
		loc := s.locOf(z.Name)
		if m := hrissync.DateOf(to.In(loc)).Start(loc); !m.Before(from) && m.Before(to) {
			zone, found, midnight = z.Name, true, m
			break
		}
	}
	hidden := func(e hrissync.Employee) bool { return s.working(e) && e.ManagerID != "" && s.src.affected(e.ID) }
	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x504c414e54))
	for i := range n.Leavers {
		if found && i%2 == 0 {
			last := hrissync.DateOf(midnight.In(s.locOf(zone))).AddDays(-1)
			at := from.Add(-18*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
			s.clock.AfterFunc(at.Sub(s.clock.Now()), func() {
				if e, ok := s.anyone(in(zone, hidden)); ok {
					s.update("employee.terminated", e, func(e *hrissync.Employee) { e.TerminationDate = last })
				}
			})
			continue
		}
		at := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
		s.clock.AfterFunc(at.Sub(s.clock.Now()), func() {
			if e, ok := s.anyone(hidden); ok {
				s.count1(&s.immediate)
				s.update("employee.dismissed", e, func(e *hrissync.Employee) {
					e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, s.todayIn(e.TimeZone), true
				})
			}
		})
	}
}
