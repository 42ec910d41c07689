package hrissync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/cadence"
	"github.com/hrissync/hrissync/connector/memory"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// One HRIS, two platforms: a compliance LMS taking everyone, every field on
// the hybrid policy, and a learning-experience platform taking R&D only. The
// batch reads the HRIS's list once and hands each record to both; each sink
// keeps its own state, asked of it by name.
func ExampleNewMulti() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	lms := memory.NewPlatform(clock, 1)
	lxp := memory.NewPlatform(clock, 2)
	for i, dept := range []string{"R&D", "Sales", "R&D", "Finance", "R&D"} {
		id := fmt.Sprintf("w-%d", i+1)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive,
			StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer", Department: dept})
	}

	eng, err := hrissync.NewMulti(hris, []hrissync.Destination{
		{Name: "lms", Sink: lms, Policy: cadence.Hybrid()},
		{Name: "lxp", Sink: lxp, Policy: cadence.RealtimeOnly(),
			InScope: func(e hrissync.Employee) bool { return e.Department == "R&D" }},
	}, memstore.New(), &hrissync.Config{
		Tenant: "acme",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	if err := eng.Batch(ctx); err != nil {
		panic(err)
	}

	for _, s := range eng.Sinks() {
		dead, err := s.DeadLetters(ctx) // a sink answers for itself
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d dead letters\n", s.SinkName(), len(dead))
	}
	fmt.Println("lms accounts:", len(lms.Snapshot()))
	fmt.Println("lxp accounts:", len(lxp.Snapshot()))
	_, err = eng.DeadLetters(ctx) // the engine as a whole cannot say
	fmt.Println(err)
	// Output:
	// lms: 0 dead letters
	// lxp: 0 dead letters
	// lms accounts: 5
	// lxp accounts: 3
	// hrissync: the engine has several sinks: ask one of them (Engine.Sink)
}
