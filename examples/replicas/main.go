// Command replicas runs three engines on one PostgreSQL database, sharing the
// work through River: HR changes from the simulator's HRIS arrive as webhooks
// at a replica chosen at random (a load balancer), the fallback poll and the
// batch run on short schedules, and it prints which replica ran each poll and
// batch, then the convergence line.
//
//	eval "$(.ci/postgres start)"   # or any PostgreSQL: -url postgres://...
//	go run ./examples/replicas
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store/postgres"
)

func main() {
	url := flag.String("url", os.Getenv("HRISSYNC_POSTGRES_URL"), "PostgreSQL URL (default $HRISSYNC_POSTGRES_URL)")
	schema := flag.String("schema", "hrissync_replicas_example", "schema for the example's tables (dropped first)")
	people := flag.Int("people", 500, "people in the organisation")
	changes := flag.Int("changes", 400, "HR changes, made over -for")
	over := flag.Duration("for", 6*time.Second, "how long the changes take")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "replicas: no database: pass -url, or start one with: eval \"$(.ci/postgres start)\"")
		os.Exit(2)
	}
	if err := run(*url, *schema, *people, *changes, *over); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

func run(url, schema string, people, changes int, over time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	setup, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer setup.Close()
	if _, err := setup.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		return err
	}

	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	today := hrissync.DateOf(time.Now())
	for i := range people {
		id := fmt.Sprintf("w-%05d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: today.AddDays(-30), Role: "role-" + strconv.Itoa(i%9)})
	}

	// Which replica ran each poll and batch: the Queue logs it at Info
	// (River's own Info lines are left out).
	out := slog.New(scheduledOnly{slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
				return slog.Attr{}
			}
			return a
		},
	})})
	var engines []*hrissync.Engine
	done := make(chan error, 3)
	for i := range 3 {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: schema})
		if err != nil {
			return err
		}
		q, err := postgres.NewQueue(ctx, st, &postgres.QueueOptions{Name: fmt.Sprint("replica-", i), Workers: 8, Logger: out})
		if err != nil {
			return err
		}
		eng, err := hrissync.New(hris, platform, st, &hrissync.Config{
			Dispatcher:    q,
			PollSchedule:  cadence.Every(2 * time.Second),
			PollWindow:    cadence.Window{Length: 3 * time.Second, Overlap: time.Second},
			BatchSchedule: cadence.Every(5 * time.Second),
			Logger:        slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		go func() { done <- eng.Run(ctx) }()
		engines = append(engines, eng)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	hris.Subscribe(func(ev hrissync.Event) {
		if rng.Float64() < 0.1 {
			return // lost: the poll finds it
		}
		go engines[rng.IntN(len(engines))].Notify(ctx, ev)
	})

	start := time.Now()
	for n := range changes {
		time.Sleep(time.Until(start.Add(time.Duration(n) * over / time.Duration(changes))))
		id, v := fmt.Sprintf("w-%05d", rng.IntN(people)), rng.IntN(100)
		if _, err := hris.Update("role", id, func(e *hrissync.Employee) {
			e.Role = "role-" + strconv.Itoa(v)
			e.Attributes = maps.Clone(e.Attributes)
			if e.Attributes == nil {
				e.Attributes = map[string]string{}
			}
			e.Attributes["skill.go"] = strconv.Itoa(v % 5)
		}); err != nil {
			return err
		}
	}
	// Wait for the platform to hold what the HRIS says (the skills wait
	// for the next batch).
	for time.Since(start) < over+time.Minute {
		if lost := len(memory.Diff(hris, platform, time.Now())); lost == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	lost := len(memory.Diff(hris, platform, time.Now()))
	c := platform.Counts()
	cancel()
	for range engines {
		<-done
	}
	yes := map[bool]string{true: "yes", false: "no"}[lost == 0]
	fmt.Printf("converged=%s lost=%d people=%d changes=%d writes=%d attempts=%d took=%s\n",
		yes, lost, people, changes, c.Writes, c.Attempts, time.Since(start).Round(time.Millisecond))
	if lost != 0 {
		return fmt.Errorf("%d people differ", lost)
	}
	return nil
}

// scheduledOnly passes on the Queue's "scheduled job" lines and warnings.
type scheduledOnly struct{ slog.Handler }

func (h scheduledOnly) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != "scheduled job" && r.Level < slog.LevelWarn {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}
