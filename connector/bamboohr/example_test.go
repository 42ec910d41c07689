package bamboohr_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/connector/webhook"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// A BambooHR company as the Source, its webhooks on the library's endpoint:
// the first batch provisions everyone, and a termination signed by BambooHR
// ends access as soon as it is delivered. (A fake BambooHR stands in for
// acme.bamboohr.com; a host gives New only CompanyDomain and APIKey.)
func Example() {
	ctx := context.Background()
	hr := bamboohrtest.NewServer(bamboohrtest.Config{CompanyDomain: "acme", APIKey: "key-from-bamboohr"})
	defer hr.Close()
	hr.Add(map[string]string{"id": "1", "firstName": "Ada", "lastName": "Lovelace", "workEmail": "ada@acme.test",
		"status": "Active", "hireDate": "2024-01-08", "jobTitle": "Engineer", "department": "R&D"})
	hr.Add(map[string]string{"id": "2", "firstName": "Alan", "lastName": "Turing", "workEmail": "alan@acme.test",
		"status": "Active", "hireDate": "2024-02-05", "jobTitle": "Analyst", "supervisorEId": "1"})
	hr.Drop() // the webhooks of the hires, before the endpoint existed

	src, err := bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "key-from-bamboohr",
		BaseURL: hr.URL}) // BaseURL only to reach the fake
	if err != nil {
		panic(err)
	}
	platform := memory.NewPlatform(hrissync.RealClock{}, 1)
	eng, err := hrissync.New(src, platform, memstore.New(), &hrissync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	if err := eng.Batch(ctx); err != nil {
		panic(err)
	}
	fmt.Println("accounts:", len(platform.Snapshot()))

	// The endpoint BambooHR posts to, with the webhook's private key.
	v, err := bamboohr.NewVerifier(5*time.Minute, []byte("private-key-from-the-webhooks-page"))
	if err != nil {
		panic(err)
	}
	h, err := webhook.New(eng, v, &webhook.Config{Decoder: bamboohr.Decoder{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	endpoint := httptest.NewServer(h)
	defer endpoint.Close()
	hr.AddWebhook(bamboohrtest.Webhook{URL: endpoint.URL, Kind: "event", Format: "json",
		PrivateKey: []byte("private-key-from-the-webhooks-page")})

	// HR terminates Alan; BambooHR posts the event; the engine reads him.
	hr.Update("2", map[string]string{"status": "Inactive", "employmentHistoryStatus": "Terminated", "terminationDate": "2024-06-28"})
	codes, err := hr.Deliver(ctx, endpoint.Client())
	fmt.Println("delivered:", codes, err)
	if err := eng.Reconcile(ctx, "2"); err != nil { // what the engine's workers do (Engine.Run)
		panic(err)
	}
	alan, _ := platform.Account("2")
	fmt.Println("Alan active:", alan.Active, "manager:", alan.Fields[hrissync.FieldManagerID])
	// Output:
	// accounts: 2
	// delivered: [204] <nil>
	// Alan active: false manager: 1
}
