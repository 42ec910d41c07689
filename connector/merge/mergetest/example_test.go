package mergetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/hrissync/hrissync/connector/merge/mergetest"
)

func Example() {
	s := mergetest.NewServer(mergetest.Config{})
	defer s.Close()
	s.PutEmployee(mergetest.Employee{RemoteID: "42", FirstName: "Ada", LastName: "Lovelace", EmploymentStatus: "ACTIVE"})

	req, _ := http.NewRequest(http.MethodGet, s.URL+mergetest.BasePath+"/employees?page_size=10", nil)
	req.Header.Set("Authorization", "Bearer test-api-key")
	req.Header.Set("X-Account-Token", "test-account-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Next    *string          `json:"next"`
		Results []map[string]any `json:"results"`
	}
	json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println(resp.StatusCode, len(page.Results), page.Results[0]["display_full_name"], page.Next == nil)

	// Webhooks: register a receiver, make a change, deliver.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Hook struct{ Event string } `json:"hook"`
		}
		json.Unmarshal(body, &p)
		fmt.Println(p.Hook.Event, r.Header.Get(mergetest.SignatureHeader) == mergetest.Sign([]byte("key"), body))
	}))
	defer hook.Close()
	s.AddWebhook(mergetest.Webhook{URL: hook.URL, Key: []byte("key")})
	s.PutEmployee(mergetest.Employee{RemoteID: "42", FirstName: "Ada", LastName: "King"})
	s.CompleteSync()
	codes, err := s.Deliver(context.Background(), nil)
	fmt.Println(codes, err)
	// Output:
	// 200 1 Ada Lovelace true
	// Employee.changed true
	// LinkedAccount.sync_completed true
	// [200 200] <nil>
}
