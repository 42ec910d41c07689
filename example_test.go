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

func Example() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)         // the Source
	platform := memory.NewPlatform(clock, 1) // the Sink
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Policy: cadence.Hybrid(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}

	hris.Load(hrissync.Employee{ID: "w-42", Email: "ada@example.com", Status: hrissync.StatusActive, Role: "Engineer"})
	_ = eng.Reconcile(ctx, "w-42") // what a webhook for w-42 leads to
	_ = eng.Reconcile(ctx, "w-42") // a repeat changes nothing

	hris.Update("employee.terminated", "w-42", func(e *hrissync.Employee) { e.Status = hrissync.StatusTerminated })
	_ = eng.Reconcile(ctx, "w-42")

	acc, _ := platform.Account("w-42")
	c := platform.Counts()
	fmt.Println("active:", acc.Active, "status:", acc.Fields[hrissync.FieldStatus])
	fmt.Println("writes:", c.Writes, "create:", c.ByKind[hrissync.Create], "deactivate:", c.ByKind[hrissync.Deactivate])
	// Output:
	// active: false status: terminated
	// writes: 2 create: 1 deactivate: 1
}
