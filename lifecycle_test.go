package hrissync_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
)

// Like an http.Server, an engine is closed by Shutdown and not reused: Run
// and Notify then return ErrClosed.

func newQuietEngine(t *testing.T, st store.Store, sink hrissync.Sink, cfg hrissync.Config) *hrissync.Engine {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := hrissync.New(newHR(), sink, st, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// runAsync runs eng and returns where Run's result arrives; the test's end
// cancels the run, so that a Run that runs on does not outlive it.
func runAsync(t *testing.T, eng *hrissync.Engine) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); synctest.Wait() })
	return done
}

// returned is Run's result if it has returned once the bubble settles.
func returned(t *testing.T, done <-chan error) (error, bool) {
	t.Helper()
	synctest.Wait()
	select {
	case err := <-done:
		return err, true
	default:
		return nil, false
	}
}

func TestShutdownBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &startUpStore{Store: memory.New(), heeds: true, entered: make(chan struct{}, 1), release: make(chan struct{})}
		close(st.release)
		eng := newQuietEngine(t, st, newLMS(), hrissync.Config{})
		if err := eng.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		err, ok := returned(t, runAsync(t, eng))
		if !ok {
			t.Fatal("Run after Shutdown runs on")
		}
		if !errors.Is(err, hrissync.ErrClosed) {
			t.Errorf("Run after Shutdown = %v, want ErrClosed", err)
		}
		select {
		case <-st.entered:
			t.Error("a closed engine swept the Store")
		case <-eng.Started():
			t.Error("a closed engine started: set its schedules")
		default:
		}
	})
}

func TestRunAfterRunReturnedIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := newQuietEngine(t, memory.New(), newLMS(), hrissync.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { first <- eng.Run(ctx) }()
		<-eng.Started()
		cancel()
		if err := <-first; err != nil {
			t.Fatalf("first Run = %v, want nil when its ctx ends", err)
		}
		err, ok := returned(t, runAsync(t, eng))
		if !ok {
			t.Fatal("a second Run runs on")
		}
		if !errors.Is(err, hrissync.ErrClosed) {
			t.Errorf("second Run = %v, want ErrClosed", err)
		}
	})
}

func TestNotifyAfterShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memory.New()
		eng := newQuietEngine(t, st, newLMS(), hrissync.Config{})
		done := runAsync(t, eng)
		<-eng.Started()
		if err := eng.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if err := <-done; !errors.Is(err, hrissync.ErrClosed) {
			t.Errorf("Run = %v, want ErrClosed", err)
		}
		ev := hrissync.Event{ID: "e1", EmployeeID: "w-001", OccurredAt: time.Now()}
		if err := eng.Notify(context.Background(), ev); !errors.Is(err, hrissync.ErrClosed) {
			t.Fatalf("Notify after Shutdown = %v, want ErrClosed", err)
		}
		// Nothing recorded: the person is not marked, and the id is
		// free — accepting it under another fingerprint is no conflict.
		ctx := context.Background()
		p, err := st.Person(ctx, eng.Tenant(), ev.EmployeeID)
		if err != nil && !errors.Is(err, hrissync.ErrNotFound) {
			t.Fatal(err)
		}
		if p.Dirty.Generation != 0 {
			t.Errorf("the person was marked dirty: %+v", p.Dirty)
		}
		dup, err := st.Accept(ctx, eng.Tenant(), store.Acceptance{EventID: ev.ID, Fingerprint: "probe", EmployeeID: ev.EmployeeID,
			Forget: time.Now().Add(time.Hour), Mark: store.Mark{Since: time.Now(), Classes: cadence.Realtime}})
		if err != nil || dup {
			t.Errorf("the event id was recorded: Accept = dup %v, %v", dup, err)
		}
		if s := eng.Stats(); s.Events != 0 {
			t.Errorf("Stats.Events = %d, want 0", s.Events)
		}
	})
}

// A policy without realtime fields never polls, yet its Notify remembers
// event ids: they expire on the engine's own hourly timer.
func TestBatchOnlyForgetsEventIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, hrissync.Config{Policy: cadence.BatchOnly(), EventRetention: 24 * time.Hour})
		a := r.hr.put(alice())
		ev := hrissync.Event{ID: "e1", EmployeeID: a.ID, OccurredAt: a.Version.Time}
		if err := r.eng.Notify(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		r.sleep(24*time.Hour + 2*time.Hour) // past the retention, and the next hourly timer
		if err := r.eng.Notify(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if s := r.eng.Stats(); s.Events != 2 || s.Duplicates != 0 {
			t.Errorf("Events %d, Duplicates %d: want the id forgotten (2, 0)", s.Events, s.Duplicates)
		}
	})
}

// startUpStore holds the start-up sweep until the test lets it go, or ctx
// ends if it heeds it.
type startUpStore struct {
	store.Store
	heeds   bool
	entered chan struct{}
	release chan struct{}
}

func (s *startUpStore) Pending(ctx context.Context, tenant string, until time.Time, after string, limit int) ([]store.Person, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	done := ctx.Done()
	if !s.heeds {
		done = nil
	}
	select {
	case <-done:
		return nil, ctx.Err()
	case <-s.release:
	}
	// What the sweep finds, whatever the ctx: the start-up goes on.
	return s.Store.Pending(context.WithoutCancel(ctx), tenant, until, after, limit)
}

func TestShutdownDuringStartUp(t *testing.T) {
	for _, heeds := range []bool{true, false} {
		name := map[bool]string{true: "the sweep heeds the cancel", false: "the sweep finishes"}[heeds]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := memory.New()
				st := &startUpStore{Store: mem, heeds: heeds, entered: make(chan struct{}, 1), release: make(chan struct{})}
				lms := newLMS()
				eng := newQuietEngine(t, st, lms, hrissync.Config{})
				// Someone left dirty, for the sweep to find.
				if err := eng.Notify(context.Background(), hrissync.Event{ID: "e1", EmployeeID: "w-001", OccurredAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				done := runAsync(t, eng)
				<-st.entered
				stopped := make(chan error, 1)
				go func() { stopped <- eng.Shutdown(context.Background()) }()
				if !heeds {
					synctest.Wait()
					close(st.release)
				}
				if err := <-stopped; err != nil {
					t.Errorf("Shutdown = %v", err)
				}
				err, ok := returned(t, done)
				if !ok {
					t.Fatal("Run runs on after a Shutdown during its start-up")
				}
				if !errors.Is(err, hrissync.ErrClosed) {
					t.Errorf("Run = %v, want ErrClosed", err)
				}
				select {
				case <-eng.Started():
					t.Error("Started closed by a start-up that was shut down")
				default:
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				if w := lms.writes(); len(w) != 0 {
					t.Errorf("a shut-down engine wrote %d times", len(w))
				}
			})
		})
	}
}
