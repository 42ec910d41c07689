package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/connector/memory"
	"github.com/hrissync/hrissync/retry"
	"github.com/hrissync/hrissync/status"
	"github.com/hrissync/hrissync/store"
	memstore "github.com/hrissync/hrissync/store/memory"
)

// multiScene is an engine of two sinks over one HRIS: an LMS whose deletion
// limit holds the batch that removes two people, and an LXP that refuses
// w-0001 (a dead letter) and w-0002's role (a parked field), and lets the
// leavers go.
func multiScene(t *testing.T) (eng *hrissync.Engine, lms, lxp *memory.Platform, refuse *atomic.Bool) {
	t.Helper()
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	for i := range 6 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"})
	}
	lms, lxp = memory.NewPlatform(clock, 1), memory.NewPlatform(clock, 2)
	refuse = &atomic.Bool{}
	lxpSink := hrissync.SinkFunc(func(ctx context.Context, u hrissync.Update) error {
		switch {
		case u.EmployeeID == "w-0001" && refuse.Load():
			return retry.Permanent(errors.New("400 invalid email"))
		case u.EmployeeID == "w-0002" && u.Fields[hrissync.FieldRole] == "Lead":
			return &hrissync.FieldError{Field: hrissync.FieldRole, Err: errors.New("422 unknown role")}
		}
		return lxp.Apply(ctx, u)
	})
	var err error
	eng, err = hrissync.NewMulti(hris, []hrissync.Destination{
		{Name: "lms", Sink: lms, DeletionLimit: hrissync.Budget{Count: 1, Share: 0.01}},
		{Name: "lxp", Sink: lxpSink},
	}, memstore.New(), &hrissync.Config{Tenant: "acme", Logger: slog.New(slog.DiscardHandler), DeletionLimit: hrissync.Budget{Count: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	refuse.Store(true)
	for _, id := range []string{"w-0001", "w-0002"} {
		if _, err := hris.Update("role", id, func(e *hrissync.Employee) { e.Role = "Lead" }); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Reconcile(ctx, "w-0001"); err == nil {
		t.Fatal("the refused write succeeded")
	}
	if err := eng.Reconcile(ctx, "w-0002"); err != nil {
		t.Fatalf("w-0002: %v (the rest of the write should land)", err)
	}
	hris.Remove("w-0004")
	hris.Remove("w-0005")
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	return eng, lms, lxp, refuse
}

func decode[T any](t *testing.T, path string, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, body)
	}
	return v
}

// The page of an engine of several sinks shows each sink: its backlog, last
// batch, dead letters, held batch, parked fields and incidents, in JSON and
// HTML; the engine's dead letters and incidents each name their sink.
func TestSeveralSinksDocument(t *testing.T) {
	eng, _, _, _ := multiScene(t)
	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()

	code, body := get(t, srv, "/status.json")
	if code != http.StatusOK {
		t.Fatalf("status.json: %d %s", code, body)
	}
	doc := decode[status.Document](t, "status.json", body)
	if len(doc.Sinks) != 2 || doc.Sinks[0].Name != "lms" || doc.Sinks[1].Name != "lxp" {
		t.Fatalf("sinks = %+v, want lms then lxp", doc.Sinks)
	}
	lms, lxp := doc.Sinks[0], doc.Sinks[1]
	if lms.LastBatch == nil || lms.LastBatch.Status != string(store.BatchHeld) || lms.LastBatch.Leavers != 2 ||
		lms.Approval == nil || lms.Approval.Leavers != 2 || lms.Approval.RunID != lms.LastBatch.RunID {
		t.Errorf("lms: last batch %+v, approval %+v; want its batch held with 2 leavers", lms.LastBatch, lms.Approval)
	}
	if lxp.LastBatch == nil || lxp.LastBatch.Status != string(store.BatchSucceeded) || lxp.Approval != nil {
		t.Errorf("lxp: last batch %+v, approval %+v; want its batch through (its limit is 100)", lxp.LastBatch, lxp.Approval)
	}
	if len(lms.DeadLetters) != 0 || len(lxp.DeadLetters) != 1 || lxp.DeadLetters[0].ID != "w-0001" ||
		lxp.DeadLetters[0].Sink != "lxp" || !strings.Contains(lxp.DeadLetters[0].LastErr, "400 invalid email") {
		t.Errorf("dead letters: lms %+v, lxp %+v; want w-0001 in lxp only", lms.DeadLetters, lxp.DeadLetters)
	}
	if len(lms.Parked) != 0 || len(lxp.Parked) != 1 || lxp.Parked[0].EmployeeID != "w-0002" || lxp.Parked[0].Field != hrissync.FieldRole {
		t.Errorf("parked: lms %+v, lxp %+v; want w-0002's role in lxp only", lms.Parked, lxp.Parked)
	}
	if len(lms.Runs) == 0 || lms.Runs[0].Outcome != "held" || len(lxp.Runs) == 0 || lxp.Runs[0].Outcome != "succeeded" {
		t.Errorf("runs: lms %+v, lxp %+v", lms.Runs, lxp.Runs)
	}
	if lms.Backlog < 0 || lxp.Backlog < 0 || lms.Lag["batch"].Count == 0 {
		t.Errorf("backlog lms %d lxp %d, lms lag %+v", lms.Backlog, lxp.Backlog, lms.Lag)
	}
	ids := func(in []status.Incident) (out []string) {
		for _, i := range in {
			out = append(out, i.Sink+" "+i.ID)
		}
		return out
	}
	if got, want := ids(lms.Incidents), []string{"lms acme/lms/deletions/" + lms.Approval.RunID}; !slices.Equal(got, want) {
		t.Errorf("lms incidents %q, want %q", got, want)
	}
	if got := ids(lxp.Incidents); !slices.Contains(got, "lxp acme/lxp/dead/w-0001") || slices.ContainsFunc(got, func(s string) bool { return !strings.HasPrefix(s, "lxp ") }) {
		t.Errorf("lxp incidents %q, want w-0001's dead letter, all lxp's", got)
	}
	// The engine as a whole: every sink's dead letters and incidents,
	// each naming its sink; approvals are the sinks' own.
	if len(doc.DeadLetters) != 1 || doc.DeadLetters[0].Sink != "lxp" || doc.Approval != nil || len(doc.Holds) != 0 {
		t.Errorf("engine: dead letters %+v, approval %+v, holds %+v", doc.DeadLetters, doc.Approval, doc.Holds)
	}
	if got := ids(doc.Incidents); !slices.Contains(got, "lms acme/lms/deletions/"+lms.Approval.RunID) || !slices.Contains(got, "lxp acme/lxp/dead/w-0001") {
		t.Errorf("engine incidents %q", got)
	}
	if len(doc.Runs) != 2 || doc.Runs[0].Name != "batch" || doc.Runs[0].Writes != lms.Runs[0].Writes+lxp.Runs[0].Writes {
		t.Errorf("engine runs %+v: want its two batches, the last with both sinks' writes", doc.Runs)
	}
	var v any
	json.Unmarshal(body, &v)
	checkKeys(t, "status.json", "", v)

	code, page := get(t, srv, "/")
	if code != http.StatusOK {
		t.Fatalf("page: %d %s", code, page)
	}
	for _, want := range []string{`id="sink-lms"`, `id="sink-lxp"`, `id="approval-lms"`, `id="dead-lxp-w-0001"`,
		`person?id=w-0002&amp;sink=lxp`, `plan?sink=lxp`, `<option>lms</option>`, `name="sink" value="lms"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(string(page), `id="approval-lxp"`) || strings.Contains(string(page), `id="dead-lms-`) {
		t.Error("the page shows the lms's approval or dead letters under the lxp, or the other way round")
	}
}

// Person and plan views answer per sink (sink=); without one an engine of
// several sinks says which there are (400), an unknown one is 404, and
// nothing the engine as a whole cannot answer is ever a 500.
func TestSeveralSinksViews(t *testing.T) {
	eng, _, _, _ := multiScene(t)
	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()

	code, body := get(t, srv, "/person.json?id=w-0002&sink=lxp")
	p := decode[status.Person](t, "person lxp", body)
	if code != http.StatusOK || p.Sink != "lxp" || len(p.Parked) != 1 || p.Parked[0].Field != hrissync.FieldRole {
		t.Errorf("w-0002 in lxp: %d %+v, want its role parked", code, p)
	}
	code, body = get(t, srv, "/person.json?id=w-0002&sink=lms")
	p = decode[status.Person](t, "person lms", body)
	if code != http.StatusOK || p.Sink != "lms" || len(p.Parked) != 0 || !slices.ContainsFunc(p.Applied, func(f status.Field) bool {
		return f.Field == hrissync.FieldRole && f.Value == "Lead"
	}) {
		t.Errorf("w-0002 in lms: %d %+v, want Lead applied, nothing parked", code, p)
	}
	code, body = get(t, srv, "/person.json?id=w-0001&sink=lxp")
	if p = decode[status.Person](t, "person w-0001", body); code != http.StatusOK || p.Attempts == nil || !p.Attempts.Dead {
		t.Errorf("w-0001 in lxp: %d %+v, want dead-lettered", code, p)
	}
	if code, body = get(t, srv, "/person.json?id=nobody&sink=lxp"); code != http.StatusNotFound {
		t.Errorf("an unknown person in lxp: %d %s", code, body)
	}

	code, body = get(t, srv, "/plan.json?sink=lms")
	plan := decode[status.Plan](t, "plan lms", body)
	if code != http.StatusOK || plan.Sink != "lms" || !plan.Held || !slices.Equal(plan.Leavers, []string{"w-0004", "w-0005"}) {
		t.Errorf("lms plan: %d %+v, want its two leavers held", code, plan)
	}
	code, body = get(t, srv, "/plan.json?sink=lxp")
	plan = decode[status.Plan](t, "plan lxp", body)
	if code != http.StatusOK || plan.Sink != "lxp" || plan.Held || len(plan.Leavers) != 0 {
		t.Errorf("lxp plan: %d %+v, want nobody left to deprovision", code, plan)
	}

	for _, path := range []string{"/person?id=w-0001", "/person.json?id=w-0001", "/plan", "/plan.json"} {
		code, body := get(t, srv, path)
		if code != http.StatusBadRequest || !strings.Contains(string(body), `"lms", "lxp"`) {
			t.Errorf("%s without a sink: %d %s, want 400 naming the sinks", path, code, body)
		}
	}
	for _, path := range []string{"/person?id=w-0001&sink=lrs", "/person.json?id=w-0001&sink=lrs", "/plan?sink=lrs", "/plan.json?sink=lrs"} {
		code, body := get(t, srv, path)
		if code != http.StatusNotFound || !strings.Contains(string(body), `no sink named "lrs"`) {
			t.Errorf("%s: %d %s, want 404 naming the unknown sink", path, code, body)
		}
	}
	for _, path := range []string{"/", "/status.json", "/person?id=w-0002&sink=lms", "/plan?sink=lxp"} {
		if code, body := get(t, srv, path); code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
}

// The page's forms act on the sink they name: an approval lets the LMS's
// held batch go (and is refused without a sink), a replay retries the LXP's
// dead letter.
func TestSeveralSinksForms(t *testing.T) {
	eng, lms, _, refuse := multiScene(t)
	srv := httptest.NewServer(signedIn("ops@example.com", status.Handler(eng, status.WithApprover(approver))))
	defer srv.Close()
	ctx := context.Background()

	_, page := get(t, srv, "/")
	_, token, ok := strings.Cut(string(page), `name="token" value="`)
	if !ok {
		t.Fatal("no token in the page")
	}
	token = token[:strings.IndexByte(token, '"')]
	run, err := eng.Sink("lms").LastBatchRun(ctx)
	if err != nil || run.Status != store.BatchHeld {
		t.Fatalf("lms's last batch: %+v %v", run, err)
	}
	if code := postApproval(t, srv.URL, url.Values{"run": {run.ID}, "token": {token}}); code != http.StatusBadRequest {
		t.Errorf("an approval naming no sink: %d, want 400", code)
	}
	if code := postApproval(t, srv.URL, url.Values{"run": {run.ID}, "sink": {"lrs"}, "token": {token}}); code != http.StatusNotFound {
		t.Errorf("an approval naming an unknown sink: %d, want 404", code)
	}
	if code := postApproval(t, srv.URL, url.Values{"run": {run.ID}, "sink": {"lxp"}, "token": {token}}); code != http.StatusConflict {
		t.Errorf("approving the lms's run in the lxp: %d, want 409", code)
	}
	if a, _ := lms.Account("w-0004"); !a.Active {
		t.Fatal("a refused approval deprovisioned w-0004 in the lms")
	}
	if code := postApproval(t, srv.URL, url.Values{"run": {run.ID}, "sink": {"lms"}, "token": {token}}); code != http.StatusSeeOther {
		t.Fatalf("approving in the lms: %d", code)
	}
	if run, _ := eng.Sink("lms").LastBatchRun(ctx); run.Status != store.BatchSucceeded || run.ApprovedBy != "ops@example.com" {
		t.Errorf("after approval the lms's run is %s, approved by %q", run.Status, run.ApprovedBy)
	}
	if a, _ := lms.Account("w-0004"); a.Active {
		t.Error("w-0004 still active in the lms after the approval")
	}

	refuse.Store(false)
	form := url.Values{"id": {"w-0001"}, "sink": {"lxp"}, "token": {token}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/replay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replay in lxp: %d", resp.StatusCode)
	}
	if dead, _ := eng.Sink("lxp").DeadLetters(ctx); len(dead) != 0 {
		t.Errorf("lxp dead letters after the replay: %+v", dead)
	}
}

// An engine of one sink serves the page as before: no sinks in its
// document, and its person and plan views take no sink but its own ("").
func TestOneSinkHasNoSinks(t *testing.T) {
	eng, _ := scene(t)
	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()
	_, body := get(t, srv, "/status.json")
	if strings.Contains(string(body), `"sinks"`) || strings.Contains(string(body), `"sink"`) {
		t.Errorf("a one-sink document names sinks: %s", body)
	}
	if code, body := get(t, srv, "/plan.json?sink=lxp"); code != http.StatusNotFound || !strings.Contains(string(body), `no sink named "lxp"`) {
		t.Errorf("plan of an unknown sink: %d %s", code, body)
	}
	if code, _ := get(t, srv, "/person.json?id=w-0001"); code != http.StatusOK {
		t.Errorf("person without a sink: %d", code)
	}
}

// One sink of an engine of several, mounted on its own, is a page of one
// sink that names it; Batch now on the engine's page runs every sink's batch.
func TestOneSinkOfSeveral(t *testing.T) {
	eng, _, _, _ := multiScene(t)
	lane := httptest.NewServer(status.Handler(eng.Sink("lxp")))
	defer lane.Close()
	code, body := get(t, lane, "/status.json")
	doc := decode[status.Document](t, "lxp status.json", body)
	if code != http.StatusOK || doc.Sink != "lxp" || doc.Tenant != "acme" || len(doc.Sinks) != 0 ||
		len(doc.DeadLetters) != 1 || doc.DeadLetters[0].ID != "w-0001" || doc.Approval != nil {
		t.Errorf("the lxp's own page: %d %+v", code, doc)
	}
	for _, path := range []string{"/plan.json", "/plan.json?sink=lxp", "/person.json?id=w-0002", "/person.json?id=w-0002&sink=lxp"} {
		if code, body := get(t, lane, path); code != http.StatusOK {
			t.Errorf("lxp page %s: %d %s", path, code, body)
		}
	}
	if code, _ := get(t, lane, "/plan.json?sink=lms"); code != http.StatusNotFound {
		t.Errorf("the lxp's page planned for the lms: %d", code)
	}

	srv := httptest.NewServer(status.Handler(eng))
	defer srv.Close()
	_, page := get(t, srv, "/")
	_, token, _ := strings.Cut(string(page), `name="token" value="`)
	token = token[:strings.IndexByte(token, '"')]
	before := map[string]int{}
	for _, l := range eng.Sinks() {
		before[l.SinkName()] = len(l.Recent())
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/batch", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("batch now: %d", resp.StatusCode)
	}
	for _, l := range eng.Sinks() {
		if n := len(l.Recent()); n != before[l.SinkName()]+1 {
			t.Errorf("sink %s ran %d batches on Batch now, want 1", l.SinkName(), n-before[l.SinkName()])
		}
	}
}

// The people one sink holds beyond its deactivation budget are shown in
// its section, and its form approves them in that sink only.
func TestSeveralSinksHolds(t *testing.T) {
	ctx := context.Background()
	clock := hrissync.RealClock{}
	hris := memory.NewHRIS(clock, 1)
	for i := range 8 {
		id := fmt.Sprintf("w-%04d", i)
		hris.Load(hrissync.Employee{ID: id, Email: id + "@example.com", Status: hrissync.StatusActive, StartDate: hrissync.NewDate(2020, 1, 6), Role: "Engineer"})
	}
	lms, lxp := memory.NewPlatform(clock, 1), memory.NewPlatform(clock, 2)
	eng, err := hrissync.NewMulti(hris, []hrissync.Destination{
		{Name: "lms", Sink: lms, TerminationLimit: hrissync.Budget{Count: 1}},
		{Name: "lxp", Sink: lxp, TerminationLimit: hrissync.Budget{Count: 100}},
	}, memstore.New(), &hrissync.Config{Tenant: "acme", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w-0000", "w-0001", "w-0002"} { // the lms holds two
		if _, err := hris.Update("termination", id, func(e *hrissync.Employee) {
			e.Status, e.TerminationDate, e.Immediate = hrissync.StatusTerminated, hrissync.DateOf(time.Now()), true
		}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Reconcile(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := lms.Account("w-0001"); !a.Active {
		t.Fatal("w-0001 deactivated in the lms beyond its budget")
	}
	if a, _ := lxp.Account("w-0001"); a.Active {
		t.Fatal("w-0001 held in the lxp, within its budget")
	}
	srv := httptest.NewServer(signedIn("ops@example.com", status.Handler(eng, status.WithApprover(approver))))
	defer srv.Close()

	_, body := get(t, srv, "/status.json")
	doc := decode[status.Document](t, "status.json", body)
	if len(doc.Sinks) != 2 || len(doc.Sinks[0].Holds) != 1 || !slices.Equal(doc.Sinks[0].Holds[0].People, []string{"w-0001", "w-0002"}) ||
		len(doc.Sinks[1].Holds) != 0 || len(doc.Holds) != 0 {
		t.Fatalf("holds: engine %+v, sinks %+v; want the lms's two", doc.Holds, doc.Sinks)
	}
	_, page := get(t, srv, "/")
	_, formHTML, ok := strings.Cut(string(page), `id="hold-lms-terminated"`)
	if !ok {
		t.Fatalf("no lms hold form on the page:\n%s", page)
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
	if form.Get("sink") != "lms" || !slices.Equal(form["person"], []string{"w-0001", "w-0002"}) {
		t.Fatalf("the form: %v", form)
	}
	if code := postApproval(t, srv.URL, form); code != http.StatusSeeOther {
		t.Fatalf("approval answered %d", code)
	}
	for _, id := range []string{"w-0001", "w-0002"} {
		if err := eng.Reconcile(ctx, id); err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]*memory.Platform{"lms": lms, "lxp": lxp} {
			if a, _ := p.Account(id); a.Active {
				t.Errorf("%s still active in the %s after the approval", id, name)
			}
		}
	}
	if held := eng.Sink("lms").Holds(); len(held) != 0 {
		t.Errorf("still held in the lms: %v", held)
	}
}
