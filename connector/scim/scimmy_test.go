package scim_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hrissync/hrissync/connector/scim"
)

// scimmyServer is a SCIM 2.0 service provider that is not this project's:
// SCIMMY behind its express routers (testdata/scimmy/server.js), run by
// node on loopback. It registers only the core User schema and the
// enterprise extension. Install it with
//
//	npm ci --prefix connector/scim/testdata/scimmy --no-audit --no-fund
type scimmyServer struct {
	BaseURL string // http://127.0.0.1:<port>/scim/v2
	Token   string // the bearer token every request must carry

	root string // http://127.0.0.1:<port>, where the test-only endpoints are
}

var scimmyClient = &http.Client{Timeout: 10 * time.Second}

// startSCIMMY starts the provider for the test and stops it when the test
// ends. Without node or testdata/scimmy/node_modules the test is skipped,
// or fails if HRISSYNC_REQUIRE_SCIMMY=1.
func startSCIMMY(t testing.TB) *scimmyServer {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("HRISSYNC_REQUIRE_SCIMMY") == "1" {
			t.Fatalf("SCIMMY provider required (HRISSYNC_REQUIRE_SCIMMY=1), but %s", why)
		}
		t.Skipf("SCIMMY provider unavailable: %s; install: npm ci --prefix connector/scim/testdata/scimmy --no-audit --no-fund", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "scimmy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "scimmy-routers")); err != nil {
		unavailable("testdata/scimmy/node_modules is not installed")
	}

	token := rand.Text()
	cmd := exec.Command(node, "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT=0", "SCIM_TOKEN="+token)
	var stderr bytes.Buffer // read only once the process has been waited for
	cmd.Stderr = &stderr
	// The server exits when its stdin closes: on stop, or when this test
	// process dies and the pipe with it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = stdoutW
	if err := cmd.Start(); err != nil {
		stdoutR.Close()
		stdoutW.Close()
		t.Fatal(err)
	}
	stdoutW.Close()

	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	listening := make(chan string, 1)
	go func() {
		defer stdoutR.Close()
		sc := bufio.NewScanner(stdoutR)
		if sc.Scan() {
			listening <- sc.Text()
		}
		io.Copy(io.Discard, stdoutR)
	}()

	var line string
	select {
	case line = <-listening:
	case <-exited:
		t.Fatalf("SCIMMY provider exited before listening (%v); stderr:\n%s", waitErr, stderr.String())
	case <-time.After(30 * time.Second):
		stop()
		t.Fatalf("SCIMMY provider did not say it was listening within 30s; stderr:\n%s", stderr.String())
	}
	base, ok := strings.CutPrefix(line, "listening ")
	if !ok || !strings.HasSuffix(base, "/scim/v2") {
		stop()
		t.Fatalf("SCIMMY provider printed %q, want \"listening http://127.0.0.1:<port>/scim/v2\"; stderr:\n%s", line, stderr.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("SCIMMY provider stderr:\n%s", stderr.String())
		}
	})
	return &scimmyServer{BaseURL: base, Token: token, root: strings.TrimSuffix(base, "/scim/v2")}
}

// Users returns every User the provider stores, as stored.
func (s *scimmyServer) Users(t testing.TB) []map[string]any {
	t.Helper()
	var users []map[string]any
	s.call(t, http.MethodGet, s.root+"/_state", nil, http.StatusOK, &users)
	return users
}

// Seed stores a User as if created outside SCIM (by SSO, say: give it no
// externalId), and returns its id.
func (s *scimmyServer) Seed(t testing.TB, user map[string]any) (id string) {
	t.Helper()
	var created struct{ ID string }
	s.call(t, http.MethodPost, s.root+"/_seed", user, http.StatusCreated, &created)
	return created.ID
}

func (s *scimmyServer) call(t testing.TB, method, url string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := scimmyClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, url, err, b)
	}
}

const (
	coreUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	learnerUser    = "urn:hrissync:params:scim:schemas:extension:learner:2.0:User"
	patchOp        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// TestSCIMMYServerSpeaksSCIM records, in raw HTTP, how this provider
// answers what a SCIM client sends: each assertion is what it was seen to
// do, not necessarily what RFC 7644 asks.
func TestSCIMMYServerSpeaksSCIM(t *testing.T) {
	s := startSCIMMY(t)

	type answer struct {
		status int
		header http.Header
		body   map[string]any // nil when empty
	}
	do := func(method, path string, body any, header ...string) answer {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, s.BaseURL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Content-Type", "application/scim+json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := scimmyClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		a := answer{status: resp.StatusCode, header: resp.Header}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &a.body); err != nil {
				t.Fatalf("%s %s: %d %q is not a JSON object: %v", method, path, resp.StatusCode, b, err)
			}
		}
		return a
	}
	expect := func(what string, a answer, status int, scimType string) {
		t.Helper()
		if a.status != status {
			t.Fatalf("%s: status %d %v, want %d", what, a.status, a.body, status)
		}
		if detail, _ := a.body["detail"].(string); status >= 400 && (a.body["scimType"] != nilIfEmpty(scimType) || detail == "") {
			t.Fatalf("%s: scimType %v (detail %q), want %q", what, a.body["scimType"], a.body["detail"], scimType)
		}
	}
	patch := func(id string, ops ...map[string]any) answer {
		t.Helper()
		return do(http.MethodPatch, "/Users/"+id, map[string]any{"schemas": []string{patchOp}, "Operations": ops})
	}
	search := func(filter string) []any {
		t.Helper()
		a := do(http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil)
		expect("filter "+filter, a, http.StatusOK, "")
		return a.body["Resources"].([]any)
	}
	byID := func(id string) map[string]any {
		t.Helper()
		for _, u := range s.Users(t) {
			if u["id"] == id {
				return u
			}
		}
		return nil
	}

	// Bearer token required: 401 with a SCIM error body otherwise.
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodGet, s.BaseURL+"/Users", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := scimmyClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}

	// Only the core User schema, the enterprise extension and the core
	// Group schema are served.
	a := do(http.MethodGet, "/Schemas", nil)
	expect("GET /Schemas", a, http.StatusOK, "")
	var schemaIDs []string
	for _, r := range a.body["Resources"].([]any) {
		schemaIDs = append(schemaIDs, r.(map[string]any)["id"].(string))
	}
	slices.Sort(schemaIDs)
	if want := []string{scim.GroupSchema, coreUser, enterpriseUser}; !slices.Equal(schemaIDs, want) {
		t.Fatalf("schemas %v, want %v only", schemaIDs, want)
	}

	// POST core + enterprise: 201, id generated, absolute meta.location.
	a = do(http.MethodPost, "/Users", map[string]any{
		"schemas":    []string{coreUser, enterpriseUser},
		"externalId": "w-1",
		"userName":   "Ada.Lovelace@example.com",
		"name":       map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"active":     true,
		"emails": []any{
			map[string]any{"value": "ada@example.com", "type": "work", "primary": true},
			map[string]any{"value": "ada@home.example", "type": "home"},
		},
		enterpriseUser: map[string]any{"employeeNumber": "N1", "department": "Engines", "manager": map[string]any{"value": "m-1"}},
	})
	expect("POST core+enterprise User", a, http.StatusCreated, "")
	id, _ := a.body["id"].(string)
	if id == "" {
		t.Fatalf("POST: no id in %v", a.body)
	}
	if loc := a.body["meta"].(map[string]any)["location"]; loc != s.BaseURL+"/Users/"+id {
		t.Errorf("meta.location %v, want %s", loc, s.BaseURL+"/Users/"+id)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q", ct)
	}
	// express's own ETag header (a hash of the body), not meta.version.
	if et, v := a.header.Get("ETag"), a.body["meta"].(map[string]any)["version"]; !strings.HasPrefix(et, `W/"`) || et == v {
		t.Errorf("ETag header %q, meta.version %v: want express's body hash, unlike meta.version", et, v)
	}

	a = do(http.MethodGet, "/Users/"+id, nil)
	expect("GET the User", a, http.StatusOK, "")
	if a.body["externalId"] != "w-1" || a.body[enterpriseUser].(map[string]any)["employeeNumber"] != "N1" {
		t.Fatalf("GET: %v", a.body)
	}

	// PATCH active=false: 200 with the User.
	a = patch(id, map[string]any{"op": "replace", "path": "active", "value": false})
	expect("PATCH active=false", a, http.StatusOK, "")
	if a.body["active"] != false || byID(id)["active"] != false {
		t.Fatalf("after PATCH active=false: answer %v, state %v", a.body["active"], byID(id)["active"])
	}
	// The same PATCH again changes nothing: 204, no body.
	a = patch(id, map[string]any{"op": "replace", "path": "active", "value": false})
	expect("PATCH that changes nothing", a, http.StatusNoContent, "")
	if a.body != nil {
		t.Fatalf("204 with body %v", a.body)
	}
	// meta.version is not checked: a stale If-Match is ignored (etag.supported is false).
	a = do(http.MethodPatch, "/Users/"+id, map[string]any{"schemas": []string{patchOp},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Countess"}}}, "If-Match", `W/"stale"`)
	expect("PATCH with a stale If-Match", a, http.StatusOK, "")

	// Filtered paths, sub-attributes and enterprise attributes, and a remove.
	a = patch(id,
		map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "ada.l@example.com"},
		map[string]any{"op": "replace", "path": "name.givenName", "value": "Augusta Ada"},
		map[string]any{"op": "replace", "path": enterpriseUser + ":department", "value": "Analytical Engines"},
		map[string]any{"op": "remove", "path": enterpriseUser + ":manager"},
	)
	expect("PATCH emails[type eq work].value, name.givenName, enterprise department, remove manager", a, http.StatusOK, "")
	u := byID(id)
	emails := u["emails"].([]any)
	ent := u[enterpriseUser].(map[string]any)
	if emails[0].(map[string]any)["value"] != "ada.l@example.com" || emails[1].(map[string]any)["value"] != "ada@home.example" ||
		u["name"].(map[string]any)["givenName"] != "Augusta Ada" || u["name"].(map[string]any)["familyName"] != "Lovelace" ||
		ent["department"] != "Analytical Engines" || ent["manager"] != nil || ent["employeeNumber"] != "N1" {
		t.Fatalf("after PATCH: %v", u)
	}

	// Searches. externalId is caseExact; userName, emails.value and
	// employeeNumber are not (the handler makes them so, see server.js).
	for _, c := range []struct {
		filter string
		n      int
	}{
		{`externalId eq "w-1"`, 1},
		{`externalId eq "W-1"`, 0},
		{`userName eq "ada.lovelace@example.com"`, 1},
		{`userName eq "nobody@example.com"`, 0},
		{`emails.value eq "ada.l@example.com"`, 1},
		{`emails[type eq "work"].value eq "ada.l@example.com"`, 1},
		{enterpriseUser + `:employeeNumber eq "N1"`, 1},
		{enterpriseUser + `:employeeNumber eq "N2"`, 0},
	} {
		if got := search(c.filter); len(got) != c.n {
			t.Errorf("filter %s: %d Users, want %d", c.filter, len(got), c.n)
		}
	}
	a = do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName zz "x"`), nil)
	expect("unparsable filter", a, http.StatusBadRequest, "invalidFilter")

	// userName is unique, case-insensitively: 409 uniqueness, nothing stored.
	a = do(http.MethodPost, "/Users", map[string]any{"schemas": []string{coreUser}, "userName": "ada.lovelace@EXAMPLE.com"})
	expect("POST a taken userName", a, http.StatusConflict, "uniqueness")
	if n := len(s.Users(t)); n != 1 {
		t.Fatalf("%d Users after the 409, want 1", n)
	}

	// An unregistered schema on POST: 201; its attributes are dropped, yet
	// its URN stays in schemas.
	a = do(http.MethodPost, "/Users", map[string]any{
		"schemas":    []string{coreUser, learnerUser},
		"externalId": "w-2",
		"userName":   "grace@example.com",
		learnerUser:  map[string]any{"track": "compilers"},
	})
	expect("POST with an unregistered schema", a, http.StatusCreated, "")
	grace := byID(a.body["id"].(string))
	if _, kept := grace[learnerUser]; kept || strings.Join(toStrings(grace["schemas"]), " ") != coreUser+" "+learnerUser {
		t.Fatalf("stored after POST with %s: %v", learnerUser, grace)
	}
	// ... and on PATCH: 400 invalidPath, the whole request refused (the
	// valid operation before it is not applied either).
	before := byID(id)
	for _, op := range []string{"add", "replace", "remove"} {
		ops := []map[string]any{
			{"op": "replace", "path": "active", "value": true},
			{"op": op, "path": learnerUser + ":track", "value": "x"},
		}
		if op == "remove" {
			delete(ops[1], "value")
		}
		a = patch(id, ops...)
		expect("PATCH "+op+" of an unregistered schema's attribute", a, http.StatusBadRequest, "invalidPath")
	}
	a = patch(id, map[string]any{"op": "add", "value": map[string]any{learnerUser: map[string]any{"track": "x"}}})
	expect("PATCH add (no path) of an unregistered schema", a, http.StatusBadRequest, "invalidPath")
	if after := byID(id); after["active"] != false || after["meta"].(map[string]any)["version"] != before["meta"].(map[string]any)["version"] {
		t.Fatalf("refused PATCHes changed the User: %v", after)
	}

	// A User created by SSO: no externalId, found by userName.
	sso := s.Seed(t, map[string]any{"schemas": []string{coreUser}, "userName": "linus@example.com",
		"emails": []any{map[string]any{"value": "linus@example.com", "type": "work"}}})
	if got := search(`userName eq "Linus@example.com"`); len(got) != 1 || got[0].(map[string]any)["id"] != sso || got[0].(map[string]any)["externalId"] != nil {
		t.Fatalf("seeded User by userName: %v", got)
	}

	// DELETE: 204; then 404 on GET, PATCH and DELETE.
	expect("DELETE", do(http.MethodDelete, "/Users/"+id, nil), http.StatusNoContent, "")
	expect("GET deleted", do(http.MethodGet, "/Users/"+id, nil), http.StatusNotFound, "")
	expect("PATCH deleted", patch(id, map[string]any{"op": "replace", "path": "active", "value": false}), http.StatusNotFound, "")
	expect("DELETE deleted", do(http.MethodDelete, "/Users/"+id, nil), http.StatusNotFound, "")
	if n := len(s.Users(t)); n != 2 {
		t.Fatalf("%d Users at the end, want 2", n)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
