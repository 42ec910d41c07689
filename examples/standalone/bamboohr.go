package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hrissync/hrissync"
	"github.com/hrissync/hrissync/clocktest"
	"github.com/hrissync/hrissync/connector/bamboohr"
	"github.com/hrissync/hrissync/connector/bamboohr/bamboohrtest"
	"github.com/hrissync/hrissync/connector/webhook"
)

// bambooHR is -source bamboohr: a fake BambooHR company, posting an
// event-based JSON webhook and a field-based form-encoded one at each change.
type bambooHR struct {
	hr       *bamboohrtest.Server
	endpoint *http.Client
	held     map[string]map[string]string // what BambooHR holds, for the fields a change changes
}

func newBambooHR(clock *clocktest.Clock) vendor {
	hr := bamboohrtest.NewServer(bamboohrtest.Config{CompanyDomain: "acme", APIKey: "standalone", Now: clock.Now})
	hr.AddCustomField("4567", "Certification level", "customCertLevel", "text")
	return &bambooHR{hr: hr, held: map[string]map[string]string{}}
}

func (b *bambooHR) source() (hrissync.Source, error) {
	return bamboohr.New(bamboohr.Config{CompanyDomain: "acme", APIKey: "standalone", BaseURL: b.hr.URL,
		Attributes: map[string]string{"customCertLevel": "cert"}})
}

func (b *bambooHR) read(e hrissync.Employee) hrissync.Employee { return e }

func (b *bambooHR) serve(eng *hrissync.Engine, mux *http.ServeMux, base string, now func() time.Time, _ func()) error {
	for _, w := range []bamboohrtest.Webhook{
		{URL: base + "/bamboohr/event", Kind: "event", Format: "json", PrivateKey: []byte("event-key")},
		{URL: base + "/bamboohr/field", Kind: "field", Format: "form-encoded", PrivateKey: []byte("field-key")},
	} {
		v, err := bamboohr.NewVerifier(0, w.PrivateKey)
		if err != nil {
			return err
		}
		h, err := webhook.New(eng, v, &webhook.Config{Decoder: bamboohr.Decoder{}, Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		mux.Handle("POST /bamboohr/"+w.Kind, h)
		b.hr.AddWebhook(w)
	}
	b.endpoint = http.DefaultClient
	return nil
}

func (b *bambooHR) change(ctx context.Context, e hrissync.Employee, lose bool) error {
	status, history := "Active", "Full-Time"
	if e.Status == hrissync.StatusTerminated {
		status, history = "Inactive", "Terminated"
	}
	date := func(d hrissync.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	f := map[string]string{
		"employeeNumber": e.EmployeeNumber, "workEmail": e.Email, "firstName": e.GivenName, "lastName": e.FamilyName,
		"status": status, "employmentHistoryStatus": history, "hireDate": date(e.StartDate),
		"terminationDate": date(e.TerminationDate), "jobTitle": e.Role, "supervisorEId": e.ManagerID,
		"department": e.Department, "location": e.Location, "customCertLevel": e.Attributes["cert"],
	}
	if was, ok := b.held[e.ID]; !ok {
		add := map[string]string{"id": e.ID}
		for k, v := range f {
			add[k] = v
		}
		b.hr.Add(add)
	} else {
		changed := map[string]string{}
		for k, v := range f {
			if was[k] != v {
				changed[k] = v
			}
		}
		b.hr.Update(e.ID, changed)
	}
	b.held[e.ID] = f
	if lose || b.endpoint == nil {
		b.hr.Drop()
		return nil
	}
	codes, err := b.hr.Deliver(ctx, b.endpoint)
	for _, c := range codes {
		if c != http.StatusNoContent && c != http.StatusOK {
			return fmt.Errorf("a webhook was answered %d", c)
		}
	}
	return err
}

func (b *bambooHR) calls() map[string]int {
	n := map[string]int{}
	for _, r := range b.hr.Requests() {
		switch p := r.Path; {
		case strings.HasSuffix(p, "/employees/changed"):
			n["changed"]++
		case strings.HasSuffix(p, "/reports/custom"):
			n["report"]++
		case strings.HasSuffix(p, "/employees"):
			n["directory"]++
		case strings.Contains(p, "/employees/"):
			n["get"]++
		default:
			n[r.Method+" "+p]++
		}
	}
	return n
}

func (b *bambooHR) reset() { b.hr.ResetRequests() }
func (b *bambooHR) close() { b.hr.Close() }
