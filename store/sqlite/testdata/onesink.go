//go:build ignore

// onesink.go wrote onesink.db and onesink.json: the state an engine of ONE
// sink (hrissync.New, before issue 25 gave an engine several) left in its
// SQLite Store, and the HRIS and learning platform it synced, for
// TestMigrationFromOneSink (sinks_migrate_test.go). With -postgres it writes
// the same state into the schema onesinkdump of the server at
// $HRISSYNC_POSTGRES_URL instead, dumped to store/postgres/testdata/onesink.sql.
// It was run at commit 993986c, the last before several sinks, from the root
// of a worktree checked out there:
//
//	git worktree add --detach /tmp/old 993986c
//	cp store/sqlite/testdata/onesink.go /tmp/old/store/sqlite/testdata/
//	cd /tmp/old && go run store/sqlite/testdata/onesink.go /tmp/onesink.db /tmp/onesink.json
//	eval "$(.ci/postgres start)"
//	go run store/sqlite/testdata/onesink.go -postgres /tmp/onesink.json
//	pg_dump --inserts --schema=onesinkdump --no-owner --no-privileges "$HRISSYNC_POSTGRES_URL"
//
// Twenty people are synced on a fake clock from 2026-03-02 08:00 UTC by the
// batch and webhooks; the platform refuses w-19 (the email of w-18: its
// emails are unique), who is dead-lettered; w-05 is terminated at once and
// deactivated; w-07's department changes by webhook after the batch, a batch field
// (the hybrid policy) left pending for the next batch. The engine's clock
// ends at 08:30. The JSON holds the HRIS's records and the platform's
// accounts as the engine left them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/postgres"
	"github.com/hrissync/hrissync/store/sqlite"
)

// Saved is what onesink.json holds.
type Saved struct {
	People   []hrissync.Employee `json:"people"`
	Accounts []hrissync.Account  `json:"accounts"`
}

func main() {
	var err error
	if os.Args[1] == "-postgres" {
		err = writePostgres(os.Args[2])
	} else {
		err = writeSQLite(os.Args[1], os.Args[2])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func writeSQLite(path, saved string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return err
	}
	s, err := sync(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(saved, append(b, '\n'), 0o644)
}

func writePostgres(saved string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("HRISSYNC_POSTGRES_URL"))
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := postgres.Open(ctx, pool, &postgres.Options{Schema: "onesinkdump"})
	if err != nil {
		return err
	}
	s, err := sync(st)
	if err != nil {
		return err
	}
	// The same run as the SQLite file's: the JSON saved with it must say
	// what this schema holds too.
	b, err := os.ReadFile(saved)
	if err != nil {
		return err
	}
	var want Saved
	if err := json.Unmarshal(b, &want); err != nil {
		return err
	}
	got, _ := json.Marshal(s)
	wantB, _ := json.Marshal(want)
	if string(got) != string(wantB) {
		return errors.New("the PostgreSQL run synced otherwise than the SQLite file's")
	}
	return nil
}

// sync runs an engine of one sink on st until 08:30 and returns the HRIS and
// the platform as it left them.
func sync(st store.Store) (Saved, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := clocktest.NewClock(t0)
	hr, lms := memory.NewHRIS(clock, 1), memory.NewPlatform(clock, 1)
	lms.EnforceUniqueEmail()
	eng, err := hrissync.New(hr, lms, st, &hrissync.Config{
		Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 1,
	})
	if err != nil {
		return Saved{}, err
	}
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Run(ctx) }()
	select {
	case <-eng.Started():
	case err := <-stopped:
		return Saved{}, err
	}
	hr.Subscribe(func(ev hrissync.Event) {
		if err := eng.Notify(ctx, ev); err != nil {
			panic(err)
		}
	})
	pass := func(d time.Duration) error {
		end := clock.Now().Add(d)
		for {
			if err := eng.WaitIdle(ctx); err != nil {
				return err
			}
			next, ok := clock.Next()
			if !ok || next.After(end) {
				clock.AdvanceTo(end)
				return eng.WaitIdle(ctx)
			}
			clock.AdvanceTo(next)
		}
	}
	var people []hrissync.Employee
	for i := range 20 {
		id := fmt.Sprintf("w-%02d", i)
		e := hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "dev", Department: fmt.Sprintf("dept-%d", i%3)}
		if i == 19 {
			e.Email = "w-18@example.com" // the platform refuses it: w-18 holds it
		}
		people = append(people, e)
	}
	hr.Load(people...)
	if err := eng.Batch(ctx); err != nil {
		return Saved{}, fmt.Errorf("batch: %w", err) // w-19's refusal is no batch error
	}
	if err := pass(10 * time.Minute); err != nil {
		return Saved{}, err
	}
	today := hrissync.DateOf(clock.Now())
	if _, err := hr.Update("employee.terminated", "w-05", func(e *hrissync.Employee) {
		e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, today, true
	}); err != nil {
		return Saved{}, err
	}
	if _, err := hr.Update("employee.updated", "w-07", func(e *hrissync.Employee) { e.Department = "dept-9" }); err != nil {
		return Saved{}, err
	}
	if err := pass(20 * time.Minute); err != nil {
		return Saved{}, err
	}
	hr.Subscribe(nil)
	cancel()
	if err := <-stopped; err != nil && !errors.Is(err, context.Canceled) {
		return Saved{}, err
	}
	// What the file must hold: check it here, so that a file that says
	// otherwise is never saved.
	dead, err := eng.DeadLetters(context.Background())
	if err != nil {
		return Saved{}, err
	}
	if len(dead) != 1 || dead[0].ID != "w-19" {
		return Saved{}, fmt.Errorf("dead letters %v, want w-19 alone", dead)
	}
	accounts := lms.Snapshot()
	if a := accounts["w-05"]; a.Active {
		return Saved{}, errors.New("w-05 is still active")
	}
	if a := accounts["w-07"]; a.Fields[hrissync.FieldDepartment] != "dept-1" {
		return Saved{}, fmt.Errorf("w-07's department is %q on the platform, want dept-1 (dept-9 pending for the batch)", a.Fields[hrissync.FieldDepartment])
	}
	if _, ok := accounts["w-19"]; ok || len(accounts) != 19 {
		return Saved{}, fmt.Errorf("the platform holds %d accounts, want 19 (not w-19)", len(accounts))
	}
	var s Saved
	s.People = hr.Employees()
	for _, id := range slices.Sorted(maps.Keys(accounts)) {
		s.Accounts = append(s.Accounts, accounts[id].Account)
	}
	return s, nil
}
