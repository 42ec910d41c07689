package status

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
)

// Person is the person view (person and person.json): Engine.Explain's
// answer for one person. Unlike the main page it shows values — the
// record's desired fields and what was applied — which is why it answers
// only for one id at a time, behind the host's authentication like the rest.
type Person struct {
	ID string `json:"id"`
	// Sink is the sink asked about (sink=), of an engine of several.
	Sink string    `json:"sink,omitempty"`
	At   time.Time `json:"at"`
	// Error says why part of the answer is missing: the Source could not
	// be read (the Store's part is still shown).
	Error    string   `json:"error,omitempty"`
	InSource bool     `json:"inSource"`
	Desired  *Desired `json:"desired,omitempty"`
	Account  Account  `json:"account"`
	Applied  []Field  `json:"applied"`
	// Due is when a dated change in the record takes effect, and DueKind
	// the write it brings ("deactivate" at a last day worked).
	Due       time.Time    `json:"due,omitzero"`
	DueKind   string       `json:"dueKind,omitempty"`
	Waiting   *Waiting     `json:"waiting,omitempty"`
	Attempts  *Attempts    `json:"attempts,omitempty"`
	Holds     []PersonHold `json:"holds"`
	Parked    []Parked     `json:"parked"`
	Incidents []Incident   `json:"incidents"`
	Next      Next         `json:"next"`
	Token     string       `json:"-"`
}

// Desired is what the record asks of the platform now.
type Desired struct {
	Access   bool              `json:"access"`
	Fields   map[string]string `json:"fields"`
	Version  string            `json:"version,omitempty"`
	Conflict string            `json:"conflict,omitempty"`
}

// Account is the account as the Store last recorded it.
type Account struct {
	Exists bool `json:"exists"`
	Active bool `json:"active"`
}

// Field is one field as last applied: its value, the record version it came
// from, and when HR made it.
type Field struct {
	Field   string    `json:"field"`
	Value   string    `json:"value"`
	Version string    `json:"version"`
	Changed time.Time `json:"changed,omitzero"`
}

// Waiting is a reconcile owed to the person.
type Waiting struct {
	Since   time.Time `json:"since"`
	Trigger string    `json:"trigger"`
	Unsure  bool      `json:"unsure"`
}

// Attempts is the person's current run of failed writes.
type Attempts struct {
	Count   int       `json:"count"`
	LastErr string    `json:"lastError"`
	At      time.Time `json:"at"`
	Dead    bool      `json:"dead"`
}

// PersonHold is a hold keeping the person's deactivation back.
type PersonHold struct {
	ID     string    `json:"id"` // what an approval takes
	Budget string    `json:"budget"`
	Since  time.Time `json:"since"`
}

// Parked is a field the platform refused while the rest landed.
type Parked struct {
	Field    string    `json:"field"`
	Err      string    `json:"error"`
	Since    time.Time `json:"since"`
	Refusals int       `json:"refusals"`
	Next     time.Time `json:"next"`
}

// Next is what a reconcile of the person would do now, and why.
type Next struct {
	Kind    string   `json:"kind,omitempty"` // "": nothing to write
	Changes []Change `json:"changes"`
	Held    string   `json:"held,omitempty"`
	Why     string   `json:"why"`
}

// Change is one field a write changes.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// person explains id; status is the HTTP status to answer with.
func (h *handler) person(r *http.Request, eng *hrissync.Engine) (Person, int) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		return Person{Error: "which person? give ?id="}, http.StatusBadRequest
	}
	x, err := eng.Explain(r.Context(), id)
	p := personOf(x)
	p.Sink, p.Token = eng.SinkName(), h.token()
	switch {
	case errors.Is(err, hrissync.ErrUnknownPerson):
		p.Error = err.Error()
		return p, http.StatusNotFound
	case err != nil:
		// The Store's part is still worth showing.
		p.Error = err.Error()
		return p, http.StatusBadGateway
	}
	return p, http.StatusOK
}

func personOf(x hrissync.Explanation) Person {
	p := Person{ID: x.ID, At: x.At, InSource: x.Record != nil, Due: x.Due,
		Account: Account{Exists: x.Account.Exists, Active: x.Account.Active},
		Applied: []Field{}, Holds: []PersonHold{}, Parked: []Parked{},
		Next: Next{Changes: []Change{}, Held: x.Next.Held, Why: x.Next.Why}}
	if x.Record != nil {
		p.Desired = &Desired{Access: x.Desired.Access, Fields: map[string]string(x.Desired.Fields), Conflict: x.Desired.Conflict}
		if !x.Desired.Version.IsZero() {
			p.Desired.Version = x.Desired.Version.String()
		}
		if p.Desired.Fields == nil {
			p.Desired.Fields = map[string]string{}
		}
	}
	if !x.Due.IsZero() && x.DueKind != 0 {
		p.DueKind = x.DueKind.String()
	}
	for _, a := range x.Applied {
		p.Applied = append(p.Applied, Field{Field: a.Field, Value: a.Value, Version: a.Version.String(), Changed: a.Version.Time})
	}
	if w := x.Waiting; w != nil {
		p.Waiting = &Waiting{Since: w.Since, Trigger: string(w.Trigger), Unsure: w.Unsure}
	}
	if a := x.Attempts; a != nil {
		p.Attempts = &Attempts{Count: a.Count, LastErr: a.LastErr, At: a.At, Dead: a.Dead}
	}
	for _, hd := range x.Holds {
		p.Holds = append(p.Holds, PersonHold{ID: hd.ID, Budget: hd.Budget, Since: hd.Since})
	}
	for _, pf := range x.Parked {
		p.Parked = append(p.Parked, Parked{Field: pf.Field, Err: pf.Err, Since: pf.Since, Refusals: pf.Refusals, Next: pf.Next})
	}
	p.Incidents = incidentsOf(x.Incidents)
	if u := x.Next.Update; u != nil {
		p.Next.Kind = u.Kind.String()
		for _, c := range u.Changes {
			p.Next.Changes = append(p.Next.Changes, Change{Field: c.Field, Old: c.Old, New: c.New})
		}
	}
	return p
}

func (h *handler) personHTML(w http.ResponseWriter, r *http.Request) {
	eng, ok := h.lane(w, r)
	if !ok {
		return
	}
	p, code := h.person(r, eng)
	if code == http.StatusBadRequest {
		http.Error(w, p.Error, code)
		return
	}
	writeHTML(w, code, personPage, p)
}

func (h *handler) personJSON(w http.ResponseWriter, r *http.Request) {
	eng, ok := h.lane(w, r)
	if !ok {
		return
	}
	p, code := h.person(r, eng)
	writeJSON(w, code, p)
}
