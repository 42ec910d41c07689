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
//   - An engine of several sinks (hrissync.NewMulti): the page has a section
//     per sink (Document.Sinks: its backlog, last batch, dead letters,
//     approvals, incidents and parked fields), and the person and plan views
//     and the approve and replay forms take the sink (sink=): without one
//     they answer 400 naming the sinks, and an unknown sink is 404.
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
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
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
	Tenant string `json:"tenant"`
	// Sink names the engine's sink when the page was given one sink of an
	// engine of several (Engine.Sink).
	Sink string    `json:"sink,omitempty"`
	At   time.Time `json:"at"`
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
	// Sinks are the sinks of an engine of several (hrissync.NewMulti),
	// each with its own state, in the engine's order. The fields above
	// are then the engine's as a whole: its polls and batches (which read
	// the Source once for every sink), the largest sink's backlog, the
	// slowest sink's lag, and every sink's dead letters and incidents,
	// each naming its sink; approvals and holds are the sinks' own.
	Sinks []Sink `json:"sinks,omitempty"`
	Token string `json:"-"`
}

// Sink is one sink of an engine of several: its backlog, batches, dead
// letters, approvals, incidents and parked fields. Its person and plan views
// are person?sink=&id= and plan?sink=.
type Sink struct {
	Name    string `json:"name"`
	Backlog int    `json:"backlog"`
	// LastBatch is the sink's batch run saved last in its ledger.
	LastBatch   *BatchRun    `json:"lastBatch,omitempty"`
	Runs        []Run        `json:"runs"` // newest first
	DeadLetters []DeadLetter `json:"deadLetters"`
	Approval    *Approval    `json:"approval,omitempty"`
	Holds       []Hold       `json:"holds,omitempty"`
	Incidents   []Incident   `json:"incidents"`
	// Parked are the fields this platform refused while the rest of
	// their person's write landed.
	Parked []ParkedField         `json:"parked"`
	Lag    map[string]Percentile `json:"lag"`
}

// BatchRun is a batch run as its ledger saved it.
type BatchRun struct {
	RunID    string    `json:"runId"`
	Status   string    `json:"status"`
	Attempt  int       `json:"attempt"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Seen     int       `json:"seen"`
	Writes   int       `json:"writes"`
	Leavers  int       `json:"leavers"`
	Err      string    `json:"error,omitempty"`
}

// ParkedField is a field one person's platform refused.
type ParkedField struct {
	EmployeeID string    `json:"employeeId"`
	Field      string    `json:"field"`
	Err        string    `json:"error"`
	Since      time.Time `json:"since"`
	Refusals   int       `json:"refusals"`
	Next       time.Time `json:"next"`
}

// Incident is one open incident.
type Incident struct {
	ID         string    `json:"id"`             // the Alerter's Alert.Incident
	Sink       string    `json:"sink,omitempty"` // with several sinks, the sink's (none: the engine's)
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
		out = append(out, Incident{ID: a.Incident, Sink: a.Sink, Kind: string(a.Kind), Severity: string(a.Severity),
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
	Sink     string    `json:"sink,omitempty"` // with several sinks, whose
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

// several reports whether the page shows an engine of several sinks.
func (h *handler) several() bool { return len(h.eng.Sinks()) > 1 }

func (h *handler) document(ctx context.Context) (Document, error) {
	d := Document{Tenant: h.eng.Tenant(), Sink: h.eng.SinkName(), At: h.now(), Backlog: h.eng.Backlog(), Runs: runsOf(h.eng.Recent()),
		Lag: lagOf(h.eng.Stats()), Token: h.token()}
	if h.several() {
		d.DeadLetters = []DeadLetter{}
		for _, l := range h.eng.Sinks() {
			s, err := sinkOf(ctx, l)
			if err != nil {
				return d, fmt.Errorf("sink %s: %w", l.SinkName(), err)
			}
			d.DeadLetters = append(d.DeadLetters, s.DeadLetters...)
			d.Sinks = append(d.Sinks, s)
		}
		// The engine's own incidents (a failing poll) and every sink's.
		d.Incidents = incidentsOf(h.eng.Incidents())
		return d, nil
	}
	var err error
	if d.DeadLetters, err = deadLettersOf(ctx, h.eng); err != nil {
		return d, err
	}
	if d.Approval, err = approvalOf(ctx, h.eng); err != nil {
		return d, err
	}
	d.Holds = holdsOf(h.eng)
	d.Incidents = incidentsOf(h.eng.Incidents())
	return d, nil
}

// sinkOf is one sink's section of the page.
func sinkOf(ctx context.Context, l *hrissync.Engine) (Sink, error) {
	s := Sink{Name: l.SinkName(), Backlog: l.Backlog(), Runs: runsOf(l.Recent()), Holds: holdsOf(l),
		Incidents: incidentsOf(l.Incidents()), Parked: []ParkedField{}, Lag: lagOf(l.Stats())}
	var err error
	if s.DeadLetters, err = deadLettersOf(ctx, l); err != nil {
		return s, err
	}
	switch run, err := l.LastBatchRun(ctx); {
	case err == nil:
		s.LastBatch = &BatchRun{RunID: run.ID, Status: string(run.Status), Attempt: run.Attempt, Started: run.Started,
			Finished: run.Finished, Seen: run.Seen, Writes: run.Writes, Leavers: len(run.Leavers), Err: run.Err}
		if run.Status == store.BatchHeld {
			s.Approval = &Approval{RunID: run.ID, Started: run.Started, Leavers: len(run.Leavers)}
		}
	case !errors.Is(err, hrissync.ErrNotFound):
		return s, err
	}
	for _, pf := range l.Parked() {
		s.Parked = append(s.Parked, ParkedField{EmployeeID: pf.EmployeeID, Field: pf.Field, Err: pf.Err, Since: pf.Since,
			Refusals: pf.Refusals, Next: pf.Next})
	}
	return s, nil
}

func runsOf(passes []hrissync.Pass) []Run {
	out := []Run{}
	for _, p := range passes {
		out = append(out, Run{Name: p.Name, RunID: p.RunID, Started: p.Started, DurationSeconds: p.Took.Seconds(),
			Outcome: p.Outcome, Err: p.Err, Writes: p.Writes})
	}
	return out
}

// deadLettersOf lists the dead letters of an engine of one sink, each
// naming its sink if it is one of several.
func deadLettersOf(ctx context.Context, eng *hrissync.Engine) ([]DeadLetter, error) {
	dead, err := eng.DeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	if eng.SinkName() != "" {
		out = []DeadLetter{} // a sink's section lists none as [], as the engine's does not (compatibility)
	}
	for _, p := range dead {
		dl := DeadLetter{ID: p.ID, Sink: eng.SinkName()}
		if p.Failure != nil {
			dl.Attempts, dl.LastErr, dl.At = p.Failure.Attempts, p.Failure.Err, p.Failure.At
		}
		out = append(out, dl)
	}
	return out, nil
}

func approvalOf(ctx context.Context, eng *hrissync.Engine) (*Approval, error) {
	switch run, err := eng.LastBatchRun(ctx); {
	case err == nil && run.Status == store.BatchHeld:
		return &Approval{RunID: run.ID, Started: run.Started, Leavers: len(run.Leavers)}, nil
	case err != nil && !errors.Is(err, hrissync.ErrNotFound):
		return nil, err
	}
	return nil, nil
}

func holdsOf(eng *hrissync.Engine) []Hold {
	var out []Hold
	for budget, people := range eng.Holds() {
		out = append(out, Hold{ID: hrissync.HoldPrefix + budget, Budget: budget, People: people})
	}
	slices.SortFunc(out, func(a, b Hold) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func lagOf(st hrissync.Stats) map[string]Percentile {
	out := map[string]Percentile{}
	for t, s := range st.Triggers {
		if s.Latency.Count > 0 {
			out[string(t)] = Percentile{Count: s.Latency.Count, P50Seconds: s.Latency.P50.Seconds(),
				P99Seconds: s.Latency.P99.Seconds(), MaxSeconds: s.Latency.Max.Seconds()}
		}
	}
	return out
}

// lane is the engine that answers for the sink the request names (?sink=,
// or the form's sink): the page's engine when it names none and the engine
// has one sink. If there is none it has answered: 404 for a sink the engine
// does not have, 400 for a question an engine of several sinks cannot
// answer as a whole.
func (h *handler) lane(w http.ResponseWriter, r *http.Request) (*hrissync.Engine, bool) {
	name := r.FormValue("sink")
	if name == "" && !h.several() {
		return h.eng, true
	}
	if name == "" {
		http.Error(w, "which sink? this engine has several: give sink= one of "+h.sinkNames(), http.StatusBadRequest)
		return nil, false
	}
	l := h.eng.Sink(name)
	if l == nil || l.SinkName() == "" {
		http.Error(w, fmt.Sprintf("no sink named %q: this engine's sinks are %s", name, h.sinkNames()), http.StatusNotFound)
		return nil, false
	}
	return l, true
}

func (h *handler) sinkNames() string {
	var names []string
	for _, l := range h.eng.Sinks() {
		if n := l.SinkName(); n != "" {
			names = append(names, strconv.Quote(n))
		}
	}
	if len(names) == 0 {
		return "none named (it has one sink: leave sink= out)"
	}
	return strings.Join(names, ", ")
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
	// Without a sink, an engine of several replays the person in each.
	eng := h.eng
	if r.PostFormValue("sink") != "" {
		var ok bool
		if eng, ok = h.lane(w, r); !ok {
			return
		}
	}
	if err := eng.Replay(r.Context(), id); err != nil {
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
	eng, ok := h.lane(w, r)
	if !ok {
		return
	}
	// A hold is approved for the people the page showed, and no one
	// held since.
	people := r.PostForm["person"]
	if strings.HasPrefix(r.PostFormValue("run"), hrissync.HoldPrefix) && len(people) == 0 {
		http.Error(w, "the form names nobody to approve", http.StatusBadRequest)
		return
	}
	err = eng.ApproveDeletions(r.Context(), r.PostFormValue("run"), who, people...)
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
