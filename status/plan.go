package status

import (
	"fmt"
	"github.com/hrissync/hrissync"
	"net/http"
	"time"
)

// Plan is the dry-run plan view (plan and plan.json): what the batch would
// write if it ran now (Engine.Plan), person by person, and the deletion
// limit's verdict on its leavers. Like the main page it names people by id
// and fields by name, never their values.
type Plan struct {
	Tenant string `json:"tenant"`
	// Sink is the sink planned for (sink=), of an engine of several.
	Sink string    `json:"sink,omitempty"`
	At   time.Time `json:"at"`
	// Seen is how many people the Source's full list holds, Accounts the
	// active accounts the batch's merge found.
	Seen     int            `json:"seen"`
	Accounts int            `json:"accounts"`
	Writes   []PlannedWrite `json:"writes"`
	ByKind   map[string]int `json:"byKind"`
	ByField  map[string]int `json:"byField"`
	Leavers  []string       `json:"leavers"`
	// Held: the leavers pass the deletion limit; the batch would stop
	// before deprovisioning them and wait for approval. Spent is what the
	// limit spent in its window already, Allowed what it allows (-1: no
	// limit).
	Held    bool   `json:"held"`
	Spent   int    `json:"spent"`
	Allowed int    `json:"allowed"`
	Verdict string `json:"verdict"`
}

// PlannedWrite is one person's planned write: its kind and the fields it
// changes.
type PlannedWrite struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Fields []string `json:"fields"`
}

func (h *handler) plan(r *http.Request, eng *hrissync.Engine) (Plan, error) {
	p, err := eng.Plan(r.Context())
	if err != nil {
		return Plan{}, err
	}
	out := Plan{Tenant: eng.Tenant(), Sink: eng.SinkName(), At: p.At, Seen: p.Seen, Accounts: p.Accounts, Writes: []PlannedWrite{},
		ByKind: map[string]int{}, ByField: p.ByField, Leavers: p.Leavers, Held: p.Held, Spent: p.Spent, Allowed: p.Allowed}
	if out.ByField == nil {
		out.ByField = map[string]int{}
	}
	if out.Leavers == nil {
		out.Leavers = []string{}
	}
	for k, n := range p.ByKind {
		out.ByKind[k.String()] = n
	}
	for _, u := range p.Writes {
		w := PlannedWrite{ID: u.EmployeeID, Kind: u.Kind.String(), Fields: []string{}}
		for _, c := range u.Changes {
			w.Fields = append(w.Fields, c.Field)
		}
		out.Writes = append(out.Writes, w)
	}
	switch {
	case p.Held:
		out.Verdict = fmt.Sprintf("held: %d leavers on top of %d deactivations in the window pass the deletion limit of %d; "+
			"the batch would stop before deprovisioning them and wait for approval", len(p.Leavers), p.Spent, p.Allowed)
	case p.Allowed < 0:
		out.Verdict = fmt.Sprintf("within the deletion limit (off): %d leavers would be deprovisioned", len(p.Leavers))
	default:
		out.Verdict = fmt.Sprintf("within the deletion limit: %d leavers and %d deactivations in the window, of %d allowed",
			len(p.Leavers), p.Spent, p.Allowed)
	}
	return out, nil
}

func (h *handler) planHTML(w http.ResponseWriter, r *http.Request) {
	eng, ok := h.lane(w, r)
	if !ok {
		return
	}
	p, err := h.plan(r, eng)
	if err != nil {
		http.Error(w, "planning: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeHTML(w, http.StatusOK, planPage, p)
}

func (h *handler) planJSON(w http.ResponseWriter, r *http.Request) {
	eng, ok := h.lane(w, r)
	if !ok {
		return
	}
	p, err := h.plan(r, eng)
	if err != nil {
		http.Error(w, "planning: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
