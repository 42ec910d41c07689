package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/status"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// The status page mounted under /sync/ and its JSON read back after a batch
// in which the platform refused one person.
func Example() {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	hris.Load(
		hrissync.Employee{ID: "w-1", Email: "ada@example.com", Status: hrissync.StatusActive},
		hrissync.Employee{ID: "w-2", Email: "bob@example", Status: hrissync.StatusActive},
	)
	platform := memory.NewPlatform(clock, 1)
	sink := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
		if u.EmployeeID == "w-2" {
			return retry.Permanent(errors.New("400 invalid email")) // no retry will mend it
		}
		return platform.Apply(ctx, u)
	})
	eng, err := hrissync.New(hris, sink, memstore.New(), &hrissync.Config{Tenant: "acme", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	fmt.Println("batch:", eng.Batch(ctx))

	// In a real host, behind the host's own authentication.
	mux := http.NewServeMux()
	mux.Handle("/sync/", http.StripPrefix("/sync", status.Handler(eng)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/sync/status.json")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc status.Document
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, "tenant:", doc.Tenant, "backlog:", doc.Backlog)
	for _, r := range doc.Runs {
		fmt.Println("run:", r.Name, r.Outcome, "writes:", r.Writes)
	}
	for _, d := range doc.DeadLetters {
		fmt.Println("dead letter:", d.ID, "attempts:", d.Attempts, "error:", d.LastErr)
	}
	fmt.Println("batch writes timed:", doc.Lag["batch"].Count)
	// Output:
	// batch: <nil>
	// 200 tenant: acme backlog: 0
	// run: batch succeeded writes: 1
	// dead letter: w-2 attempts: 1 error: 400 invalid email
	// batch writes timed: 1
}
