// Package status serves an operator's page for one engine, in HTML and JSON,
// like net/http/pprof: the host mounts it where it likes, behind its own
// authentication.
//
//	mux.Handle("/sync/", http.StripPrefix("/sync", status.Handler(eng)))
//
// What it serves, each page also as JSON:
//
//   - / and status.json (Document): the last polls and batches (when, how
//     long, the outcome), the queue depth, the dead letters with their last
//     error and a button to replay each, a batch waiting for deletion
//     approval and the people held beyond a deactivation budget with a
//     button to approve them, the lag from HR change to platform per
//     trigger; and the Poll now and Batch now buttons, which run the
//     fallback poll or the batch at once, as their schedules would. It names
//     people by id only.
//   - person?id= and person.json?id= (Person): why one person has the
//     access they have — Engine.Explain's answer: the record's desired
//     fields, what was applied with its versions, the due time, failed
//     attempts, holds, parked fields and the write a reconcile would make
//     now. This view alone shows a person's values, and only for the id
//     asked; an unknown id is 404.
//   - plan and plan.json (Plan): the dry run (Engine.Plan) as a table — each
//     person's planned write and the fields it changes, the leavers, and the
//     deletion limit's verdict on them. Nothing is written.
//
// The JSON keys are camelCase throughout, and durations are seconds, named
// so (durationSeconds, p50Seconds).
//
// An approval records who approved, and the page does not take that from
// the form: the host says who is signed in through an approver hook
// (WithApprover), from its own authentication; without one, approvals are
// refused.
//
// The buttons POST forms. Cross-origin POSTs are refused
// (http.CrossOriginProtection, on the browser's Sec-Fetch-Site and Origin
// headers), and each form carries a token derived from a secret made when the
// handler is, so a request forged elsewhere is refused even by an older
// browser. A poll or batch run from the page is the request's: a browser that
// leaves cancels it (a batch resumes from its checkpoint at the next run).
package status

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/store"
)

//go:embed page.html person.html plan.html
var pageFS embed.FS

var funcs = template.FuncMap{
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
	// secs shows a duration the JSON gives in seconds.
	"secs": func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
	},
}

var (
	page       = template.Must(template.New("page.html").Funcs(funcs).ParseFS(pageFS, "page.html"))
	personPage = template.Must(template.New("person.html").Funcs(funcs).ParseFS(pageFS, "person.html"))
	planPage   = template.Must(template.New("plan.html").Funcs(funcs).ParseFS(pageFS, "plan.html"))
)

// Document is what the page shows; status.json serves it as JSON.
type Document struct {
	Tenant string    `json:"tenant"`
	At     time.Time `json:"at"`
	// Backlog is how many people wait for a worker now (-1: the
	// Dispatcher cannot tell).
	Backlog     int          `json:"backlog"`
	Runs        []Run        `json:"runs"` // newest first
	DeadLetters []DeadLetter `json:"deadLetters"`
	Approval    *Approval    `json:"approval,omitempty"`
	// Holds are the people kept active beyond a deactivation budget, per
	// budget, each approved as a whole by its ID.
	Holds []Hold `json:"holds,omitempty"`
	// Incidents are the open incidents, most severe first: what the
	// Alerter was told (or, within the group wait, is about to be).
	Incidents []Incident            `json:"incidents"`
	Lag       map[string]Percentile `json:"lag"`
	Token     string                `json:"-"`
}

// Incident is one open incident.
type Incident struct {
	ID         string    `json:"id"` // the Alerter's Alert.Incident
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"`
	EmployeeID string    `json:"employeeId,omitempty"`
	Since      time.Time `json:"since"`
	Message    string    `json:"message"`
}

// incidentsOf lists alerts as the page's incidents, most severe first.
func incidentsOf(alerts []hrissync.Alert) []Incident {
	out := []Incident{}
	for _, a := range alerts {
		out = append(out, Incident{ID: a.Incident, Kind: string(a.Kind), Severity: string(a.Severity),
			EmployeeID: a.EmployeeID, Since: a.At, Message: a.Message})
	}
	slices.SortStableFunc(out, func(a, b Incident) int { return severityRank(b.Severity) - severityRank(a.Severity) })
	return out
}

func severityRank(s string) int {
	return slices.Index([]hrissync.Severity{hrissync.SeverityLow, hrissync.SeverityWarning, hrissync.SeverityHigh, hrissync.SeverityCritical}, hrissync.Severity(s))
}

// Run is one poll or batch the engine ran.
type Run struct {
	Name            string    `json:"name"`            // "poll" or "batch"
	RunID           string    `json:"runId,omitempty"` // a batch's run in the ledger
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"durationSeconds"`
	Outcome         string    `json:"outcome"` // "succeeded", "failed", or a batch's "held"
	Err             string    `json:"error,omitempty"`
	Writes          int       `json:"writes"` // a batch's writes
}

// DeadLetter is a person whose retries ran out.
type DeadLetter struct {
	ID       string    `json:"id"`
	Attempts int       `json:"attempts"`
	LastErr  string    `json:"lastError"`
	At       time.Time `json:"at"`
}

// Approval is a batch held by the deletion limit.
type Approval struct {
	RunID   string    `json:"runId"`
	Started time.Time `json:"started"`
	Leavers int       `json:"leavers"`
}

// Hold is the people held beyond one deactivation budget.
type Hold struct {
	ID     string   `json:"id"` // what ApproveDeletions takes: "held/" + budget
	Budget string   `json:"budget"`
	People []string `json:"people"`
}

// Percentile is one trigger's lag from HR change to platform, in seconds.
type Percentile struct {
	Count      int64   `json:"count"`
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

type handler struct {
	eng      *hrissync.Engine
	secret   []byte
	now      func() time.Time
	approver func(*http.Request) (string, error)
}

// Option configures Handler.
type Option func(*handler)

// WithApprover lets the page approve held deletions. approver names who
// makes the request, as the host's authentication established (a session,
// a verified header set by the host's proxy); an error or "" refuses the
// approval with 403. The name is recorded with the approval in the audit
// log.
func WithApprover(approver func(*http.Request) (string, error)) Option {
	return func(h *handler) { h.approver = approver }
}

// Handler returns the status page of eng.
func Handler(eng *hrissync.Engine, opts ...Option) http.Handler {
	h := &handler{eng: eng, secret: make([]byte, 32), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	_, _ = rand.Read(h.secret)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.html)
	mux.HandleFunc("GET /status.json", h.json)
	mux.HandleFunc("GET /person", h.personHTML)
	mux.HandleFunc("GET /person.json", h.personJSON)
	mux.HandleFunc("GET /plan", h.planHTML)
	mux.HandleFunc("GET /plan.json", h.planJSON)
	mux.HandleFunc("POST /replay", h.replay)
	mux.HandleFunc("POST /approve", h.approve)
	mux.HandleFunc("POST /poll", h.pollNow)
	mux.HandleFunc("POST /batch", h.batchNow)
	return http.NewCrossOriginProtection().Handler(mux)
}

func (h *handler) token() string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("hrissync status " + h.eng.Tenant()))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *handler) document(ctx context.Context) (Document, error) {
	d := Document{Tenant: h.eng.Tenant(), At: h.now(), Backlog: h.eng.Backlog(), Runs: []Run{},
		Lag: map[string]Percentile{}, Token: h.token()}
	for _, p := range h.eng.Recent() {
		d.Runs = append(d.Runs, Run{Name: p.Name, RunID: p.RunID, Started: p.Started, DurationSeconds: p.Took.Seconds(),
			Outcome: p.Outcome, Err: p.Err, Writes: p.Writes})
	}
	dead, err := h.eng.DeadLetters(ctx)
	if err != nil {
		return d, err
	}
	for _, p := range dead {
		dl := DeadLetter{ID: p.ID}
		if p.Failure != nil {
			dl.Attempts, dl.LastErr, dl.At = p.Failure.Attempts, p.Failure.Err, p.Failure.At
		}
		d.DeadLetters = append(d.DeadLetters, dl)
	}
	switch run, err := h.eng.LastBatchRun(ctx); {
	case err == nil && run.Status == store.BatchHeld:
		d.Approval = &Approval{RunID: run.ID, Started: run.Started, Leavers: len(run.Leavers)}
	case err != nil && !errors.Is(err, hrissync.ErrNotFound):
		return d, err
	}
	for budget, people := range h.eng.Holds() {
		d.Holds = append(d.Holds, Hold{ID: hrissync.HoldPrefix + budget, Budget: budget, People: people})
	}
	slices.SortFunc(d.Holds, func(a, b Hold) int { return strings.Compare(a.ID, b.ID) })
	d.Incidents = incidentsOf(h.eng.Incidents())
	for t, s := range h.eng.Stats().Triggers {
		if s.Latency.Count > 0 {
			d.Lag[string(t)] = Percentile{Count: s.Latency.Count, P50Seconds: s.Latency.P50.Seconds(),
				P99Seconds: s.Latency.P99.Seconds(), MaxSeconds: s.Latency.Max.Seconds()}
		}
	}
	return d, nil
}

func (h *handler) html(w http.ResponseWriter, r *http.Request) {
	d, err := h.document(r.Context())
	if err != nil {
		http.Error(w, "reading the engine's state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeHTML(w, http.StatusOK, page, d)
}

func (h *handler) json(w http.ResponseWriter, r *http.Request) {
	d, err := h.document(r.Context())
	if err != nil {
		http.Error(w, "reading the engine's state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// writeHTML answers with t executed on data, and code. The page is made
// before anything is sent, so that a template error is answered 500 rather
// than cut short.
func writeHTML(w http.ResponseWriter, code int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// checked reports whether a POST carries the page's token; if not it has
// answered 403.
func (h *handler) checked(w http.ResponseWriter, r *http.Request) bool {
	if !hmac.Equal([]byte(r.PostFormValue("token")), []byte(h.token())) {
		http.Error(w, "missing or wrong form token: reload the page", http.StatusForbidden)
		return false
	}
	return true
}

func (h *handler) replay(w http.ResponseWriter, r *http.Request) {
	if !h.checked(w, r) {
		return
	}
	id := r.PostFormValue("id")
	if id == "" {
		http.Error(w, "which person? the form names none", http.StatusBadRequest)
		return
	}
	if err := h.eng.Replay(r.Context(), id); err != nil {
		http.Error(w, "replaying "+id+": "+err.Error(), http.StatusBadGateway)
		return
	}
	backToPage(w)
}

// pollNow runs the fallback poll now, as the schedule would. It is the
// request's: a browser that leaves cancels it (the next poll reads the same
// window again).
func (h *handler) pollNow(w http.ResponseWriter, r *http.Request) {
	if !h.checked(w, r) {
		return
	}
	if err := h.eng.Poll(r.Context()); err != nil {
		http.Error(w, "polling: "+err.Error(), http.StatusBadGateway)
		return
	}
	backToPage(w)
}

// batchNow runs the batch now, as the schedule would: leavers beyond the
// deletion limit are held for approval, as ever. It is the request's: a
// browser that leaves cancels it, and the next batch resumes from its
// checkpoint.
func (h *handler) batchNow(w http.ResponseWriter, r *http.Request) {
	if !h.checked(w, r) {
		return
	}
	if err := h.eng.Batch(r.Context()); err != nil {
		http.Error(w, "running the batch: "+err.Error(), http.StatusBadGateway)
		return
	}
	backToPage(w)
}

// backToPage answers a form with the page. The Location is left relative
// (http.Redirect would resolve it against the path as the handler sees it,
// which lacks the host's mount prefix).
func backToPage(w http.ResponseWriter) {
	w.Header().Set("Location", "./")
	w.WriteHeader(http.StatusSeeOther)
}

func (h *handler) approve(w http.ResponseWriter, r *http.Request) {
	if !h.checked(w, r) {
		return
	}
	if h.approver == nil {
		http.Error(w, "approvals are off: the host mounted this page without an approver (status.WithApprover)", http.StatusForbidden)
		return
	}
	who, err := h.approver(r)
	if err != nil || strings.TrimSpace(who) == "" {
		http.Error(w, "the host could not say who you are; approval refused", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "reading the form: "+err.Error(), http.StatusBadRequest)
		return
	}
	// A hold is approved for the people the page showed, and no one
	// held since.
	people := r.PostForm["person"]
	if strings.HasPrefix(r.PostFormValue("run"), hrissync.HoldPrefix) && len(people) == 0 {
		http.Error(w, "the form names nobody to approve", http.StatusBadRequest)
		return
	}
	err = h.eng.ApproveDeletions(r.Context(), r.PostFormValue("run"), who, people...)
	switch {
	case errors.Is(err, hrissync.ErrNotHeld), errors.Is(err, hrissync.ErrNotFound):
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case err != nil:
		http.Error(w, "approving: "+err.Error(), http.StatusBadGateway)
		return
	}
	backToPage(w)
}
