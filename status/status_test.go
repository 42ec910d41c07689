package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/status"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// scene is an engine with one dead letter (w-0001, refused by the platform
// until refuse is cleared) and a batch held by the deletion limit.
func scene(t *testing.T) (*hrissync.Engine, *atomic.Bool) {
	t.Helper()
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	for i := range 6 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"})
	}
	refuse := &atomic.Bool{}
	sink := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
		if u.EmployeeID == "w-0001" && refuse.Load() {
			return retry.Permanent(errors.New("400 invalid email"))
		}
		return platform.Apply(ctx, u)
	})
	eng, err := hrissync.New(hris, sink, memstore.New(), &hrissync.Config{
		Tenant: "acme", Logger: slog.New(slog.DiscardHandler), DeletionLimit: hrissync.Budget{Count: 1, Share: 0.01},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	refuse.Store(true)
	if _, err := hris.Update("role", "w-0001", func(e *hrissync.Employee) { e.Role = "Lead" }); err != nil {
		t.Fatal(err)
	}
	if err := eng.Reconcile(ctx, "w-0001"); err == nil {
		t.Fatal("the refused write succeeded")
	}
	hris.Remove("w-0004")
	hris.Remove("w-0005")
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	return eng, refuse
}

// userKey is where the host's own authentication (signedIn) puts who is
// signed in.
type userKey struct{}

func signedIn(user string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

func approver(r *http.Request) (string, error) {
	if u, _ := r.Context().Value(userKey{}).(string); u != "" {
		return u, nil
	}
	return "", errors.New("nobody is signed in")
}

func TestDocumentAndForms(t *testing.T) {
	eng, refuse := scene(t)
	srv := httptest.NewServer(signedIn("ops@example.com", status.Handler(eng, status.WithApprover(approver))))
	defer srv.Close()

	var doc status.Document
	resp, err := http.Get(srv.URL + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if doc.Tenant != "acme" || len(doc.DeadLetters) != 1 || doc.DeadLetters[0].ID != "w-0001" ||
		!strings.Contains(doc.DeadLetters[0].LastErr, "400 invalid email") || doc.Approval == nil || doc.Approval.Leavers != 2 {
		t.Fatalf("document: %+v", doc)
	}
	var incidents []string
	for _, in := range doc.Incidents {
		incidents = append(incidents, in.Severity+" "+in.ID)
	}
	if len(incidents) != 2 || incidents[0] != "critical acme/deletions/"+doc.Approval.RunID || incidents[1] != "high acme/dead/w-0001" {
		t.Errorf("incidents = %q, want the held batch's (critical) first, then w-0001's dead letter (high)", incidents)
	}
	if len(doc.Runs) != 2 || doc.Runs[0].Outcome != "held" || doc.Runs[1].Outcome != "succeeded" || doc.Lag["batch"].Count == 0 {
		t.Errorf("runs and lag: %+v %+v", doc.Runs, doc.Lag)
	}

	// A POST without the page's token, or from another site, changes
	// nothing.
	refuse.Store(false)
	post := func(form url.Values, site string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/replay", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{"id": {"w-0001"}}, ""); code != http.StatusForbidden {
		t.Errorf("replay without a token: %d, want 403", code)
	}
	if code := post(url.Values{"id": {"w-0001"}, "token": {"forged"}}, "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site replay: %d, want 403", code)
	}
	if dead, _ := eng.DeadLetters(context.Background()); len(dead) != 1 {
		t.Fatalf("a refused POST replayed: %d dead letters left", len(dead))
	}
	page, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(page.Body)
	page.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, token, ok := strings.Cut(string(body), `name="token" value="`)
	if !ok {
		t.Fatal("no token in the page")
	}
	token = token[:strings.IndexByte(token, '"')]
	approve := func(base string) int {
		// The form's "approver" is free text anyone can type: ignored.
		return postApproval(t, base, url.Values{"run": {doc.Approval.RunID}, "token": {token}, "approver": {"mallory"}})
	}
	// Mounted without an approver, or with nobody signed in: refused.
	for name, h := range map[string]http.Handler{
		"no approver hook": status.Handler(eng),
		"nobody signed in": status.Handler(eng, status.WithApprover(approver)),
	} {
		other := httptest.NewServer(h)
		if code := approve(other.URL); code != http.StatusForbidden {
			t.Errorf("%s: approval answered %d, want 403", name, code)
		}
		other.Close()
	}
	if run, _ := eng.LastBatchRun(context.Background()); run.Status != store.BatchHeld {
		t.Fatalf("a refused approval let the run go: %s", run.Status)
	}
	if code := approve(srv.URL); code != http.StatusSeeOther {
		t.Fatalf("approving with the page's token: %d", code)
	}
	if run, _ := eng.LastBatchRun(context.Background()); run.Status != store.BatchSucceeded || run.ApprovedBy != "ops@example.com" {
		t.Errorf("after approval the run is %s, approved by %q", run.Status, run.ApprovedBy)
	}
}

// chromium starts a headless Chromium for the test, or skips it where there
// is none (fails, under HRISSYNC_REQUIRE_BROWSER, as in CI).
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, lookErr := exec.LookPath("chromium")
	if lookErr != nil {
		if os.Getenv("HRISSYNC_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is required here (HRISSYNC_REQUIRE_BROWSER) but not found")
		}
		t.Skip("no chromium: `apt-get install chromium` (as .ci/run does) to run the browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	return browser
}

// TestBrowserReplay loads the page in a real headless Chromium, clicks the
// dead letter's Replay button, and checks the dead letter is gone.
func TestBrowserReplay(t *testing.T) {
	browser := chromium(t)
	eng, refuse := scene(t)
	refuse.Store(false) // the platform now takes the write
	srv := httptest.NewServer(http.StripPrefix("/sync", status.Handler(eng)))
	defer srv.Close()

	fail := func(step string, err error) {
		if err != nil {
			t.Fatalf("driving Chromium (%s): %v", step, err)
		}
	}
	fail("load", chromedp.Do(browser, chromedp.Navigate(srv.URL+"/sync/")))
	before, err := chromedp.Run(browser, chromedp.Text("#dead-w-0001"))
	fail("read the dead letter", err)
	fail("click replay", chromedp.Do(browser, chromedp.Click("#replay-w-0001"), chromedp.WaitVisible("#no-dead-letters")))
	after, err := chromedp.Run(browser, chromedp.Text("#no-dead-letters"))
	fail("read the page after", err)
	if !strings.Contains(before, "400 invalid email") || after != "None." {
		t.Errorf("page before the click %q, after %q", before, after)
	}
	if dead, err := eng.DeadLetters(context.Background()); err != nil || len(dead) != 0 {
		t.Errorf("dead letters after the click: %d (%v)", len(dead), err)
	}
}

// A hold is approved for the people the page showed: someone held after the
// page was loaded (the runaway an approval of a small layoff must not let
// through) stays held.
func TestApprovingAHoldReleasesOnlyWhomThePageShowed(t *testing.T) {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	platform := memory.NewPlatform(clock, 1)
	for i := range 8 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"})
	}
	eng, err := hrissync.New(hris, platform, memstore.New(), &hrissync.Config{
		Tenant: "acme", Logger: slog.New(slog.DiscardHandler), TerminationLimit: hrissync.Budget{Count: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	terminate := func(ids ...string) {
		for _, id := range ids {
			if _, err := hris.Update("termination", id, func(e *hrissync.Employee) {
				e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
			}); err != nil {
				t.Fatal(err)
			}
			if err := eng.Reconcile(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	terminate("w-0000", "w-0001", "w-0002") // one within the budget, two held
	srv := httptest.NewServer(signedIn("ops@example.com", status.Handler(eng, status.WithApprover(approver))))
	defer srv.Close()
	page, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	_, formHTML, ok := strings.Cut(string(body), `id="hold-terminated"`)
	if !ok {
		t.Fatalf("no hold form on the page:\n%s", body)
	}
	formHTML, _, _ = strings.Cut(formHTML, "</form>")
	form := url.Values{}
	for _, field := range strings.Split(formHTML, "<input ")[1:] {
		_, name, _ := strings.Cut(field, `name="`)
		name, _, _ = strings.Cut(name, `"`)
		_, value, _ := strings.Cut(field, `value="`)
		value, _, _ = strings.Cut(value, `"`)
		form.Add(name, value)
	}
	if got := form["person"]; !slices.Equal(got, []string{"w-0001", "w-0002"}) {
		t.Fatalf("the form approves %v, want the two held", got)
	}

	terminate("w-0003", "w-0004") // held after the page was loaded
	if code := postApproval(t, srv.URL, form); code != http.StatusSeeOther {
		t.Fatalf("approval answered %d", code)
	}
	for _, id := range []string{"w-0001", "w-0002", "w-0003", "w-0004"} {
		if err := eng.Reconcile(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]bool{"w-0001": false, "w-0002": false, "w-0003": true, "w-0004": true} {
		if acc, _ := platform.Account(id); acc.Active != want {
			t.Errorf("%s active = %t, want %t", id, acc.Active, want)
		}
	}
	if held := eng.Holds()[hrissync.BudgetTerminated]; !slices.Equal(held, []string{"w-0003", "w-0004"}) {
		t.Errorf("still held: %v", held)
	}
}

// postApproval posts an approval form as the page's button does, and
// returns the status.
func postApproval(t *testing.T, base string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/approve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserActions drives the page's new actions in a real headless
// Chromium: Poll now and Batch now (each a POST answered with the page
// again), a person's view opened from the Explain form, and the plan opened
// from its link. Each click waits for the page it leads to to load
// (chromedp.RunResponse) before anything is read, so that nothing is read
// from the page the click left.
func TestBrowserActions(t *testing.T) {
	browser := chromium(t)
	eng, _ := scene(t) // w-0001 dead-lettered, a batch held
	srv := httptest.NewServer(http.StripPrefix("/sync", status.Handler(eng)))
	defer srv.Close()

	fail := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("driving Chromium (%s): %v", step, err)
		}
	}
	// click clicks sel and waits for the page it leads to.
	click := func(sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(browser, chromedp.Click(sel))
		fail("click "+sel, err)
		if resp.Status != http.StatusOK {
			t.Fatalf("clicking %s led to a %d page", sel, resp.Status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(sel))
		fail("read "+sel, err)
		return s
	}
	fail("load", chromedp.Do(browser, chromedp.Navigate(srv.URL+"/sync/")))

	runs := len(eng.Recent())
	click("#poll-now")
	if got := eng.Recent(); len(got) != runs+1 || got[0].Name != "poll" || got[0].Outcome != "succeeded" {
		t.Fatalf("after Poll now the engine's runs are %+v, want a poll more", got)
	}
	if row := text("#runs tr:nth-child(2)"); !strings.HasPrefix(row, "poll") {
		t.Errorf("the page after Poll now shows %q as the last run", row)
	}

	click("#batch-now")
	if got := eng.Recent(); len(got) != runs+2 || got[0].Name != "batch" || got[0].Outcome != "held" {
		t.Fatalf("after Batch now the engine's runs are %+v, want a batch more, held again", got)
	}
	if row := text("#runs tr:nth-child(2)"); !strings.HasPrefix(row, "batch") {
		t.Errorf("the page after Batch now shows %q as the last run", row)
	}

	fail("type an id", chromedp.Do(browser, chromedp.SetValue("#person-id", "w-0001")))
	click("#person-open")
	if id, role := text("#person"), text("#applied-role"); id != "w-0001" || !strings.Contains(role, "Engineer") {
		t.Errorf("the person view shows %q with role %q, want w-0001's applied Engineer", id, role)
	}
	if next := text("#next"); !strings.Contains(next, "update") || !strings.Contains(next, "dead-lettered") {
		t.Errorf("the person view's next step: %q", next)
	}

	fail("back to the page", chromedp.Do(browser, chromedp.Navigate(srv.URL+"/sync/")))
	click("#plan-link")
	if verdict := text("#verdict"); !strings.Contains(verdict, "held: 2 leavers") {
		t.Errorf("the plan's verdict: %q", verdict)
	}
	if row := text("#write-w-0001"); !strings.Contains(row, "update") || !strings.Contains(row, "role") {
		t.Errorf("the plan's row for w-0001: %q", row)
	}
}
