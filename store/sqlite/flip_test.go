package sqlite_test

// The byte-flip test: the engine writes a Store for a few hundred people and
// stops; bytes of the file are flipped at random offsets, under many seeds;
// then either Open refuses the file, clearly, or the engine started on it
// rebuilds the damaged people from the Source (a critical alert naming each)
// and brings everyone — them and the rest — in step with the HRIS through HR
// changes, a poll and a batch.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/sqlite"
)

const flipPeople = 300

// flipStart is when the HRIS is loaded; the build ends flipBuilt later.
var flipStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

const flipBuilt = 20 * time.Minute

// hrBefore makes the HRIS the Store was written against: loaded at
// flipStart, then changed ten minutes later. Played again on a fresh HRIS
// and clock, it gives every record the same version.
func hrBefore(clock *clocktest.Clock, hr *memory.HRIS, between func()) {
	today := hrissync.DateOf(flipStart)
	var es []hrissync.Employee
	for i := range flipPeople {
		id := fmt.Sprintf("w-%04d", i)
		e := hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "dev", Department: fmt.Sprintf("dept-%d", i%5),
			Attributes: map[string]string{"skill.go": "3"}}
		switch {
		case i%40 == 1: // leaving on Thursday: a due time in the Store
			e.TerminationDate = today.AddDays(3)
		case i%40 == 2: // left last week: deprovisioned by the build
			e.TerminationDate = today.AddDays(-7)
		}
		es = append(es, e)
	}
	hr.Load(es...)
	between()
	for i := 0; i < flipPeople; i += 9 {
		hr.Update("employee.updated", fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.Role = "lead" })
	}
}

// hrAfter changes the HRIS once the damaged file is open: realtime and batch
// fields, a termination effective at once, and a hire.
func hrAfter(hr *memory.HRIS) {
	today := hrissync.DateOf(flipStart)
	for i := 0; i < flipPeople; i += 7 {
		hr.Update("employee.updated", fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.Role = "principal" })
	}
	for i := 3; i < flipPeople; i += 11 {
		hr.Update("employee.updated", fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.Attributes = map[string]string{"skill.go": "5"} })
	}
	for i := 5; i < flipPeople; i += 50 {
		hr.Update("employee.terminated", fmt.Sprintf("w-%04d", i), func(e *hrissync.Employee) { e.TerminationDate = today.AddDays(-1) })
	}
	hr.Put("employee.created", hrissync.Employee{ID: "w-9999", Email: "w-9999@example.com", Status: hrissync.StatusActive,
		StartDate: hrissync.NewDate(2020, 1, 6), Role: "new"})
}

// flipRig is an engine on a fake clock over the memory HRIS and platform.
type flipRig struct {
	t      *testing.T
	clock  *clocktest.Clock
	hr     *memory.HRIS
	lms    *memory.Platform
	eng    *hrissync.Engine
	stop   func() error // stops Run, returning its error
	mu     sync.Mutex
	alerts []hrissync.Alert
}

func startRig(t *testing.T, clock *clocktest.Clock, hr *memory.HRIS, lms *memory.Platform, st store.Store) (*flipRig, error) {
	r := &flipRig{t: t, clock: clock, hr: hr, lms: lms}
	var err error
	// One worker: the file the build writes is laid out the same way
	// every time, so that a seed flips the same bytes of it.
	r.eng, err = hrissync.New(hr, lms, st, &hrissync.Config{
		Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 1,
		Alerter: hrissync.AlerterFunc(func(_ context.Context, a hrissync.Alert) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.alerts = append(r.alerts, a)
		}),
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error, 1)
	go func() { stopped <- r.eng.Run(ctx) }()
	r.stop = func() error {
		cancel()
		err := <-stopped
		hr.Subscribe(nil)
		return err
	}
	select {
	case <-r.eng.Started():
	case err := <-stopped:
		cancel()
		return nil, err
	}
	hr.Subscribe(func(ev hrissync.Event) {
		if err := r.eng.Notify(t.Context(), ev); err != nil {
			t.Errorf("Notify: %v", err)
		}
	})
	return r, nil
}

// pass moves the clock on by d, timer by timer, the engine finishing its
// work at each instant.
func (r *flipRig) pass(d time.Duration) {
	r.t.Helper()
	end := r.clock.Now().Add(d)
	for {
		if err := r.eng.WaitIdle(r.t.Context()); err != nil {
			r.t.Fatal(err)
		}
		next, ok := r.clock.Next()
		if !ok || next.After(end) {
			r.clock.AdvanceTo(end)
			if err := r.eng.WaitIdle(r.t.Context()); err != nil {
				r.t.Fatal(err)
			}
			return
		}
		r.clock.AdvanceTo(next)
	}
}

// damagedNamed lists the people the critical damaged-state alerts named.
func (r *flipRig) damagedNamed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		if a.Kind == hrissync.AlertDamagedState {
			if a.Severity != hrissync.SeverityCritical {
				r.t.Errorf("damaged-state alert of severity %q: %s", a.Severity, a.Message)
			}
			id, _, _ := strings.Cut(a.Message, ":")
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// buildFlipFile has the engine write a Store for flipPeople people and
// returns the file's bytes and the platform's accounts as it left them.
func buildFlipFile(t *testing.T) ([]byte, map[string]memory.Account) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.Open(t.Context(), path, nil)
	must(t, err)
	clock := clocktest.NewClock(flipStart)
	hr, lms := memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1)
	r, err := startRig(t, clock, hr, lms, st)
	must(t, err)
	hrBefore(clock, hr, func() {
		must(t, r.eng.Batch(t.Context()))
		r.pass(10 * time.Minute)
	})
	r.pass(flipBuilt - 10*time.Minute)
	if d := memory.Diff(hr, lms, clock.Now()); len(d) > 0 {
		t.Fatalf("the build did not converge: %v", d)
	}
	must(t, r.stop())
	must(t, st.Close())
	b, err := os.ReadFile(path)
	must(t, err)
	return b, lms.Snapshot()
}

type flipOutcome struct {
	seed, flips int
	refused     error
	quarantined []string
}

func TestByteFlips(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine on 40 damaged files")
	}
	file, accounts := buildFlipFile(t)
	const seeds = 40
	outcomes := make([]flipOutcome, seeds)
	t.Run("seeds", func(t *testing.T) {
		for seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				outcomes[seed] = flipAndRun(t, uint64(seed), file, accounts)
			})
		}
	})
	refused, quarantined := 0, 0
	for _, o := range outcomes {
		switch {
		case o.flips == 0: // not run
		case o.refused != nil:
			refused++
			t.Logf("seed %2d, %2d bytes flipped: refused: %v", o.seed, o.flips, o.refused)
		case len(o.quarantined) > 0:
			quarantined++
			t.Logf("seed %2d, %2d bytes flipped: opened, quarantined %v", o.seed, o.flips, o.quarantined)
		default:
			t.Logf("seed %2d, %2d bytes flipped: opened, nobody damaged", o.seed, o.flips)
		}
	}
	t.Logf("%d seeds: %d refused at Open, %d opened with people quarantined, %d opened with nobody damaged",
		seeds, refused, quarantined, seeds-refused-quarantined)
}

// flipAndRun flips bytes of a copy of file and either sees Open refuse it or
// runs the engine on it to convergence.
func flipAndRun(t *testing.T, seed uint64, file []byte, accounts map[string]memory.Account) flipOutcome {
	rng := rand.New(rand.NewPCG(seed, 0xf11b))
	o := flipOutcome{seed: int(seed), flips: 1 << (seed % 7)} // 1 to 64 bytes
	b := append([]byte(nil), file...)
	for range o.flips {
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
	}
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, b, 0o600))
	st, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		if !errors.Is(err, sqlite.ErrDamaged) {
			t.Logf("refused, though not as damaged: %v", err)
		}
		o.refused = err
		return o
	}
	defer st.Close()

	clock := clocktest.NewClock(flipStart)
	hr, lms := memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1)
	hrBefore(clock, hr, func() { clock.AdvanceTo(flipStart.Add(10 * time.Minute)) })
	clock.AdvanceTo(flipStart.Add(flipBuilt))
	for _, a := range accounts {
		lms.Seed(a.Account)
	}
	r, err := startRig(t, clock, hr, lms, st)
	if err != nil {
		t.Fatalf("the engine did not start on the damaged file: %v", err)
	}
	r.pass(time.Minute) // the start-up sweep rebuilds the quarantined
	hrAfter(hr)
	r.pass(10 * time.Minute)
	if err := r.eng.Poll(t.Context()); err != nil {
		t.Errorf("poll: %v", err)
	}
	r.pass(time.Minute)
	if err := r.eng.Batch(t.Context()); err != nil {
		t.Errorf("batch: %v", err)
	}
	r.pass(time.Minute)
	if err := r.stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if d := memory.Diff(hr, lms, clock.Now()); len(d) > 0 {
		t.Errorf("the platform differs from the HRIS for %d people: %v", len(d), d[:min(len(d), 5)])
	}
	left, err := st.Pending(t.Context(), "default", clock.Now(), "", 1000)
	must(t, err)
	for _, p := range left {
		if p.Damaged {
			t.Errorf("%s still damaged in the Store", p.ID)
		}
	}
	o.quarantined = r.damagedNamed()
	return o
}
