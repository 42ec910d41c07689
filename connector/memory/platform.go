package memory

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/hrtype"
	"github.com/hrissync/hrissync/retry"
)

// ErrInjected is the error of a write failed at the scripted ErrorRate.
var ErrInjected = errors.New("memory: 503 service unavailable (injected)")

// SinkFaults script how the platform fails.
type SinkFaults struct {
	ErrorRate float64 // share of writes failing with ErrInjected
	// Throttles answer every write with 429 and a Retry-After while they
	// last.
	Throttles []Throttle
	Outages   []Span // every write fails
	// RateLimit, if positive, is the most writes per second the platform
	// accepts (on the clock); a write over it is answered 429 with the
	// Retry-After until the next slot.
	RateLimit float64
	// Latency is added to each write, waited on the clock. Leave it zero
	// under a simulation's fake clock, which advances only when the
	// engine is idle.
	Latency time.Duration
}

// Throttle is a burst of 429s.
type Throttle struct {
	Span
	RetryAfter time.Duration
}

// Counts are a Platform's counters. Changed counts the writes that changed
// something: the writes a perfect engine would make. Writes − Changed are
// wasted writes.
type Counts struct {
	Attempts int64
	Writes   int64
	Changed  int64
	ByKind   map[hrissync.UpdateKind]int64
}

// Account is an account as the Platform holds it: the fields, and the source
// version each was written from.
type Account struct {
	hrissync.Account
	Versions map[string]hrtype.Version
	Created  time.Time
}

// Platform is an in-memory learning platform. It holds one account per
// employee, refuses a manager reference to an account it does not hold
// (*hrissync.MissingManagerError), and is safe for concurrent use.
type Platform struct {
	clock hrissync.Clock

	mu       sync.Mutex
	accounts map[string]*Account
	faults   SinkFaults
	rng      *rand.Rand
	counts   Counts
	onWrite  func(u hrissync.Update, at time.Time)
	nextSlot time.Time // RateLimit: when the next write is accepted
	// uniqueEmail: no two accounts hold one email (EnforceUniqueEmail).
	uniqueEmail bool
}

var (
	_ hrissync.Sink          = (*Platform)(nil)
	_ hrissync.AccountLister = (*Platform)(nil)
	_ hrissync.Rekeyer       = (*Platform)(nil)
)

// NewPlatform returns an empty Platform on clock, its faults drawn from seed.
func NewPlatform(clock hrissync.Clock, seed uint64) *Platform {
	return &Platform{
		clock: clock, accounts: map[string]*Account{}, rng: rand.New(rand.NewPCG(seed, 0x4c4d53)),
		counts: Counts{ByKind: map[hrissync.UpdateKind]int64{}},
	}
}

// SetFaults scripts the failures of later writes.
func (p *Platform) SetFaults(f SinkFaults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// OnWrite sets a function called after each successful write, with the time
// it was acknowledged; the simulator measures latency with it.
func (p *Platform) OnWrite(fn func(u hrissync.Update, at time.Time)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onWrite = fn
}

// EnforceUniqueEmail makes the Platform refuse a write that gives an account
// an email another account (active or not) holds, as many platforms do: a
// permanent *hrissync.AccountTakenError, as a SCIM provider's 409 uniqueness
// error would be.
func (p *Platform) EnforceUniqueEmail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.uniqueEmail = true
}

// Apply implements hrissync.Sink.
func (p *Platform) Apply(ctx context.Context, u hrissync.Update) error {
	return p.write(ctx, "", u)
}

// Rekey implements hrissync.Rekeyer: the account bound to from is bound to
// u.EmployeeID, keeping when it was created, and u applied to it.
func (p *Platform) Rekey(ctx context.Context, from string, u hrissync.Update) error {
	return p.write(ctx, from, u)
}

// write applies u, first moving the account bound to from, if any, to
// u.EmployeeID.
func (p *Platform) write(ctx context.Context, from string, u hrissync.Update) error {
	p.mu.Lock()
	latency := p.faults.Latency
	p.mu.Unlock()
	if latency > 0 {
		if err := sleep(ctx, p.clock, latency); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Attempts++
	now := p.clock.Now()
	if err := p.injected(now); err != nil {
		return err
	}
	moved := false
	if from != "" {
		var err error
		if moved, err = p.move(from, u.EmployeeID); err != nil {
			return err
		}
	}
	if m := u.Fields[hrissync.FieldManagerID]; m != "" && m != u.EmployeeID && u.Active {
		if _, ok := p.accounts[m]; !ok {
			return &hrissync.MissingManagerError{EmployeeID: u.EmployeeID, ManagerID: m}
		}
	}
	if err := p.taken(u); err != nil {
		return err
	}
	a, ok := p.accounts[u.EmployeeID]
	changed := !ok || moved
	if !ok {
		// A create, or any write for an account the platform lost:
		// idempotent either way.
		a = &Account{Account: hrissync.Account{EmployeeID: u.EmployeeID, Fields: hrissync.Fields{}}, Versions: map[string]hrtype.Version{}, Created: now}
		p.accounts[u.EmployeeID] = a
	}
	if a.Active != u.Active {
		a.Active, changed = u.Active, true
	}
	for _, c := range u.Changes {
		if a.Fields[c.Field] != c.New {
			changed = true
		}
		if c.New == "" {
			delete(a.Fields, c.Field)
		} else {
			a.Fields[c.Field] = c.New
		}
		a.Versions[c.Field] = u.Version
	}
	p.counts.Writes++
	p.counts.ByKind[u.Kind]++
	if changed {
		p.counts.Changed++
	}
	if p.onWrite != nil {
		p.onWrite(u, now)
	}
	return nil
}

// move binds the account bound to from to id, reporting whether it did:
// idempotently, as one already bound to id, none to from, is moved already.
func (p *Platform) move(from, id string) (bool, error) {
	a, had := p.accounts[from]
	_, has := p.accounts[id]
	switch {
	case had && has:
		return false, retry.Permanent(&hrissync.RekeyConflictError{From: from, To: id})
	case !had && !has:
		return false, retry.Permanent(fmt.Errorf("memory: no account bound to %s or %s: %w", from, id, hrissync.ErrNotFound))
	case had:
		delete(p.accounts, from)
		a.EmployeeID = id
		p.accounts[id] = a
		return true, nil
	}
	return false, nil
}

// taken refuses u if it gives its account an email another account holds,
// where emails are unique.
func (p *Platform) taken(u hrissync.Update) error {
	if !p.uniqueEmail {
		return nil
	}
	for _, c := range u.Changes {
		if c.Field != hrissync.FieldEmail || c.New == "" {
			continue
		}
		for id, a := range p.accounts {
			if id != u.EmployeeID && a.Fields[hrissync.FieldEmail] == c.New {
				return retry.Permanent(&hrissync.AccountTakenError{EmployeeID: u.EmployeeID, Field: hrissync.FieldEmail, HeldBy: id})
			}
		}
	}
	return nil
}

func (p *Platform) injected(now time.Time) error {
	if during(p.faults.Outages, now) {
		return fmt.Errorf("memory: platform outage: %w", ErrOutage)
	}
	for _, t := range p.faults.Throttles {
		if t.contains(now) {
			return retry.RetryAfter(errors.New("memory: 429 too many requests"), t.RetryAfter)
		}
	}
	if p.faults.ErrorRate > 0 && p.rng.Float64() < p.faults.ErrorRate {
		return ErrInjected
	}
	if r := p.faults.RateLimit; r > 0 {
		if now.Before(p.nextSlot) {
			return retry.RetryAfter(errors.New("memory: 429 over the rate limit"), p.nextSlot.Sub(now))
		}
		p.nextSlot = now.Add(time.Duration(float64(time.Second) / r))
	}
	return nil
}

// Accounts implements hrissync.AccountLister.
func (p *Platform) Accounts(ctx context.Context) iter.Seq2[hrissync.Account, error] {
	return func(yield func(hrissync.Account, error) bool) {
		for _, a := range p.Snapshot() {
			if err := ctx.Err(); err != nil {
				yield(hrissync.Account{}, err)
				return
			}
			if !yield(a.Account, nil) {
				return
			}
		}
	}
}

// Snapshot returns a copy of every account, by employee ID.
func (p *Platform) Snapshot() map[string]Account {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Account, len(p.accounts))
	for id, a := range p.accounts {
		c := *a
		c.Fields = maps.Clone(a.Fields)
		c.Versions = maps.Clone(a.Versions)
		out[id] = c
	}
	return out
}

// Seed puts in an account the platform holds before hrissync wrote it (one
// made by SSO or an import).
func (p *Platform) Seed(a hrissync.Account) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fields := hrissync.Fields{}
	for k, v := range a.Fields {
		if v != "" {
			fields[k] = v
		}
	}
	p.accounts[a.EmployeeID] = &Account{Account: hrissync.Account{EmployeeID: a.EmployeeID, Active: a.Active, Fields: fields},
		Versions: map[string]hrtype.Version{}, Created: p.clock.Now()}
}

// Delete removes an account, as an administrator might by hand.
func (p *Platform) Delete(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.accounts, id)
}

// Account returns a copy of one account.
func (p *Platform) Account(id string) (Account, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.accounts[id]
	if !ok {
		return Account{}, false
	}
	c := *a
	c.Fields = maps.Clone(a.Fields)
	c.Versions = maps.Clone(a.Versions)
	return c, true
}

// Counts returns the counters.
func (p *Platform) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.ByKind = maps.Clone(p.counts.ByKind)
	return c
}

func sleep(ctx context.Context, clock hrissync.Clock, d time.Duration) error {
	done := make(chan struct{})
	t := clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// Diff lists how the platform differs from what the HRIS says it should hold
// at now (a termination taking effect at the end of the last day, UTC, unless
// a start date after it makes the person a rehire; no account is right for
// someone who left before ever being provisioned, and then no manager
// reference to them either: the platform holds none), a line per person, in
// ID order. Empty fields count as absent.
func Diff(h *HRIS, p *Platform, now time.Time) []string {
	var out []string
	people := h.Employees()
	active := func(e hrissync.Employee) bool {
		end := e.TerminationDate
		return end.IsZero() || now.Before(end.AddDays(1).Start(time.UTC)) || e.StartDate.Start(time.UTC).After(end.Start(time.UTC))
	}
	left := map[string]bool{} // left before ever being provisioned
	for _, e := range people {
		if _, ok := p.Account(e.ID); !ok && !active(e) {
			left[e.ID] = true
		}
	}
	for _, e := range people {
		want := e.Fields()
		active := active(e)
		if !active {
			want[hrissync.FieldStatus] = string(hrissync.StatusTerminated)
		}
		if left[e.ManagerID] {
			delete(want, hrissync.FieldManagerID)
		}
		a, ok := p.Account(e.ID)
		switch {
		case !ok && active:
			out = append(out, e.ID+" missing")
		case !ok:
		case a.Active != active:
			out = append(out, fmt.Sprintf("%s active=%v, want %v", e.ID, a.Active, active))
		case active && !maps.Equal(nonEmpty(a.Fields), nonEmpty(want)):
			out = append(out, fmt.Sprintf("%s fields %v, want %v", e.ID, a.Fields, want))
		}
	}
	slices.Sort(out)
	return out
}

func nonEmpty(f hrissync.Fields) hrissync.Fields {
	out := hrissync.Fields{}
	for k, v := range f {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
