package bamboohrtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
)

// A fake company answering as BambooHR documents, with a scripted fault:
// the next Get Employee is throttled.
func Example() {
	s := bamboohrtest.NewServer(bamboohrtest.Config{CompanyDomain: "acme", APIKey: "key"})
	defer s.Close()
	id := s.Add(map[string]string{"firstName": "Ava", "lastName": "Nguyen", "status": "Active"})
	s.Inject(bamboohrtest.Fault{Method: http.MethodGet, Path: "/employees/", Status: http.StatusServiceUnavailable, RetryAfter: "2"})

	get := func() {
		req, _ := http.NewRequest(http.MethodGet, s.APIBase()+"/employees/"+id+"?fields=firstName,status", nil)
		req.SetBasicAuth("key", "x") // the API key is the user name
		req.Header.Set("Accept", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)))
	}
	get()
	get()
	fmt.Println("requests:", len(s.Requests()))
	// Output:
	// 503 "2"
	// 200 "" {"firstName":"Ava","id":"1","status":"Active"}
	// requests: 2
}
