// Command plan prints what tonight's batch would change, without changing
// anything: every write by kind and by field, the leavers, and whether the
// deletion limit would hold the run.
//
//	go run ./examples/plan -csv export.csv -db state.db   # a real export and state
//	go run ./examples/plan                                # a demonstration
//	go run ./examples/plan -json                          # the same, as JSON
//	go run ./examples/plan -csv export.csv -db state.db -sink lxp   # one sink of several
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/csv"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/sqlite"
)

func main() {
	export := flag.String("csv", "", "the HR export to plan from (with -db)")
	db := flag.String("db", "", "the engine's SQLite state")
	tenant := flag.String("tenant", "default", "the tenant whose state to read")
	sink := flag.String("sink", "", "the sink of an engine of several (hrissync.NewMulti) whose state to read; empty: the tenant's own — an engine of one sink, or the sink that Inherits it")
	asJSON := flag.Bool("json", false, "print JSON rather than tables")
	flag.Parse()
	plan, err := makePlan(context.Background(), *export, *db, *tenant, *sink)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(1)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan); err != nil {
			fmt.Fprintln(os.Stderr, "plan:", err)
			os.Exit(1)
		}
		return
	}
	print(plan)
}

// refuse is the Sink of a dry run: Plan never writes.
var refuse = hrissync.SinkFunc(func(context.Context, hrissync.Update) error {
	return errors.New("plan: a dry run writes nothing")
})

func makePlan(ctx context.Context, export, db, tenant, sink string) (hrissync.Plan, error) {
	cfg := &hrissync.Config{Tenant: tenant, Logger: slog.New(slog.DiscardHandler)}
	if export != "" || db != "" {
		if export == "" || db == "" {
			return hrissync.Plan{}, errors.New("-csv and -db go together")
		}
		src, err := csv.Open(ctx, export, nil)
		if err != nil {
			return hrissync.Plan{}, err
		}
		st, err := sqlite.Open(ctx, db, nil)
		if err != nil {
			return hrissync.Plan{}, err
		}
		defer st.Close()
		if sink != "" {
			// The sink's own state, as the engine of several keeps it.
			eng, err := hrissync.NewMulti(src, []hrissync.Destination{{Name: sink, Sink: refuse}}, st, cfg)
			if err != nil {
				return hrissync.Plan{}, err
			}
			return eng.Sink(sink).Plan(ctx)
		}
		eng, err := hrissync.New(src, refuse, st, cfg)
		if err != nil {
			return hrissync.Plan{}, err
		}
		return eng.Plan(ctx)
	}
	return demo(ctx, cfg)
}

// demo provisions 200 people, then makes a day's HR changes, and plans.
func demo(ctx context.Context, cfg *hrissync.Config) (hrissync.Plan, error) {
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	st := memstore.New()
	start := hrissync.DateOf(time.Now()).AddDays(-100)
	for i := range 200 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: start,
			Role: "Engineer", Attributes: map[string]string{"skill.go": "3"}})
	}
	eng, err := hrissync.New(hris, platform, st, cfg)
	if err != nil {
		return hrissync.Plan{}, err
	}
	if err := eng.Batch(ctx); err != nil {
		return hrissync.Plan{}, err
	}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("w-%04d", i*6)
		if _, err := hris.Update("skill", id, func(e *hrissync.Employee) { e.Attributes = map[string]string{"skill.go": "4"} }); err != nil {
			return hrissync.Plan{}, err
		}
	}
	for _, id := range []string{"w-0003", "w-0011"} {
		if _, err := hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" }); err != nil {
			return hrissync.Plan{}, err
		}
	}
	if _, err := hris.Update("leave", "w-0042", func(e *hrissync.Employee) { e.TerminationDate = hrissync.DateOf(time.Now()).AddDays(-1) }); err != nil {
		return hrissync.Plan{}, err
	}
	hris.Put("hire", hrissync.Employee{ID: "w-0200", Email: "w-0200@example.com", Status: hrissync.StatusActive, StartDate: hrissync.DateOf(time.Now()), Role: "Engineer"})
	return eng.Plan(ctx)
}

func print(p hrissync.Plan) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "plan at %s: %d people in the list, %d active accounts, %d writes\n\n", p.At.Format(time.RFC3339), p.Seen, p.Accounts, len(p.Writes))
	fmt.Fprintln(w, "kind\twrites")
	for _, k := range []hrissync.UpdateKind{hrissync.Create, hrissync.Modify, hrissync.Deactivate, hrissync.Reactivate} {
		fmt.Fprintf(w, "%s\t%d\n", k, p.ByKind[k])
	}
	fmt.Fprintln(w, "\nfield\twrites changing it")
	for _, f := range slices.Sorted(maps.Keys(p.ByField)) {
		fmt.Fprintf(w, "%s\t%d\n", f, p.ByField[f])
	}
	hold := "no"
	if p.Held {
		hold = "YES: the batch would stop and wait for ApproveDeletions"
	}
	fmt.Fprintf(w, "\nleavers\t%d %v\ndeletion limit trips\t%s\n", len(p.Leavers), p.Leavers, hold)
}
