package merge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/merge"
	"github.com/hrissync/hrissync/connector/merge/mergetest"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// A Merge linked account as the Source, Merge's webhooks on the library's
// endpoint: the first batch provisions everyone; a termination reaches the
// platform once Merge has synced it and posted Employee.changed; a sync
// notification starts a poll. (A fake Merge stands in for api.merge.dev; a
// host gives New only the API key and the linked account's token.)
func Example() {
	ctx := context.Background()
	api := mergetest.NewServer(mergetest.Config{APIKey: "merge-api-key", AccountToken: "linked-account-token",
		LinkedAccountID: "5d7c0f36-2b8e-4c41-9a6e-3f2b1c0d9e8a"})
	defer api.Close()
	start := time.Date(2024, 1, 8, 0, 0, 0, 0, time.UTC)
	ada := api.PutEmployee(mergetest.Employee{RemoteID: "101", FirstName: "Ada", LastName: "Lovelace", WorkEmail: "ada@acme.test",
		EmploymentStatus: "ACTIVE", StartDate: &start, JobTitle: "Engineer", TeamID: api.PutTeam("R&D")})
	api.PutEmployee(mergetest.Employee{RemoteID: "102", FirstName: "Alan", LastName: "Turing", WorkEmail: "alan@acme.test",
		EmploymentStatus: "ACTIVE", StartDate: &start, JobTitle: "Analyst", ManagerID: ada.ID})
	api.Drop() // the webhooks of the hires, before the endpoint existed

	src, err := merge.New(merge.Config{APIKey: "merge-api-key", AccountToken: "linked-account-token",
		BaseURL: api.URL + mergetest.BasePath}) // BaseURL only to reach the fake
	if err != nil {
		panic(err)
	}
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := hrissync.New(src, platform, memstore.New(), &hrissync.Config{Logger: discard})
	if err != nil {
		panic(err)
	}
	if err := eng.Batch(ctx); err != nil {
		panic(err)
	}
	fmt.Println("accounts:", len(platform.Snapshot()))

	// The endpoint Merge posts to, with the organization's signature key.
	key := []byte("merge-webhook-signature-key")
	v, err := merge.NewVerifier(key)
	if err != nil {
		panic(err)
	}
	polls := make(chan struct{}, 1)
	h, err := webhook.New(eng, v, &webhook.Config{Logger: discard, Decoder: merge.Decoder{
		LinkedAccount: "5d7c0f36-2b8e-4c41-9a6e-3f2b1c0d9e8a",
		Synced:        func() { polls <- struct{}{} }, // a host starts eng.Poll here
	}})
	if err != nil {
		panic(err)
	}
	endpoint := httptest.NewServer(h)
	defer endpoint.Close()
	api.AddWebhook(mergetest.Webhook{URL: endpoint.URL, Key: key})

	// Merge syncs Alan's termination from the HR system and posts it.
	alan, _ := api.Employee("102")
	alan.EmploymentStatus = "INACTIVE"
	ended := time.Date(2024, 6, 28, 0, 0, 0, 0, time.UTC)
	alan.TerminationDate = &ended
	api.PutEmployee(alan)
	api.CompleteSync()
	codes, err := api.Deliver(ctx, endpoint.Client())
	fmt.Println("delivered:", codes, err, "poll asked:", len(polls) == 1)
	if err := eng.Reconcile(ctx, alan.ID); err != nil { // what the engine's workers do (Engine.Run)
		panic(err)
	}
	a, _ := platform.Account(alan.ID)
	fmt.Println("Alan active:", a.Active, "remote id:", a.Fields[hrissync.AttributePrefix+"remote_id"])
	// Output:
	// accounts: 2
	// delivered: [200 200] <nil> poll asked: true
	// Alan active: false remote id: 102
}
